#include "syslog_message.h"

#include <catch2/catch.hpp>

#include "message_classifier.h"
#include "nauto/sdk/device_directory.h"
#include "stream_framer.h"
#include "syslog_listener.h"

using namespace nauto;
using namespace nauto::syslog;

TEST_CASE("RFC 5424 messages are taken apart field by field", "[syslog]") {
  auto m = parse_syslog(
      "<165>1 2026-11-24T10:00:00.123Z r1.dc1 mgd 4242 UI_COMMIT "
      "[origin ip=\"192.0.2.1\" note=\"a \\\"quoted\\\" \\] bracket\"][meta x=\"1\"] "
      "\xEF\xBB\xBFUser 'admin' requested 'commit' operation\n");
  REQUIRE(m);
  CHECK(m->rfc5424);
  CHECK(m->facility == 20);
  CHECK(m->severity == 5);
  CHECK(m->timestamp == "2026-11-24T10:00:00.123Z");
  CHECK(m->hostname == "r1.dc1");
  CHECK(m->program == "mgd");
  CHECK(m->procid == "4242");
  CHECK(m->msgid == "UI_COMMIT");
  REQUIRE(m->structured_data.size() == 2);
  CHECK(m->structured_data[0].id == "origin");
  CHECK(m->structured_data[0].params[1].second == "a \"quoted\" ] bracket");
  CHECK(m->text == "User 'admin' requested 'commit' operation");

  auto nil = parse_syslog("<13>1 - - - - - -");
  REQUIRE(nil);
  CHECK(nil->hostname.empty());
  CHECK(nil->text.empty());
}

