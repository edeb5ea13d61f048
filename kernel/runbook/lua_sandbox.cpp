#include "nauto/runbook/lua_sandbox.h"

#include <cstdlib>
#include <lua.hpp>

#include "lua_patterns.h"
#include "nauto/base/clock.h"
#include "nauto/runbook/lua_bridge.h"

namespace nauto::runbook {

namespace {

std::string mebibytes(std::size_t bytes) {
  const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
  char text[32];
  std::snprintf(text, sizeof text, mib < 10 ? "%.1f MiB" : "%.0f MiB", mib);
  return text;
}

// `load` without its mode argument: text chunks only, so no bytecode gets in.
int load_text_only(lua_State* L) {
  lua_settop(L, 4);
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  if (lua_isnil(L, 4)) lua_pop(L, 1);  // no env given: the original uses the sandbox's _G
  const int args = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, args, LUA_MULTRET);
  return lua_gettop(L);
}

// `setmetatable` without finalizers: a `__gc` metamethod runs with the hook off (while the
// collector works, or when the state closes), where no limit could stop a loop in it.
int setmetatable_without_gc(lua_State* L) {
  lua_settop(L, 2);
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) == LUA_TNIL) lua_pop(L, 1);
  }
  if (lua_gettop(L) > 2) {
    return luaL_error(L,
                      "setmetatable: __gc is not allowed in runbooks (finalizers run where no "
                      "limit applies)");
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

}  // namespace

Result<std::unique_ptr<LuaSandbox>> LuaSandbox::create(const SandboxLimits& limits) {
  std::unique_ptr<LuaSandbox> sandbox(new LuaSandbox(limits));
  sandbox->state_ = lua_newstate(&LuaSandbox::allocate, sandbox.get());
  if (!sandbox->state_) {
    return fail(Errc::ResourceExhausted, "a Lua state does not fit in the memory limit of " +
                                             mebibytes(limits.max_memory_bytes));
  }
  *static_cast<LuaSandbox**>(lua_getextraspace(sandbox->state_)) = sandbox.get();
  sandbox->open_safe_libraries();
  lua_sethook(sandbox->state_, &LuaSandbox::hook, LUA_MASKCOUNT, kHookEvery);
  return sandbox;
}

LuaSandbox::~LuaSandbox() {
  if (state_) lua_close(state_);
}

LuaSandbox& LuaSandbox::of(lua_State* L) {
  return **static_cast<LuaSandbox**>(lua_getextraspace(L));
}

void* LuaSandbox::allocate(void* self, void* block, std::size_t old_size, std::size_t new_size) {
  auto& sandbox = *static_cast<LuaSandbox*>(self);
  const std::size_t old_bytes = block ? old_size : 0;
  if (new_size == 0) {
    std::free(block);
    sandbox.memory_used_ -= old_bytes;
    return nullptr;
  }
  if (new_size > old_bytes &&
      sandbox.memory_used_ + (new_size - old_bytes) > sandbox.limits_.max_memory_bytes) {
    sandbox.memory_refused_ = true;
    if (sandbox.tripped_.empty()) {
      sandbox.tripped_ = "memory limit of " + mebibytes(sandbox.limits_.max_memory_bytes) +
                         " exceeded (raise limits.memory or keep less output in variables)";
    }
    return nullptr;  // Lua collects garbage and tries once more before raising LUA_ERRMEM
  }
  void* grown = std::realloc(block, new_size);
  if (grown) sandbox.memory_used_ = sandbox.memory_used_ - old_bytes + new_size;
  return grown;
}

bool LuaSandbox::check_limits(bool can_pause) {
  if (!tripped_.empty()) return false;
  if (instructions_ > limits_.instruction_budget) {
    tripped_ = "instruction budget of " + std::to_string(limits_.instruction_budget) +
               " exceeded (a loop that never ends? raise limits.instructions)";
    return false;
  }
  if (!limits_.deadline_steady_us && !limits_.slice_us) return false;
  const auto now = steady_us();
  if (limits_.deadline_steady_us && now > limits_.deadline_steady_us) {
    tripped_ = "the run's deadline passed while it was computing";
    return false;
  }
  if (!limits_.slice_us || now - slice_start_us_ <= limits_.slice_us) return false;
  if (!can_pause && now - slice_start_us_ > limits_.max_unpausable_us) {
    tripped_ = "computed for over " + std::to_string(limits_.max_unpausable_us / 1000) +
               " ms where the engine cannot pause it (a pattern that backtracks without end, "
               "or a long callback of string.gsub or table.sort?)";
  }
  return true;
}

