-- End to end against the real server: the plugin's protocol module handshakes,
-- registers as lightroom, subscribes, imports a photo by path (as "Send Selected"
-- does), receives job_progress during its real develop, approves it and sees
-- photo_approved. Prints one RESULT line for the Python side.
-- Usage: lua5.1 e2e_develop.lua <photo path>
local S = require "support"
local path = assert(arg[1], "usage: e2e_develop.lua <photo path>")

local client = S.client({ channels = { "jobs", "queue", "photos" } })
local events = {}
client:on("*", function(m) events[#events + 1] = m end)
local resyncs = 0
client:on_resync(function() resyncs = resyncs + 1 end)

S.check(client:connect(), "connect", client.detail)
S.eq(client.state, "connected", "state after connect")
local id = client.client_id

-- The server lists us as a lightroom client.
local clients = assert(S.api():get("/websocket/clients"))
local me
for _, c in ipairs(clients.clients) do if c.id == id then me = c end end
S.check(me, "the client is in /websocket/clients", clients)
S.eq(me.client_type, "lightroom", "client_type")

-- A ping: the reply comes back through /ws/send.
local pong = assert(client:ping())
S.eq(pong.type, "pong", "ping reply")

-- Import the photo as the plugin does, then follow its develop.
local api = S.api()
local imported, err = api:import_file(path)
S.check(imported, "import", err)
local photo_id = imported.photo_id
local job_id = imported.job_id

local function seen(type_, pred)
  for _, m in ipairs(events) do
    if m.type == type_ and (pred == nil or pred(m)) then return m end
  end
end
local function of_job(m) return m.job_id == job_id end

S.step_until(client, function() return seen("job_completed", of_job) or seen("job_failed", of_job) end,
             30, "job_completed")
S.check(seen("job_completed", of_job), "the develop completed", seen("job_failed", of_job))
local progress = {}
for _, m in ipairs(events) do
  if m.type == "job_progress" and m.job_id == job_id then progress[#progress + 1] = m end
end
S.check(#progress >= 1, "job_progress received", S.types(events))

-- Approve from "Lightroom" and see the event come back.
local approved, aerr = api:approve(photo_id)
S.check(approved, "approve", aerr)
S.step_until(client, function()
  return seen("photo_approved", function(m) return m.photo_id == photo_id end)
end, 15, "photo_approved")

-- Order and uniqueness of what the handlers saw.
local last, seqs = 0, {}
for _, m in ipairs(events) do
  if m.seq and m.channel then
    S.check(m.seq > last, "events in order, none twice", m.seq, last)
    last = m.seq
    seqs[#seqs + 1] = m.seq
  end
end

client:disconnect()
local after = assert(S.api():get("/websocket/clients"))
for _, c in ipairs(after.clients) do S.check(c.id ~= id, "gone after disconnect") end

S.result({
  client_id = id, photo_id = photo_id, job_id = job_id, resyncs = resyncs,
  types = S.types(events), progress = progress, seqs = seqs, cursor = client.cursor,
  counters = client.counters,
})
