#pragma once
// Moving values between Lua and JSON (the form results take on the bus and in the store).
// Tables with keys 1..n become arrays, other tables objects with string keys; an empty table
// becomes an empty array. Functions, userdata and threads cannot cross and are an error.

#include <nlohmann/json.hpp>

#include "nauto/base/result.h"

struct lua_State;

namespace nauto::runbook {

/// How deeply values may nest when they cross, either way.
constexpr int kMaxValueDepth = 64;

/// Pushes `value` (null becomes nil). Raises (a Lua error) when it nests deeper than
/// kMaxValueDepth or memory runs out: call it only where no C++ object of the caller is alive,
/// or through push_json_protected (lua_bridge.h).
void push_json(lua_State* L, const nlohmann::json& value);
/// The value at `index`; never raises. Strings that are not valid UTF-8 are repaired (each bad
/// sequence becomes U+FFFD). Errors: InvalidArgument naming the path of what cannot cross,
/// nesting deeper than kMaxValueDepth included.
Result<nlohmann::json> json_of(lua_State* L, int index);

/// Registers the global `json` table: `json.encode(value)`, `json.decode(text)`.
void open_json(lua_State* L);

}  // namespace nauto::runbook
