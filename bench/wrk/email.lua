-- POST /v1/customers/email-token for a random one of the 100,000 customers (all known addresses,
-- so every request queues a mail; per-address limits are lifted for the run).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local headers = { ["X-Authorization"] = os.getenv("BENCH_PK"), ["Content-Type"] = "application/json" }
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "100000")
function init(args)
  math.randomseed(4242 + (tid or 0))
end
function request()
  local n = math.random(1, customers)
  return wrk.format("POST", "/v1/customers/email-token", headers,
    '{"email":"customer' .. n .. '@example.com","base_url":"http://localhost:3000/login/{token}"}')
end
