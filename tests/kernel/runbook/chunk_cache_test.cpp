// Compiled chunks are reused only for the very text they were compiled from, keep their line
// information, and runbook descriptions follow a file's edits.

#include "chunk_cache.h"

#include <catch2/catch.hpp>
#include <lua.hpp>

#include "nauto/runbook/runbook_loader.h"

using namespace nauto::runbook;

namespace {

// Loads and calls a chunk; its first result or the error message.
std::string run_chunk(const std::string& text, const std::string& name) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  std::string out;
  if (load_text_chunk(L, text, name) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
    out = std::string("error: ") + lua_tostring(L, -1);
  else
    out = lua_tostring(L, -1) ? lua_tostring(L, -1) : "(not a string)";
  lua_close(L);
  return out;
}

}  // namespace

TEST_CASE("a chunk's bytecode serves only the text it was compiled from", "[runbook][chunks]") {
  const std::string name = "@chunk_cache_test/one.lua";
  CHECK(run_chunk("return 'first'", name) == "first");
  CHECK(run_chunk("return 'first'", name) == "first");    // from the kept bytecode
  CHECK(run_chunk("return 'second'", name) == "second");  // edited: compiled again
  CHECK(run_chunk("return 'first'", "@chunk_cache_test/two.lua") == "first");
  CHECK(run_chunk("return 'second'", name) == "second");
}

TEST_CASE("errors from kept bytecode still name the runbook's line", "[runbook][chunks]") {
  const std::string name = "@chunk_cache_test/lines.lua";
  const std::string text = "local x = 1\n\nerror('broken here')\n";
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    CHECK(run_chunk(text, name) == "error: chunk_cache_test/lines.lua:3: broken here");
  }
  // Text that does not compile is refused every time with Lua's position, never kept.
  for (int round = 0; round < 2; ++round) {
    const auto answer = run_chunk("return (", "@chunk_cache_test/syntax.lua");
    CHECK(answer.rfind("error: chunk_cache_test/syntax.lua:1:", 0) == 0);
  }
}

TEST_CASE("a runbook's description follows edits to its file", "[runbook][chunks]") {
  auto text = [](const char* param) {
    return std::string("return runbook { name = 'edit', params = { ") + param +
           " = { type = 'string' } }, run = function(p) end }";
  };
  auto first = describe_runbook(text("before"), "chunk_cache_test/edit.lua");
  REQUIRE(first);
  REQUIRE(first->params.size() == 1);
  CHECK(first->params[0].name == "before");
  auto again = describe_runbook(text("before"), "chunk_cache_test/edit.lua");
  REQUIRE(again);
  CHECK(again->params[0].name == "before");
  auto edited = describe_runbook(text("after"), "chunk_cache_test/edit.lua");
  REQUIRE(edited);
  CHECK(edited->params[0].name == "after");
  auto broken = describe_runbook("return runbook { name = 'edit' ", "chunk_cache_test/edit.lua");
  CHECK_FALSE(broken);
}
