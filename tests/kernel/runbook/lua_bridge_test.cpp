// The Lua <-> C++ border: values crossing either way are bounded in depth and never overrun
// the Lua stack, bytes that are not UTF-8 are repaired rather than thrown, and errors raised
// from C++ leave no object behind (the sanitizer pass checks for leaks).

#include "nauto/runbook/lua_bridge.h"

#include <catch2/catch.hpp>
#include <lua.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "nauto/runbook/lua_sandbox.h"
#include "nauto/runbook/lua_values.h"

using namespace nauto;
using namespace nauto::runbook;
using nlohmann::json;

namespace {

std::unique_ptr<LuaSandbox> sandbox() {
  auto box = LuaSandbox::create(SandboxLimits{}).value();
  open_json(box->state());
  return box;
}

std::string run_in(LuaSandbox& box, const std::string& code) {
  if (auto loaded = box.load(code, "probe"); !loaded) return "load: " + loaded.error().message;
  if (lua_pcall(box.state(), 0, 1, 0) != LUA_OK)
    return std::string("error: ") + lua_tostring(box.state(), -1);
  const char* text = lua_tostring(box.state(), -1);
  return text ? text : "nil";
}

LuaReturn throws(lua_State*) {
  std::string alive = "a C++ object the exception unwinds past";
  throw std::runtime_error("thrown from C++ with " + alive);
}

LuaReturn fails(lua_State*) {
  return LuaReturn::failure("no such device (expected)");
}

LuaReturn raises(lua_State* L) {
  auto big = std::make_shared<std::string>(1000, 'x');  // released before the error is raised
  return LuaReturn::error("raised after " + std::to_string(big->size()) + " bytes were freed " +
                          luaL_typename(L, 1));
}

}  // namespace

TEST_CASE("deep values are refused both ways, without overrunning the stack", "[runbook][bridge]") {
  auto box = sandbox();
  // Lua -> JSON: 200 levels (the old code pushed 2 slots a level past the 20 it may use).
  CHECK(run_in(*box, R"LUA(
    local t = {} local top = t
    for i = 1, 200 do t.next = {} t = t.next end
    return select(2, pcall(json.encode, top)))LUA")
            .find("nested deeper than 64") != std::string::npos);
  // A cycle is the same error, not a crash.
  CHECK(run_in(*box, R"LUA(
    local t = {} t.self = t
    return select(2, pcall(json.encode, t)))LUA")
            .find("nested deeper than 64") != std::string::npos);
  // JSON -> Lua: 100,000 levels of text.
  CHECK(run_in(*box, R"LUA(
    local text = ("["):rep(100000) .. ("]"):rep(100000)
    return select(2, pcall(json.decode, text)))LUA")
            .find("json.decode: nested deeper than 64") != std::string::npos);
  // Within the limit, both ways work.
  CHECK(run_in(*box, R"LUA(
    local text = ("["):rep(60) .. "1" .. ("]"):rep(60)
    return json.encode(json.decode(text)))LUA") ==
        std::string(60, '[') + "1" + std::string(60, ']'));
  // push_json outside Lua's protection comes back as an error through push_json_protected.
  json deep = 1;
  for (int i = 0; i < 100; ++i)
    deep = json::array({deep});
  lua_State* L = box->state();
  const int top = lua_gettop(L);
  auto pushed = push_json_protected(L, deep);
  REQUIRE_FALSE(pushed);
  CHECK(pushed.error().message.find("nested deeper than 64") != std::string::npos);
  CHECK(lua_gettop(L) == top);
}

TEST_CASE("bytes that are not UTF-8 are repaired, not thrown", "[runbook][bridge]") {
  auto box = sandbox();
  // nlohmann's dump() throws on invalid UTF-8; that exception once unwound through Lua.
  CHECK(run_in(*box, R"LUA(return json.encode("\255"))LUA") == "\"\xEF\xBF\xBD\"");
  CHECK(run_in(*box, R"LUA(return json.encode({["k\200"] = "a\255b"}))LUA") ==
        "{\"k\xEF\xBF\xBD\":\"a\xEF\xBF\xBD"
        "b\"}");
  lua_State* L = box->state();
  lua_pushstring(L, "ok \xC3\xA9 bad \xC3");
  auto value = json_of(L, -1);
  lua_pop(L, 1);
  REQUIRE(value);
  CHECK(*value == "ok \xC3\xA9 bad \xEF\xBF\xBD");
  CHECK_NOTHROW(value->dump());
}

TEST_CASE("the trampoline turns C++ outcomes into Lua's", "[runbook][bridge]") {
  auto box = sandbox();
  lua_State* L = box->state();
  lua_register(L, "throws", lua_function<throws>);
  lua_register(L, "fails", lua_function<fails>);
  lua_register(L, "raises", lua_function<raises>);
  CHECK(run_in(*box, "return select(2, pcall(throws))")
            .find("internal error: thrown from C++ with a C++ object") != std::string::npos);
  CHECK(run_in(*box, "local v, err = fails() return tostring(v) .. ' / ' .. err") ==
        "nil / no such device (expected)");
  CHECK(run_in(*box, "return select(2, pcall(raises, {}))") ==
        "raised after 1000 bytes were freed table");
  // The engine's own functions reject bad arguments with Lua's wording, without raising
  // from inside C++.
  CHECK(run_in(*box, "return select(2, pcall(json.decode, {}))") ==
        "bad argument #1 to 'json.decode' (string expected, got table)");
}
