-- The wrk script of the load benchmark (benches/load.py runs it).
--
--   wrk ... -s benches/wrk.lua URL -- SCENARIO REQUEST_FILE EXPECTED [TOKEN]
--
-- POSTs the JSON body in REQUEST_FILE with `x-bench-scenario: SCENARIO`
-- (the ceiling picks its answer by it; tradegraph ignores it) and, with
-- TOKEN, `Authorization: Bearer TOKEN`. Every response is checked, since a
-- fast wrong answer is a failure: with EXPECTED a file, its body must be
-- those exact bytes; with EXPECTED `created`, it must be a created shipment
-- and no error. The last line printed is one JSON object of the figures.
-- With WRK_WRONG_FILE set, the first wrong answer of each thread is appended
-- to that file whole.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local function read(path)
   local file = assert(io.open(path, "rb"))
   local text = file:read("*a")
   file:close()
   return text
end

function init(args)
   wrk.method = "POST"
   wrk.body = read(args[2])
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["x-bench-scenario"] = args[1]
   if args[4] then
      wrk.headers["Authorization"] = "Bearer " .. args[4]
   end
   if args[3] ~= "created" then
      expected = read(args[3])
   end
   -- wrk formats the request from these after init returns.
   checked, wrong, first_wrong = 0, 0, ""
end

function response(status, headers, body)
   checked = checked + 1
   local right
   if expected then
      right = status == 200 and body == expected
   else
      right = status == 200
         and body:find('"reference":"SHP-', 1, true) ~= nil
         and body:find('"errors"', 1, true) == nil
   end
   if not right then
      wrong = wrong + 1
      if first_wrong == "" then
         first_wrong = status .. " " .. body:sub(1, 300)
         -- The whole of it, for a look at what differed past those 300.
         local path = os.getenv("WRK_WRONG_FILE")
         local file = path and io.open(path, "ab")
         if file then
            file:write(status, " ", body, "\n")
            file:close()
         end
      end
   end
end

function done(summary, latency, requests)
   local all_checked, all_wrong, example = 0, 0, ""
   for _, thread in ipairs(threads) do
      all_checked = all_checked + thread:get("checked")
      all_wrong = all_wrong + thread:get("wrong")
      if example == "" then
         example = thread:get("first_wrong")
      end
   end
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
         .. '"mean_us": %.1f, "checked": %d, "wrong": %d, "socket_errors": %d, '
         .. '"status_errors": %d, "timeouts": %d, "first_wrong": "%s"}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, latency.mean, all_checked, all_wrong,
      errors.connect + errors.read + errors.write, errors.status, errors.timeout,
      -- Kept JSON-safe: no quotes, backslashes or control characters.
      (example:gsub('[%c"\\]', " "))))
end
