-- GET /v1/customers/{id}/orders with that customer's JWT (2 orders each), walking 1,000 customers.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local list, i
function init(args)
  list = load_jwts()
  i = (tid or 0) * 331
end
function request()
  i = i % #list + 1
  local c = list[i]
  return wrk.format("GET", "/v1/customers/" .. c[1] .. "/orders",
    { ["Authorization"] = "Bearer " .. c[2] })
end
