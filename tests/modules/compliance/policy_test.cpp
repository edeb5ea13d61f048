// Policy files (issue 28): every check kind parsed, and problems named by file and line.
#include "policy.h"

#include <catch2/catch.hpp>

using namespace nauto::compliance;

TEST_CASE("a policy file with every check kind parses") {
  auto policy = parse_policy(R"(
name: baseline
description: the baseline
gate: true
rules:
  - id: ssh-v2
    severity: high
    must_match: '^ip ssh version 2$'
    remediation: {lines: "ip ssh version 2"}
  - id: no-telnet
    scope: "platform=cisco_ios"
    within: {section: '^line vty', having: '^login'}
    must_not_match: 'transport input .*telnet'
    remediation: {runbook: fix_vty}
  - id: aaa-block
    must_contain_lines: |
      aaa new-model
      aaa authentication login default local
  - id: bgp-prefixes
    command: show ip bgp summary
    expect:
      - {field: state_or_prefixes_received, regex: '^\d+$'}
      - {count: {'>=': 1}}
      - {field: neighbor_as, in: [65001, 65002], any: true}
  - id: napalm
    validate:
      - get_ntp_servers: {_mode: strict, 10.0.0.1: {}, 10.0.0.2: {}}
)",
                             "/etc/nauto/compliance/baseline.yaml");
  REQUIRE(policy);
  CHECK(policy->name == "baseline");
  CHECK(policy->gate);
  REQUIRE(policy->rules.size() == 5);
  const auto& ssh = policy->rules[0];
  CHECK(ssh.kind == CheckKind::MustMatch);
  CHECK(ssh.severity == Severity::High);
  CHECK(ssh.scope == "all");
  CHECK(ssh.remediation_lines == "ip ssh version 2");
  CHECK(ssh.origin == "/etc/nauto/compliance/baseline.yaml:6");
  CHECK_FALSE(ssh.needs_device());
  const auto& telnet = policy->rules[1];
  CHECK(telnet.kind == CheckKind::MustNotMatch);
  CHECK(telnet.section);
  CHECK(telnet.having);
  CHECK(telnet.remediation_runbook == "fix_vty");
  CHECK(policy->rules[2].block ==
        std::vector<std::string>{"aaa new-model", "aaa authentication login default local"});
  const auto& bgp = policy->rules[3];
  CHECK(bgp.kind == CheckKind::Records);
  CHECK(bgp.needs_device());
  REQUIRE(bgp.expect.size() == 3);
  CHECK(bgp.expect[1].count);
  CHECK(bgp.expect[2].any);
  CHECK(bgp.expect[0].text == "state_or_prefixes_received regex ^\\d+$");
  CHECK_FALSE(policy->rules[4].needs_device());  // NTP servers come from the config
}

TEST_CASE("the name defaults to the file's") {
  auto policy = parse_policy("rules: [{id: a, must_match: x}]", "dir/site-standards.yaml");
  REQUIRE(policy);
  CHECK(policy->name == "site-standards");
}

TEST_CASE("every problem is reported with its line") {
  auto policy = parse_policy(R"(name: bad
rules:
  - id: one
    must_match: '(unclosed'
  - id: two
    must_match: a
    must_not_match: b
  - id: three
  - id: one
    must_match: x
  - id: four
    severity: urgent
    command: show version
    expect: [{field: x, '~': 1}]
  - id: five
    validate: [{get_environment: {cpu: {}}}]
  - id: six
    within: {section: '^interface'}
    command: show clock
    expect: [{count: {'>=': 1}}]
  - id: seven
    must_match: a
    colour: red
)",
                             "p.yaml");
  REQUIRE_FALSE(policy);
  const auto& message = policy.error().message;
  CHECK_THAT(message, Catch::Contains("p.yaml:4: must_match:"));
  CHECK_THAT(message, Catch::Contains("p.yaml:5: a rule has one check; this one has must_match, "
                                      "must_not_match"));
  CHECK_THAT(message, Catch::Contains("p.yaml:8: a rule needs one check"));
  CHECK_THAT(message, Catch::Contains("p.yaml:9: rule 'one' is already defined at line 3"));
  CHECK_THAT(message, Catch::Contains("p.yaml:12: severity: 'urgent'"));
  CHECK_THAT(message, Catch::Contains("p.yaml:14: expect: '~' is not"));
  CHECK_THAT(message, Catch::Contains("p.yaml:16: validate: unknown getter 'get_environment'"));
  CHECK_THAT(message, Catch::Contains("p.yaml:18: within: only with"));
  CHECK_THAT(message, Catch::Contains("p.yaml:23: colour: unknown key"));
}

TEST_CASE("a file that is not YAML, or not a policy, says where") {
  auto broken = parse_policy("rules: [\n  {id: a", "b.yaml");
  REQUIRE_FALSE(broken);
  CHECK_THAT(broken.error().message, Catch::StartsWith("b.yaml:"));
  auto empty = parse_policy("name: x\n", "c.yaml");
  REQUIRE_FALSE(empty);
  CHECK_THAT(empty.error().message, Catch::Contains("c.yaml:1: rules: expected a list"));
}

TEST_CASE("live: true makes a config rule wait for a live run; at_least goes with must_match") {
  auto policy = parse_policy(R"(rules:
  - id: snmp
    live: true
    must_not_match: '^snmp-server community (public|private)'
  - id: ntp
    must_match: '^ntp server'
    at_least: 2
)",
                             "l.yaml");
  REQUIRE(policy);
  CHECK(policy->rules[0].needs_device());
  CHECK(policy->rules[1].at_least == 2);
  auto bad = parse_policy("rules:\n  - id: x\n    must_not_match: a\n    at_least: 2\n", "m.yaml");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("m.yaml:4: at_least: only with must_match"));
}

TEST_CASE("an operand that is not UTF-8 is reported, not thrown (fuzz crash, issue 29's CI)") {
  // count: {'>=': ': 1<->\xb0600'} - a map operand holding a byte that is not UTF-8: describing
  // the assertion used to throw from nlohmann's dump().
  std::string text =
      "rules:\n  - id: d\n    command: show ip bgp summary\n    expect:\n"
      "      - {count: {'>=': ': 1<->";
  text += '\xb0';
  text += "600'}}\n";
  nauto::Result<Policy> parsed = nauto::fail(nauto::Errc::Bug, "not run");
  REQUIRE_NOTHROW(parsed = parse_policy(text, "u.yaml"));
  REQUIRE_FALSE(parsed);
  CHECK_THAT(parsed.error().message, Catch::Contains("u.yaml:5: count: expected a number"));
}