void LuaSandbox::hook(lua_State* L, lua_Debug*) {
  auto& sandbox = of(L);
  sandbox.instructions_ += kHookEvery;
  const bool slice_over = sandbox.check_limits(lua_isyieldable(L));
  if (!sandbox.tripped_.empty()) luaL_error(L, "%s", sandbox.tripped_.c_str());
  if (sandbox.interrupt_flag_ && sandbox.interrupt_flag_->exchange(false)) {
    luaL_error(L, "interrupted (Ctrl-C)");
  }
  if (slice_over && lua_isyieldable(L)) {
    sandbox.preempted_ = true;
    lua_yield(L, 0);  // a count hook may yield (Lua 5.4), with no values
  }
}

void LuaSandbox::charge(lua_State* L, std::uint64_t steps, const char* what) {
  instructions_ += steps;
  if (tripped_.empty()) {
    check_limits(false);
    if (!tripped_.empty()) tripped_ = what + (": " + tripped_);
  }
  if (!tripped_.empty()) luaL_error(L, "%s", tripped_.c_str());
}

void LuaSandbox::begin_slice() {
  slice_start_us_ = steady_us();
}

void LuaSandbox::renew(std::uint64_t instruction_budget, std::int64_t deadline_steady_us) {
  instructions_ = 0;
  limits_.instruction_budget = instruction_budget;
  limits_.deadline_steady_us = deadline_steady_us;
  memory_refused_ = false;
  tripped_.clear();
  begin_slice();
}

void LuaSandbox::stop(std::string reason) {
  if (tripped_.empty()) tripped_ = std::move(reason);
}

std::string LuaSandbox::describe_error(int status, const std::string& lua_message) const {
  if (status == LUA_ERRMEM || (memory_refused_ && lua_message == "not enough memory")) {
    return "memory limit of " + mebibytes(limits_.max_memory_bytes) +
           " exceeded (raise limits.memory or keep less output in variables)";
  }
  return lua_message;
}

Result<void> LuaSandbox::load(const std::string& text, const std::string& chunk_name) {
  const int status =
      luaL_loadbufferx(state_, text.data(), text.size(), ("@" + chunk_name).c_str(), "t");
  if (status != LUA_OK) {
    std::string message = lua_tostring(state_, -1) ? lua_tostring(state_, -1) : "load failed";
    lua_pop(state_, 1);
    return fail(Errc::InvalidArgument, describe_error(status, message));
  }
  return ok();
}

void LuaSandbox::open_safe_libraries() {
  lua_State* L = state_;
  const luaL_Reg libraries[] = {{LUA_GNAME, luaopen_base},
                                {LUA_STRLIBNAME, luaopen_string},
                                {LUA_TABLIBNAME, luaopen_table},
                                {LUA_MATHLIBNAME, luaopen_math},
                                {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const auto& library : libraries) {
    luaL_requiref(L, library.name, library.func, 1);
    lua_pop(L, 1);
  }
  lua_pushglobaltable(L);
  for (const char* name : {"dofile", "loadfile", "collectgarbage"}) {
    lua_pushnil(L);
    lua_setfield(L, -2, name);
  }
  lua_getfield(L, -1, "load");
  lua_pushcclosure(L, lua_function<load_text_only>, 1);
  lua_setfield(L, -2, "load");
  lua_getfield(L, -1, "setmetatable");
  lua_pushcclosure(L, lua_function<setmetatable_without_gc>, 1);
  lua_setfield(L, -2, "setmetatable");
  lua_getfield(L, -1, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  open_bounded_patterns(L, lua_gettop(L));
  lua_pop(L, 2);
}

}  // namespace nauto::runbook
