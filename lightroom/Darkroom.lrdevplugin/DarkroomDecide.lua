--[[
Approve or reject the selected photos in Darkroom (ApproveSelected.lua, RejectSelected.lua).
A photo's Darkroom id is the one it got when it was sent, else it is looked up in the
approval queue by its file path.
]]

local LrBinding = import "LrBinding"
local LrDialogs = import "LrDialogs"
local LrPathUtils = import "LrPathUtils"
local LrView = import "LrView"

local DarkroomLr = require "DarkroomLr"

local M = {}

local function ask_reason(context, count)
  local props = LrBinding.makePropertyTable(context)
  props.reason = ""
  local f = LrView.osFactory()
  local answer = LrDialogs.presentModalDialog {
    title = "Reject in Darkroom",
    actionVerb = "Reject",
    contents = f:column {
      bind_to_object = props,
      spacing = f:control_spacing(),
      f:static_text { title = string.format("Reject %d photo%s. Reason (optional):", count,
                                            count == 1 and "" or "s") },
      f:edit_field { value = LrView.bind "reason", width_in_chars = 40 },
    },
  }
  if answer ~= "ok" then return nil end
  return props.reason or ""
end

--- `decision` is "approve" or "reject".
function M.run(decision)
  local title = decision == "approve" and "Approve in Darkroom" or "Reject in Darkroom"
  DarkroomLr.run(title, function(context)
    local targets = DarkroomLr.target_photos()
    if #targets == 0 then
      LrDialogs.message(title, "Select the photos first.", "info")
      return
    end
    local reason
    if decision == "reject" then
      reason = ask_reason(context, #targets)
      if reason == nil then return end
    end
    local api = DarkroomLr.api()
    local ids, missing = DarkroomLr.find_ids(api, targets)
    local done, problems = 0, {}
    for _, t in ipairs(targets) do
      local id = ids[t.path]
      if id then
        local data, err
        if decision == "approve" then data, err = api:approve(id) else data, err = api:reject(id, reason) end
        if data then
          done = done + 1
        else
          problems[#problems + 1] = LrPathUtils.leafName(t.path) .. ": " .. tostring(err)
          if err and string.find(err, "cannot reach") then break end
        end
      end
    end
    for _, t in ipairs(missing) do
      problems[#problems + 1] = LrPathUtils.leafName(t.path)
          .. ": not in Darkroom (send it first) or not awaiting a decision"
    end
    local verb = decision == "approve" and "approved" or "rejected"
    local text = string.format("%d %s.", done, verb)
    if #problems > 0 then text = text .. "\n\n" .. DarkroomLr.summary(problems) end
    LrDialogs.message(title, text, #problems > 0 and "warning" or "info")
  end)
end

return M
