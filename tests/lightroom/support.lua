--[[
Shared by the Lua test scripts: the plugin's modules over the LrHttp shim, pointed at
the server the pytest fixture started (DARKROOM_URL, DARKROOM_TOKEN), and small
assertion and reporting helpers. tests/lightroom/test_protocol_lua.py sets LUA_PATH
to the plugin folder and this folder.
]]

local socket = require "socket"
local json = require "DarkroomJSON"
local Api = require "DarkroomApi"
local Protocol = require "DarkroomProtocol"
local shim = require "lrhttp_shim"
local http = require("DarkroomLrHttp").wrap(shim)

local S = { json = json, shim = shim, http = http, Api = Api, Protocol = Protocol }

S.url = os.getenv("DARKROOM_URL") or "http://127.0.0.1:5100"
S.token = os.getenv("DARKROOM_TOKEN")

function S.now() return socket.gettime() end
function S.sleep(seconds) socket.sleep(seconds) end

function S.api(overrides)
  local opts = { url = S.url, token = S.token, http = http }
  for k, v in pairs(overrides or {}) do opts[k] = v end
  return Api.new(opts)
end

-- A protocol client as the plugin makes one, with short backoffs for the tests.
function S.client(overrides)
  local opts = {
    url = S.url, token = S.token, http = http, client_name = "lua test",
    sleep = S.sleep, now = os.time, backoff_base = 0.1, backoff_max = 0.5, auth_retry = 0.2,
    log = function(level, msg) io.stderr:write(level, " ", msg, "\n") end,
  }
  for k, v in pairs(overrides or {}) do opts[k] = v end
  return Protocol.new(opts)
end

-- Step `client` until `predicate()` holds; error after `timeout` seconds.
function S.step_until(client, predicate, timeout, what)
  local deadline = S.now() + (timeout or 20)
  while not predicate() do
    if S.now() > deadline then
      error((what or "condition") .. " not reached within " .. tostring(timeout or 20) .. " s", 2)
    end
    client:step()
  end
end

function S.check(cond, message, ...)
  if not cond then
    local extra = select("#", ...) > 0 and (": " .. json.encode({ ... })) or ""
    error("check failed: " .. tostring(message) .. extra, 2)
  end
  return cond
end

function S.eq(got, want, message)
  if got ~= want then
    error(string.format("%s: got %s, want %s", message or "values differ",
                        tostring(got), tostring(want)), 2)
  end
end

-- One line for the Python side: RESULT <json>.
function S.result(value)
  io.stdout:write("RESULT ", json.encode(value), "\n")
  io.stdout:flush()
end

-- The `type`s of `list`, for messages.
function S.types(list)
  local out = {}
  for i, m in ipairs(list) do out[i] = m.type end
  return out
end

return S
