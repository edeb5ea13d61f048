#pragma once
// Control characters in text that goes on to a device or into an event field: a byte below 0x20
// or DEL. One definition for the drivers' command check and the syslog classifier's captures.
// Thread-safe (pure functions).

#include <string_view>

namespace nauto::text {

constexpr bool is_control_character(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

/// True when any byte of `text` is a control character.
constexpr bool has_control_character(std::string_view text) {
  for (const char c : text) {
    if (is_control_character(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

}  // namespace nauto::text
