-- Shared by every bench script: a thread id for each wrk thread, and one machine-readable
-- summary line (WRK_JSON) that bench.py parses. Latencies are microseconds.
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%.0f,"p90_us":%.0f,' ..
    '"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end

-- "id jwt" lines written by bench.py (customers 1..1000, one session each).
function load_jwts()
  local list = {}
  for line in io.lines(os.getenv("BENCH_JWTS")) do
    local id, jwt = line:match("^(%S+)%s+(%S+)$")
    if id then list[#list + 1] = { id, jwt } end
  end
  return list
end

-- Paced runs: BENCH_DELAY_MS > 0 makes every connection wait that long after each answer, so the
-- offered load stays below saturation (about connections × 1000 / (delay + latency) req/s).
local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pace and pace > 0 then
  function delay()
    return pace
  end
end
