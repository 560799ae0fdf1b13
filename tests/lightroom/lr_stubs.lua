--[[
Stub Lightroom modules, enough to run the plugin's UI glue under a plain lua5.1:
`import "LrX"` answers these; LrHttp is the LuaSocket shim; tasks run on a small
cooperative scheduler (LrTasks.sleep yields), so a floating window's background poll
loop and the test's own steps interleave as they would in Lightroom. As in
Lightroom, LrHttp and LrTasks.sleep may only be called from a task.

  local stubs = require "lr_stubs"
  stubs.install(plugin_dir)
  stubs.photos = { stubs.photo("/path/a.jpg") }
  stubs.on_modal = function(args, props) props.x = 1; return "ok" end
  dofile(plugin_dir .. "/SendSelected.lua")
  stubs.run(function() return #stubs.messages > 0 end, 30)
]]

local socket = require "socket"
local shim = require "lrhttp_shim"

local stubs = { messages = {}, errors = {}, prefs = {}, photos = {}, modals = {}, window = nil }
local unpack = unpack or table.unpack

-- --- tasks ------------------------------------------------------------------------------

local tasks = {}

local function spawn(fn, ...)
  tasks[#tasks + 1] = { co = coroutine.create(fn), wake = 0, args = { ... }, started = false }
end

local function in_task()
  return coroutine.running() ~= nil
end

-- pcall that lets the function sleep (yield) inside it, like LrTasks.pcall.
local function task_pcall(fn, ...)
  local co = coroutine.create(fn)
  local args = { ... }
  while true do
    local res = { coroutine.resume(co, unpack(args)) }
    if coroutine.status(co) == "dead" then
      return unpack(res)
    end
    args = { coroutine.yield(unpack(res, 2)) }
  end
end

--- Run the tasks until `pred()` holds (or, without `pred`, until none is left).
function stubs.run(pred, timeout, what)
  local deadline = socket.gettime() + (timeout or 30)
  while true do
    if pred and pred() then return true end
    if not pred and #tasks == 0 then return true end
    local now = socket.gettime()
    if now > deadline then
      error("stub scheduler: " .. (what or "condition") .. " not reached in time", 2)
    end
    local soonest = math.huge
    local ran = false
    local current = {}
    for i, t in ipairs(tasks) do current[i] = t end
    for _, t in ipairs(current) do
      if t.wake <= socket.gettime() then
        ran = true
        local ok, slept
        if not t.started then
          t.started = true
          ok, slept = coroutine.resume(t.co, unpack(t.args))
        else
          ok, slept = coroutine.resume(t.co)
        end
        if not ok then
          stubs.errors[#stubs.errors + 1] = tostring(slept)
          io.stderr:write("task failed: ", tostring(slept), "\n")
        end
        if coroutine.status(t.co) == "dead" then
          for j, u in ipairs(tasks) do if u == t then table.remove(tasks, j) break end end
        else
          t.wake = socket.gettime() + (tonumber(slept) or 0)
        end
      end
      if t.wake < soonest then soonest = t.wake end
    end
    if #stubs.errors > 0 then error("a task failed: " .. stubs.errors[1], 2) end
    if not ran and soonest < math.huge then
      socket.sleep(math.max(0, math.min(0.02, soonest - socket.gettime())))
    end
  end
end

function stubs.task_count() return #tasks end

local LrTasks = {
  startAsyncTask = function(fn) spawn(fn) end,
  sleep = function(seconds)
    assert(in_task(), "LrTasks.sleep outside a task")
    coroutine.yield(seconds or 0)
  end,
  yield = function() coroutine.yield(0) end,
  pcall = task_pcall,
  canYield = in_task,
}

-- --- function contexts ------------------------------------------------------------------

local function new_context()
  local ctx = { cleanups = {}, failures = {} }
  function ctx:addCleanupHandler(fn) self.cleanups[#self.cleanups + 1] = fn end
  function ctx:addFailureHandler(fn) self.failures[#self.failures + 1] = fn end
  return ctx
end

local LrFunctionContext = {}
function LrFunctionContext.callWithContext(_, fn, ...)
  local ctx = new_context()
  local res = { task_pcall(fn, ctx, ...) }
  if not res[1] then
    for _, h in ipairs(ctx.failures) do h(false, res[2]) end
  end
  for _, h in ipairs(ctx.cleanups) do h(res[1], res[2]) end
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2)
end
function LrFunctionContext.postAsyncTaskWithContext(name, fn)
  spawn(function() LrFunctionContext.callWithContext(name, fn) end)
end

-- --- dialogs and views -------------------------------------------------------------------

local LrDialogs = {}
function LrDialogs.message(title, message, style)
  stubs.messages[#stubs.messages + 1] = { title = title, message = message, style = style }
end
function LrDialogs.attachErrorDialogToFunctionContext(ctx)
  ctx:addFailureHandler(function(_, err)
    stubs.errors[#stubs.errors + 1] = "error dialog: " .. tostring(err)
  end)
end
function LrDialogs.presentModalDialog(args)
  stubs.modals[#stubs.modals + 1] = args
  local props = args.contents and args.contents.args and args.contents.args.bind_to_object
  return stubs.on_modal and stubs.on_modal(args, props) or "cancel"
end
function LrDialogs.presentFloatingDialog(_, args)
  assert(in_task(), "presentFloatingDialog with blockTask outside a task")
  local win = { args = args, open = true }
  win.controls = {
    close = function()
      if win.open then
        win.open = false
        if args.windowWillClose then args.windowWillClose() end
      end
    end,
    toFront = function() win.fronted = (win.fronted or 0) + 1 end,
  }
  stubs.window = win
  if args.onShow then args.onShow(win.controls) end
  if args.blockTask then
    while win.open do LrTasks.sleep(0.05) end
  end
end

local factory = setmetatable({
  control_spacing = function() return 8 end,
  label_spacing = function() return 4 end,
  dialog_spacing = function() return 12 end,
}, { __index = function(_, kind)
  return function(_, args) return { view = kind, args = args or {} } end
end })

local LrView = {
  osFactory = function() return factory end,
  bind = function(spec) return { bind = spec } end,
  share = function(name) return { share = name } end,
}

local LrBinding = {
  makePropertyTable = function() return {} end,
  kUnsupportedDirection = setmetatable({}, { __tostring = function() return "kUnsupportedDirection" end }),
}

--- Every view of `tree` of `kind` (depth first).
function stubs.find_views(tree, kind, out)
  out = out or {}
  if type(tree) ~= "table" then return out end
  if tree.view == kind then out[#out + 1] = tree end
  for _, child in ipairs(tree.args or {}) do stubs.find_views(child, kind, out) end
  return out
end

-- --- catalog, prefs, paths, progress, logs, http -----------------------------------------

function stubs.photo(path)
  return {
    path = path,
    getRawMetadata = function(_, key)
      if key == "path" then return path end
      return nil
    end,
  }
end

local catalog = { getTargetPhotos = function() return stubs.photos end }

local LrPathUtils = {
  parent = function(p) return string.match(p, "^(.*)[/\\][^/\\]*$") end,
  leafName = function(p) return string.match(p, "([^/\\]+)$") end,
}

local LrProgressScope = setmetatable({}, { __call = function(_, args)
  local scope = { args = args, portions = {} }
  function scope:setPortionComplete(done, total) self.portions[#self.portions + 1] = { done, total } end
  function scope:setCaption(c) self.caption = c end
  function scope:isCanceled() return false end
  function scope:done() self.finished = true end
  stubs.progress = scope
  return scope
end })

local LrLogger = setmetatable({}, { __call = function()
  local logger = {}
  for _, m in ipairs({ "enable", "disable", "info", "warn", "error", "trace", "debug" }) do
    logger[m] = function() end
  end
  return logger
end })

-- A request yields its task, as LrHttp does in Lightroom: other tasks run meanwhile.
local function answered(body, hdrs)
  coroutine.yield(0)
  return body, hdrs
end

local LrHttp = {
  post = function(...)
    assert(in_task(), "LrHttp.post outside a task (Lightroom refuses it too)")
    return answered(shim.post(...))
  end,
  get = function(...)
    assert(in_task(), "LrHttp.get outside a task (Lightroom refuses it too)")
    return answered(shim.get(...))
  end,
}

local modules = {
  LrApplication = { activeCatalog = function() return catalog end },
  LrBinding = LrBinding,
  LrDialogs = LrDialogs,
  LrFunctionContext = LrFunctionContext,
  LrHttp = LrHttp,
  LrLogger = LrLogger,
  LrPathUtils = LrPathUtils,
  LrPrefs = { prefsForPlugin = function() return stubs.prefs end },
  LrProgressScope = LrProgressScope,
  LrTasks = LrTasks,
  LrView = LrView,
}
stubs.modules = modules

function stubs.install(plugin_dir)
  _G.import = function(name)
    return modules[name] or error("stub Lightroom has no module " .. tostring(name), 2)
  end
  _G._PLUGIN = { id = "com.darkroom.lightroom", path = plugin_dir, enabled = true }
  _G.LOC = function(s) return (string.gsub(s, "^%$%$%$[^=]*=", "")) end
end

return stubs
