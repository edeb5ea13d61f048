#include "nauto/runbook/lua_values.h"

#include <cstdio>
#include <lua.hpp>
#include <string>

namespace nauto::runbook {

using nlohmann::json;

namespace {

constexpr int kMaxDepth = 64;

Result<json> json_at(lua_State* L, int index, int depth, const std::string& path) {
  index = lua_absindex(L, index);
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
      return json(std::string(text, size));
    }
    case LUA_TTABLE: {
      if (depth >= kMaxDepth) {
        return fail(Errc::InvalidArgument,
                    path + ": nested deeper than " + std::to_string(kMaxDepth) + " (a cycle?)");
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
          key = lua_tostring(L, -2);
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

// Lua errors unwind with longjmp, so C++ objects are gone before luaL_error is called.
int json_encode(lua_State* L) {
  char problem[256] = "";
  {
    auto value = json_at(L, 1, 0, "value");
    if (value) {
      const auto text = value->dump();
      lua_pushlstring(L, text.data(), text.size());
      return 1;
    }
    std::snprintf(problem, sizeof problem, "%s", value.error().message.c_str());
  }
  return luaL_error(L, "json.encode: %s", problem);
}

int json_decode(lua_State* L) {
  std::size_t size = 0;
  const char* text = luaL_checklstring(L, 1, &size);
  {
    auto value = json::parse(text, text + size, nullptr, false);
    if (!value.is_discarded()) {
      push_json(L, value);
      return 1;
    }
  }
  return luaL_error(L, "json.decode: the text is not valid JSON");
}

}  // namespace

void push_json(lua_State* L, const json& value) {
  luaL_checkstack(L, 4, "nested too deeply");
  switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
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
      lua_createtable(L, static_cast<int>(value.size()), 0);
      for (std::size_t i = 0; i < value.size(); ++i) {
        push_json(L, value[i]);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      return;
    }
    case json::value_t::object: {
      lua_createtable(L, 0, static_cast<int>(value.size()));
      for (auto it = value.begin(); it != value.end(); ++it) {
        push_json(L, *it);
        lua_setfield(L, -2, it.key().c_str());
      }
      return;
    }
    case json::value_t::binary:
      lua_pushnil(L);
      return;
  }
}

Result<json> json_of(lua_State* L, int index) {
  return json_at(L, index, 0, "value");
}

void open_json(lua_State* L) {
  const luaL_Reg functions[] = {
      {"encode", json_encode}, {"decode", json_decode}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  lua_setglobal(L, "json");
}

}  // namespace nauto::runbook
