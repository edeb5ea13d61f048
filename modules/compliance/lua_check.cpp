#include "lua_check.h"

#include <lua.hpp>

#include "nauto/base/clock.h"
#include "nauto/runbook/lua_sandbox.h"
#include "nauto/runbook/lua_values.h"
#include "nauto/sdk/json_text.h"

namespace nauto::compliance {

namespace {

constexpr std::size_t kMemoryBytes = 16u << 20;
constexpr std::uint64_t kInstructionsPerCall = 10'000'000;
constexpr std::int64_t kDeadlinePerCallUs = 250'000;

struct CallArgs {
  const std::string* config;
  const nlohmann::json* facts;
};

// Runs protected (lua_pcall): pushes the arguments and calls `check`, so Lua errors (memory
// ones included) unwind to the pcall rather than through C++ frames of ours.
int call_check(lua_State* L) {
  const auto* args = static_cast<const CallArgs*>(lua_touserdata(L, 1));
  lua_pushvalue(L, 2);
  lua_pushlstring(L, args->config->data(), args->config->size());
  runbook::push_json(L, *args->facts);
  lua_call(L, 2, 3);
  return 3;
}

// Runs the chunk (protected) and leaves the function to call: the chunk's return value, or
// else the global `check` it defined.
int define_check(lua_State* L) {
  lua_call(L, 0, 1);
  if (lua_isfunction(L, -1)) return 1;
  lua_pop(L, 1);
  lua_getglobal(L, "check");
  return 1;
}

}  // namespace

Result<std::shared_ptr<LuaCheck>> LuaCheck::compile(const std::string& code,
                                                    const std::string& chunk_name) {
  std::shared_ptr<LuaCheck> check(new LuaCheck());
  runbook::SandboxLimits limits;
  limits.max_memory_bytes = kMemoryBytes;
  limits.instruction_budget = kInstructionsPerCall;
  limits.deadline_steady_us = steady_us() + kDeadlinePerCallUs;
  auto sandbox = runbook::LuaSandbox::create(limits);
  if (!sandbox) return std::move(sandbox).error();
  check->sandbox_ = std::move(*sandbox);
  lua_State* L = check->sandbox_->state();
  lua_pushcfunction(L, define_check);
  if (auto loaded = check->sandbox_->load(code, chunk_name); !loaded)
    return fail(Errc::InvalidConfig, loaded.error().message);
  if (const int status = lua_pcall(L, 1, 1, 0); status != LUA_OK) {
    const char* message = lua_tostring(L, -1);
    return fail(Errc::InvalidConfig,
                check->sandbox_->describe_error(status, message ? message : "error"));
  }
  if (!lua_isfunction(L, -1))
    return fail(Errc::InvalidConfig, chunk_name +
                                         ": the code defines no function check(config, facts) "
                                         "and returns none");
  check->function_ = luaL_ref(L, LUA_REGISTRYINDEX);
  return check;
}

LuaCheck::~LuaCheck() = default;

Result<LuaVerdict> LuaCheck::run(const std::string& config, const nlohmann::json& facts) {
  std::lock_guard lock(mutex_);
  lua_State* L = sandbox_->state();
  sandbox_->renew(kInstructionsPerCall, steady_us() + kDeadlinePerCallUs);
  lua_settop(L, 0);
  CallArgs args{&config, &facts};
  lua_pushcfunction(L, call_check);
  lua_pushlightuserdata(L, &args);
  lua_rawgeti(L, LUA_REGISTRYINDEX, function_);
  const int status = lua_pcall(L, 2, 3, 0);
  auto done = [L] {
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
  };
  if (status != LUA_OK) {
    const char* message = lua_tostring(L, -1);
    auto error =
        sandbox_->describe_error(status, message ? message : "error object is not a string");
    done();
    return fail(Errc::InvalidArgument, error);
  }
  // Three results: ok, message, lines.
  if (!lua_isboolean(L, 1)) {
    done();
    return fail(Errc::InvalidArgument,
                "check must return true, or false with a message and lines; it returned a " +
                    std::string(luaL_typename(L, 1)));
  }
  LuaVerdict verdict;
  verdict.pass = lua_toboolean(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) verdict.message = lua_tostring(L, 2);
  if (lua_istable(L, 3)) {
    auto lines = runbook::json_of(L, 3);
    if (lines && lines->is_array())
      for (const auto& line : *lines)
        verdict.lines.push_back(json_text(line));
  }
  done();
  return verdict;
}

}  // namespace nauto::compliance
