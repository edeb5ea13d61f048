#include "run_primitives.h"

#include <lua.hpp>

#include "nauto/base/clock.h"
#include "nauto/runbook/lua_bridge.h"
#include "nauto/runbook/lua_values.h"
#include "nauto/runbook/run.h"
#include "nauto/text/regex.h"

namespace nauto::runbook {

using nlohmann::json;

// Every primitive is reached through lua_function (lua_bridge.h): those that build C++ objects
// return a LuaReturn and raise nothing themselves; the others hold only trivially destructible
// locals.

namespace {

Run& run_of(lua_State* L) {
  return *static_cast<Run*>(LuaSandbox::of(L).owner());
}

std::string outside_run(std::string_view what) {
  return std::string(what) + " is only allowed inside the runbook's run function, not at load time";
}

Run::Task* task_or_raise(lua_State* L, const char* what) {
  Run::Task* task = run_of(L).task_of(L);
  if (!task) {
    luaL_error(L, "%s is only allowed inside the runbook's run function, not at load time", what);
  }
  return task;
}

LuaReturn effect(lua_State* L) {
  const auto kind = string_arg(L, 1);
  if (!kind) return LuaReturn::error(bad_argument(L, 1, "__effect", "string"));
  Run& run = run_of(L);
  if (!run.task_of(L)) return LuaReturn::error(outside_run(*kind));
  auto args = json_of(L, 2);
  if (!args) return LuaReturn::error(std::string(*kind) + ": " + args.error().message);
  auto& out = run.outgoing();
  out.type = Run::Outgoing::Type::Effect;
  out.kind = std::string(*kind);
  out.args = std::move(*args);
  return LuaReturn::yield();
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

// A string argument as JSON text: "" when absent, repaired when it is not UTF-8.
std::string text_arg(lua_State* L, int index) {
  const auto text = string_arg(L, index);
  return text ? text::to_valid_utf8(*text) : std::string();
}

// __note("log", level, message) | __note("step", name) -> key
// | __note("step_end", key, ok, value, name)
LuaReturn note(lua_State* L) {
  const auto type = string_arg(L, 1);
  if (!type) return LuaReturn::error(bad_argument(L, 1, "__note", "string"));
  Run& run = run_of(L);
  Run::Task* task = run.task_of(L);
  if (!task) return LuaReturn::values(0);  // top-level prints while loading: nowhere to record
  json record = {{"type", *type}, {"time_us", now_us()}};
  if (*type == "log") {
    record["level"] = text_arg(L, 2);
    record["message"] = text_arg(L, 3);
  } else if (*type == "step") {
    record["name"] = text_arg(L, 2);
  } else if (*type == "step_end") {
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
  const auto key = run.note(*task, std::move(record));
  if (auto pushed = push_json_protected(L, json(key)); !pushed)
    return LuaReturn::error("__note: " + pushed.error().message);
  return LuaReturn::values(1);
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

LuaReturn shell_input(lua_State* L) {
  Run& run = run_of(L);
  if (!run.task_of(L)) return LuaReturn::error(outside_run("__shell_input"));
  auto outcome = lua_isnoneornil(L, 1) ? Result<json>(json()) : json_of(L, 1);
  if (!outcome) return LuaReturn::error("__shell_input: " + outcome.error().message);
  auto& out = run.outgoing();
  out = Run::Outgoing{};
  out.type = Run::Outgoing::Type::Effect;
  out.kind = "input";
  out.args = std::move(*outcome);
  return LuaReturn::yield(shell_input_continue);
}

}  // namespace

void open_shell_primitives(lua_State* L) {
  lua_register(L, "__shell_input", lua_function<shell_input>);
}

void open_run_primitives(lua_State* L) {
  lua_register(L, "__effect", lua_function<effect>);
  lua_register(L, "__result", lua_function<result>);
  lua_register(L, "__spawn", lua_function<spawn>);
  lua_register(L, "__note", lua_function<note>);
}

}  // namespace nauto::runbook
