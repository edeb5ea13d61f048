#include "trap_decoder.h"

// net-snmp's headers need this order: config first, then the API, then the library's own.
// clang-format off
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/snmp_impl.h>
// clang-format on

#include <memory>

namespace nauto::snmp_trap {

namespace {

constexpr char kSysUpTime[] = "1.3.6.1.2.1.1.3.0";
constexpr char kSnmpTrapOid[] = "1.3.6.1.6.3.1.1.4.1.0";
constexpr char kSnmpTraps[] = "1.3.6.1.6.3.1.1.5";  // coldStart.. authenticationFailure: .1-.5

struct PduDeleter {
  void operator()(netsnmp_pdu* pdu) const { snmp_free_pdu(pdu); }
};

std::string oid_text(const oid* arcs, std::size_t length) {
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    if (i) out += '.';
    out += std::to_string(arcs[i]);
  }
  return out;
}

bool printable(const u_char* data, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) {
    const auto c = data[i];
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
  }
  return true;
}

std::string hex(const u_char* data, std::size_t length) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    if (i) out += ':';
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

// An IPv4 address as SNMP carries it (four octets, network order) in dotted-quad form.
std::string dotted_quad(const u_char* a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}

VariableBinding binding(const netsnmp_variable_list& v) {
  VariableBinding b;
  b.oid = oid_text(v.name, v.name_length);
  switch (v.type) {
    case ASN_INTEGER:
      b.type = "integer";
      b.value = static_cast<std::int64_t>(*v.val.integer);
      break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
      b.type = v.type == ASN_COUNTER     ? "counter32"
               : v.type == ASN_GAUGE     ? "gauge32"
               : v.type == ASN_TIMETICKS ? "timeticks"
                                         : "unsigned32";
      b.value = static_cast<std::uint64_t>(static_cast<std::uint32_t>(*v.val.integer));
      break;
    case ASN_COUNTER64:
      b.type = "counter64";
      b.value = (static_cast<std::uint64_t>(v.val.counter64->high) << 32) |
                static_cast<std::uint32_t>(v.val.counter64->low);
      break;
    case ASN_OCTET_STR:
      b.type = "string";
      b.value = printable(v.val.string, v.val_len)
                    ? std::string(reinterpret_cast<const char*>(v.val.string), v.val_len)
                    : hex(v.val.string, v.val_len);
      break;
    case ASN_OBJECT_ID:
      b.type = "oid";
      b.value = oid_text(v.val.objid, v.val_len / sizeof(oid));
      break;
    case ASN_IPADDRESS:
      b.type = "ipaddress";
      if (v.val_len == 4) {
        b.value = dotted_quad(v.val.string);
      } else {
        b.value = hex(v.val.string, v.val_len);
      }
      break;
    case ASN_NULL:
      b.type = "null";
      break;
    case SNMP_NOSUCHOBJECT:
    case SNMP_NOSUCHINSTANCE:
    case SNMP_ENDOFMIBVIEW:
      b.type = "exception";
      break;
    default:
      b.type = "opaque";
      b.value = hex(v.val.string, v.val_len);
      break;
  }
  return b;
}

}  // namespace

bool oid_under(std::string_view oid, std::string_view prefix) {
  return oid.size() > prefix.size() && oid.starts_with(prefix) && oid[prefix.size()] == '.';
}

Result<Trap> decode_trap(std::string_view datagram) {
  if (datagram.empty()) return fail(Errc::Malformed, "empty datagram");
  // net-snmp parses in place and wants a mutable buffer.
  std::string bytes(datagram);
  auto* data = reinterpret_cast<u_char*>(bytes.data());
  std::size_t length = bytes.size();
  if (data[0] == (ASN_SEQUENCE | ASN_CONSTRUCTOR)) {
    // The version is the message's first field; v3 has a different header altogether.
    u_char community[256];
    std::size_t community_length = sizeof community;
    long version = -1;
    u_char* pdu_data = snmp_comstr_parse(data, &length, community, &community_length, &version);
    if (!pdu_data) {
      if (version == SNMP_VERSION_3)
        return fail(Errc::Unsupported, "SNMPv3 message: only v2c (and v1) traps are taken");
      return fail(Errc::Malformed, "not an SNMP message (bad BER header or community)");
    }
    if (version != SNMP_VERSION_1 && version != SNMP_VERSION_2c)
      return fail(Errc::Unsupported, "SNMP version field " + std::to_string(version) +
                                         ": only v2c (and v1) traps are taken");
    std::unique_ptr<netsnmp_pdu, PduDeleter> pdu(snmp_pdu_create(0));
    if (!pdu) return fail(Errc::ResourceExhausted, "out of memory");
    pdu->version = version;
    if (snmp_pdu_parse(pdu.get(), pdu_data, &length) != 0)
      return fail(Errc::Malformed, "the PDU does not decode (cut short or not BER)");
    Trap trap;
    trap.community.assign(reinterpret_cast<char*>(community), community_length);
    if (pdu->command == SNMP_MSG_INFORM)
      return fail(Errc::Unsupported,
                  "an inform (it wants an acknowledgement nauto does not send): configure the "
                  "device to send traps");
    if (pdu->command == SNMP_MSG_TRAP && version == SNMP_VERSION_1) {
      trap.version = 1;
      trap.uptime = static_cast<std::int64_t>(pdu->time);
      const auto enterprise = oid_text(pdu->enterprise, pdu->enterprise_length);
      // RFC 3584 3.1: generic traps 0-5 are snmpTraps.1-6; enterpriseSpecific is the
      // enterprise, 0, and the specific code.
      trap.trap_oid = pdu->trap_type == SNMP_TRAP_ENTERPRISESPECIFIC
                          ? enterprise + ".0." + std::to_string(pdu->specific_type)
                          : std::string(kSnmpTraps) + "." + std::to_string(pdu->trap_type + 1);
      trap.agent_address = dotted_quad(pdu->agent_addr);
      for (auto* v = pdu->variables; v; v = v->next_variable)
        trap.bindings.push_back(binding(*v));
      return trap;
    }
    if (pdu->command != SNMP_MSG_TRAP2 || version != SNMP_VERSION_2c) {
      const auto type = static_cast<u_char>(pdu->command & 0xff);
      return fail(Errc::Unsupported, "an SNMP PDU of type 0x" + hex(&type, 1) + ", not a v2c trap");
    }
    trap.version = 2;
    for (auto* v = pdu->variables; v; v = v->next_variable) {
      auto b = binding(*v);
      if (b.oid == kSysUpTime && b.value.is_number()) {
        trap.uptime = b.value.get<std::int64_t>();
      } else if (b.oid == kSnmpTrapOid && b.type == "oid") {
        trap.trap_oid = b.value.get<std::string>();
      } else {
        trap.bindings.push_back(std::move(b));
      }
    }
    if (trap.trap_oid.empty())
      return fail(Errc::Malformed, "a v2c trap without snmpTrapOID.0 (RFC 3416 4.2.6)");
    return trap;
  }
  return fail(Errc::Malformed, "not an SNMP message (does not start with a BER SEQUENCE)");
}

}  // namespace nauto::snmp_trap
