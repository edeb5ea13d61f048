#pragma once
// decode_trap(): one SNMP datagram into a Trap — version, community and variable bindings —
// using net-snmp's BER parser. SNMPv2c traps (and v1 traps, translated to the v2 form as RFC
// 3584 section 3.1 says) are taken; informs, v3 and everything else are refused with the
// reason, so the module can count and log them.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::snmp_trap {

struct VariableBinding {
  std::string oid;       ///< dotted, no leading dot: 1.3.6.1.2.1.2.2.1.2.3
  std::string type;      ///< integer, string, oid, ipaddress, counter32, gauge32, timeticks, ...
  nlohmann::json value;  ///< a number, a string (octet strings: text if printable, else hex)
};

struct Trap {
  int version = 2;                        ///< 1 or 2 (v2c)
  std::string community;                  ///< compared by the module; never logged or published
  std::string trap_oid;                   ///< snmpTrapOID.0's value
  std::int64_t uptime = 0;                ///< sysUpTime.0, hundredths of a second
  std::vector<VariableBinding> bindings;  ///< without sysUpTime.0 and snmpTrapOID.0
  std::string agent_address;              ///< v1 agent-addr (dotted quad), else empty
};

/// Errc::Malformed (not BER, cut short, not a trap PDU) or Errc::Unsupported (v3, inform),
/// with what was found.
Result<Trap> decode_trap(std::string_view datagram);

/// "1.3.6.1.2.1.2.2.1.2.3" starts with "1.3.6.1.2.1.2.2.1.2" as a whole arc, not as text.
bool oid_under(std::string_view oid, std::string_view prefix);

}  // namespace nauto::snmp_trap