TEST_CASE("BSD syslog as devices send it", "[syslog]") {
  SECTION("timestamp, hostname, Cisco mnemonic") {
    auto m = parse_syslog(
        "<189>Nov 24 10:00:00 r1 %LINK-3-UPDOWN: Interface Gi0/1, changed state to down");
    REQUIRE(m);
    CHECK_FALSE(m->rfc5424);
    CHECK(m->facility == 23);
    CHECK(m->severity == 5);
    CHECK(m->timestamp == "Nov 24 10:00:00");
    CHECK(m->hostname == "r1");
    CHECK(m->program.empty());
    CHECK(m->msgid == "%LINK-3-UPDOWN");
    CHECK(m->text == "%LINK-3-UPDOWN: Interface Gi0/1, changed state to down");
  }
  SECTION("sequence number, unsynchronised clock with milliseconds, no hostname") {
    auto m = parse_syslog(
        "<187>1234: *Mar  1 00:01:02.345: %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: x]");
    REQUIRE(m);
    CHECK(m->timestamp == "*Mar  1 00:01:02.345");
    CHECK(m->hostname.empty());
    CHECK(m->msgid == "%SEC_LOGIN-4-LOGIN_FAILED");
  }
  SECTION("a program tag with a pid") {
    auto m = parse_syslog("<38>Nov  4 09:08:07 edge1 sshd[812]: Failed password for root from ::1");
    REQUIRE(m);
    CHECK(m->hostname == "edge1");
    CHECK(m->program == "sshd");
    CHECK(m->procid == "812");
    CHECK(m->text == "Failed password for root from ::1");
  }
  SECTION("an RFC 3339 timestamp in BSD position (rsyslog forwarding)") {
    auto m = parse_syslog("<30>2026-11-24T10:00:00+01:00 web3 nginx: started");
    REQUIRE(m);
    CHECK(m->hostname == "web3");
    CHECK(m->program == "nginx");
  }
  SECTION("no timestamp at all: everything after PRI is the message") {
    auto m = parse_syslog("<14>just some text");
    REQUIRE(m);
    CHECK(m->hostname.empty());
    CHECK(m->text == "just some text");
  }
  SECTION("invalid UTF-8 becomes U+FFFD, so the event is always valid JSON") {
    auto m = parse_syslog("<14>Nov 24 10:00:00 r1 bad \xff\xfe byte");
    REQUIRE(m);
    CHECK(m->text == "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
  }
}

TEST_CASE("malformed syslog is refused with what is wrong", "[syslog]") {
  for (const char* bad : {"", "no pri here", "<>x", "<192>too high", "<0123>zero", "<12", "<1a>x",
                          "<13>1 2026-11-24T10:00:00Z host", "<13>1 - - - - - [unterminated",
                          "<13>1 - - - - - [id k=\"v]", "<13>1 - - - - - x"}) {
    INFO(bad);
    auto m = parse_syslog(bad);
    REQUIRE_FALSE(m);
    CHECK(m.error().code == nauto::Errc::Malformed);
    CHECK(m.error().message.find("at byte") != std::string::npos);
  }
}

TEST_CASE("TCP framing: octet counting and newlines, bounded", "[syslog]") {
  std::vector<std::string> got;
  auto sink = [&](std::string_view frame) { got.emplace_back(frame); };
  StreamFramer framer(64);
  REQUIRE(framer.feed("11 <13>hello a", sink));
  REQUIRE(got.size() == 1);
  CHECK(got[0] == "<13>hello a");
  REQUIRE(framer.feed("<13>line one\n<13>li", sink));
  REQUIRE(got.size() == 2);
  CHECK(got[1] == "<13>line one");
  REQUIRE(framer.feed("ne two\r\n5 <1>x", sink));
  CHECK(got.size() == 3);
  CHECK(got[2] == "<13>line two");
  CHECK(framer.buffered() == 6);
  REQUIRE(framer.feed("y", sink));
  CHECK(got.back() == "<1>xy");

  SECTION("a frame without a newline is cut at the limit and the rest skipped") {
    got.clear();
    REQUIRE(framer.feed(std::string(200, 'a'), sink));
    REQUIRE(got.size() == 1);
    CHECK(got[0].size() == 64);
    CHECK(framer.buffered() == 0);
    REQUIRE(framer.feed(std::string(100, 'b') + "\n<13>next\n", sink));
    REQUIRE(got.size() == 2);
    CHECK(got[1] == "<13>next");
    CHECK(framer.truncated() == 1);
  }
  SECTION("an over-long counted frame is cut, the rest skipped, the next one found") {
    got.clear();
    REQUIRE(framer.feed("100 " + std::string(100, 'c') + "3 abc", sink));
    REQUIRE(got.size() == 2);
    CHECK(got[0].size() == 64);
    CHECK(got[1] == "abc");
  }
  SECTION("a count that is not a number breaks the stream") {
    CHECK_FALSE(framer.feed("12x <13>oops", sink));
  }
}

TEST_CASE("known messages become typed events with fields", "[syslog]") {
  auto classifier = MessageClassifier::create({});
  REQUIRE(classifier);
  struct Case {
    const char* text;
    const char* kind;
    const char* field;
    const char* value;
  };
  const Case cases[] = {
      {"%LINK-5-CHANGED: Interface GigabitEthernet0/1, changed state to administratively down",
       "interface.down", "interface", "GigabitEthernet0/1"},
      {"%LINK-3-UPDOWN: Interface Ethernet1, changed state to down", "interface.down", "reason",
       "link"},
      {"%LINK-3-UPDOWN: Interface Ethernet1, changed state to up", "interface.up", "interface",
       "Ethernet1"},
      {"%LINEPROTO-5-UPDOWN: Line protocol on Interface Gi0/2, changed state to down",
       "interface.protocol.down", "interface", "Gi0/2"},
      {"%ETHPORT-5-IF_DOWN_ADMIN_DOWN: Interface Ethernet1/1 is down (Administratively down)",
       "interface.down", "reason", "admin"},
      {"%ETHPORT-5-IF_DOWN_LINK_FAILURE: Interface Ethernet1/2 is down (Link failure)",
       "interface.down", "detail", "Link failure"},
      {"SNMP_TRAP_LINK_DOWN: ifIndex 501, ifAdminStatus down(2), ifOperStatus down(2), ifName "
       "ge-0/0/1",
       "interface.down", "reason", "admin"},
      {"SNMP_TRAP_LINK_DOWN: ifIndex 501, ifAdminStatus up(1), ifOperStatus down(2), ifName "
       "ge-0/0/1",
       "interface.down", "reason", "link"},
      {"%BGP-5-ADJCHANGE: neighbor 10.0.0.2 Down Interface flap", "bgp.down", "reason",
       "Interface flap"},
      {"%BGP-5-ADJCHANGE: neighbor 10.0.0.2 Up ", "bgp.up", "neighbor", "10.0.0.2"},
      {"%BGP-5-ADJCHANGE: peer 10.0.0.6 (VRF default AS 65002) old state Established event "
       "Stop new state Idle",
       "bgp.down", "remote_as", "65002"},
      {"%BGP-5-ADJCHANGE:  bgp-65001 [4127] (default) neighbor 10.0.0.9 Down - Admin. shutdown",
       "bgp.down", "neighbor", "10.0.0.9"},
      {"BGP_NEIGHBOR_STATE_CHANGED: BGP peer 10.0.0.1 (External AS 65001) changed state from "
       "Established to Idle (event Stop) (instance master)",
       "bgp.down", "state", "Idle"},
      {"%SYS-5-CONFIG_I: Configured from console by admin on vty0 (127.0.0.1)", "config.changed",
       "user", "admin"},
      {"UI_COMMIT: User 'ops' requested 'commit' operation (comment: none)", "config.changed",
       "user", "ops"},
      {"%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: bob] [Source: 192.0.2.7] [localport: 22]",
       "login.failed", "address", "192.0.2.7"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto got = classifier->classify(c.text);
    CHECK(got.kind == c.kind);
    CHECK(got.fields.value(c.field, "") == c.value);
  }
  auto plain = classifier->classify("%SYS-6-LOGGINGHOST_STARTSTOP: Logging to host 10.1.1.1");
  CHECK(plain.kind == "syslog");
  CHECK(plain.rule.empty());
}

// Found by fuzzing (tests/fuzz/corpus/syslog_framer/regression-*): a newline-framed message a
// few bytes over the cap came out whole, because the buffer holds a little more than the cap.
TEST_CASE("a newline frame just over the cap is cut to it", "[syslog][fuzz]") {
  StreamFramer framer(480);
  std::vector<std::string> frames;
  const std::string long_line(490, 'x');
  REQUIRE(framer.feed(long_line + "\n<13>next\n",
                      [&](std::string_view frame) { frames.emplace_back(frame); }));
  REQUIRE(frames.size() == 2);
  CHECK(frames[0].size() == 480);
  CHECK(frames[1] == "<13>next");
  CHECK(framer.truncated() == 1);
}

TEST_CASE("a captured field never holds a control character", "[syslog]") {
  auto classifier = MessageClassifier::create({});
  REQUIRE(classifier);
  const auto clean =
      classifier->classify("%LINK-3-UPDOWN: Interface GigabitEthernet0/8, changed state to down");
  CHECK(clean.kind == "interface.down");
  CHECK(clean.fields["interface"] == "GigabitEthernet0/8");
  for (const char* injected :
       {"%LINK-3-UPDOWN: Interface GigabitEthernet0/8\nreload, changed state to down",
        "%LINK-3-UPDOWN: Interface GigabitEthernet0/8\r\nconf t, changed state to down",
        "%LINK-3-UPDOWN: Interface Gi0/8\x1b[2J, changed state to down"}) {
    INFO(injected);
    const auto c = classifier->classify(injected);
    CHECK(c.kind == "syslog");
    CHECK(c.fields.empty());
  }
}

TEST_CASE("configured message rules come first and are checked", "[syslog]") {
  auto specs = MessageClassifier::read_specs(
      nlohmann::json::parse(R"([{"name": "fan", "kind": "hardware.fan", "contains": "FAN",
        "pattern": "%ENV-3-FAN: Fan (?P<fan>\\d+) failed", "set": {"severity": "major"}}])"),
      "modules.syslog.message_rules");
  REQUIRE(specs);
  auto classifier = MessageClassifier::create(*specs);
  REQUIRE(classifier);
  auto got = classifier->classify("%ENV-3-FAN: Fan 2 failed");
  CHECK(got.kind == "hardware.fan");
  CHECK(got.fields["fan"] == "2");
  CHECK(got.fields["severity"] == "major");

  auto bad = MessageClassifier::read_specs(
      nlohmann::json::parse(R"([{"kind": "bad kind!", "pattern": "x", "colour": 1}, "no"])"),
      "modules.syslog.message_rules");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("message_rules[0].kind") != std::string::npos);
  CHECK(bad.error().message.find("message_rules[0].colour: unknown key") != std::string::npos);
  CHECK(bad.error().message.find("message_rules[1]: expected a map") != std::string::npos);

  MessageRuleSpec broken{"broken", "x.y", "", "(unclosed", {}};
  auto refused = MessageClassifier::create({broken});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("message rule 'broken'") != std::string::npos);
}

