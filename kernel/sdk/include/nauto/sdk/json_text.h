#pragma once
// json_text: a JSON value as text for messages, labels and records — a string as it is,
// anything else compact JSON — that never throws. nlohmann's dump() throws on a string that is
// not valid UTF-8, and these values come from devices, policy files and Lua; invalid bytes
// become U+FFFD here instead.
// Thread-safe (no state).

#include <nlohmann/json.hpp>
#include <string>

namespace nauto {

inline std::string json_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nauto
