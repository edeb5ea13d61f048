#include "ipv4.h"

#include <cstdlib>

namespace nauto::lab {

uint32_t parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  int parts = 0;
  size_t pos = 0;
  while (parts < 4) {
    size_t end = text.find('.', pos);
    auto part =
        text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    value = (value << 8) | static_cast<uint32_t>(std::atoi(std::string(part).c_str()) & 255);
    ++parts;
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return parts == 4 ? value : 0;
}

std::string format_ipv4(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
         std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255);
}

uint32_t mask_of(int length) {
  return length <= 0 ? 0u : (length >= 32 ? 0xffffffffu : ~((1u << (32 - length)) - 1u));
}

std::string prefix_to_mask(int length) {
  return format_ipv4(mask_of(length));
}

int mask_to_prefix(std::string_view mask) {
  uint32_t value = parse_ipv4(mask);
  int length = 0;
  while (length < 32 && (value & (0x80000000u >> length)))
    ++length;
  return length;
}

}  // namespace nauto::lab
