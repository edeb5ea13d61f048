#include "trap_classifier.h"

#include <array>

namespace nauto::snmp_trap {

namespace {

using nlohmann::json;

// IF-MIB ifTable / ifXTable columns a linkUp/linkDown carries (RFC 2863), and Cisco's
// OLD-CISCO-INTERFACES-MIB locIfReason, which says "administratively down".
constexpr std::string_view kIfIndex = "1.3.6.1.2.1.2.2.1.1";
constexpr std::string_view kIfDescr = "1.3.6.1.2.1.2.2.1.2";
constexpr std::string_view kIfAdminStatus = "1.3.6.1.2.1.2.2.1.7";
constexpr std::string_view kIfOperStatus = "1.3.6.1.2.1.2.2.1.8";
constexpr std::string_view kIfName = "1.3.6.1.2.1.31.1.1.1.1";
constexpr std::string_view kLocIfReason = "1.3.6.1.4.1.9.2.2.1.1.20";
// BGP4-MIB bgpPeerTable (RFC 4273): rows are indexed by the peer's IPv4 address.
constexpr std::string_view kBgpPeerEntry = "1.3.6.1.2.1.15.3.1";
constexpr std::string_view kBgpPeerState = "1.3.6.1.2.1.15.3.1.2";
constexpr std::string_view kBgpPeerLastError = "1.3.6.1.2.1.15.3.1.14";
constexpr std::string_view kBgpPeerRemoteAs = "1.3.6.1.2.1.15.3.1.9";
// CISCO-CONFIG-MAN-MIB ccmHistoryEventEntry columns.
constexpr std::string_view kCcmCommandSource = "1.3.6.1.4.1.9.9.43.1.1.6.1.3";
constexpr std::string_view kCcmConfigSource = "1.3.6.1.4.1.9.9.43.1.1.6.1.4";
constexpr std::string_view kCcmConfigDestination = "1.3.6.1.4.1.9.9.43.1.1.6.1.5";

struct Known {
  std::string_view oid, name, kind;
  int severity;
};
constexpr std::array<Known, 12> kKnown = {{
    {"1.3.6.1.6.3.1.1.5.1", "coldStart", "restart", 5},
    {"1.3.6.1.6.3.1.1.5.2", "warmStart", "restart", 5},
    {"1.3.6.1.6.3.1.1.5.3", "linkDown", "interface.down", 3},
    {"1.3.6.1.6.3.1.1.5.4", "linkUp", "interface.up", 5},
    {"1.3.6.1.6.3.1.1.5.5", "authenticationFailure", "login.failed", 4},
    {"1.3.6.1.2.1.15.0.1", "bgpEstablishedNotification", "bgp.up", 5},
    {"1.3.6.1.2.1.15.0.2", "bgpBackwardTransNotification", "bgp.down", 3},
    {"1.3.6.1.2.1.15.7.1", "bgpEstablished", "bgp.up", 5},  // RFC 1657 numbering
    {"1.3.6.1.2.1.15.7.2", "bgpBackwardTransition", "bgp.down", 3},
    {"1.3.6.1.2.1.15.7.0.1", "bgpEstablished", "bgp.up", 5},  // the same, sent as v1
    {"1.3.6.1.2.1.15.7.0.2", "bgpBackwardTransition", "bgp.down", 3},
    {"1.3.6.1.4.1.9.9.43.2.0.1", "ciscoConfigManEvent", "config.changed", 5},
}};

// The row index after a table column: "1.3.6.1.2.1.2.2.1.2.3" under ifDescr is "3".
std::string index_after(const std::string& oid, std::string_view column) {
  return oid_under(oid, column) ? oid.substr(column.size() + 1) : std::string();
}

std::string text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// BGP4-MIB bgpPeerState values (RFC 4273).
std::string bgp_state(std::int64_t state) {
  static constexpr std::array<const char*, 6> names = {"idle",     "connect",     "active",
                                                       "opensent", "openconfirm", "established"};
  return state >= 1 && state <= 6 ? names[static_cast<std::size_t>(state - 1)]
                                  : std::to_string(state);
}

void interface_fields(const Trap& trap, TrapMeaning& meaning, bool down) {
  std::string admin_status;
  std::string reason;
  for (const auto& b : trap.bindings) {
    std::string index;
    if (!(index = index_after(b.oid, kIfIndex)).empty()) {
      meaning.fields["if_index"] = text(b.value);
    } else if (!(index = index_after(b.oid, kIfDescr)).empty() ||
               !(index = index_after(b.oid, kIfName)).empty()) {
      // ifName is the short name devices print; ifDescr the long one. Keep the first seen.
      if (!meaning.fields.contains("interface")) meaning.fields["interface"] = text(b.value);
      meaning.fields["if_index"] = index;
    } else if (!(index = index_after(b.oid, kIfAdminStatus)).empty()) {
      admin_status = text(b.value);
      meaning.fields["if_index"] = index;
    } else if (!(index = index_after(b.oid, kIfOperStatus)).empty()) {
      meaning.fields["if_index"] = index;
    } else if (!(index = index_after(b.oid, kLocIfReason)).empty()) {
      reason = text(b.value);
    }
  }
  if (!down) return;
  // ifAdminStatus 2 is down(2): somebody shut it. Without it, Cisco's reason text tells.
  const bool admin = admin_status == "2" || reason.find("administratively") != std::string::npos;
  meaning.fields["reason"] = admin ? "admin" : "link";
}

void bgp_fields(const Trap& trap, TrapMeaning& meaning) {
  for (const auto& b : trap.bindings) {
    if (!oid_under(b.oid, kBgpPeerEntry)) continue;
    // Every bgpPeerTable column's instance is the peer's address: the last four arcs.
    const auto column_end = kBgpPeerEntry.size() + 1;
    const auto dot = b.oid.find('.', column_end);
    if (dot != std::string::npos && !meaning.fields.contains("neighbor"))
      meaning.fields["neighbor"] = b.oid.substr(dot + 1);
    if (oid_under(b.oid, kBgpPeerState) && b.value.is_number_integer())
      meaning.fields["state"] = bgp_state(b.value.get<std::int64_t>());
    else if (oid_under(b.oid, kBgpPeerLastError))
      meaning.fields["last_error"] = text(b.value);
    else if (oid_under(b.oid, kBgpPeerRemoteAs))
      meaning.fields["remote_as"] = text(b.value);
  }
}

void config_fields(const Trap& trap, TrapMeaning& meaning) {
  // ccmHistoryEventCommandSource: 1 commandLine, 2 snmp; config source/destination: 3 running.
  for (const auto& b : trap.bindings) {
    if (oid_under(b.oid, kCcmCommandSource))
      meaning.fields["source"] = text(b.value) == "1"   ? "cli"
                                 : text(b.value) == "2" ? "snmp"
                                                        : text(b.value);
    else if (oid_under(b.oid, kCcmConfigSource))
      meaning.fields["from"] = text(b.value);
    else if (oid_under(b.oid, kCcmConfigDestination))
      meaning.fields["to"] = text(b.value);
  }
}

}  // namespace

TrapMeaning classify_trap(const Trap& trap) {
  TrapMeaning meaning;
  for (const auto& known : kKnown) {
    if (trap.trap_oid != known.oid) continue;
    meaning.kind = known.kind;
    meaning.name = known.name;
    meaning.severity = known.severity;
    break;
  }
  if (meaning.kind == "interface.down" || meaning.kind == "interface.up") {
    interface_fields(trap, meaning, meaning.kind == "interface.down");
  } else if (meaning.kind == "bgp.up" || meaning.kind == "bgp.down") {
    bgp_fields(trap, meaning);
  } else if (meaning.kind == "config.changed") {
    config_fields(trap, meaning);
  } else if (meaning.kind == "restart") {
    meaning.fields["type"] = meaning.name == "coldStart" ? "cold" : "warm";
  } else if (meaning.kind == "login.failed") {
    meaning.fields["protocol"] = "snmp";
  }
  return meaning;
}

}  // namespace nauto::snmp_trap
