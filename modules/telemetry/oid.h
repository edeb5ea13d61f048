#pragma once
// An SNMP object identifier as numbers, with the textual form "1.3.6.1.2.1.1.3.0" (a leading dot
// is accepted). Ordering is SNMP's lexicographic order, so a walk's "still inside the subtree"
// test is is_prefix_of().

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::telemetry {

using Oid = std::vector<std::uint32_t>;

/// Parses a dotted OID: at least two arcs, each a decimal number below 2^32.
/// Errc::InvalidArgument naming the text otherwise.
Result<Oid> parse_oid(std::string_view text);
std::string oid_text(const Oid& oid);
/// True when `prefix` is `oid` or one of its ancestors.
bool is_prefix_of(const Oid& prefix, const Oid& oid);
/// The arcs of `oid` after `prefix` as text ("3" or "1.4.192.0.2.1"); empty if not below it.
std::string index_after(const Oid& prefix, const Oid& oid);

}  // namespace nauto::telemetry
