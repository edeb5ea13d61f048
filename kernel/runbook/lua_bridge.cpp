#include "nauto/runbook/lua_bridge.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

#include "nauto/runbook/lua_values.h"

namespace nauto::runbook {

namespace {

// Room for the message of an error raised after the body's objects are gone.
constexpr std::size_t kMessageRoom = 1024;

// Copies at most kMessageRoom - 1 bytes, cut on a UTF-8 character boundary.
void keep_message(char (&room)[kMessageRoom], std::string_view message) {
  std::size_t size = std::min(message.size(), kMessageRoom - 1);
  if (size < message.size()) {
    while (size > 0 && (static_cast<unsigned char>(message[size]) & 0xC0) == 0x80)
      --size;
  }
  std::memcpy(room, message.data(), size);
  room[size] = '\0';
}

struct ProtectedPush {
  void (*push)(lua_State*, const void*);
  const void* data;
};

int run_pusher(lua_State* L) {
  const auto* call = static_cast<const ProtectedPush*>(lua_touserdata(L, 1));
  lua_settop(L, 0);
  call->push(L, call->data);
  return 1;
}

void push_json_value(lua_State* L, const void* value) {
  push_json(L, *static_cast<const nlohmann::json*>(value));
}

}  // namespace

namespace bridge_detail {

int enter(lua_State* L, LuaBody body) noexcept {
  char message[kMessageRoom] = "";
  auto kind = LuaReturn::Kind::Error;
  int count = 0;
  lua_KFunction then = nullptr;
  {
    try {
      const LuaReturn returned = body(L);
      kind = returned.kind();
      count = returned.count();
      then = returned.continuation();
      keep_message(message, returned.message());
    } catch (const std::exception& e) {
      kind = LuaReturn::Kind::Error;
      std::snprintf(message, sizeof message, "internal error: %s", e.what());
    } catch (...) {
      kind = LuaReturn::Kind::Error;
      std::snprintf(message, sizeof message, "internal error");
    }
  }
  // Only trivially destructible locals from here on: raising and yielding are safe.
  switch (kind) {
    case LuaReturn::Kind::Values:
      return count;
    case LuaReturn::Kind::Failure:
      luaL_checkstack(L, 2, "no room for results");
      lua_pushnil(L);
      lua_pushstring(L, message);
      return 2;
    case LuaReturn::Kind::Yield:
      return lua_yieldk(L, 0, 0, then);
    case LuaReturn::Kind::Error:
      break;
  }
  return luaL_error(L, "%s", message);
}

int enter_plain(lua_State* L, lua_CFunction body) noexcept {
  char message[kMessageRoom] = "";
  {
    try {
      return body(L);
    } catch (const std::exception& e) {
      std::snprintf(message, sizeof message, "internal error: %s", e.what());
    } catch (...) {
      std::snprintf(message, sizeof message, "internal error");
    }
  }
  return luaL_error(L, "%s", message);
}

}  // namespace bridge_detail

std::optional<std::string_view> string_arg(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TSTRING) return std::nullopt;
  std::size_t size = 0;
  const char* text = lua_tolstring(L, index, &size);  // a string already: no allocation
  return std::string_view(text, size);
}

std::optional<lua_Integer> integer_arg(lua_State* L, int index) {
  int is_integer = 0;
  const lua_Integer value = lua_tointegerx(L, index, &is_integer);
  if (!is_integer) return std::nullopt;
  return value;
}

std::string bad_argument(lua_State* L, int index, const char* function, const char* expected) {
  return "bad argument #" + std::to_string(index) + " to '" + function + "' (" + expected +
         " expected, got " + luaL_typename(L, index) + ")";
}

Result<void> push_protected(lua_State* L, void (*push)(lua_State*, const void*), const void* data) {
  if (!lua_checkstack(L, 3)) return fail(Errc::ResourceExhausted, "the Lua stack is full");
  ProtectedPush call{push, data};
  lua_pushcfunction(L, run_pusher);
  lua_pushlightuserdata(L, &call);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) return ok();
  // The message is a string (our errors, memory errors): copied before it is popped.
  const auto text = string_arg(L, -1);
  auto error = fail(Errc::ResourceExhausted, text ? std::string(*text) : "error while pushing");
  lua_pop(L, 1);
  return error;
}

Result<void> push_json_protected(lua_State* L, const nlohmann::json& value) {
  return push_protected(L, push_json_value, &value);
}

}  // namespace nauto::runbook
