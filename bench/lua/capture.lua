-- POST /api/v1/webhooks/payment: each line of BENCH_BODIES ("<signature>\t<json body>") is
-- sent exactly once; thread t of BENCH_THREADS takes lines t+1, t+1+T, ... When a thread has
-- sent its last body, its connections send a cheap filler (a 404 path, BENCH_FILLER) every
-- 20 ms until every capture is answered, then the thread stops: no capture is left unanswered.
-- exported: sent (captures written), answered, captured (200 with "success").
dofile(os.getenv("BENCH_LUA_DIR") .. "/counters.lua")

local bodies, next_body, filler

function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  bodies = {}
  for index, line in ipairs(read_lines(os.getenv("BENCH_BODIES"))) do
    if (index - 1) % threads == tid then bodies[#bodies + 1] = line end
  end
  next_body = 1
  filler = wrk.format("GET", os.getenv("BENCH_FILLER"))
  exported.sent, exported.answered, exported.captured = 0, 0, 0
end

function delay()
  return next_body > #bodies and 20 or 0
end

function request()
  if next_body > #bodies then return filler end
  local signature, body = bodies[next_body]:match("^([^\t]+)\t(.*)$")
  next_body = next_body + 1
  exported.sent = exported.sent + 1
  return wrk.format("POST", "/api/v1/webhooks/payment", {
    ["Content-Type"] = "application/json",
    ["X-Webhook-Signature"] = signature,
  }, body)
end

function on_response(status, headers, body)
  if status ~= 404 then
    exported.answered = exported.answered + 1
    if status == 200 and body:find('"success"', 1, true) then
      exported.captured = exported.captured + 1
    end
  end
  if next_body > #bodies and exported.answered >= exported.sent then wrk.thread:stop() end
end
