#include "nauto/runbook/lua_sandbox.h"

#include <cstdlib>
#include <lua.hpp>

#include "nauto/base/clock.h"

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

void LuaSandbox::hook(lua_State* L, lua_Debug*) {
  auto& sandbox = of(L);
  sandbox.instructions_ += kHookEvery;
  if (sandbox.tripped_.empty()) {
    if (sandbox.instructions_ > sandbox.limits_.instruction_budget) {
      sandbox.tripped_ = "instruction budget of " +
                         std::to_string(sandbox.limits_.instruction_budget) +
                         " exceeded (a loop that never ends? raise limits.instructions)";
    } else if (sandbox.limits_.deadline_steady_us &&
               steady_us() > sandbox.limits_.deadline_steady_us) {
      sandbox.tripped_ = "the run's deadline passed while it was computing";
    }
  }
  if (!sandbox.tripped_.empty()) luaL_error(L, "%s", sandbox.tripped_.c_str());
  if (sandbox.interrupt_flag_ && sandbox.interrupt_flag_->exchange(false)) {
    luaL_error(L, "interrupted (Ctrl-C)");
  }
}

void LuaSandbox::renew(std::uint64_t instruction_budget, std::int64_t deadline_steady_us) {
  instructions_ = 0;
  limits_.instruction_budget = instruction_budget;
  limits_.deadline_steady_us = deadline_steady_us;
  memory_refused_ = false;
  tripped_.clear();
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
  lua_pushcclosure(L, &load_text_only, 1);
  lua_setfield(L, -2, "load");
  lua_getfield(L, -1, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 2);
}

}  // namespace nauto::runbook
