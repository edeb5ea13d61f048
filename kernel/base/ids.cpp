#include "nauto/base/ids.h"

#include <cstdint>
#include <cstdio>
#include <random>

namespace nauto {

std::string new_id() {
  thread_local const std::uint64_t prefix = [] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }();
  thread_local std::uint32_t counter = 0;
  char text[25];
  std::snprintf(text, sizeof text, "%016llx%08x", static_cast<unsigned long long>(prefix),
                ++counter);
  return std::string(text, 24);
}

}  // namespace nauto
