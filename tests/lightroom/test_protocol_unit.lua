-- Pure Lua unit tests of DarkroomProtocol and DarkroomApi against an in-memory fake
-- of the long-polling endpoints (no server, no sockets). Run: lua5.1 test_protocol_unit.lua
local json = require "DarkroomJSON"
local Protocol = require "DarkroomProtocol"

local failures, count = 0, 0
local function test(name, fn)
  count = count + 1
  local ok, err = pcall(fn)
  if not ok then
    failures = failures + 1
    io.stderr:write("FAIL ", name, ": ", tostring(err), "\n")
  end
end
local function eq(got, want, msg)
  if got ~= want then
    error((msg or "") .. ": got " .. tostring(got) .. " want " .. tostring(want), 2)
  end
end

-- The fake: the spec's endpoints, a durable log, per-client outboxes, expiry by hand.
local function fake_server(opts)
  opts = opts or {}
  local srv = { epoch = "E1", seq = 0, log = {}, clients = {}, next_id = 0, requests = {},
                token = opts.token, heartbeat = opts.heartbeat or 15 }
  function srv.publish(channel, type_, fields)
    srv.seq = srv.seq + 1
    local ev = { type = type_, channel = channel, seq = srv.seq, timestamp = "t" }
    for k, v in pairs(fields or {}) do ev[k] = v end
    srv.log[#srv.log + 1] = ev
    for _, c in pairs(srv.clients) do
      if c.channels[channel] then c.outbox[#c.outbox + 1] = ev end
    end
    return ev
  end
  function srv.restart() -- a new epoch, every client gone
    srv.epoch = srv.epoch .. "'"
    srv.clients = {}
  end
  local function answer(status, body) return json.encode(body), status end
  local function handle(method, url, body, headers)
    local path, query = string.match(url, "^https?://[^/]+([^?]*)%??(.*)$")
    srv.requests[#srv.requests + 1] = { method = method, path = path, query = query,
                                        headers = headers, body = body }
    if srv.down then return nil, nil, "connection refused" end
    if srv.token and headers["Authorization"] ~= "Bearer " .. srv.token then
      return answer(401, { success = false, error = "token required", code = "unauthorized" })
    end
    if method == "POST" and headers["Content-Type"] ~= "application/json" then
      return answer(415, { success = false, error = "json only", code = "unsupported_media_type" })
    end
    local data = body and json.decode(body) or nil
    if path == "/ws/handshake" then
      srv.next_id = srv.next_id + 1
      local id = "c" .. srv.next_id
      srv.clients[id] = { channels = {}, outbox = {}, type = data.client_type, name = data.client_name }
      return answer(200, { success = true, client_id = id, epoch = srv.epoch, seq = srv.seq,
                           heartbeat_interval = srv.heartbeat })
    end
    if path == "/ws/send" or path == "/ws/disconnect" then
      local c = srv.clients[data.client_id]
      if not c then return answer(404, { success = false, error = "unknown client", code = "unknown_client" }) end
      if path == "/ws/disconnect" then
        srv.clients[data.client_id] = nil
        return answer(200, { success = true })
      end
      local m = data.message
      if m.type == "register" then
        c.type = m.client_type
        return answer(200, { type = "registration_confirmed", client_type = m.client_type, client_name = m.client_name })
      elseif m.type == "ping" then
        return answer(200, { type = "pong", timestamp = "t" })
      elseif m.type == "subscribe" then
        local reply = { type = "subscription_confirmed" }
        for _, ch in ipairs(m.channels) do c.channels[ch] = true end
        local chans = {}
        for ch in pairs(c.channels) do chans[#chans + 1] = ch end
        table.sort(chans)
        reply.channels = chans
        if m.since then
          local ok = m.since.epoch == srv.epoch and m.since.seq <= srv.seq
                     and (srv.trimmed or 0) <= m.since.seq
          reply.recovered, reply.epoch, reply.seq = ok, srv.epoch, srv.seq
          if ok then
            for _, ev in ipairs(srv.log) do
              if ev.seq > m.since.seq and c.channels[ev.channel] then c.outbox[#c.outbox + 1] = ev end
            end
          end
        end
        return answer(200, reply)
      else
        return answer(400, { success = false, error = "unknown type", code = "unknown_type" })
      end
    end
    if path == "/ws/poll" then
      local id = string.match(query, "client_id=([^&]*)")
      local c = srv.clients[id]
      if not c then return answer(404, { success = false, error = "unknown client", code = "unknown_client" }) end
      srv.last_wait = tonumber(string.match(query, "wait=(%d+)"))
      srv.last_since = string.match(query, "since=([^&]*)")
      local out = c.outbox
      c.outbox = {}
      if srv.last_since and srv.replay_on_poll_since then
        local s = tonumber(string.match(srv.last_since, "%%3A(%d+)$"))
        out = {}
        for _, ev in ipairs(srv.log) do
          if ev.seq > s and c.channels[ev.channel] then out[#out + 1] = ev end
        end
      end
      if srv.drop_next_poll then
        srv.drop_next_poll = false
        return nil, nil, "connection lost"
      end
      return answer(200, { success = true, messages = json.array(out) })
    end
    return answer(404, { success = false, error = "no route", code = "not_found" })
  end
  srv.http = {
    post = function(url, body, headers) return handle("POST", url, body, headers) end,
    get = function(url, headers) return handle("GET", url, nil, headers) end,
  }
  return srv
end

local function client_for(srv, extra)
  local slept = {}
  local opts = { url = "http://fake:1", http = srv.http, sleep = function(s) slept[#slept + 1] = s end,
                 random = function() return 0.5 end, channels = { "jobs", "queue" } }
  for k, v in pairs(extra or {}) do opts[k] = v end
  local c = Protocol.new(opts)
  c.slept = slept
  c.seen = {}
  c:on("*", function(m) c.seen[#c.seen + 1] = m end)
  c.resyncs = {}
  c:on_resync(function(info) c.resyncs[#c.resyncs + 1] = info end)
  return c
end

local function seqs(list)
  local out = {}
  for _, m in ipairs(list) do if m.seq and m.channel then out[#out + 1] = m.seq end end
  return table.concat(out, ",")
end

test("handshake, register as lightroom, subscribe with since, receive events", function()
  local srv = fake_server()
  srv.publish("jobs", "job_created", { job_id = 1 }) -- before we connect: not ours
  local c = client_for(srv)
  c:step()
  eq(c.state, "connected", "state")
  local cl = srv.clients[c.client_id]
  eq(cl.type, "lightroom", "registered type")
  eq(cl.channels.jobs and cl.channels.queue, true, "subscribed")
  local sub = srv.requests[3]
  eq(sub.path, "/ws/send")
  local m = json.decode(sub.body).message
  eq(m.type, "subscribe"); eq(m.since.epoch, "E1"); eq(m.since.seq, 1, "since = the handshake's position")
  eq(string.find(sub.body, '"seq":1[,}]') ~= nil, true, "seq is written as an integer")
  srv.publish("jobs", "job_progress", { job_id = 2, progress = 50 })
  srv.publish("photos", "photo_imported", { photo_id = 9 }) -- not subscribed
  srv.publish("queue", "queue_status", { pending = 1 })
  c:step()
  eq(seqs(c.seen), "2,4")
  eq(c.cursor.seq, 4); eq(c.cursor.epoch, "E1")
end)

test("every write is JSON; a token goes in Authorization: Bearer", function()
  local srv = fake_server({ token = "s3cret" })
  local c = client_for(srv, { token = "  s3cret\n" })
  c:step()
  eq(c.state, "connected")
  for _, r in ipairs(srv.requests) do
    eq(r.headers["Authorization"], "Bearer s3cret", r.path)
    if r.method == "POST" then eq(r.headers["Content-Type"], "application/json", r.path) end
  end
  local bad = client_for(srv, { token = "wrong" })
  local states = {}
  bad:on_state(function(s) states[#states + 1] = s end)
  bad:step()
  eq(bad.state, "unauthorized"); eq(bad.client_id, nil)
  eq(bad.slept[1], 10, "waits before asking again")
end)

test("poll wait is clamped below the server's expiry", function()
  local srv = fake_server({ heartbeat = 1 })
  local c = client_for(srv)
  c:step()
  eq(srv.last_wait, 1)
  local srv2 = fake_server({ heartbeat = 15 })
  local c2 = client_for(srv2)
  c2:step()
  eq(srv2.last_wait, 15)
  local c3 = client_for(fake_server({ heartbeat = 60 }))
  eq(c3:poll_wait(), 25)
end)

test("expiry: handshake again and resume with since, nothing lost or doubled", function()
  local srv = fake_server()
  local c = client_for(srv)
  c:step()
  srv.publish("jobs", "job_progress", { job_id = 1 })
  c:step()
  local first = c.client_id
  srv.clients = {} -- expired while we were silent
  srv.publish("jobs", "job_progress", { job_id = 1, progress = 60 })
  srv.publish("jobs", "job_completed", { job_id = 1 })
  c:step() -- poll: 404 unknown client
  eq(c.client_id, nil)
  c:step() -- handshake, subscribe since 1: replay 2,3
  eq(c.client_id ~= first, true)
  eq(seqs(c.seen), "1,2,3")
  eq(#c.resyncs, 0)
  eq(c.counters.expired, 1); eq(c.counters.handshakes, 2)
  local sub = json.decode(srv.requests[#srv.requests - 1].body).message
  eq(sub.since.seq, 1, "resumed after the last event it had")
end)

test("a dropped poll: the next poll passes since, duplicates are dropped", function()
  local srv = fake_server()
  srv.replay_on_poll_since = true
  local c = client_for(srv)
  c:step()
  srv.publish("jobs", "job_progress", { job_id = 1 })
  c:step()
  srv.publish("jobs", "job_progress", { job_id = 1, progress = 20 })
  srv.publish("jobs", "job_progress", { job_id = 1, progress = 30 })
  srv.drop_next_poll = true
  c:step()
  eq(c.state, "retrying"); eq(c.counters.dropped, 1)
  eq(#c.slept, 1, "backs off")
  c:step()
  eq(srv.last_since, "E1%3A1", "since=<epoch>:<seq>")
  eq(seqs(c.seen), "1,2,3")
  c:step()
  eq(srv.last_since, nil, "since only after a failure")
  -- The server sending an event twice: handled once.
  local dup = c:_handle_messages({ { type = "job_progress", channel = "jobs", seq = 3 } })
  eq(dup, 0); eq(c.counters.duplicates, 1)
end)

test("not recovered (server restarted): resync reported, cursor moves to the server's", function()
  local srv = fake_server()
  local c = client_for(srv)
  c:step()
  srv.publish("jobs", "job_progress", { job_id = 1 })
  c:step()
  srv.restart()
  srv.publish("jobs", "job_created", { job_id = 5 })
  c:step() -- 404
  c:step() -- handshake; since E1:1 is another epoch
  eq(#c.resyncs, 1)
  eq(c.resyncs[1].reason, "not_recovered"); eq(c.resyncs[1].from.epoch, "E1")
  eq(c.cursor.epoch, "E1'"); eq(c.cursor.seq, 2)
  srv.publish("jobs", "job_progress", { job_id = 5 })
  c:step()
  eq(seqs(c.seen), "1,3")
end)

test("a resync message from the server is reported", function()
  local srv = fake_server()
  local c = client_for(srv)
  c:step()
  c:_handle_messages({ { type = "resync", epoch = "E9", seq = 70, timestamp = "t" } })
  eq(#c.resyncs, 1); eq(c.resyncs[1].reason, "server"); eq(c.cursor.epoch, "E9"); eq(c.cursor.seq, 70)
end)

test("a server that is down: retrying with growing, capped backoff", function()
  local srv = fake_server()
  srv.down = true
  local c = client_for(srv, { backoff_base = 1, backoff_max = 8 })
  for _ = 1, 6 do c:step() end
  eq(c.state, "retrying")
  eq(table.concat(c.slept, ","), "0.75,1.5,3,6,6,6")
  srv.down = false
  c:step(); c:step()
  eq(c.state, "connected"); eq(c.failures, 0)
end)

test("a handler that raises does not stop the client", function()
  local srv = fake_server()
  local c = client_for(srv)
  c:on("job_progress", function() error("boom") end)
  c:step()
  srv.publish("jobs", "job_progress", { job_id = 1 })
  eq(c:step(), true)
  eq(c.cursor.seq, 1)
end)

test("ping sends epoch seconds and gets a pong; disconnect leaves", function()
  local srv = fake_server()
  local c = client_for(srv, { now = function() return 1762691696 end })
  c:step()
  local pong = c:ping()
  eq(pong.type, "pong")
  eq(json.decode(srv.requests[#srv.requests].body).message.timestamp, 1762691696)
  local id = c.client_id
  c:disconnect()
  eq(srv.clients[id], nil); eq(c.state, "closed"); eq(c:step(), false)
end)

test("send of a refused message returns the error reply", function()
  local srv = fake_server()
  local c = client_for(srv)
  c:step()
  local reply = c:send({ type = "nonsense" })
  eq(reply.type, "error"); eq(reply.code, "unknown_type"); eq(c.state, "connected")
end)

test("unsubscribe", function()
  local srv = fake_server()
  local c = client_for(srv)
  c:step()
  srv.clients[c.client_id].channels.queue = nil
  local old = srv.http.post
  srv.http.post = function(url, body, headers)
    if string.find(url, "/ws/send") and string.find(body, "unsubscribe") then
      return json.encode({ type = "unsubscription_confirmed", channels = { "jobs" } }), 200
    end
    return old(url, body, headers)
  end
  c:unsubscribe({ "queue" })
  eq(#c.channels, 1); eq(c.channels[1], "jobs")
end)

test("DarkroomApi: URLs, errors and bodies", function()
  local Api = require "DarkroomApi"
  eq(Api.normalise_url(" 192.168.1.5:5100/ "), "http://192.168.1.5:5100")
  eq(Api.normalise_url(""), "http://127.0.0.1:5100")
  eq(Api.normalise_url(nil), "http://127.0.0.1:5100")
  eq(Api.urlencode("a b/c:d"), "a%20b%2Fc%3Ad")
  local seen
  local api = Api.new { url = "http://x", http = {
    post = function(url, body, headers) seen = { url = url, body = body, headers = headers }
      return '{"success":false,"error":"already there","code":"duplicate","photo_id":4}', 409 end,
    get = function() return nil, nil, "timed out" end } }
  local data, err, status, body = api:import_file("/p/a.jpg", 2)
  eq(data, nil); eq(err, "already there"); eq(status, 409); eq(body.photo_id, 4)
  eq(seen.url, "http://x/import/file")
  eq(json.decode(seen.body).file_path, "/p/a.jpg"); eq(json.decode(seen.body).session_id, 2)
  api:approve(7)
  eq(seen.body, "{}", "an empty write body is {}"); eq(seen.url, "http://x/api/approval/7/approve")
  eq(seen.headers["Content-Type"], "application/json")
  api:reject(7, "soft")
  eq(seen.body, '{"reason":"soft"}')
  data, err, status = api:queue()
  eq(data, nil); eq(status, nil); eq(string.find(err, "timed out") ~= nil, true)
end)

if failures > 0 then
  io.stderr:write(failures, " of ", count, " protocol unit tests failed\n")
  os.exit(1)
end
print("ok " .. count .. " protocol unit tests")
