-- GET /v1/customers?query=<term> (secret key) over 100,000 customers, rotating four terms of
-- different selectivity (bench/RESULTS.md lists how many customers each matches).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local terms = { "law", "mart", "son", "anna" }
local headers = { ["X-Authorization"] = os.getenv("BENCH_SK") }
local i
function init(args)
  i = (tid or 0)
end
function request()
  i = i % #terms + 1
  return wrk.format("GET", "/v1/customers?query=" .. terms[i] .. "&limit=20", headers)
end
