-- Info.lua and the plug-in manager section, with stub Lightroom modules (no server).
-- Usage: lua5.1 glue_static.lua <plugin dir>
local plugin = assert(arg[1])
local stubs = require "lr_stubs"
stubs.install(plugin)
local S = require "support"

local info = dofile(plugin .. "/Info.lua")
for _, key in ipairs({ "LrSdkVersion", "LrToolkitIdentifier", "LrPluginName", "LrPluginInfoProvider",
                       "LrLibraryMenuItems", "LrExportMenuItems" }) do
  S.check(info[key] ~= nil, "Info.lua has " .. key)
end
S.check(info.LrSdkVersion >= 6 and info.LrSdkMinimumVersion >= 6, "SDK 6 or later (floating dialogs)")
local files = { info.LrPluginInfoProvider }
for _, list in ipairs({ info.LrLibraryMenuItems, info.LrExportMenuItems }) do
  for _, item in ipairs(list) do
    S.check(type(item.title) == "string" and item.title ~= "", "menu item title")
    files[#files + 1] = item.file
  end
end
for _, f in ipairs(files) do
  S.check(io.open(plugin .. "/" .. f), "the file exists: " .. f)
end

local provider = dofile(plugin .. "/PluginInfoProvider.lua")
local props = {}
provider.startDialog(props)
S.eq(props.serverUrl, "http://127.0.0.1:5100", "default server URL")
S.eq(props.token, "", "no token by default")
local sections = provider.sectionsForTopOfDialog(stubs.modules.LrView.osFactory(), props)
S.eq(#sections, 1, "one section")
S.check(#stubs.find_views({ view = "root", args = sections[1] }, "password_field") == 1, "a password field")

-- Test Connection against nothing: a failure message in the section.
props.serverUrl = "http://127.0.0.1:9" -- discard: nothing answers
local buttons = stubs.find_views({ view = "root", args = sections[1] }, "push_button")
S.eq(#buttons, 1, "one button")
buttons[1].args.action()
stubs.run(function() return props.testResult ~= "" and props.testResult ~= "Testing…" end, 20,
          "test connection")

props.serverUrl = " 192.168.1.20:5100/ "
props.token = " abc \n"
provider.endDialog(props)

S.result({ identifier = info.LrToolkitIdentifier, menu_files = files,
           prefs = { serverUrl = stubs.prefs.serverUrl, token = stubs.prefs.token },
           test_result = props.testResult })
