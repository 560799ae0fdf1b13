-- Against a server with ping_interval=1 (heartbeat 1 s, expiry 2 s): a client that stops
-- polling expires and leaves /websocket/clients; the events broadcast meanwhile are
-- not lost: the next step finds the id unknown, handshakes again and subscribes with
-- since, and the replay brings them, once each. Then a poll whose answer is dropped
-- is resumed with since on the next poll, and a cursor from another epoch is a resync.
-- Usage: lua5.1 e2e_expiry.lua
local S = require "support"
local api = S.api()

local function broadcast(n)
  local data, err = api:post("/websocket/broadcast", {
    type = "lightroom_test", channel = "system", data = { n = n },
  })
  S.check(data, "broadcast", err)
  return data
end

local function listed(id)
  local clients = assert(api:get("/websocket/clients"))
  for _, c in ipairs(clients.clients) do if c.id == id then return true end end
  return false
end

local client = S.client({ channels = { "system" } })
local got = {}
client:on("lightroom_test", function(m) got[#got + 1] = m.data and m.data.n or m.n end)
local resyncs = {}
client:on_resync(function(info) resyncs[#resyncs + 1] = info end)
S.check(client:connect(), "connect", client.detail)
S.eq(client.heartbeat_interval, 1, "heartbeat_interval from the server config")
S.eq(client:poll_wait(), 1, "polls never outlast the expiry")
local first_id = client.client_id

broadcast(1)
S.step_until(client, function() return #got >= 1 end, 10, "event 1")

-- Silence: no poll for well over 2 x heartbeat.
local deadline = S.now() + 10
while listed(first_id) do
  S.check(S.now() < deadline, "the silent poller expires")
  S.sleep(0.2)
end
local expired_after = S.now()
broadcast(2)
broadcast(3)

S.step_until(client, function() return #got >= 3 end, 15, "events 2 and 3 after the expiry")
local second_id = client.client_id
S.check(second_id ~= first_id, "a new client after the expiry")
S.eq(client.counters.expired, 1, "one expiry seen")
S.eq(#resyncs, 0, "recovered, no resync")

-- A poll whose answer is lost on the way: the next poll passes since and gets it back.
S.shim.drop_next("/ws/poll")
broadcast(4)
S.step_until(client, function() return #got >= 4 end, 15, "event 4 after a dropped poll")
local resumed_with_since = false
for _, r in ipairs(S.shim.log) do
  if string.find(r.url, "/ws/poll", 1, true) and string.find(r.url, "since=", 1, true) then
    resumed_with_since = true
  end
end
S.check(resumed_with_since, "a poll passed since after the dropped one")

-- A cursor from another epoch (e.g. the server's database was replaced): resync.
local other = S.client({ channels = { "system" }, cursor = { epoch = "not-this-server", seq = 3 } })
local other_resyncs = {}
other:on_resync(function(info) other_resyncs[#other_resyncs + 1] = info end)
S.check(other:connect(), "connect with a foreign cursor")
S.eq(#other_resyncs, 1, "a resync reported")
S.eq(other_resyncs[1].reason, "not_recovered", "resync reason")
S.check(other.cursor.epoch ~= "not-this-server", "cursor moved to the server's epoch")
other:disconnect()
client:disconnect()

S.result({ got = got, first_id = first_id, second_id = second_id,
           counters = client.counters, expired_after = expired_after,
           dropped = client.counters.dropped, resync = other_resyncs[1].reason })
