--[[
DarkroomLrHttp: LrHttp as the HTTP functions DarkroomApi and DarkroomProtocol take.

  local http = require("DarkroomLrHttp").wrap(import "LrHttp")
  local body, status, err = http.post(url, text, { ["Content-Type"] = "application/json" }, 20)
  local body, status, err = http.get(url, headers, 40)

LrHttp takes headers as an array of { field = ..., value = ... } and answers
`body, hdrs` with the status in `hdrs.status`; on a network error `body` is nil
and `hdrs.error` says why. This turns both into `body, status, err` (status nil
when the server could not be reached). LrHttp may only be called from a task
(LrTasks.startAsyncTask), which is where the plugin's glue calls it.

Plain Lua (the tests load it with an LrHttp lookalike built on LuaSocket).
]]

local M = {}

local function header_list(headers)
  local list = {}
  local names = {}
  for name in pairs(headers or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    list[#list + 1] = { field = name, value = tostring(headers[name]) }
  end
  return list
end

M.header_list = header_list

local function answer(body, hdrs)
  local status = type(hdrs) == "table" and tonumber(hdrs.status) or nil
  if body == nil and (status == nil or (type(hdrs) == "table" and hdrs.error)) then
    local e = type(hdrs) == "table" and hdrs.error or nil
    local why = e and (e.name or e.errorCode or e.nativeCode) or "no answer"
    if e and e.errorCode and e.name and e.name ~= e.errorCode then
      why = e.name .. " (" .. e.errorCode .. ")"
    end
    return nil, nil, tostring(why)
  end
  return body or "", status, nil
end

--- `{ post = ..., get = ... }` over `LrHttp`.
function M.wrap(LrHttp)
  assert(LrHttp and LrHttp.post and LrHttp.get, "DarkroomLrHttp.wrap needs LrHttp")
  return {
    post = function(url, body, headers, timeout, method)
      return answer(LrHttp.post(url, body or "", header_list(headers), method or "POST", timeout))
    end,
    get = function(url, headers, timeout)
      return answer(LrHttp.get(url, header_list(headers), timeout))
    end,
  }
end

return M
