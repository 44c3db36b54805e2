-- POST /v1/customers/exchange-token with valid, unused tokens pre-seeded in the database. Each run
-- gets its own block of the token file (BENCH_TOKEN_OFFSET, BENCH_TOKEN_COUNT); thread t takes
-- every BENCH_THREADS-th token of it, so no token is sent twice. Should a block run out the script
-- wraps around: reused tokens answer 422 and show up as status errors.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local tokens, i = {}, 0
local headers = { ["X-Authorization"] = os.getenv("BENCH_PK"), ["Content-Type"] = "application/json" }
function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  local first = tonumber(os.getenv("BENCH_TOKEN_OFFSET"))
  local last = first + tonumber(os.getenv("BENCH_TOKEN_COUNT")) - 1
  local n = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if n > last then break end
    if n >= first and (n - first) % threads == (tid or 0) then tokens[#tokens + 1] = line end
    n = n + 1
  end
end
function request()
  i = i % #tokens + 1
  return wrk.format("POST", "/v1/customers/exchange-token", headers,
    '{"token":"' .. tokens[i] .. '"}')
end
