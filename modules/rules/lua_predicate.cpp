#include "lua_predicate.h"

#include <lua.hpp>

#include "nauto/base/clock.h"
#include "nauto/runbook/lua_sandbox.h"
#include "nauto/runbook/lua_values.h"

namespace nauto::rules {

namespace {

constexpr std::size_t kMemoryBytes = 4u << 20;
constexpr std::uint64_t kInstructionsPerCall = 1'000'000;
constexpr std::int64_t kDeadlinePerCallUs = 50'000;

// Runs protected (lua_pcall): sets `event` and calls the predicate; Lua errors, memory ones
// included, unwind to the pcall rather than through C++ frames of ours.
int call_with_event(lua_State* L) {
  const auto* event = static_cast<const nlohmann::json*>(lua_touserdata(L, 1));
  runbook::push_json(L, *event);
  lua_setglobal(L, "event");
  lua_pushvalue(L, 2);
  lua_call(L, 0, 1);
  lua_pushboolean(L, lua_toboolean(L, -1));
  return 1;
}

}  // namespace

Result<std::shared_ptr<LuaPredicate>> LuaPredicate::compile(const std::string& code,
                                                            const std::string& chunk_name) {
  std::shared_ptr<LuaPredicate> predicate(new LuaPredicate());
  predicate->code_ = code;
  runbook::SandboxLimits limits;
  limits.max_memory_bytes = kMemoryBytes;
  limits.instruction_budget = kInstructionsPerCall;
  auto sandbox = runbook::LuaSandbox::create(limits);
  if (!sandbox) return std::move(sandbox).error();
  predicate->sandbox_ = std::move(*sandbox);
  // An expression first (the common case); failing that, a chunk with its own return.
  if (!predicate->sandbox_->load("return " + code, chunk_name)) {
    auto chunk = predicate->sandbox_->load(code, chunk_name);
    if (!chunk) return fail(Errc::InvalidConfig, chunk.error().message);
  }
  predicate->function_ = luaL_ref(predicate->sandbox_->state(), LUA_REGISTRYINDEX);
  return predicate;
}

LuaPredicate::~LuaPredicate() = default;

Result<bool> LuaPredicate::test(const nlohmann::json& event) {
  lua_State* L = sandbox_->state();
  sandbox_->renew(kInstructionsPerCall, steady_us() + kDeadlinePerCallUs);
  lua_settop(L, 0);
  lua_pushcfunction(L, call_with_event);
  lua_pushlightuserdata(L, const_cast<nlohmann::json*>(&event));
  lua_rawgeti(L, LUA_REGISTRYINDEX, function_);
  const int status = lua_pcall(L, 2, 1, 0);
  if (status != LUA_OK) {
    const char* message = lua_tostring(L, -1);
    auto error =
        sandbox_->describe_error(status, message ? message : "error object is not a string");
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    return fail(Errc::InvalidArgument, error);
  }
  const bool holds = lua_toboolean(L, -1);
  lua_settop(L, 0);
  return holds;
}

}  // namespace nauto::rules
