--[[
DarkroomApi: Darkroom's HTTP API in plain Lua 5.1, over an HTTP function you pass in.

It knows nothing of Lightroom: inside Lightroom the plugin passes wrappers of
LrHttp (DarkroomLr.lua), the tests pass a LuaSocket shim, so the same code runs
in both places.

  local api = DarkroomApi.new {
    url = "http://127.0.0.1:5100",        -- the server (default)
    token = "...",                         -- LAN mode: sent as Authorization: Bearer
    http = {
      post = function(url, body, headers, timeout) return body, status, err end,
      get  = function(url, headers, timeout) return body, status, err end,
    },
  }
  local data, err, status = api:request("POST", "/import/file", { file_path = p })

`headers` is a table of name = value. `status` is the HTTP status (a number);
on a network failure `body` and `status` are nil and `err` says why.

Every method returns `data, err, status`: `data` is the decoded JSON body of a
2xx answer (nil otherwise), `err` (nil on success) is a readable message and
`status` the HTTP status (nil when the server could not be reached). On an
error answer the decoded body is the fourth value, so a caller can read its
`code` (`duplicate`, `not_found`, ...) and fields such as a duplicate's
`photo_id`.
]]

local json = require "DarkroomJSON"

local Api = {}
Api.__index = Api

Api.DEFAULT_URL = "http://127.0.0.1:5100"
Api.TIMEOUT = 20 -- seconds, for ordinary requests

local function trim(s)
  return (string.gsub(s or "", "^%s*(.-)%s*$", "%1"))
end

--- `s` percent-encoded for a query string.
function Api.urlencode(s)
  return (string.gsub(tostring(s), "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

--- A server URL as the user typed it, normalised: scheme added, no trailing slash.
function Api.normalise_url(url)
  url = trim(url)
  if url == "" then return Api.DEFAULT_URL end
  if not string.find(url, "^[%a][%w+.-]*://") then
    url = "http://" .. url
  end
  return (string.gsub(url, "/+$", ""))
end

function Api.new(opts)
  assert(type(opts) == "table", "DarkroomApi.new needs an options table")
  assert(type(opts.http) == "table" and type(opts.http.post) == "function"
         and type(opts.http.get) == "function",
         "DarkroomApi.new needs http = { post = function, get = function }")
  local self = setmetatable({}, Api)
  self.url = Api.normalise_url(opts.url)
  self.token = trim(opts.token)
  self.http = opts.http
  self.json = opts.json or json
  self.timeout = opts.timeout or Api.TIMEOUT
  return self
end

--- The headers of a request: JSON, and the token when one is set.
function Api:headers(write)
  local h = { ["Accept"] = "application/json" }
  if write then
    -- The server refuses a write that is not JSON (415), body or not.
    h["Content-Type"] = "application/json"
  end
  if self.token ~= "" then
    h["Authorization"] = "Bearer " .. self.token
  end
  return h
end

local function describe_status(status)
  if status == 401 then
    return "the server wants the token (in LAN mode paste the install's token into the plug-in settings)"
  elseif status == 403 then
    return "the server refused the request (403)"
  end
  return "HTTP " .. tostring(status)
end

--- One request. `body` (a table) is sent as JSON on writes; nil sends `{}`.
-- Returns data, err, status, error_body.
function Api:request(method, path, body, timeout)
  local url = self.url .. path
  local raw, status, neterr
  timeout = timeout or self.timeout
  if method == "GET" then
    raw, status, neterr = self.http.get(url, self:headers(false), timeout)
  else
    local text = self.json.encode(body == nil and self.json.object() or body)
    raw, status, neterr = self.http.post(url, text, self:headers(true), timeout, method)
  end
  if status == nil then
    return nil, "cannot reach Darkroom at " .. self.url .. ": " .. tostring(neterr or "no answer"), nil
  end
  local data, jerr = nil, nil
  if raw ~= nil and raw ~= "" then
    data, jerr = self.json.decode(raw)
  end
  if status >= 200 and status < 300 then
    if type(data) ~= "table" then
      return nil, "the server's answer is not JSON" .. (jerr and (": " .. jerr) or ""), status
    end
    return data, nil, status
  end
  local message = describe_status(status)
  if type(data) == "table" and type(data.error) == "string" then
    if status == 401 then
      message = describe_status(status) .. ": " .. data.error
    else
      message = data.error
    end
  end
  return nil, message, status, type(data) == "table" and data or nil
end

function Api:get(path, timeout) return self:request("GET", path, nil, timeout) end
function Api:post(path, body, timeout) return self:request("POST", path, body, timeout) end

-- --- the REST calls the plugin uses ------------------------------------------------

--- Import one file by its path, into `session_id` (nil: the Inbox).
-- A file Darkroom already has is a 409 whose body holds its `photo_id`.
function Api:import_file(file_path, session_id)
  return self:post("/import/file", { file_path = file_path, session_id = session_id })
end

--- Create a session for `import_folder`; data.session_id is its id (201).
function Api:create_session(name, import_folder)
  return self:post("/api/sessions", { name = name, import_folder = import_folder })
end

--- Queue every photo of a session's folder (202).
function Api:import_session_folder(session_id)
  return self:post("/api/sessions/" .. Api.urlencode(session_id) .. "/import")
end

function Api:sessions() return self:get("/api/sessions") end
function Api:queue() return self:get("/api/queue") end
function Api:photo(photo_id) return self:get("/api/photos/" .. Api.urlencode(photo_id)) end
function Api:stats() return self:get("/websocket/stats") end

function Api:running_jobs()
  return self:get("/api/jobs?status=running")
end

function Api:approval_queue(session_id)
  local q = session_id and ("?session_id=" .. Api.urlencode(session_id)) or ""
  return self:get("/api/approval/queue" .. q)
end

function Api:approve(photo_id)
  return self:post("/api/approval/" .. Api.urlencode(photo_id) .. "/approve")
end

function Api:reject(photo_id, reason)
  local body = json.object()
  if reason and reason ~= "" then body.reason = reason end
  return self:post("/api/approval/" .. Api.urlencode(photo_id) .. "/reject", body)
end

return Api
