#include "nauto/base/ids.h"

#include <cstdint>
#include <random>

namespace nauto {

std::string new_id() {
  thread_local const std::uint64_t prefix = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }();
  thread_local std::uint32_t counter = 0;
  // Hex digits by hand: every bus message takes an id, and snprintf was a visible share of
  // publishing at tens of thousands of events a second.
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(24, '0');
  const std::uint32_t count = ++counter;
  for (int i = 0; i < 16; ++i)
    text[static_cast<std::size_t>(i)] = kDigits[(prefix >> (60 - 4 * i)) & 15];
  for (int i = 0; i < 8; ++i)
    text[static_cast<std::size_t>(16 + i)] = kDigits[(count >> (28 - 4 * i)) & 15];
  return text;
}

}  // namespace nauto
