-- The menu commands with stub Lightroom modules against a real server (DARKROOM_URL,
-- ping_interval=1): open the status window, send three photos into a new session,
-- watch their develops in the window, approve one (its id from the send), reject one
-- (its id found in the approval queue), send one again (a duplicate), close the window.
-- Usage: lua5.1 glue_commands.lua <photo> <photo> <photo>
local plugin = os.getenv("LUA_PATH"):match("^([^;]+)/%?%.lua")
local stubs = require "lr_stubs"
stubs.install(plugin)
local S = require "support"
local json = S.json
local paths = { arg[1], arg[2], arg[3] }
stubs.prefs.serverUrl = S.url

local function last_message()
  return stubs.messages[#stubs.messages]
end

local function command(file, photos, on_modal)
  local before = #stubs.messages
  stubs.photos = {}
  for i, p in ipairs(photos) do stubs.photos[i] = stubs.photo(p) end
  stubs.on_modal = on_modal
  dofile(plugin .. "/" .. file)
  stubs.run(function() return #stubs.messages > before end, 30, file)
  return last_message().message
end

-- 1. The status window, live.
dofile(plugin .. "/ShowStatus.lua")
local Window = require "DarkroomStatusWindow"
stubs.run(function() return Window.client ~= nil and Window.client.state == "connected" end, 15,
          "the window connects")
local window_events = {}
Window.client:on("*", function(m) window_events[#window_events + 1] = m.type end)
local completed = 0
Window.client:on("job_completed", function() completed = completed + 1 end)
local connection_seen = Window.props.connection
-- Opening it again brings the same window to the front.
dofile(plugin .. "/ShowStatus.lua")
S.eq(stubs.window.fronted, 1, "a second Show brings the window to the front")

-- 2. Send three photos into a new session.
local send_message = command("SendSelected.lua", paths, function(args, props)
  S.eq(args.actionVerb, "Send", "the send dialog")
  props.session = -1
  props.name = "lightroom-session"
  return "ok"
end)
local ids = stubs.prefs.photoIds[S.url]
S.check(ids and ids[paths[1]] and ids[paths[2]] and ids[paths[3]], "ids remembered", ids)

-- 3. The window follows the develops until no job runs.
stubs.run(function() return completed >= 3 end, 45, "three develops seen in the window")
stubs.run(function() return Window.props.jobsText == "No job running." end, 10, "no job running")
-- Counts are state events (coalesced): the last one comes a little after the last job.
stubs.run(function()
  return string.find(Window.props.queueText, "Completed 3", 1, true)
     and string.find(Window.props.queueText, "Awaiting approval: 3", 1, true)
end, 10, "the final counts in the window")
local queue_text = Window.props.queueText

-- 4. Approve the first (id from the send); reject the second with its id forgotten
-- (found in the approval queue by its path).
local approve_message = command("ApproveSelected.lua", { paths[1] })
S.check(string.find(approve_message, "^1 approved%."), "approved", approve_message)
local kept = {}
for k, v in pairs(stubs.prefs.photoIds[S.url]) do kept[k] = v end
kept[paths[2]] = nil
stubs.prefs.photoIds = { [S.url] = kept }
local reject_message = command("RejectSelected.lua", { paths[2] }, function(args, props)
  S.eq(args.actionVerb, "Reject", "the reject dialog")
  props.reason = "soft focus"
  return "ok"
end)
S.check(string.find(reject_message, "^1 rejected%."), "rejected", reject_message)
-- Approving an already decided photo says so.
local again = command("ApproveSelected.lua", { paths[1] })
S.check(string.find(again, "^0 approved%.") and string.find(again, "already"), "already decided", again)

-- 5. Sending one again: a duplicate, its id kept.
local resend_message = command("SendSelected.lua", { paths[3] }, function(_, props)
  props.session = 0
  return "ok"
end)

-- 6. Close the window: the poll loop ends and the client leaves.
stubs.window.controls.close()
stubs.run(nil, 15, "every task ends")
S.eq(Window.open, false, "the window is closed")
S.eq(Window.client.state, "closed", "the client disconnected")

local out_ids = {}
for p, id in pairs(stubs.prefs.photoIds[S.url]) do out_ids[p] = id end
out_ids[paths[2]] = ids[paths[2]]
S.result({
  send_message = send_message, resend_message = resend_message, ids = out_ids,
  window = { events = window_events, connection_seen = connection_seen, queue_text = queue_text,
             closed_clean = #stubs.errors == 0 },
})
