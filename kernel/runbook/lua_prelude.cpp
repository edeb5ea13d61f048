#include "lua_prelude.h"

namespace nauto::runbook {

// Error levels: perform(kind, args, level) raises at `level` frames above its caller, so an
// error names the runbook's own line ("backup.lua:12: r1: timeout: ..."). No tail calls
// (`return f(...)`) on those paths: a tail call removes a frame and shifts the levels.
const char* const kLuaPrelude = R"LUA(
local effect, take, spawn, note = __effect, __result, __spawn, __note
__effect, __result, __spawn, __note = nil, nil, nil, nil
local select_, type_, error_, pcall_, tostring_ = select, type, error, pcall, tostring
local textfsm_ = textfsm

local function perform(kind, args, level)
  effect(kind, args)
  local ok, value = take()
  if not ok then error_(value, level + 1) end
  return value
end

local function text_of(lines, what, level)
  if type_(lines) == "table" then return table.concat(lines, "\n") end
  if type_(lines) ~= "string" then
    error_(what .. ": expected a string or a list of lines, got " .. type_(lines), level + 1)
  end
  return lines
end

function fail(message)
  error_(tostring_(message), 0)
end

function runbook(definition)
  if type_(definition) ~= "table" then error_("runbook{...}: expected a table", 2) end
  return definition
end

local Device = {}
Device.__index = Device

local function device_call(self, args, level)
  args.device = self.name
  local result = perform("device", args, level + 1)
  return result
end

function Device:run(command, options)
  options = options or {}
  local many = type_(command) == "table"
  local commands = many and command or { command }
  for _, c in ipairs(commands) do
    if type_(c) ~= "string" or c == "" then error_("d:run(command): expected a command", 2) end
  end
  if options.parse ~= nil and options.parse ~= "json" and options.parse ~= "textfsm" then
    error_("d:run: parse must be \"json\" or \"textfsm\", not " .. tostring_(options.parse), 2)
  end
  local result = device_call(self, { kind = "commands", commands = commands }, 2)
  local outputs = {}
  for i, o in ipairs(result) do
    local text = o.text or ""
    if options.parse == "json" then
      local ok, value = pcall_(json.decode, text)
      if not ok then
        error_(self.name .. ": '" .. o.command .. "' did not print JSON", 2)
      end
      text = value
    elseif options.parse == "textfsm" then
      local ok, records = pcall_(textfsm_.parse_command, o.platform or "", o.command, text)
      if not ok then error_(self.name .. ": " .. tostring_(records), 2) end
      text = records
    end
    outputs[i] = text
  end
  if many then return outputs end
  return outputs[1]
end

function Device:config()
  return device_call(self, { kind = "get_config" }, 2).config
end

-- With {approval = {message, approvers, timeout}} the change is shown as a diff and pushed
-- only once approved, and only if the device would still get exactly that diff (its SHA-256
-- is checked again under the device's write lock). If the diff changed, the new one is put to
-- the approvers; after `attempts` (default 3) changed diffs the push gives up.
local function approved_push(self, config, options, level)
  local request = options.approval
  if type_(request) ~= "table" then request = {} end
  local attempts = request.attempts or 3
  for _ = 1, attempts do
    local preview = device_call(self, { kind = "push", config = config, dry_run = true,
      replace = options.replace == true }, level + 1)
    if not preview.changed or context.dry_run then return preview end
    local decision = perform("approval", {
      message = request.message or ("push to " .. self.name),
      approvers = request.approvers or {}, timeout = request.timeout,
      device = self.name, diff = preview.diff, diff_sha256 = preview.diff_sha256 }, level + 1)
    effect("device", { device = self.name, kind = "push", config = config,
      replace = options.replace == true, save = options.save == true,
      approved_diff_sha256 = preview.diff_sha256 })
    local ok, value, code = take()
    if ok then
      value.approved_by = decision.by
      return value
    end
    if code ~= "conflict" then error_(value, level + 1) end
    note("log", "warn", value)
  end
  error_(self.name .. ": the diff changed " .. attempts .. " times while waiting for approval; " ..
    "nothing was pushed", level + 1)
end

-- With {commit_confirm = "5m"} (or seconds) the push goes through the configs module: the
-- device's config is archived first, and the change is rolled back unless this run succeeds
-- (or confirm(result) comes) within the window; a failed run rolls it back at once.
function Device:push(lines, options)
  options = options or {}
  local config = text_of(lines, "d:push", 2)
  if options.approval and options.commit_confirm ~= nil and options.dry_run ~= true then
    error_("d:push: approval and commit_confirm together are not supported yet", 2)
  end
  if options.approval and options.dry_run ~= true then
    local result = approved_push(self, config, options, 2)
    return result
  end
  local result = device_call(self, { kind = "push", config = config,
    dry_run = options.dry_run == true, replace = options.replace == true,
    save = options.save == true, commit_confirm = options.commit_confirm }, 2)
  return result
end

-- Confirms a push made with commit_confirm (its result, or its push_id) before the run ends.
function confirm(push)
  local id = push
  if type_(push) == "table" then id = push.push_id end
  if type_(id) ~= "string" or id == "" then
    error_("confirm(push): expected the result of d:push{commit_confirm = ...}", 2)
  end
  local record = perform("confirm_push", { id = id }, 2)
  return record
end

function Device:diff(intended)
  local result = device_call(self, { kind = "push", config = text_of(intended, "d:diff", 2),
    dry_run = true, replace = true }, 2)
  return result.diff, result
end

function Device:facts()
  local facts = device_call(self, { kind = "facts" }, 2)
  return facts
end

function device(name)
  if type_(name) == "table" then name = name.name end
  if type_(name) ~= "string" or name == "" then
    error_("device(name): expected a device name", 2)
  end
  return setmetatable({ name = name }, Device)
end

inventory = {}
function inventory.select(selector)
  if type_(selector) ~= "string" or selector == "" then
    error_("inventory.select(selector): expected a selector such as \"site=dc1 and role=leaf\"", 2)
  end
  local hosts = perform("select", { selector = selector }, 2)
  for _, host in ipairs(hosts) do setmetatable(host, Device) end
  return hosts
end

-- parallel and foreach never stop at a failing item: they return the results (by position)
-- and the failures ({index, item, error}), so one bad device never stops the others.
function parallel(items, fn, options)
  if type_(items) ~= "table" then error_("parallel(list, fn, {max = N}): expected a list", 2) end
  if type_(fn) ~= "function" then error_("parallel(list, fn): expected a function", 2) end
  local max = options and options.max or 0
  if type_(max) ~= "number" or max < 0 then error_("parallel: max must be a number >= 0", 2) end
  local results, failures, bodies = {}, {}, {}
  for i, item in ipairs(items) do
    bodies[i] = function()
      local ok, value = pcall_(fn, item, i)
      if ok then results[i] = value
      else failures[#failures + 1] = { index = i, item = item, error = value } end
    end
  end
  if #bodies > 0 then spawn(bodies, math.floor(max)) end
  table.sort(failures, function(a, b) return a.index < b.index end)
  return results, failures
end

function foreach(items, fn)
  if type_(items) ~= "table" then error_("foreach(list, fn): expected a list", 2) end
  local results, failures = {}, {}
  for i, item in ipairs(items) do
    local ok, value = pcall_(fn, item, i)
    if ok then results[i] = value
    else failures[#failures + 1] = { index = i, item = item, error = value } end
  end
  return results, failures
end

function wait(seconds)
  if type_(seconds) ~= "number" or seconds < 0 then
    error_("wait(seconds): expected a number of seconds", 2)
  end
  perform("wait", { seconds = seconds }, 2)
end

function retry(fn, options)
  options = options or {}
  local attempts = options.attempts or 3
  local delay = options.delay or 1
  local backoff = options.backoff or 2
  local last
  for attempt = 1, attempts do
    local ok, value = pcall_(fn, attempt)
    if ok then return value end
    last = value
    if attempt < attempts then
      wait(delay)
      delay = delay * backoff
    end
  end
  error_("gave up after " .. attempts .. " attempts: " .. tostring_(last), 2)
end

function approve(request)
  if type_(request) ~= "table" or type_(request.message) ~= "string" then
    error_("approve{message = ..., approvers = {...}, timeout = seconds}: message is required", 2)
  end
  local decision = perform("approval", { message = request.message,
    approvers = request.approvers or {}, timeout = request.timeout }, 2)
  return decision
end

-- Wraps a runbook's run function behind an approval (the engine uses it once, then drops it).
function __gate(fn, request)
  return function(p)
    approve(request)
    return fn(p)
  end
end

function emit(topic, body)
  if type_(topic) ~= "string" or topic == "" then error_("emit(topic, body): expected a topic", 2) end
  perform("emit", { topic = topic, body = body }, 2)
end

local function format_message(message, ...)
  if select_("#", ...) > 0 then return string.format(message, ...) end
  return tostring_(message)
end

log = {
  info = function(message, ...) note("log", "info", format_message(message, ...)) end,
  warn = function(message, ...) note("log", "warn", format_message(message, ...)) end,
  error = function(message, ...) note("log", "error", format_message(message, ...)) end,
}
function print(...)
  local parts = {}
  for i = 1, select_("#", ...) do parts[i] = tostring_((select_(i, ...))) end
  note("log", "info", table.concat(parts, "\t"))
end

store = {
  get = function(key)
    local value = perform("state_get", { key = tostring_(key) }, 2)
    return value
  end,
  put = function(key, value) perform("state_put", { key = tostring_(key), value = value }, 2) end,
}

-- A vault reference: `vault("slack").password` is "${vault:slack:password}", which only the
-- outbound module fills in (for the hosts it allows), just before a request leaves. The value
-- never enters the runbook, its journal or its logs.
function vault(name)
  if type_(name) ~= "string" or not name:match("^[%w_.%-]+$") then
    error_("vault(name): expected a credential name", 2)
  end
  return setmetatable({}, { __index = function(_, field)
    return "${vault:" .. name .. ":" .. tostring_(field) .. "}"
  end })
end

-- http{method, url, headers, json | body, timeout, retry, expect_status, retry_unsafe, ca_file,
-- sign}: one request through the outbound module. Journaled like a device call: after a
-- restart its recorded answer is replayed, and a non-idempotent request that was in flight is
-- not sent again (unless retry_unsafe). Returns {status, headers, body, json, attempts}; an
-- unexpected status or a transport failure raises.
function http(request)
  if type_(request) ~= "table" or type_(request.url) ~= "string" then
    error_("http{url = ..., method = ..., json = ...}: url is required", 2)
  end
  local method = request.method
  if method == nil then method = (request.json ~= nil or request.body ~= nil) and "POST" or "GET" end
  if type_(method) ~= "string" then error_("http{method = ...}: expected a string such as \"POST\"", 2) end
  local result = perform("http", { method = method, url = request.url, headers = request.headers,
    json = request.json, data = request.body, timeout = request.timeout, retry = request.retry,
    expect_status = request.expect_status, retry_unsafe = request.retry_unsafe == true,
    ca_file = request.ca_file, sign = request.sign }, 2)
  return result
end

-- notify{channel, text, title, severity} or notify(channel, text): a message to a channel of
-- modules.outbound.channels (Slack, Teams, Mattermost, webhook, mail).
function notify(channel, text)
  local request = channel
  if type_(channel) ~= "table" then request = { channel = channel, text = text } end
  if type_(request.channel) ~= "string" or type_(request.text) ~= "string" then
    error_("notify{channel = ..., text = ...}: channel and text are required", 2)
  end
  local result = perform("notify", { channel = request.channel, text = request.text,
    title = request.title, severity = request.severity }, 2)
  return result
end

-- ai.analyze{prompt, max_tokens, system, optional}: the answer of the OpenAI-compatible
-- endpoint in modules.runbooks.ai, and its details. Secrets in the prompt are redacted before
-- it leaves; the prompt and the answer are journaled. Not called in a dry run; with no provider
-- configured it fails, or returns nil when optional.
ai = {}
function ai.analyze(request)
  if type_(request) == "string" then request = { prompt = request } end
  if type_(request) ~= "table" or type_(request.prompt) ~= "string" or request.prompt == "" then
    error_("ai.analyze{prompt = ..., max_tokens = ...}: prompt is required", 2)
  end
  local result = perform("ai", { prompt = request.prompt, max_tokens = request.max_tokens,
    system = request.system, optional = request.optional == true }, 2)
  if result.skipped then return nil, result end
  return result.text, result
end

function call(name, params)
  if type_(name) ~= "string" or name == "" then error_("call(runbook, params): expected a name", 2) end
  local result = perform("call", { runbook = name, params = params or {} }, 2)
  return result
end

-- A named step: recorded with its start, end, status and result; an error still propagates.
function step(name, fn)
  if type_(fn) ~= "function" then error_("step(name, fn): expected a function", 2) end
  local id = note("step", tostring_(name))
  local ok, value = pcall_(fn)
  note("step_end", id, ok, value, tostring_(name))
  if not ok then error_(value, 0) end
  return value
end
)LUA";

}  // namespace nauto::runbook
