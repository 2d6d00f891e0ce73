-- Shared by the bench scripts (loaded with dofile): numbers the threads, counts the answers
-- of each thread by HTTP status, and prints one line that bench/wrk.py parses:
--   BENCH_WRK_RESULT {"requests": ..., "statuses": {...}, "exported": {...}, ...}
-- A script may define on_response(status, headers, body) and add numbers to the global
-- table `exported` (summed over the threads).
local threads = {}

function setup(thread)
  thread:set("tid", #threads) -- 0-based, before the thread's init(): for disjoint slices
  table.insert(threads, thread)
end

statuses = {} -- per thread: status code (string) -> answers
exported = {} -- per thread: name -> number

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if on_response then on_response(status, headers, body) end
end

function read_lines(path)
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  return lines
end

local function sum_into(total, part)
  for key, value in pairs(part or {}) do total[key] = (total[key] or 0) + value end
end

local function json_object(values)
  local parts = {}
  for key, value in pairs(values) do parts[#parts + 1] = string.format('"%s": %d', key, value) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local all_statuses, all_exported = {}, {}
  for _, thread in ipairs(threads) do
    sum_into(all_statuses, thread:get("statuses"))
    sum_into(all_exported, thread:get("exported"))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_WRK_RESULT {"requests": %d, "duration_us": %d, "mean_us": %f, "p50_us": %d, '
      .. '"p90_us": %d, "p99_us": %d, "max_us": %d, "statuses": %s, "exported": %s, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, latency.mean, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, json_object(all_statuses),
    json_object(all_exported), e.connect, e.read, e.write, e.timeout))
end
