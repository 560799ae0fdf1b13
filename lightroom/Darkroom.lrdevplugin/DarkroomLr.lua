--[[
DarkroomLr: what the plugin's commands share inside Lightroom: the settings (LrPrefs),
the API and protocol clients over LrHttp, the selected photos, the Darkroom ids of
photos already sent, running a command in a task with an error dialog.
]]

local LrApplication = import "LrApplication"
local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"
local LrHttp = import "LrHttp"
local LrLogger = import "LrLogger"
local LrPrefs = import "LrPrefs"
local LrTasks = import "LrTasks"

local Api = require "DarkroomApi"
local Protocol = require "DarkroomProtocol"
local LrHttpAdapter = require "DarkroomLrHttp"

local M = {}

M.logger = LrLogger("Darkroom")
M.logger:enable("logfile") -- in Lightroom's logs folder, Darkroom.log

function M.log(level, message)
  if level == "error" or level == "warn" then
    M.logger:warn(message)
  else
    M.logger:info(message)
  end
end

function M.prefs()
  return LrPrefs.prefsForPlugin()
end

--- The server URL and token from the plug-in settings.
function M.settings()
  local prefs = M.prefs()
  return { url = Api.normalise_url(prefs.serverUrl), token = prefs.token or "" }
end

function M.http()
  return LrHttpAdapter.wrap(LrHttp)
end

function M.api()
  local s = M.settings()
  return Api.new { url = s.url, token = s.token, http = M.http() }
end

--- A long-polling client registered as `lightroom` (call from a task).
function M.client(opts)
  local s = M.settings()
  local o = {
    url = s.url, token = s.token, http = M.http(),
    client_type = "lightroom", client_name = "Lightroom Classic",
    sleep = LrTasks.sleep, pcall = LrTasks.pcall, log = M.log,
  }
  for k, v in pairs(opts or {}) do o[k] = v end
  return Protocol.new(o)
end

--- The photos the command applies to, with their file paths.
function M.target_photos()
  local catalog = LrApplication.activeCatalog()
  local out = {}
  for _, photo in ipairs(catalog:getTargetPhotos() or {}) do
    local path = photo:getRawMetadata("path")
    if path then out[#out + 1] = { photo = photo, path = path } end
  end
  return out
end

-- --- the Darkroom id of each photo sent (per server) ------------------------------------

function M.known_ids(url)
  local all = M.prefs().photoIds
  return type(all) == "table" and type(all[url]) == "table" and all[url] or {}
end

--- Remember `ids` (path -> Darkroom photo id) for the server at `url`.
function M.remember_ids(url, ids)
  local prefs = M.prefs()
  local all = {}
  for k, v in pairs(type(prefs.photoIds) == "table" and prefs.photoIds or {}) do all[k] = v end
  local mine = {}
  for k, v in pairs(all[url] or {}) do mine[k] = v end
  for path, id in pairs(ids) do mine[path] = id end
  all[url] = mine
  prefs.photoIds = all -- assigned, not changed in place: LrPrefs saves on assignment
end

--- Darkroom ids of `targets` ({path=...}): from what was sent, else matched by file
-- path (or a unique file name) in the approval queue. Returns ids (path -> id), missing.
function M.find_ids(api, targets)
  local url = api.url
  local known = M.known_ids(url)
  local ids, missing = {}, {}
  for _, t in ipairs(targets) do
    if known[t.path] then ids[t.path] = known[t.path] else missing[#missing + 1] = t end
  end
  if #missing == 0 then return ids, missing end
  local queue = api:approval_queue()
  local by_path, by_name, name_count = {}, {}, {}
  for _, photo in ipairs(queue and queue.photos or {}) do
    if type(photo.file_path) == "string" then by_path[photo.file_path] = photo.id end
    if type(photo.file_name) == "string" then
      by_name[photo.file_name] = photo.id
      name_count[photo.file_name] = (name_count[photo.file_name] or 0) + 1
    end
  end
  local still, found = {}, {}
  for _, t in ipairs(missing) do
    local name = string.match(t.path, "([^/\\]+)$")
    local id = by_path[t.path] or (name_count[name] == 1 and by_name[name]) or nil
    if id then ids[t.path] = id; found[t.path] = id else still[#still + 1] = t end
  end
  if next(found) then M.remember_ids(url, found) end
  return ids, still
end

--- Run `fn(context)` in a task, with Lightroom's error dialog for what it raises.
function M.run(name, fn)
  LrFunctionContext.postAsyncTaskWithContext(name, function(context)
    LrDialogs.attachErrorDialogToFunctionContext(context)
    fn(context)
  end)
end

--- A list of lines for a dialog, at most `most` of them.
function M.summary(lines, most)
  most = most or 12
  local out = {}
  for i, line in ipairs(lines) do
    if i > most then
      out[#out + 1] = string.format("… and %d more", #lines - most)
      break
    end
    out[#out + 1] = line
  end
  return table.concat(out, "\n")
end

return M
