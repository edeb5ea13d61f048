// The sandbox's counted pattern matchers against Lua's own string library: the same calls give
// the same results and errors, and a pattern that backtracks without end stops at the budget.

#include <catch2/catch.hpp>
#include <lua.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "nauto/base/clock.h"
#include "nauto/runbook/lua_sandbox.h"

using namespace nauto;
using namespace nauto::runbook;
using namespace std::string_view_literals;

namespace {

// Calls every pattern function with every subject and pattern and prints what each returned
// (or the error it raised), one line per call.
const char* kProbe = R"LUA(
local subjects, patterns = ...
local out = {}
local function add(label, ok, ...)
  local parts = { label, tostring(ok) }
  for i = 1, select('#', ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  out[#out + 1] = table.concat(parts, "|")
end
for _, s in ipairs(subjects) do
  for _, p in ipairs(patterns) do
    add("find", pcall(string.find, s, p))
    add("find3", pcall(string.find, s, p, 3))
    add("find-4", pcall(string.find, s, p, -4))
    add("findplain", pcall(string.find, s, p, 1, true))
    add("match", pcall(string.match, s, p))
    add("match2", pcall(string.match, s, p, 2))
    add("method", pcall(function() return s:match(p) end))
    add("gsub", pcall(string.gsub, s, p, "<%0>"))
    add("gsub1", pcall(string.gsub, s, p, "[%1]", 2))
    add("gsubpct", pcall(string.gsub, s, p, "%%"))
    add("gsubbad", pcall(string.gsub, s, p, "%z"))
    add("gsubfn", pcall(string.gsub, s, p, function(a, b) if a == "b" then return nil end
                                             return tostring(a) .. tostring(b) end))
    add("gsubtable", pcall(string.gsub, s, p, { a = "A", ["1"] = 1, x = false }))
    add("gsubnum", pcall(string.gsub, s, p, 7))
    local ok, iterator = pcall(string.gmatch, s, p)
    if ok then
      local got = {}
      local fine, err = pcall(function()
        for a, b in iterator do
          got[#got + 1] = tostring(a) .. "/" .. tostring(b)
          if #got > 30 then break end
        end
      end)
      add("gmatch", fine, table.concat(got, ";"), err)
    else
      add("gmatch", ok, iterator)
    end
    add("gmatch3", pcall(function()
      local got = {}
      for a in string.gmatch(s, p, 3) do got[#got + 1] = tostring(a) if #got > 30 then break end end
      return table.concat(got, ";")
    end))
  end
end
add("badrepl", pcall(string.gsub, "abc", "b", true))
add("badfn", pcall(string.gsub, "abc", "b", function() return {} end))
add("nonstring", pcall(string.find, {}, "a"))
add("numbers", pcall(string.find, 12345, 34))
return table.concat(out, "\n")
)LUA";

const std::string_view kSubjects[] = {"",
                                      "hello world",
                                      "  key = value  ",
                                      "Gi0/1 is up, line protocol is down",
                                      "THE (quick) [brown] {fox} jumps",
                                      "a,b,,c,",
                                      "aaa",
                                      "f(a(b)c)d(e",
                                      "x = 10, y = 20\nz = 30",
                                      "THE (quick) fox",
                                      "nul\0inside"sv,
                                      "ümlaut ünïcode",
                                      "%d%%",
                                      "one two  three",
                                      "\0\x83"sv};  // a NUL for %z (found by fuzzing)

const char* kPatterns[] = {"",
                           "o",
                           "l+",
                           "^h",
                           "d$",
                           "^$",
                           "%a+",
                           "%A+",
                           "%d+",
                           "%s*(%S+)%s*",
                           "(%w+)%s*=%s*(%w+)",
                           "()ll()",
                           "%b()",
                           "%b{}",
                           "%f[%w]%w+",
                           "%f[%W]",
                           "[%a_][%w_]*",
                           "[^,]*",
                           "[]]",
                           "[^]]+",
                           "[a-c]+",
                           "[%]]",
                           ".-",
                           "(.-)%s",
                           "a-b",
                           "a?b?c?",
                           "(a)(b)?",
                           "(h)(e)%2",
                           "(l)%1",
                           "%",
                           "[a",
                           "(",
                           ")",
                           "%g",
                           "%f",
                           "%b",
                           "(()",
                           "%1",
                           "[%d%s]+",
                           "%x+",
                           "[^%s]+$",
                           "%u%l*",
                           "%p",
                           "%c",
                           "\xc3\xbc",
                           "(x)(y)",
                           "^(%S+)",
                           "%%",
                           "%%d",
                           "[-a]",
                           "[a-]",
                           "%.%d*",
                           "%z",
                           "[%z]+",
                           "%Z+"};

std::string probe(lua_State* L) {
  if (luaL_loadstring(L, kProbe) != LUA_OK) return lua_tostring(L, -1);
  lua_createtable(L, 0, 0);
  int i = 1;
  for (const auto s : kSubjects) {
    lua_pushlstring(L, s.data(), s.size());
    lua_rawseti(L, -2, i++);
  }
  lua_createtable(L, 0, 0);
  i = 1;
  for (const auto* p : kPatterns) {
    lua_pushstring(L, p);
    lua_rawseti(L, -2, i++);
  }
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) return std::string("error: ") + lua_tostring(L, -1);
  std::size_t size = 0;
  const char* text = lua_tolstring(L, -1, &size);  // the output holds NULs from the subjects
  return std::string(text, size);
}

std::unique_ptr<LuaSandbox> sandbox(std::uint64_t budget = 200'000'000) {
  SandboxLimits limits;
  limits.instruction_budget = budget;
  return LuaSandbox::create(limits).value();
}

std::string run_in(LuaSandbox& box, const std::string& code) {
  if (auto loaded = box.load(code, "probe"); !loaded) return "load: " + loaded.error().message;
  if (lua_pcall(box.state(), 0, 1, 0) != LUA_OK)
    return std::string("error: ") + lua_tostring(box.state(), -1);
  return lua_tostring(box.state(), -1) ? lua_tostring(box.state(), -1) : "nil";
}

}  // namespace

TEST_CASE("counted patterns give what Lua's own string library gives", "[runbook][patterns]") {
  lua_State* stock = luaL_newstate();
  luaL_openlibs(stock);
  const auto expected = probe(stock);
  lua_close(stock);
  auto box = sandbox();
  const auto got = probe(box->state());
  REQUIRE(expected.rfind("error", 0) != 0);
  // Line by line, so a difference names the call.
  std::size_t a = 0, b = 0, line = 0, differences = 0;
  while (a <= expected.size() && b <= got.size()) {
    const auto ea = std::min(expected.find('\n', a), expected.size());
    const auto eb = std::min(got.find('\n', b), got.size());
    ++line;
    if (expected.substr(a, ea - a) != got.substr(b, eb - b)) {
      ++differences;
      INFO("line " << line);
      CHECK(got.substr(b, eb - b) == expected.substr(a, ea - a));
      if (differences > 20) break;
    }
    a = ea + 1;
    b = eb + 1;
  }
  CHECK(differences == 0);
  CHECK(line > 10'000);
}

TEST_CASE("a pattern that backtracks without end stops at the instruction budget",
          "[runbook][patterns]") {
  auto box = sandbox(50'000'000);
  const auto started = steady_us();
  const auto outcome = run_in(*box, R"LUA(
    return select(2, pcall(function()
      return ("a"):rep(30000):find(("a*"):rep(10) .. "b")
    end)))LUA");
  CHECK(outcome.find("string.find: instruction budget of 50000000 exceeded") != std::string::npos);
  CHECK(steady_us() - started < 5'000'000);
  // The limit stays tripped: the next pattern call fails at once.
  CHECK(run_in(*box, "return select(2, pcall(string.match, 'abc', '%a+'))")
            .find("instruction budget") != std::string::npos);

  // gsub and gmatch are counted the same way; charged steps show in the instruction count.
  auto fresh = sandbox(20'000'000);
  CHECK(run_in(*fresh, R"LUA(
    return select(2, pcall(string.gsub, ("a"):rep(5000), ("a-"):rep(8) .. "b", "x")))LUA")
            .find("string.gsub: instruction budget") != std::string::npos);
  auto counted = sandbox();
  CHECK(run_in(*counted,
               "local n = 0 for w in ('a b c '):rep(10000):gmatch('%a') do n = n + 1 "
               "end return tostring(n)") == "30000");
  CHECK(counted->instructions() > 30'000);
}

TEST_CASE("the deadline and the unpausable limit stop a pattern too", "[runbook][patterns]") {
  SandboxLimits limits;
  limits.instruction_budget = 1'000'000'000'000ULL;
  limits.slice_us = 10'000;
  limits.max_unpausable_us = 200'000;
  auto box = LuaSandbox::create(limits).value();
  box->begin_slice();
  const auto started = steady_us();
  const auto outcome = run_in(*box, R"LUA(
    return select(2, pcall(string.find, ("a"):rep(30000), ("a*"):rep(10) .. "b")))LUA");
  CHECK(outcome.find("string.find: computed for over 200 ms where the engine cannot pause it") !=
        std::string::npos);
  CHECK(steady_us() - started < 3'000'000);
}

TEST_CASE("finalizers cannot be set", "[runbook][sandbox]") {
  auto box = sandbox();
  CHECK(run_in(*box, R"LUA(
    return select(2, pcall(setmetatable, {}, { __gc = function() while true do end end })))LUA")
            .find("__gc is not allowed") != std::string::npos);
  // Other metatables work as before, __metatable protection included.
  CHECK(run_in(*box, R"LUA(
    local t = setmetatable({}, { __index = function(_, k) return k .. "!" end,
                                 __metatable = "locked" })
    local ok, err = pcall(setmetatable, t, {})
    return t.x .. " " .. tostring(ok) .. " " .. getmetatable(t) .. " " .. err)LUA") ==
        "x! false locked cannot change a protected metatable");
  // A field added later does not make a finalizer (Lua marks objects at setmetatable only);
  // closing the state must not spin.
  CHECK(run_in(*box, R"LUA(
    local mt = {}
    local t = setmetatable({}, mt)
    mt.__gc = function() while true do end end
    return "set")LUA") == "set");
  box.reset();
}
