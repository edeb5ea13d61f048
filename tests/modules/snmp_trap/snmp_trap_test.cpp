// SNMP trap decoding and classification, on datagrams built here byte by byte (BER, as RFC
// 3416 and RFC 1157 lay them out) — independent of the net-snmp code under test.

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "trap_classifier.h"
#include "trap_decoder.h"

using namespace nauto;
using namespace nauto::snmp_trap;

namespace {

std::string tlv(std::uint8_t tag, const std::string& value) {
  std::string out(1, static_cast<char>(tag));
  const auto n = value.size();
  if (n < 128) {
    out += static_cast<char>(n);
  } else if (n < 256) {
    out += '\x81';
    out += static_cast<char>(n);
  } else {
    out += '\x82';
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  return out + value;
}

std::string integer(std::int64_t v, std::uint8_t tag = 0x02) {
  std::string bytes;
  do {
    bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
    v >>= 8;
  } while (v != 0 && v != -1);
  if (v == 0 && (bytes[0] & 0x80)) bytes.insert(bytes.begin(), '\0');
  return tlv(tag, bytes);
}

std::string object_id(const std::vector<std::uint32_t>& arcs) {
  std::string bytes(1, static_cast<char>(arcs[0] * 40 + arcs[1]));
  for (std::size_t i = 2; i < arcs.size(); ++i) {
    std::string arc(1, static_cast<char>(arcs[i] & 0x7f));
    for (auto rest = arcs[i] >> 7; rest; rest >>= 7)
      arc.insert(arc.begin(), static_cast<char>(0x80 | (rest & 0x7f)));
    bytes += arc;
  }
  return tlv(0x06, bytes);
}

std::vector<std::uint32_t> arcs(const std::string& dotted) {
  std::vector<std::uint32_t> out;
  std::size_t start = 0;
  while (start <= dotted.size()) {
    auto dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out.push_back(static_cast<std::uint32_t>(std::stoul(dotted.substr(start, dot - start))));
    start = dot + 1;
  }
  return out;
}

std::string octets(const std::string& s) {
  return tlv(0x04, s);
}
std::string varbind(const std::string& oid, const std::string& value) {
  return tlv(0x30, object_id(arcs(oid)) + value);
}

// An SNMPv2c message with PDU type `pdu_type` (0xA7 trap, 0xA6 inform).
std::string v2c(const std::string& community, const std::string& trap_oid,
                const std::string& bindings, std::uint8_t pdu_type = 0xA7) {
  const std::string varbinds = tlv(
      0x30,
      varbind("1.3.6.1.2.1.1.3.0", integer(123456, 0x43)) +
          (trap_oid.empty() ? "" : varbind("1.3.6.1.6.3.1.1.4.1.0", object_id(arcs(trap_oid)))) +
          bindings);
  const std::string pdu = tlv(pdu_type, integer(42) + integer(0) + integer(0) + varbinds);
  return tlv(0x30, integer(1) + octets(community) + pdu);
}

}  // namespace

TEST_CASE("a v2c linkDown becomes interface.down with the interface and why", "[snmp_trap]") {
  const auto datagram = v2c("nauto-traps", "1.3.6.1.6.3.1.1.5.3",
                            varbind("1.3.6.1.2.1.2.2.1.1.2", integer(2)) +
                                varbind("1.3.6.1.2.1.2.2.1.2.2", octets("GigabitEthernet0/1")) +
                                varbind("1.3.6.1.2.1.2.2.1.7.2", integer(2)) +
                                varbind("1.3.6.1.2.1.2.2.1.8.2", integer(2)));
  auto trap = decode_trap(datagram);
  REQUIRE(trap);
  CHECK(trap->version == 2);
  CHECK(trap->community == "nauto-traps");
  CHECK(trap->trap_oid == "1.3.6.1.6.3.1.1.5.3");
  CHECK(trap->uptime == 123456);
  REQUIRE(trap->bindings.size() == 4);
  CHECK(trap->bindings[1].oid == "1.3.6.1.2.1.2.2.1.2.2");
  CHECK(trap->bindings[1].type == "string");
  CHECK(trap->bindings[1].value == "GigabitEthernet0/1");
  CHECK(trap->bindings[2].value == 2);

  auto meaning = classify_trap(*trap);
  CHECK(meaning.kind == "interface.down");
  CHECK(meaning.name == "linkDown");
  CHECK(meaning.fields["interface"] == "GigabitEthernet0/1");
  CHECK(meaning.fields["if_index"] == "2");
  CHECK(meaning.fields["reason"] == "admin");

  // Operationally down while administratively up: the link, not a person.
  auto link = decode_trap(v2c("c", "1.3.6.1.6.3.1.1.5.3",
                              varbind("1.3.6.1.2.1.2.2.1.2.5", octets("Ethernet5")) +
                                  varbind("1.3.6.1.2.1.2.2.1.7.5", integer(1))));
  REQUIRE(link);
  CHECK(classify_trap(*link).fields["reason"] == "link");
  // Cisco says it in words.
  auto cisco =
      decode_trap(v2c("c", "1.3.6.1.6.3.1.1.5.3",
                      varbind("1.3.6.1.2.1.2.2.1.2.1", octets("Gi0/0")) +
                          varbind("1.3.6.1.4.1.9.2.2.1.1.20.1", octets("administratively down"))));
  REQUIRE(cisco);
  CHECK(classify_trap(*cisco).fields["reason"] == "admin");
}

TEST_CASE("BGP, configuration, authentication and restart traps are typed", "[snmp_trap]") {
  auto bgp = decode_trap(
      v2c("c", "1.3.6.1.2.1.15.0.2",
          varbind("1.3.6.1.2.1.15.3.1.14.10.0.0.2", octets(std::string("\x06\x02", 2))) +
              varbind("1.3.6.1.2.1.15.3.1.2.10.0.0.2", integer(1))));
  REQUIRE(bgp);
  auto down = classify_trap(*bgp);
  CHECK(down.kind == "bgp.down");
  CHECK(down.fields["neighbor"] == "10.0.0.2");
  CHECK(down.fields["state"] == "idle");
  CHECK(down.fields["last_error"] == "06:02");  // not printable: hex

  auto old_numbering = decode_trap(v2c(
      "c", "1.3.6.1.2.1.15.7.1",
      varbind("1.3.6.1.2.1.15.3.1.7.192.0.2.9", tlv(0x40, std::string("\xc0\x00\x02\x09", 4)))));
  REQUIRE(old_numbering);
  CHECK(old_numbering->bindings[0].type == "ipaddress");
  CHECK(old_numbering->bindings[0].value == "192.0.2.9");
  auto up = classify_trap(*old_numbering);
  CHECK(up.kind == "bgp.up");
  CHECK(up.fields["neighbor"] == "192.0.2.9");

  auto config = decode_trap(v2c("c", "1.3.6.1.4.1.9.9.43.2.0.1",
                                varbind("1.3.6.1.4.1.9.9.43.1.1.6.1.3.7", integer(1)) +
                                    varbind("1.3.6.1.4.1.9.9.43.1.1.6.1.5.7", integer(3))));
  REQUIRE(config);
  auto changed = classify_trap(*config);
  CHECK(changed.kind == "config.changed");
  CHECK(changed.fields["source"] == "cli");

  auto auth = decode_trap(v2c("c", "1.3.6.1.6.3.1.1.5.5", ""));
  REQUIRE(auth);
  CHECK(classify_trap(*auth).kind == "login.failed");
  auto cold = decode_trap(v2c("c", "1.3.6.1.6.3.1.1.5.1", ""));
  REQUIRE(cold);
  CHECK(classify_trap(*cold).kind == "restart");
  CHECK(classify_trap(*cold).fields["type"] == "cold");

  auto vendor = decode_trap(v2c(
      "c", "1.3.6.1.4.1.30065.3.12.0.1",
      varbind("1.3.6.1.4.1.30065.3.12.1.1", tlv(0x46, std::string("\x01\x00\x00\x00\x00", 5)))));
  REQUIRE(vendor);
  CHECK(classify_trap(*vendor).kind == "snmp.trap");
  CHECK(vendor->bindings[0].type == "counter64");
  CHECK(vendor->bindings[0].value == 4294967296ULL);
}

TEST_CASE("a v1 trap is read in its v2 form (RFC 3584)", "[snmp_trap]") {
  const std::string varbinds = tlv(0x30, varbind("1.3.6.1.2.1.2.2.1.2.3", octets("Ethernet3")) +
                                             varbind("1.3.6.1.2.1.2.2.1.7.3", integer(1)));
  const std::string pdu = tlv(0xA4, object_id(arcs("1.3.6.1.4.1.8072.3.2.10")) +
                                        tlv(0x40, std::string("\xc0\x00\x02\x01", 4)) + integer(3) +
                                        integer(0) + integer(500, 0x43) + varbinds);
  auto trap = decode_trap(tlv(0x30, integer(0) + octets("public") + pdu));
  REQUIRE(trap);
  CHECK(trap->version == 1);
  CHECK(trap->trap_oid == "1.3.6.1.6.3.1.1.5.4");  // generic 3 (linkUp) is snmpTraps.4
  CHECK(trap->agent_address == "192.0.2.1");
  CHECK(trap->uptime == 500);
  auto meaning = classify_trap(*trap);
  CHECK(meaning.kind == "interface.up");
  CHECK(meaning.fields["interface"] == "Ethernet3");

  const std::string specific =
      tlv(0xA4, object_id(arcs("1.3.6.1.4.1.9.9.43.2")) +
                    tlv(0x40, std::string("\x0a\x00\x00\x01", 4)) + integer(6) + integer(1) +
                    integer(1, 0x43) + tlv(0x30, ""));
  auto enterprise = decode_trap(tlv(0x30, integer(0) + octets("public") + specific));
  REQUIRE(enterprise);
  CHECK(enterprise->trap_oid == "1.3.6.1.4.1.9.9.43.2.0.1");
  CHECK(classify_trap(*enterprise).kind == "config.changed");
}

TEST_CASE("malformed and unsupported datagrams are refused with the reason", "[snmp_trap]") {
  auto refused = [](const std::string& datagram, Errc code, const std::string& says) {
    auto trap = decode_trap(datagram);
    REQUIRE_FALSE(trap);
    CHECK(trap.error().code == code);
    INFO(trap.error().message);
    CHECK(trap.error().message.find(says) != std::string::npos);
  };
  const auto good = v2c("c", "1.3.6.1.6.3.1.1.5.3", varbind("1.3.6.1.2.1.2.2.1.1.1", integer(1)));
  refused("", Errc::Malformed, "empty");
  refused("hello, this is not SNMP", Errc::Malformed, "BER SEQUENCE");
  refused(good.substr(0, good.size() - 5), Errc::Malformed, "");
  refused(good.substr(0, 9), Errc::Malformed, "");
  refused(std::string("\x30\x84\xff\xff\xff\xff", 6), Errc::Malformed, "");
  refused(v2c("c", "", varbind("1.3.6.1.2.1.2.2.1.1.1", integer(1))), Errc::Malformed,
          "snmpTrapOID.0");
  refused(v2c("c", "1.3.6.1.6.3.1.1.5.3", "", 0xA6), Errc::Unsupported, "inform");
  refused(v2c("c", "1.3.6.1.6.3.1.1.5.3", "", 0xA0), Errc::Unsupported, "not a v2c trap");
  // Every prefix of a good trap is refused without a crash (ASan watches the parser).
  for (std::size_t n = 0; n < good.size(); ++n)
    CHECK_FALSE(decode_trap(good.substr(0, n)));
  CHECK(decode_trap(good));
}

TEST_CASE("OID prefixes match whole arcs", "[snmp_trap]") {
  CHECK(oid_under("1.3.6.1.2.1.2.2.1.2.3", "1.3.6.1.2.1.2.2.1.2"));
  CHECK_FALSE(oid_under("1.3.6.1.2.1.2.2.1.20.3", "1.3.6.1.2.1.2.2.1.2"));
  CHECK_FALSE(oid_under("1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.2"));
}
