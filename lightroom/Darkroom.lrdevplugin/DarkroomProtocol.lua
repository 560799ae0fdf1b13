--[[
DarkroomProtocol: Darkroom's realtime stream over long polling, in plain Lua 5.1.

Lightroom's LrHttp makes plain HTTP requests only (no WebSocket), so the plugin
uses the server's long-polling transport, which carries the same messages as
/ws:

  POST /ws/handshake  {client_type, client_name}
                      -> {success, client_id, epoch, seq, heartbeat_interval}
  POST /ws/send       {client_id, message}  -> the reply (register, subscribe, ping, ...)
  GET  /ws/poll?client_id=&wait=25[&since=<epoch>:<seq>]  -> {success, messages: [...]}
  POST /ws/disconnect {client_id}

A poller that has not polled for 2 x heartbeat_interval expires on the server.

The module takes its HTTP functions as a parameter (see DarkroomApi.lua), so it
runs inside Lightroom (LrHttp) and under a plain `lua5.1` (the tests' LuaSocket
shim) alike:

  local Protocol = require "DarkroomProtocol"
  local client = Protocol.new {
    url = "http://127.0.0.1:5100", token = nil,
    http = { post = ..., get = ... },
    channels = { "jobs", "queue" },
    sleep = function(seconds) end,      -- LrTasks.sleep in Lightroom
    pcall = pcall,                      -- LrTasks.pcall in Lightroom (LrHttp yields)
  }
  client:on("job_progress", function(event) print(event.job_id, event.progress) end)
  client:on_resync(function(info) reload_state_from_rest() end)
  while keep_running do client:step() end
  client:disconnect()

Resuming. The client remembers the stream position of the last event it got
(`epoch`, `seq`). After a dropped poll it polls again with `since`; after its
server-side client expired (or the server restarted) it handshakes again and
subscribes with `since`, which replays what it missed from the server's
durable log. Events already seen (same epoch, seq not newer) are dropped, so
a handler never sees one twice. When the server cannot replay (another epoch,
or the log no longer holds everything) the subscribe answers `recovered:
false`: the client reports a resync (`on_resync`) and goes on from the
server's current position; the caller reloads its state over REST.
]]

local json = require "DarkroomJSON"
local Api = require "DarkroomApi"

local Protocol = { _VERSION = "1.0" }
Protocol.__index = Protocol

Protocol.DEFAULT_CHANNELS = { "jobs", "queue" }
Protocol.DEFAULT_WAIT = 25 -- seconds a poll may be held (the server allows at most 30)

-- What a failed request means for the client.
local AUTH_STATUSES = { [401] = true, [403] = true }
local GONE_STATUSES = { [404] = true, [410] = true }
local GONE_CODES = {
  unknown_client = true, client_not_found = true, expired = true, client_expired = true,
  not_found = true, gone = true, unknown_client_id = true,
}

local function copy_list(t)
  local out = {}
  for i = 1, #(t or {}) do out[i] = t[i] end
  return out
end

local function noop() end

function Protocol.new(opts)
  assert(type(opts) == "table", "DarkroomProtocol.new needs an options table")
  local self = setmetatable({}, Protocol)
  self.api = opts.api or Api.new(opts)
  self.json = opts.json or json
  self.client_type = opts.client_type or "lightroom"
  self.client_name = opts.client_name or "Lightroom Classic"
  self.channels = copy_list(opts.channels or Protocol.DEFAULT_CHANNELS)
  self.wait = opts.wait or Protocol.DEFAULT_WAIT
  self.sleep = opts.sleep or noop
  self.pcall = opts.pcall or pcall
  self.now = opts.now or os.time
  self.random = opts.random or math.random
  self.log = opts.log or noop
  self.backoff_base = opts.backoff_base or 1
  self.backoff_max = opts.backoff_max or 30
  self.auth_retry = opts.auth_retry or 10
  -- The stream position of the last event handled: { epoch = "...", seq = n }.
  self.cursor = opts.cursor and { epoch = opts.cursor.epoch, seq = opts.cursor.seq } or nil
  self.client_id = nil
  self.heartbeat_interval = nil
  self.state = "disconnected"
  self.detail = nil
  self.failures = 0
  self.poll_since = false -- the next poll passes `since` (the last one may have been lost)
  self.closed = false
  self.handlers = {}
  self.resync_handlers = {}
  self.state_handlers = {}
  self.counters = { handshakes = 0, expired = 0, dropped = 0, duplicates = 0, events = 0,
                    resyncs = 0, polls = 0 }
  if opts.on_event then self:on("*", opts.on_event) end
  if opts.on_resync then self:on_resync(opts.on_resync) end
  if opts.on_state then self:on_state(opts.on_state) end
  return self
