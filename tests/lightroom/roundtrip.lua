-- Decode each line of arg[1] with DarkroomJSON and write it encoded again to arg[2].
local json = require "DarkroomJSON"
local out = assert(io.open(arg[2], "w"))
for line in io.lines(arg[1]) do
  local value, err = json.decode(line)
  if err then error(err .. " in " .. line) end
  out:write(json.encode(value), "\n")
end
out:close()
