-- GET BENCH_PATH with "Authorization: Bearer <token>", rotating over the tokens of the file
-- BENCH_TOKENS (one a line; one line: always the same user).
dofile(os.getenv("BENCH_LUA_DIR") .. "/counters.lua")

local tokens, path, count

function init(args)
  tokens = read_lines(os.getenv("BENCH_TOKENS"))
  path = os.getenv("BENCH_PATH")
  count = tid * 7919 -- threads start at different users
end

function request()
  count = count + 1
  local token = tokens[count % #tokens + 1]
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
