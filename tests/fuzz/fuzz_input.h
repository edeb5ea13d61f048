#pragma once
// Shared by the libFuzzer targets: the input as text, and the input split in two where a
// target needs two texts (a template and what it parses; a body and its signature).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace nauto::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The text before the first NUL byte and the text after it (empty when there is none).
inline std::pair<std::string_view, std::string_view> split_at_nul(std::string_view input) {
  const auto at = input.find('\0');
  if (at == std::string_view::npos) return {input, {}};
  return {input.substr(0, at), input.substr(at + 1)};
}

}  // namespace nauto::fuzz
