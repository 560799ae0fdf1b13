--[[
An LrHttp lookalike on LuaSocket, for running the plugin's modules under a plain lua5.1.

  LrHttp.post(url, postBody, headers, method, timeout) -> body, hdrs
  LrHttp.get(url, headers, timeout)                    -> body, hdrs

as Lightroom's: `headers` is an array of { field, value }; `hdrs.status` is the
HTTP status; on a network error `body` is nil and `hdrs.error` is
{ errorCode, name }. Plain HTTP only, one request at a time, like LrHttp in one task.

For the tests: `shim.drop_next(pattern)` makes the next request whose URL
matches `pattern` reach the server but lose its answer (a dropped connection
after the server sent the reply); `shim.refuse_next(pattern)` fails it before
it is sent; `shim.log` lists { method, url, status, headers, body } of every request.
]]

local http = require "socket.http"
local ltn12 = require "ltn12"

local shim = { log = {}, drops = {}, refusals = {} }

local function request(method, url, body, headers, timeout)
  local h = {}
  for _, pair in ipairs(headers or {}) do
    h[string.lower(pair.field)] = pair.value
  end
  if body ~= nil then
    h["content-length"] = tostring(#body)
  end
  local entry = { method = method, url = url, headers = h, body = body }
  shim.log[#shim.log + 1] = entry
  for i, pattern in ipairs(shim.refusals) do
    if string.find(url, pattern) then
      table.remove(shim.refusals, i)
      entry.refused = true
      return nil, { error = { errorCode = "cannotConnectToHost", name = "refused by the test" } }
    end
  end
  local chunks = {}
  http.TIMEOUT = timeout or 60
  local ok, status, rheaders = http.request {
    url = url, method = method, headers = h,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  if not ok then
    local code = tostring(status) == "timeout" and "timedOut" or "cannotConnectToHost"
    entry.error = tostring(status)
    return nil, { error = { errorCode = code, name = tostring(status) } }
  end
  entry.status = status
  for i, pattern in ipairs(shim.drops) do
    if string.find(url, pattern) then
      table.remove(shim.drops, i)
      entry.dropped = true
      return nil, { error = { errorCode = "networkConnectionLost", name = "dropped by the test" } }
    end
  end
  local hdrs = { status = status }
  for k, v in pairs(rheaders or {}) do
    hdrs[#hdrs + 1] = { field = k, value = v }
  end
  return table.concat(chunks), hdrs
end

function shim.post(url, postBody, headers, method, timeout)
  return request(method or "POST", url, postBody or "", headers, timeout)
end

function shim.get(url, headers, timeout)
  return request("GET", url, nil, headers, timeout)
end

function shim.drop_next(pattern) shim.drops[#shim.drops + 1] = pattern end
function shim.refuse_next(pattern) shim.refusals[#shim.refusals + 1] = pattern end

return shim
