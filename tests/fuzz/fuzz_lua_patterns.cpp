// The sandbox's counted Lua pattern matcher against Lua's own: the same call must give the
// same results or the same error. Input: a pattern, NUL, a subject.
#include <lua.hpp>
#include <string>

#include "fuzz_input.h"
#include "nauto/runbook/lua_sandbox.h"

using namespace nauto;

namespace {

const char* kProbe = R"LUA(
local s, p = ...
local out = {}
local function add(ok, ...)
  out[#out + 1] = tostring(ok)
  for i = 1, select('#', ...) do out[#out + 1] = tostring((select(i, ...))) end
end
add(pcall(string.find, s, p))
add(pcall(string.match, s, p, 2))
add(pcall(string.gsub, s, p, "<%0>", 3))
add(pcall(function()
  local n = 0
  for a, b in string.gmatch(s, p) do
    n = n + 1
    out[#out + 1] = tostring(a) .. tostring(b)
    if n > 8 then break end
  end
end))
return table.concat(out, "|")
)LUA";

// The probe's output in `L`; nullopt-like "" with ok=false when it did not finish.
bool probe(lua_State* L, std::string_view pattern, std::string_view subject, std::string& out) {
  if (luaL_loadstring(L, kProbe) != LUA_OK) return false;
  lua_pushlstring(L, subject.data(), subject.size());
  lua_pushlstring(L, pattern.data(), pattern.size());
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    return false;
  }
  std::size_t size = 0;
  const char* text = lua_tolstring(L, -1, &size);
  out.assign(text, size);
  lua_pop(L, 1);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [pattern, subject] = fuzz::split_at_nul(fuzz::text_of(data, size));
  runbook::SandboxLimits limits;
  limits.instruction_budget = 2'000'000;
  auto sandbox = runbook::LuaSandbox::create(limits).value();
  std::string ours;
  // A budget trip means the stock matcher would take as long or longer: nothing to compare.
  if (!probe(sandbox->state(), pattern, subject, ours) || ours.find("budget") != std::string::npos)
    return 0;
  lua_State* stock = luaL_newstate();
  luaL_openlibs(stock);
  std::string theirs;
  const bool finished = probe(stock, pattern, subject, theirs);
  lua_close(stock);
  if (finished && ours != theirs) __builtin_trap();
  return 0;
}
