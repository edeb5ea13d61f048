#pragma once
// Moving values between Lua and JSON (the form results take on the bus and in the store).
// Tables with keys 1..n become arrays, other tables objects with string keys; an empty table
// becomes an empty array. Functions, userdata and threads cannot cross and are an error.

#include <nlohmann/json.hpp>

#include "nauto/base/result.h"

struct lua_State;

namespace nauto::runbook {

/// Pushes `value` (null becomes nil).
void push_json(lua_State* L, const nlohmann::json& value);
/// The value at `index`. Errors: InvalidArgument naming the path of what cannot cross.
Result<nlohmann::json> json_of(lua_State* L, int index);

/// Registers the global `json` table: `json.encode(value)`, `json.decode(text)`.
void open_json(lua_State* L);

}  // namespace nauto::runbook
