#include "nauto/runbook/lua_values.h"

#include <lua.hpp>
#include <string>

#include "nauto/runbook/lua_bridge.h"
#include "nauto/text/regex.h"

namespace nauto::runbook {

using nlohmann::json;

namespace {

// Lua -> JSON: each level holds a key and a value on the stack; lua_checkstack (which never
// raises) makes room, so a deep table cannot overrun the C function's 20 guaranteed slots.
Result<json> json_at(lua_State* L, int index, int depth, const std::string& path) {
  index = lua_absindex(L, index);
  if (!lua_checkstack(L, 3)) return fail(Errc::ResourceExhausted, path + ": the Lua stack is full");
  switch (lua_type(L, index)) {
    case LUA_TNIL:
      return json();
    case LUA_TBOOLEAN:
      return json(lua_toboolean(L, index) != 0);
    case LUA_TNUMBER:
      if (lua_isinteger(L, index)) return json(static_cast<std::int64_t>(lua_tointeger(L, index)));
      return json(lua_tonumber(L, index));
    case LUA_TSTRING: {
      std::size_t size = 0;
      const char* text = lua_tolstring(L, index, &size);
      const std::string_view view(text, size);
      // JSON text is UTF-8: a byte string from a device or string.char is repaired, not refused.
      return json(text::is_valid_utf8(view) ? std::string(view) : text::to_valid_utf8(view));
    }
    case LUA_TTABLE: {
      if (depth >= kMaxValueDepth) {
        return fail(Errc::InvalidArgument, path + ": nested deeper than " +
                                               std::to_string(kMaxValueDepth) + " (a cycle?)");
      }
      const auto length = static_cast<lua_Integer>(lua_rawlen(L, index));
      lua_Integer keys = 0;
      bool only_sequence = true;
      lua_pushnil(L);
      while (lua_next(L, index)) {
        ++keys;
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > length)
          only_sequence = false;
        lua_pop(L, 1);
      }
      if (only_sequence && keys == length) {
        json array = json::array();
        for (lua_Integer i = 1; i <= length; ++i) {
          lua_rawgeti(L, index, i);
          auto item = json_at(L, -1, depth + 1, path + "[" + std::to_string(i) + "]");
          lua_pop(L, 1);
          if (!item) return item;
          array.push_back(std::move(*item));
        }
        return array;
      }
      json object = json::object();
      lua_pushnil(L);
      while (lua_next(L, index)) {
        std::string key;
        if (lua_type(L, -2) == LUA_TSTRING) {
          std::size_t size = 0;
          const char* text = lua_tolstring(L, -2, &size);
          key = text::to_valid_utf8(std::string_view(text, size));
        } else if (lua_isinteger(L, -2)) {
          key = std::to_string(lua_tointeger(L, -2));
        } else {
          lua_pop(L, 2);
          return fail(Errc::InvalidArgument, path + ": only string and integer keys can be kept");
        }
        auto item = json_at(L, -1, depth + 1, path + "." + key);
        lua_pop(L, 1);
        if (!item) {
          lua_pop(L, 1);
          return item;
        }
        object[key] = std::move(*item);
      }
      return object;
    }
    default:
      return fail(Errc::InvalidArgument, path + ": a " + std::string(luaL_typename(L, index)) +
                                             " cannot be kept or sent (only nil, booleans, "
                                             "numbers, strings and tables)");
  }
}

LuaReturn json_encode(lua_State* L) {
  auto value = json_at(L, 1, 0, "value");
  if (!value) return LuaReturn::error("json.encode: " + value.error().message);
  const auto text = value->dump(-1, ' ', false, json::error_handler_t::replace);
  if (auto pushed = push_protected(
          L,
          [](lua_State* L, const void* s) {
            const auto& text = *static_cast<const std::string*>(s);
            lua_pushlstring(L, text.data(), text.size());
          },
          &text);
      !pushed) {
    return LuaReturn::error("json.encode: " + pushed.error().message);
  }
  return LuaReturn::values(1);
}

LuaReturn json_decode(lua_State* L) {
  const auto text = string_arg(L, 1);
  if (!text) return LuaReturn::error(bad_argument(L, 1, "json.decode", "string"));
  const auto value = json::parse(*text, nullptr, false);
  if (value.is_discarded()) return LuaReturn::error("json.decode: the text is not valid JSON");
  if (auto pushed = push_json_protected(L, value); !pushed)
    return LuaReturn::error("json.decode: " + pushed.error().message);
  return LuaReturn::values(1);
}

void push_json_at(lua_State* L, const json& value, int depth) {
  if (depth >= kMaxValueDepth) luaL_error(L, "nested deeper than %d", kMaxValueDepth);
  luaL_checkstack(L, 3, "nested too deeply");
  switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
    case json::value_t::binary:
      lua_pushnil(L);
      return;
    case json::value_t::boolean:
      lua_pushboolean(L, value.get<bool>());
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      lua_pushinteger(L, value.get<lua_Integer>());
      return;
    case json::value_t::number_float:
      lua_pushnumber(L, value.get<double>());
      return;
    case json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      lua_pushlstring(L, text.data(), text.size());
      return;
    }
    case json::value_t::array: {
      lua_createtable(L, static_cast<int>(std::min<std::size_t>(value.size(), 1u << 20)), 0);
      for (std::size_t i = 0; i < value.size(); ++i) {
        push_json_at(L, value[i], depth + 1);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      return;
    }
    case json::value_t::object: {
      lua_createtable(L, 0, static_cast<int>(std::min<std::size_t>(value.size(), 1u << 20)));
      for (auto it = value.begin(); it != value.end(); ++it) {
        const auto& key = it.key();
        lua_pushlstring(L, key.data(), key.size());
        push_json_at(L, *it, depth + 1);
        lua_rawset(L, -3);
      }
      return;
    }
  }
}

}  // namespace

void push_json(lua_State* L, const json& value) {
  push_json_at(L, value, 0);
}

Result<json> json_of(lua_State* L, int index) {
  return json_at(L, index, 0, "value");
}

void open_json(lua_State* L) {
  const luaL_Reg functions[] = {{"encode", lua_function<json_encode>},
                                {"decode", lua_function<json_decode>},
                                {nullptr, nullptr}};
  luaL_newlib(L, functions);
  lua_setglobal(L, "json");
}

}  // namespace nauto::runbook
