#include "shell_loop.h"

namespace nauto::cli::shell {

// Values become plain data for printing: a device handle that is only a name shows as
// device("r1"); parsed records keep their columns' order; functions and the like show as
// their type and address; cycles are cut.
const char* const kShellLoop = R"LUA(
local input = __shell_input
__shell_input = nil
local load_, pcall_, pack, type_, tostring_ = load, pcall, table.pack, type, tostring
local getmetatable_, next_, pairs_, rawget_ = getmetatable, next, pairs, rawget
local device_meta = getmetatable_(device("-"))

local function plain(value, seen, depth)
  local t = type_(value)
  if t == "nil" or t == "boolean" or t == "number" or t == "string" then return value end
  if t ~= "table" then return { ["$shell"] = t, text = tostring_(value) } end
  if seen[value] or depth > 24 then return { ["$shell"] = "cycle", text = tostring_(value) } end
  if getmetatable_(value) == device_meta and next_(value, next_(value)) == nil and value.name then
    return { ["$shell"] = "device", name = value.name }
  end
  seen[value] = true
  local meta = getmetatable_(value)
  local columns = type_(meta) == "table" and rawget_(meta, "__columns") or nil
  if type_(columns) == "table" then  -- parsed records: keep the template's column order
    local rows = {}
    for i = 1, #value do rows[i] = plain(value[i], seen, depth + 1) end
    seen[value] = nil
    return { ["$shell"] = "records", columns = columns, rows = rows }
  end
  local count, out = 0, {}
  for _ in pairs_(value) do count = count + 1 end
  if count == #value then
    for i = 1, count do out[i] = plain(value[i], seen, depth + 1) end
  else
    local keyed = {}
    for k, v in pairs_(value) do keyed[tostring_(k)] = plain(v, seen, depth + 1) end
    out = { ["$shell"] = "table", fields = keyed }
  end
  seen[value] = nil
  return out
end

return runbook {
  name = "shell",
  run = function()
    local outcome = nil
    while true do
      local source = input(outcome)
      if source == nil then return end
      local fn, problem = load_("return " .. source, "=stdin", "t")
      if not fn then fn, problem = load_(source, "=stdin", "t") end
      if not fn then
        outcome = { ok = false, error = problem }
      else
        local r = pack(pcall_(fn))
        if r[1] then
          local values = {}
          for i = 2, r.n do
            values[i - 1] = { type = type_(r[i]), value = plain(r[i], {}, 0) }
          end
          outcome = { ok = true, values = values }
        else
          outcome = { ok = false, error = tostring_(r[2]) }
        end
      end
    end
  end,
}
)LUA";

}  // namespace nauto::cli::shell
