#pragma once
// classify_trap(): what a trap means, as the same event kinds the syslog module gives —
// interface.down/up (IF-MIB linkDown/linkUp), bgp.up/down (BGP4-MIB, RFC 4273 and the older
// RFC 1657 numbering), config.changed (CISCO-CONFIG-MAN-MIB), login.failed
// (authenticationFailure), restart (coldStart, warmStart) — with fields taken from the
// variable bindings. Anything else is kind `snmp.trap`. A rule written for a syslog
// interface.down fires on a linkDown trap too.

#include <nlohmann/json.hpp>
#include <string>

#include "trap_decoder.h"

namespace nauto::snmp_trap {

struct TrapMeaning {
  std::string kind = "snmp.trap";
  std::string name;  ///< the notification's MIB name when known (linkDown), else empty
  nlohmann::json fields = nlohmann::json::object();
  int severity = 5;  ///< syslog scale: notice unless the trap says something worse
};

TrapMeaning classify_trap(const Trap& trap);

}  // namespace nauto::snmp_trap
