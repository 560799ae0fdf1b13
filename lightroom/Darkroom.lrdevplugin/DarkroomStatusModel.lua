--[[
DarkroomStatusModel: what the status dialog shows (queue counts, running jobs,
photos awaiting approval), kept up to date from the stream's events and loaded
from the REST API at the start and after a resync.

Plain Lua, no Lightroom: ShowStatus.lua copies `queue_text()` and `jobs_text()`
into the dialog's property table; the tests feed it real events.
]]

local json = require "DarkroomJSON"

local Model = {}
Model.__index = Model

Model.CHANNELS = { "jobs", "queue", "approval", "photos" }
Model.MAX_JOB_LINES = 8

local function num(v)
  return type(v) == "number" and v or nil
end

function Model.new()
  local self = setmetatable({}, Model)
  self.counts = { pending = 0, processing = 0, completed = 0, failed = 0 }
  self.jobs = {}      -- job_id -> { job_id, photo_id, stage, progress, message, started }
  self.order = 0
  self.names = {}     -- photo_id -> file name
  self.approval = {}  -- session_id (or "all") -> photos awaiting a decision
  self.loaded = false
  self.last_event = nil
  return self
end

--- Load the current state over REST (DarkroomApi). Returns true, or nil and a message.
function Model:load(api)
  local q, err = api:queue()
  if not q then return nil, err end
  local counts = type(q.counts) == "table" and q.counts or {}
  for _, k in ipairs({ "pending", "processing", "completed", "failed" }) do
    self.counts[k] = num(counts[k]) or 0
  end
  self.jobs = {}
  local running = api:running_jobs()
  if running and type(running.jobs) == "table" then
    for _, job in ipairs(running.jobs) do
      self:_job(job.id, job.photo_id, job.stage, job.progress, nil)
    end
  end
  self.approval = {}
  local waiting = api:approval_queue()
  if waiting and type(waiting.photos) == "table" then
    local listed = 0
    for _, photo in ipairs(waiting.photos) do
      local key = num(photo.session_id) or "all"
      self.approval[key] = (self.approval[key] or 0) + 1
      listed = listed + 1
      if num(photo.id) and type(photo.file_name) == "string" then
        self.names[photo.id] = photo.file_name
      end
    end
    local total = num(waiting.count)
    if total and total > listed then
      self.approval.more = total - listed
    end
  end
  self.loaded = true
  return true
end

function Model:_job(job_id, photo_id, stage, progress, message)
  if job_id == nil or job_id == json.null then return end
  local job = self.jobs[job_id]
  if not job then
    self.order = self.order + 1
    job = { job_id = job_id, started = self.order }
    self.jobs[job_id] = job
  end
  if num(photo_id) then job.photo_id = photo_id end
  if type(stage) == "string" then job.stage = stage end
  if num(progress) then job.progress = progress end
  if type(message) == "string" then job.message = message end
  return job
end

--- Apply one stream message. Returns true when what the dialog shows changed.
function Model:apply(event)
  local t = event.type
  self.last_event = t
  if t == "job_started" then
    self:_job(event.job_id, event.photo_id, "started", 0, nil)
  elseif t == "job_progress" then
    self:_job(event.job_id, event.photo_id, event.stage, event.progress, event.message)
  elseif t == "job_completed" or t == "job_failed" then
    if event.job_id ~= nil then self.jobs[event.job_id] = nil end
  elseif t == "queue_status" then
    for _, k in ipairs({ "pending", "processing", "completed", "failed" }) do
      if num(event[k]) then self.counts[k] = event[k] end
    end
  elseif t == "approval_queue_updated" then
    local key = num(event.session_id) or "all"
    if num(event.queue_count) then self.approval[key] = event.queue_count end
  elseif t == "photo_imported" then
    if num(event.photo_id) and type(event.file_name) == "string" then
      self.names[event.photo_id] = event.file_name
    end
    return false
  else
    return false
  end
  return true
end

function Model:awaiting_approval()
  local n = 0
  for _, count in pairs(self.approval) do n = n + count end
  return n
end

function Model:running()
  local list = {}
  for _, job in pairs(self.jobs) do list[#list + 1] = job end
  table.sort(list, function(a, b) return a.started < b.started end)
  return list
end

function Model:queue_text()
  local c = self.counts
  return string.format("Pending %d · Processing %d · Completed %d · Failed %d\nAwaiting approval: %d",
                       c.pending, c.processing, c.completed, c.failed, self:awaiting_approval())
end

local function bar(percent)
  local filled = math.floor(math.max(0, math.min(100, percent)) / 10 + 0.5)
  return "[" .. string.rep("#", filled) .. string.rep("-", 10 - filled) .. "]"
end

function Model:jobs_text(max_lines)
  max_lines = max_lines or Model.MAX_JOB_LINES
  local list = self:running()
  if #list == 0 then return "No job running." end
  local lines = {}
  for i, job in ipairs(list) do
    if i > max_lines then
      lines[#lines + 1] = string.format("… and %d more", #list - max_lines)
      break
    end
    local name = job.photo_id and (self.names[job.photo_id] or ("photo " .. tostring(job.photo_id)))
                 or ("job " .. tostring(job.job_id))
    local percent = job.progress or 0
    local line = string.format("%s %3d%%  %s — %s", bar(percent), math.floor(percent + 0.5), name,
                               job.stage or "waiting")
    if job.message and job.message ~= "" then line = line .. " (" .. job.message .. ")" end
    lines[#lines + 1] = line
  end
  return table.concat(lines, "\n")
end

return Model
