-- Library/File > Plug-in Extras > Approve Selected in Darkroom
require("DarkroomDecide").run("approve")
