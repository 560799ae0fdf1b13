--[[
Library/File > Plug-in Extras > Send Selected Photos to Darkroom…

Asks for the session (the Inbox, an open session, or a new one), then imports each
selected photo's file by its path (POST /import/file {file_path, session_id}). A new
session can instead import its whole folder (POST /api/sessions, then the folder
import) when every selected photo is in that folder. Darkroom reads the files where
they are: the folder must be one of its import roots (DARKROOM_IMPORT_ROOTS).
]]

local LrBinding = import "LrBinding"
local LrDialogs = import "LrDialogs"
local LrPathUtils = import "LrPathUtils"
local LrProgressScope = import "LrProgressScope"
local LrView = import "LrView"

local DarkroomLr = require "DarkroomLr"

local NEW = -1
local INBOX = 0

local function ask(context, api, targets)
  local props = LrBinding.makePropertyTable(context)
  local items = { { title = "Inbox", value = INBOX } }
  local sessions = api:sessions()
  for _, s in ipairs(sessions and sessions.sessions or {}) do
    if s.status ~= "completed" and s.id ~= 1 then
      items[#items + 1] = { title = tostring(s.name), value = s.id }
    end
  end
  items[#items + 1] = { title = "New session…", value = NEW }

  local folder = LrPathUtils.parent(targets[1].path)
  local one_folder = true
  for _, t in ipairs(targets) do
    if LrPathUtils.parent(t.path) ~= folder then one_folder = false end
  end
  props.session = NEW
  props.name = LrPathUtils.leafName(folder) or "Lightroom"
  props.wholeFolder = false
  props.oneFolder = one_folder

  local f = LrView.osFactory()
  local bind = LrView.bind
  local contents = f:column {
    bind_to_object = props,
    spacing = f:control_spacing(),
    f:static_text { title = string.format("Send %d photo%s to %s", #targets,
                                          #targets == 1 and "" or "s", api.url) },
    f:row {
      f:static_text { title = "Session:", width = LrView.share "label" },
      f:popup_menu { value = bind "session", items = items, width_in_chars = 30 },
    },
    f:row {
      f:static_text { title = "Name:", width = LrView.share "label" },
      f:edit_field {
        value = bind "name", width_in_chars = 30,
        enabled = bind { key = "session", transform = function(v, fromTable)
          if not fromTable then return LrBinding.kUnsupportedDirection end
          return v == NEW
        end },
      },
    },
    f:checkbox {
      title = "Import the whole folder (every photo in it, not only the selected ones)",
      value = bind "wholeFolder",
      enabled = bind { keys = { "session", "oneFolder" }, operation = function(_, values, fromTable)
        if not fromTable then return LrBinding.kUnsupportedDirection end
        return values.session == NEW and values.oneFolder == true
      end },
    },
  }
  local answer = LrDialogs.presentModalDialog {
    title = "Send to Darkroom", contents = contents, actionVerb = "Send",
  }
  if answer ~= "ok" then return nil end
  return props, folder
end

DarkroomLr.run("Send to Darkroom", function(context)
  local targets = DarkroomLr.target_photos()
  if #targets == 0 then
    LrDialogs.message("Send to Darkroom", "Select the photos to send first.", "info")
    return
  end
  local api = DarkroomLr.api()
  local props, folder = ask(context, api, targets)
  if not props then return end

  local session_id = props.session ~= INBOX and props.session or nil
  if props.session == NEW then
    local data, err = api:create_session(props.name ~= "" and props.name or "Lightroom", folder)
    if not data then
      LrDialogs.message("Send to Darkroom", "Could not create the session: " .. tostring(err), "critical")
      return
    end
    session_id = data.session_id or (data.session and data.session.id)
    if props.wholeFolder and props.oneFolder then
      local queued, qerr = api:import_session_folder(session_id)
      if queued then
        LrDialogs.message("Send to Darkroom", string.format(
          "Session \"%s\" created: %d photo(s) of its folder queued.", props.name, queued.found or 0), "info")
      else
        LrDialogs.message("Send to Darkroom", "Could not import the folder: " .. tostring(qerr), "critical")
      end
      return
    end
  end

  local progress = LrProgressScope { title = "Sending photos to Darkroom", functionContext = context }
  local sent, already, failed, ids = 0, 0, {}, {}
  for i, t in ipairs(targets) do
    if progress:isCanceled() then break end
    progress:setCaption(LrPathUtils.leafName(t.path))
    local data, err, status, body = api:import_file(t.path, session_id)
    if data then
      sent = sent + 1
      ids[t.path] = data.photo_id
    elseif status == 409 and body and body.photo_id then
      already = already + 1
      ids[t.path] = body.photo_id
    else
      failed[#failed + 1] = LrPathUtils.leafName(t.path) .. ": " .. tostring(err)
      if status == nil then break end -- the server is gone: do not try every photo
    end
    progress:setPortionComplete(i, #targets)
  end
  progress:done()
  DarkroomLr.remember_ids(api.url, ids)

  local text = string.format("%d sent, %d already in Darkroom, %d failed.", sent, already, #failed)
  if #failed > 0 then
    text = text .. "\n\n" .. DarkroomLr.summary(failed)
        .. "\n\nDarkroom imports only from its import roots (DARKROOM_IMPORT_ROOTS)."
  end
  LrDialogs.message("Send to Darkroom", text, #failed > 0 and "warning" or "info")
end)