TEST_CASE("the sending device is found by hostname, then by a unique address", "[syslog]") {
  DeviceDirectory directory;
  directory.load(nlohmann::json::parse(R"([
    {"name": "r1", "host": "127.0.0.1"}, {"name": "r2", "host": "127.0.0.1"},
    {"name": "core1.dc1", "host": "192.0.2.10"}, {"name": "edge", "host": "2001:db8::1"}])"));
  CHECK(directory.resolve("R1", "127.0.0.1") == "r1");
  CHECK(directory.resolve("r2.example.net", "127.0.0.1") == "r2");
  CHECK(directory.resolve("", "127.0.0.1").empty());  // shared by r1 and r2
  CHECK(directory.resolve("core1", "198.51.100.1") == "core1.dc1");
  CHECK(directory.resolve("", "192.0.2.10") == "core1.dc1");
  CHECK(directory.resolve("unknown", "2001:DB8::1") == "edge");
  CHECK(directory.resolve("unknown", "203.0.113.9").empty());
  CHECK(topic_segment("core1.dc1") == "core1_dc1");
  CHECK(topic_segment("a b/c") == "a_b_c");
  CHECK(device_event_topic("core1.dc1", "interface.down") == "device.core1_dc1.interface.down");
  CHECK(device_event_topic("", "syslog") == "device._unknown.syslog");
  CHECK(directory.contains("core1.dc1"));
  CHECK_FALSE(directory.contains("core1"));
}

TEST_CASE("listen endpoints are checked", "[syslog]") {
  auto v6 = parse_endpoint("tcp://[::1]:6514");
  REQUIRE(v6);
  CHECK(v6->tcp);
  CHECK(v6->host == "::1");
  CHECK(v6->port == 6514);
  CHECK(v6->text() == "tcp://[::1]:6514");
  for (const char* bad : {"127.0.0.1:514", "udp://localhost:514", "udp://127.0.0.1",
                          "udp://127.0.0.1:70000", "tcp://::1:514"}) {
    INFO(bad);
    auto e = parse_endpoint(bad);
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find("expected udp://ADDRESS:PORT") != std::string::npos);
  }
}
