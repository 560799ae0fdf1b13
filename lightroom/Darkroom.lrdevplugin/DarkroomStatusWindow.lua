--[[
The "Darkroom Status" floating window: the queue counts, photos awaiting approval and
the progress of running jobs, kept live by a background task that long-polls the
server (DarkroomProtocol) while the window is open. One window at a time.
]]

local LrBinding = import "LrBinding"
local LrDialogs = import "LrDialogs"
local LrTasks = import "LrTasks"
local LrView = import "LrView"

local DarkroomLr = require "DarkroomLr"
local Model = require "DarkroomStatusModel"

local M = { open = false, controls = nil }

local function describe(state, detail, url)
  if state == "connecting" then
    return "Connecting to " .. url .. "…"
  elseif state == "connected" then
    return "Live: connected to " .. url
  elseif state == "unauthorized" then
    return "The server wants the token: set it in File > Plug-in Manager > Darkroom ("
           .. tostring(detail) .. ")"
  elseif state == "retrying" then
    return "Reconnecting to " .. url .. ": " .. tostring(detail or "")
  end
  return "Disconnected"
end

function M.show()
  if M.open then
    if M.controls and M.controls.toFront then M.controls.toFront() end
    return
  end
  M.open = true
  DarkroomLr.run("Darkroom status", function(context)
    local props = LrBinding.makePropertyTable(context)
    local api = DarkroomLr.api()
    local model = Model.new()
    local running = true
    M.props, M.model = props, model -- for the tests

    props.connection = describe("connecting", nil, api.url)
    props.queueText = model:queue_text()
    props.jobsText = model:jobs_text()

    local function refresh()
      if not running then return end
      props.queueText = model:queue_text()
      props.jobsText = model:jobs_text()
    end

    local client = DarkroomLr.client { channels = Model.CHANNELS }
    M.client = client
    client:on("*", function(message)
      if running and model:apply(message) then refresh() end
    end)
    client:on_resync(function()
      -- Events were missed for good: read the state again.
      if running and model:load(api) then refresh() end
    end)
    client:on_state(function(state, detail)
      if running then props.connection = describe(state, detail, api.url) end
    end)

    LrTasks.startAsyncTask(function()
      local ok, err = model:load(api)
      if ok then refresh() elseif running then props.connection = "Cannot read the queue: " .. tostring(err) end
      while running do client:step() end
      client:disconnect()
    end)

    local f = LrView.osFactory()
    local bind = LrView.bind
    local contents = f:column {
      bind_to_object = props,
      spacing = f:control_spacing(),
      fill_horizontal = 1,
      f:static_text { title = bind "connection", fill_horizontal = 1, width_in_chars = 64 },
      f:separator { fill_horizontal = 1 },
      f:static_text { title = "Queue", font = "<system/bold>" },
      f:static_text { title = bind "queueText", fill_horizontal = 1, height_in_lines = 2 },
      f:static_text { title = "Running jobs", font = "<system/bold>" },
      f:static_text { title = bind "jobsText", fill_horizontal = 1, width_in_chars = 64,
                      height_in_lines = Model.MAX_JOB_LINES + 1 },
      f:row {
        f:push_button {
          title = "Refresh",
          action = function()
            LrTasks.startAsyncTask(function() if model:load(api) then refresh() end end)
          end,
        },
      },
    }

    LrDialogs.presentFloatingDialog(_PLUGIN, {
      title = "Darkroom",
      contents = contents,
      blockTask = true,
      resizable = true,
      save_frame = "DarkroomStatusWindow",
      onShow = function(controls) M.controls = controls end,
      windowWillClose = function() running = false end,
    })
    -- Keep the property table (this context) alive until the window is closed, even
    -- where presentFloatingDialog does not block the task.
    while running do LrTasks.sleep(0.5) end
    M.open, M.controls = false, nil
  end)
end

return M
