--[[
The plug-in manager's Darkroom section: server URL and token (kept in LrPrefs), and a
"Test Connection" button.
]]

local LrFunctionContext = import "LrFunctionContext"
local LrPrefs = import "LrPrefs"
local LrView = import "LrView"

local Api = require "DarkroomApi"
local LrHttpAdapter = require "DarkroomLrHttp"

local function trim(s)
  return (string.gsub(s or "", "^%s*(.-)%s*$", "%1"))
end

local function testConnection(propertyTable)
  LrFunctionContext.postAsyncTaskWithContext("Darkroom test connection", function()
    propertyTable.testResult = "Testing…"
    local api = Api.new {
      url = propertyTable.serverUrl, token = trim(propertyTable.token),
      http = LrHttpAdapter.wrap(import "LrHttp"),
    }
    local data, err = api:stats()
    if data and type(data.stats) == "table" then
      propertyTable.testResult = string.format("Connected to %s (%s clients connected).",
                                               api.url, tostring(data.stats.total_clients or "?"))
    else
      propertyTable.testResult = "Failed: " .. tostring(err)
    end
  end)
end

return {
  startDialog = function(propertyTable)
    local prefs = LrPrefs.prefsForPlugin()
    propertyTable.serverUrl = prefs.serverUrl or Api.DEFAULT_URL
    propertyTable.token = prefs.token or ""
    propertyTable.testResult = ""
  end,

  endDialog = function(propertyTable)
    local prefs = LrPrefs.prefsForPlugin()
    prefs.serverUrl = Api.normalise_url(propertyTable.serverUrl)
    prefs.token = trim(propertyTable.token)
  end,

  sectionsForTopOfDialog = function(f, propertyTable)
    local bind = LrView.bind
    local share = LrView.share
    return {
      {
        title = "Darkroom Server",
        synopsis = bind { key = "serverUrl", object = propertyTable },
        bind_to_object = propertyTable,

        f:row {
          f:static_text { title = "Server URL:", alignment = "right", width = share "darkroom_label" },
          f:edit_field { value = bind "serverUrl", width_in_chars = 32, immediate = true },
        },
        f:row {
          f:static_text { title = "Token:", alignment = "right", width = share "darkroom_label" },
          f:password_field { value = bind "token", width_in_chars = 32 },
        },
        f:row {
          f:static_text { title = "", width = share "darkroom_label" },
          f:static_text {
            title = "Default http://127.0.0.1:5100. A server in LAN mode needs its token:\n"
                    .. "paste the install's token (the file 'token' in Darkroom's data folder).",
            fill_horizontal = 1, height_in_lines = 2,
          },
        },
        f:row {
          f:static_text { title = "", width = share "darkroom_label" },
          f:push_button { title = "Test Connection", action = function() testConnection(propertyTable) end },
          f:static_text { title = bind "testResult", fill_horizontal = 1, width_in_chars = 40 },
        },
      },
    }
  end,
}
