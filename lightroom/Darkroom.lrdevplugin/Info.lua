--[[
Darkroom for Lightroom Classic: send photos to a Darkroom server, watch its queue and
jobs live, approve or reject from Lightroom.

Library > Plug-in Extras (and File > Plug-in Extras):
  Darkroom Status…                   a floating window: queue counts, running jobs (live)
  Send Selected Photos to Darkroom…  import the selected photos' files into a session
  Approve Selected in Darkroom       approve the selected photos (developed in Darkroom)
  Reject Selected in Darkroom…       reject them, with a reason
Settings (server URL, token): File > Plug-in Manager > Darkroom.
]]

local menuItems = {
  { title = "Darkroom Status…", file = "ShowStatus.lua" },
  { title = "Send Selected Photos to Darkroom…", file = "SendSelected.lua",
    enabledWhen = "photosSelected" },
  { title = "Approve Selected in Darkroom", file = "ApproveSelected.lua",
    enabledWhen = "photosSelected" },
  { title = "Reject Selected in Darkroom…", file = "RejectSelected.lua",
    enabledWhen = "photosSelected" },
}

return {
  LrSdkVersion = 10.0,
  LrSdkMinimumVersion = 6.0, -- presentFloatingDialog and LrTasks.pcall
  LrToolkitIdentifier = "com.darkroom.lightroom",
  LrPluginName = "Darkroom",
  LrPluginInfoProvider = "PluginInfoProvider.lua",
  LrLibraryMenuItems = menuItems,
  LrExportMenuItems = menuItems,
  VERSION = { major = 1, minor = 0, revision = 0, build = 1 },
}