end

-- --- callbacks ------------------------------------------------------------------------

--- Call `fn(message, client)` for each message of `type` ("*": every message).
function Protocol:on(type_, fn)
  local list = self.handlers[type_] or {}
  list[#list + 1] = fn
  self.handlers[type_] = list
  return self
end

--- Call `fn(info, client)` when the stream could not be resumed: info has `reason`
-- ("not_recovered" or "server"), `from` (the old cursor), `epoch`, `seq`.
function Protocol:on_resync(fn)
  self.resync_handlers[#self.resync_handlers + 1] = fn
  return self
end

--- Call `fn(state, detail, client)` when the connection state changes:
-- "connecting", "connected", "retrying", "unauthorized", "closed".
function Protocol:on_state(fn)
  self.state_handlers[#self.state_handlers + 1] = fn
  return self
end

function Protocol:_set_state(state, detail)
  if state == self.state and detail == self.detail then return end
  self.state, self.detail = state, detail
  self.log("info", "darkroom: " .. state .. (detail and (": " .. tostring(detail)) or ""))
  for _, fn in ipairs(self.state_handlers) do fn(state, detail, self) end
end

function Protocol:_dispatch(message)
  local list = self.handlers[message.type]
  if list then
    for _, fn in ipairs(list) do fn(message, self) end
  end
  list = self.handlers["*"]
  if list then
    for _, fn in ipairs(list) do fn(message, self) end
  end
end

function Protocol:_resync(reason, epoch, seq, message)
  self.counters.resyncs = self.counters.resyncs + 1
  local info = { reason = reason, from = self.cursor, epoch = epoch, seq = seq, message = message }
  if epoch ~= nil and type(seq) == "number" then
    self.cursor = { epoch = epoch, seq = seq }
  end
  self.log("warn", "darkroom: resync (" .. reason .. ")")
  for _, fn in ipairs(self.resync_handlers) do fn(info, self) end
end

-- --- requests -------------------------------------------------------------------------

-- What a failed request means: "auth", "gone" (our client is unknown: handshake
-- again) or "retry" (network or server trouble: try the same again later).
local function classify(status, body)
  if status == nil then return "retry" end
  if AUTH_STATUSES[status] then return "auth" end
  local code = type(body) == "table" and body.code or nil
  if GONE_STATUSES[status] or (code and GONE_CODES[code]) then return "gone" end
  if status >= 500 or status == 429 or status == 408 then return "retry" end
  return "bad"
end

function Protocol:_failed(kind, err)
  if kind == "auth" then
    self:_set_state("unauthorized", err)
    self.client_id = nil
    self.sleep(self.auth_retry)
  elseif kind == "gone" then
    -- Expired (silent too long) or the server restarted: handshake again, resume with since.
    self.counters.expired = self.counters.expired + 1
    self.client_id = nil
    self.failures = self.failures + 1
    self:_set_state("retrying", err or "the server no longer knows this client")
    -- Once is normal (we were silent too long); again and again is not: slow down.
    if self.failures > 1 then self:_backoff() end
  else
    self.failures = self.failures + 1
    self:_set_state("retrying", err)
    self:_backoff()
  end
end

function Protocol:_backoff()
  local delay = math.min(self.backoff_max, self.backoff_base * 2 ^ math.min(self.failures - 1, 10))
  -- Full jitter on half the delay, so a studio's plugins do not reconnect in step.
  delay = delay / 2 + self.random() * delay / 2
  self.sleep(delay)
end

--- Connect: handshake, register as a Lightroom client, subscribe (resuming with
-- `since` when we have a position). Returns true, or nil and a message.
function Protocol:connect()
  self.closed = false
  self:_set_state("connecting")
  local data, err, status, body = self.api:post("/ws/handshake", {
    client_type = self.client_type, client_name = self.client_name,
  })
  if not data or type(data.client_id) ~= "string" and type(data.client_id) ~= "number" then
    local kind = data and "bad" or classify(status, body)
    err = err or "the handshake has no client_id"
    self:_failed(kind == "gone" and "retry" or kind, err)
    return nil, err
  end
  self.counters.handshakes = self.counters.handshakes + 1
  self.client_id = tostring(data.client_id)
  self.heartbeat_interval = tonumber(data.heartbeat_interval) or 15
  self.server_epoch = data.epoch
  if self.cursor == nil and data.epoch ~= nil and type(data.seq) == "number" then
    -- A fresh start: the stream from now on.
    self.cursor = { epoch = data.epoch, seq = data.seq }
  end
  self.poll_since = false
  local reply
  if data.client_type ~= self.client_type or data.client_name ~= self.client_name then
    -- The handshake did not register us (an older server): register as on /ws.
    reply, err = self:send({ type = "register", client_type = self.client_type,
                             client_name = self.client_name })
    if reply and reply.type == "error" then
      err = "register refused: " .. tostring(reply.error or reply.code)
      self:_set_state("retrying", err)
      return nil, err
    end
    if not reply then return nil, err end
  end
  if #self.channels > 0 then
    reply, err = self:subscribe(self.channels)
    if not reply then return nil, err end
  end
  -- `failures` is reset by the first good poll, not here: a server that takes
  -- handshakes but refuses every poll must not make us spin.
  self:_set_state("connected")
  return true
end

-- The reply of /ws/send, in whichever envelope the server puts it.
local function unwrap_reply(data)
  if type(data) ~= "table" then return nil end
  if type(data.type) == "string" then return data end
  for _, key in ipairs({ "reply", "message", "response" }) do
    if type(data[key]) == "table" then return data[key] end
  end
  if type(data.messages) == "table" and type(data.messages[1]) == "table" then
    return data.messages[1]
  end
  return nil
end

--- Send one /ws message (register, subscribe, unsubscribe, ping) and return its reply.
function Protocol:send(message)
  if not self.client_id then return nil, "not connected" end
  local data, err, status, body = self.api:post("/ws/send", {
    client_id = self.client_id, message = message,
  })
  if not data then
    local kind = classify(status, body)
    if kind == "bad" then
      -- The message itself was refused: the reply is the error.
      return unwrap_reply(body) or { type = "error", error = err, code = body and body.code }, nil
    end
    self:_failed(kind, err)
    return nil, err
  end
  local reply = unwrap_reply(data)
  if not reply then
    return { type = "unknown", body = data }, nil
  end
  -- Other messages may ride along with the reply.
  if type(data.messages) == "table" and data.messages[1] ~= reply then
    self:_handle_messages(data.messages)
  end
  return reply, nil
end

--- Subscribe to `channels` (a list), resuming after our cursor when we have one.
function Protocol:subscribe(channels)
  local message = { type = "subscribe", channels = json.array(copy_list(channels)) }
  local since = self.cursor
  if since and since.epoch ~= nil then
    message.since = { epoch = since.epoch, seq = since.seq }
  end
  local reply, err = self:send(message)
  if not reply then return nil, err end
  if reply.type == "error" then
    return nil, "subscribe refused: " .. tostring(reply.error or reply.code)
  end
  if reply.type == "subscription_confirmed" then
    if reply.recovered == false then
      self:_resync("not_recovered", reply.epoch, reply.seq, reply)
    end
    if type(reply.channels) == "table" then
      self.subscribed = copy_list(reply.channels)
    end
  end
  for _, name in ipairs(channels) do
    local known = false
    for _, have in ipairs(self.channels) do
      if have == name then known = true break end
    end
    if not known then self.channels[#self.channels + 1] = name end
  end
  return reply
end

function Protocol:unsubscribe(channels)
  local reply, err = self:send({ type = "unsubscribe", channels = json.array(copy_list(channels)) })
  if reply and reply.type == "unsubscription_confirmed" then
    local drop = {}
    for _, name in ipairs(channels) do drop[name] = true end
    local kept = {}
    for _, name in ipairs(self.channels) do
      if not drop[name] then kept[#kept + 1] = name end
    end
    self.channels = kept
  end
  return reply, err
end

--- A ping; the reply is a `pong`. `timestamp` is epoch seconds, as Lua clients send it.
function Protocol:ping()
  return self:send({ type = "ping", timestamp = self.now() })
end

-- Is `message` an event of the stream (not a reply)? Events carry their channel and seq.
local function is_event(message)
  return type(message.seq) == "number" and type(message.channel) == "string"
end

function Protocol:_handle_messages(messages)
  local handled = 0
  for i = 1, #messages do
    local message = messages[i]
    if type(message) == "table" then
      if message.type == "resync" then
        self:_resync("server", message.epoch, message.seq, message)
        self:_dispatch(message)
      elseif is_event(message) then
        local cursor = self.cursor
        if cursor and cursor.seq ~= nil and message.seq <= cursor.seq
           and (message.epoch == nil or message.epoch == cursor.epoch) then
          self.counters.duplicates = self.counters.duplicates + 1
        else
          self.cursor = { epoch = message.epoch or (cursor and cursor.epoch) or self.server_epoch,
                          seq = message.seq }
          self.counters.events = self.counters.events + 1
          handled = handled + 1
          self:_dispatch(message)
        end
      else
        if message.type == "connection_established" and message.epoch ~= nil then
          self.server_epoch = message.epoch
        end
        self:_dispatch(message)
      end
    end
  end
  return handled
end

--- The `wait` of the next poll: never as long as the server's expiry (2 x heartbeat).
function Protocol:poll_wait()
  local wait = self.wait
  if self.heartbeat_interval then
    wait = math.min(wait, math.max(1, math.floor(self.heartbeat_interval)))
  end
  return math.max(0, math.min(30, math.floor(wait)))
end

--- One long poll: handles the messages that arrive (calls the handlers).
-- Returns the number of new events, or nil and a message.
function Protocol:poll(wait)
  if not self.client_id then return nil, "not connected" end
  wait = wait or self:poll_wait()
  local path = "/ws/poll?client_id=" .. Api.urlencode(self.client_id) .. "&wait=" .. tostring(wait)
  local sent_since = false
  if self.poll_since and self.cursor and self.cursor.epoch ~= nil then
    path = path .. "&since=" .. Api.urlencode(tostring(self.cursor.epoch) .. ":"
                                              .. string.format("%.0f", self.cursor.seq))
    sent_since = true
  end
  self.counters.polls = self.counters.polls + 1
  local data, err, status, body = self.api:request("GET", path, nil, wait + 15)
  if not data then
    local kind = classify(status, body)
    if kind == "bad" and sent_since then
      -- A `since` the server will not take: poll without it (subscribe replays on a handshake).
      self.poll_since = false
      return nil, err
    end
    if kind == "retry" then
      self.counters.dropped = self.counters.dropped + 1
      self.poll_since = true -- the answer may have carried events we never read
    end
    self:_failed(kind == "bad" and "gone" or kind, err)
    return nil, err
  end
  self.poll_since = false
  self.failures = 0
  if self.state ~= "connected" then self:_set_state("connected") end
  local messages = data.messages
  if type(messages) ~= "table" then messages = {} end
  local handled = self:_handle_messages(messages)
  if data.closed == true then
    -- The server closed this client (a `close` message says why): its id is gone.
    -- Handshake again on the next step, resuming with since.
    self.client_id = nil
    self:_set_state("retrying", "the server closed this client")
  end
  return handled
end

--- One step of a polling loop: connect when needed, then one poll. Returns false
-- once the client is closed.
function Protocol:step()
  if self.closed then return false end
  local ok, err = self.pcall(function()
    if not self.client_id then
      local connected = self:connect()
      if not connected then return end
    end
    self:poll()
  end)
  if not ok then
    -- A handler raised: report it and keep the stream going.
    self.log("error", "darkroom: " .. tostring(err))
    self.failures = self.failures + 1
    self:_backoff()
  end
  return not self.closed
end

--- Poll until `keep_going()` returns false, then disconnect.
function Protocol:run(keep_going)
  keep_going = keep_going or function() return true end
  while keep_going() and self:step() do end
  self:disconnect()
end

--- Leave: the server drops this client at once (instead of expiring it).
function Protocol:disconnect()
  local id = self.client_id
  self.closed = true
  self.client_id = nil
  if id then
    self.api:post("/ws/disconnect", { client_id = id }, 5)
  end
  self:_set_state("closed")
end

--- Forget the server-side client without telling the server (tests: simulate a
-- crash; the server expires it after 2 x heartbeat_interval).
function Protocol:abandon()
  self.client_id = nil
end

return Protocol
