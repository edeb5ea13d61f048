#include "oid.h"

#include <charconv>

namespace nauto::telemetry {

Result<Oid> parse_oid(std::string_view text) {
  const std::string original(text);
  if (!text.empty() && text.front() == '.') text.remove_prefix(1);
  Oid oid;
  while (!text.empty()) {
    const auto dot = text.find('.');
    const auto arc = text.substr(0, dot);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(arc.data(), arc.data() + arc.size(), value);
    if (arc.empty() || ec != std::errc() || end != arc.data() + arc.size() || value > 0xffffffffu)
      return fail(Errc::InvalidArgument, "'" + original + "' is not a dotted OID", "oid");
    oid.push_back(static_cast<std::uint32_t>(value));
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
    if (text.empty()) return fail(Errc::InvalidArgument, "'" + original + "' ends in a dot", "oid");
  }
  if (oid.size() < 2) return fail(Errc::InvalidArgument, "'" + original + "' is too short", "oid");
  return oid;
}

std::string oid_text(const Oid& oid) {
  std::string out;
  for (auto arc : oid) {
    if (!out.empty()) out += '.';
    out += std::to_string(arc);
  }
  return out;
}

bool is_prefix_of(const Oid& prefix, const Oid& oid) {
  return prefix.size() <= oid.size() && std::equal(prefix.begin(), prefix.end(), oid.begin());
}

std::string index_after(const Oid& prefix, const Oid& oid) {
  if (!is_prefix_of(prefix, oid) || prefix.size() == oid.size()) return {};
  return oid_text(Oid(oid.begin() + static_cast<std::ptrdiff_t>(prefix.size()), oid.end()));
}

}  // namespace nauto::telemetry
