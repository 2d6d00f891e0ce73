-- POST /api/v1/user/tokens/consume {"amount": 1, "reference": "<BENCH_PREFIX><thread>-<n>"}:
-- a fresh reference every request (so the checks find the phase's usage rows by prefix),
-- rotating over the users' tokens in the file BENCH_TOKENS (one a line).
dofile(os.getenv("BENCH_LUA_DIR") .. "/counters.lua")

local tokens, prefix, count

function init(args)
  tokens = read_lines(os.getenv("BENCH_TOKENS"))
  prefix = os.getenv("BENCH_PREFIX") .. tid .. "-"
  count = 0
end

function request()
  count = count + 1
  local token = tokens[(count + tid * 7919) % #tokens + 1]
  local body = string.format('{"amount": 1, "reference": "%s%d"}', prefix, count)
  return wrk.format("POST", "/api/v1/user/tokens/consume", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
