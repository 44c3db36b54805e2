-- GET /v1/customers/{id} with that customer's JWT, walking 1,000 customers.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local list, i
function init(args)
  list = load_jwts()
  i = (tid or 0) * 331
end
function request()
  i = i % #list + 1
  local c = list[i]
  return wrk.format("GET", "/v1/customers/" .. c[1], { ["Authorization"] = "Bearer " .. c[2] })
end
