#pragma once
// IPv4 arithmetic for addresses, masks and prefixes as the simulated devices print them.

#include <cstdint>
#include <string>
#include <string_view>

namespace nauto::lab {

/// "10.0.0.1" -> 0x0a000001; 0 when the text is not a dotted quad.
uint32_t parse_ipv4(std::string_view text);
/// 0x0a000001 -> "10.0.0.1".
std::string format_ipv4(uint32_t address);
/// Netmask of a prefix length: 30 -> 0xfffffffc.
uint32_t mask_of(int length);
/// Dotted-quad mask for a prefix length (24 -> 255.255.255.0) and back.
std::string prefix_to_mask(int length);
int mask_to_prefix(std::string_view mask);

}  // namespace nauto::lab
