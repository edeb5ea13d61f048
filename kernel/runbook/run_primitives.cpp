#include "run_primitives.h"

#include <cstdio>
#include <lua.hpp>

#include "nauto/base/clock.h"
#include "nauto/runbook/lua_values.h"
#include "nauto/runbook/run.h"

namespace nauto::runbook {

using nlohmann::json;

// Lua errors unwind with longjmp: each primitive finishes with its C++ objects before it calls
// luaL_error, so no destructor is skipped.

namespace {

Run& run_of(lua_State* L) {
  return *static_cast<Run*>(LuaSandbox::of(L).owner());
}

Run::Task* task_or_raise(lua_State* L, const char* what) {
  Run::Task* task = run_of(L).task_of(L);
  if (!task) {
    luaL_error(L, "%s is only allowed inside the runbook's run function, not at load time", what);
  }
  return task;
}

int effect(lua_State* L) {
  const char* kind = luaL_checkstring(L, 1);
  task_or_raise(L, kind);
  char problem[256] = "";
  {
    auto args = json_of(L, 2);
    if (args) {
      auto& out = run_of(L).outgoing();
      out.type = Run::Outgoing::Type::Effect;
      out.kind = kind;
      out.args = std::move(*args);
    } else {
      std::snprintf(problem, sizeof problem, "%s", args.error().message.c_str());
    }
  }
  if (problem[0]) return luaL_error(L, "%s: %s", kind, problem);
  return lua_yield(L, 0);
}

int result(lua_State* L) {
  Run::Task* task = task_or_raise(L, "__result");
  auto& pending = run_of(L).pending_result(*task);
  const int returned = pending ? 2 : 3;  // ok, value | false, message, error code
  if (pending) {
    lua_pushboolean(L, 1);
    push_json(L, *pending);
  } else {
    lua_pushboolean(L, 0);
    const auto& message = pending.error().message;
    lua_pushlstring(L, message.data(), message.size());
    const auto code = errc_name(pending.error().code);
    lua_pushlstring(L, code.data(), code.size());
  }
  pending = json();
  return returned;
}

int spawn(lua_State* L) {
  task_or_raise(L, "parallel");
  luaL_checktype(L, 1, LUA_TTABLE);
  const auto max = luaL_optinteger(L, 2, 0);
  const auto count = static_cast<lua_Integer>(lua_rawlen(L, 1));
  auto& out = run_of(L).outgoing();
  out = Run::Outgoing{};
  out.type = Run::Outgoing::Type::Spawn;
  out.max = static_cast<int>(max);
  out.branch_refs.reserve(static_cast<std::size_t>(count));
  for (lua_Integer i = 1; i <= count; ++i) {
    lua_State* branch = lua_newthread(L);
    lua_rawgeti(L, 1, i);
    lua_xmove(L, branch, 1);
    out.branch_refs.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
  }
  return lua_yield(L, 0);
}

const char* text_arg(lua_State* L, int index) {
  return lua_type(L, index) == LUA_TSTRING ? lua_tostring(L, index) : "";
}

// __note("log", level, message) | __note("step", name) -> key
// | __note("step_end", key, ok, value, name)
int note(lua_State* L) {
  const std::string_view type = luaL_checkstring(L, 1);
  Run& run = run_of(L);
  Run::Task* task = run.task_of(L);
  if (!task) return 0;  // top-level prints while loading: nowhere to record them
  char key[128] = "";
  {
    json record = {{"type", type}, {"time_us", now_us()}};
    if (type == "log") {
      record["level"] = text_arg(L, 2);
      record["message"] = text_arg(L, 3);
    } else if (type == "step") {
      record["name"] = text_arg(L, 2);
    } else if (type == "step_end") {
      record["step"] = text_arg(L, 2);
      record["name"] = text_arg(L, 5);
      record["ok"] = lua_toboolean(L, 3) != 0;
      auto value = json_of(L, 4);
      if (record["ok"].get<bool>()) {
        record["result"] = value ? std::move(*value) : json("(a value that cannot be kept)");
      } else {
        record["error"] = value && value->is_string() ? std::move(*value) : json("error");
      }
    }
    std::snprintf(key, sizeof key, "%s", run.note(*task, std::move(record)).c_str());
  }
  lua_pushstring(L, key);
  return 1;
}

int shell_input_continue(lua_State* L, int, lua_KContext) {
  Run::Task* task = task_or_raise(L, "__shell_input");
  auto& pending = run_of(L).pending_result(*task);
  if (pending && pending->is_string()) {
    const auto& text = pending->get_ref<const std::string&>();
    lua_pushlstring(L, text.data(), text.size());
  } else {
    lua_pushnil(L);
  }
  pending = json();
  return 1;
}

int shell_input(lua_State* L) {
  task_or_raise(L, "__shell_input");
  char problem[256] = "";
  {
    auto outcome = lua_isnoneornil(L, 1) ? Result<json>(json()) : json_of(L, 1);
    auto& out = run_of(L).outgoing();
    out = Run::Outgoing{};
    out.type = Run::Outgoing::Type::Effect;
    out.kind = "input";
    if (outcome) {
      out.args = std::move(*outcome);
    } else {
      std::snprintf(problem, sizeof problem, "%s", outcome.error().message.c_str());
    }
  }
  if (problem[0]) return luaL_error(L, "__shell_input: %s", problem);
  return lua_yieldk(L, 0, 0, shell_input_continue);
}

}  // namespace

void open_shell_primitives(lua_State* L) {
  lua_register(L, "__shell_input", shell_input);
}

void open_run_primitives(lua_State* L) {
  lua_register(L, "__effect", effect);
  lua_register(L, "__result", result);
  lua_register(L, "__spawn", spawn);
  lua_register(L, "__note", note);
}

}  // namespace nauto::runbook
