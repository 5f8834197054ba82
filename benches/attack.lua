-- The attackers of the attack benchmark (benches/attack.py runs it).
--
--   wrk ... -s benches/attack.lua URL -- REQUESTS_FILE
--
-- REQUESTS_FILE holds one JSON request body a line. Each request a thread
-- sends is the next line, round and round, so its connections between them
-- loop over every request. Nothing is checked against an expected answer,
-- since the attack is there to be refused or cut short: what comes back is
-- counted instead, each HTTP status and each `"code":"..."` a body carries,
-- and the answers that are refusals or errors with no code at all.
-- The attack's queries select no field named `code`, so every one is the
-- extensions.code of an error or a notice. The last line printed is one
-- JSON object of the figures.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   requests = {}
   for line in io.lines(args[1]) do
      if line ~= "" then
         table.insert(requests, wrk.format("POST", nil, {
            ["Content-Type"] = "application/json",
         }, line))
      end
   end
   assert(#requests > 0, "no requests in " .. args[1])
   next_request = 0
   statuses, codes = {}, {}
   with_errors, uncoded = 0, 0
end

function request()
   next_request = next_request % #requests + 1
   return requests[next_request]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   -- A plain find first: most bodies of a fan-out are large and carry no code.
   local coded = body:find('"code":', 1, true) ~= nil
   if coded then
      for code in body:gmatch('"code":"([%w_]+)"') do
         codes[code] = (codes[code] or 0) + 1
      end
   end
   local failed = body:find('"errors":', 1, true) ~= nil
   if failed then
      with_errors = with_errors + 1
   end
   if (failed or status ~= 200) and not coded then
      uncoded = uncoded + 1
   end
end

function done(summary, latency, requests)
   local statuses, codes, with_errors, uncoded = {}, {}, 0, 0
   for _, thread in ipairs(threads) do
      for into, name in pairs({ [statuses] = "statuses", [codes] = "codes" }) do
         for key, n in pairs(thread:get(name)) do
            into[key] = (into[key] or 0) + n
         end
      end
      with_errors = with_errors + thread:get("with_errors")
      uncoded = uncoded + thread:get("uncoded")
   end
   local function json(counts)
      local parts = {}
      for key, n in pairs(counts) do
         table.insert(parts, string.format('"%s": %d', key, n))
      end
      return "{" .. table.concat(parts, ", ") .. "}"
   end
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
         .. '"statuses": %s, "codes": %s, "with_errors": %d, "uncoded": %d, "connect_errors": %d, '
         .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, json(statuses), json(codes), with_errors, uncoded, errors.connect,
      errors.read, errors.write, errors.status, errors.timeout))
end
