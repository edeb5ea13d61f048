// Config checks (issue 28): must_match, must_not_match and must_contain_lines, on the whole
// config and within sections, passing and failing.
#include "config_checks.h"

#include <catch2/catch.hpp>

using namespace nauto::compliance;

namespace {

const char* kConfig = R"(hostname r1
ip ssh version 2
aaa new-model
aaa authentication login default local
aaa authorization exec default local
interface GigabitEthernet0/1
 description uplink
 no shutdown
interface GigabitEthernet0/2
 no shutdown
interface GigabitEthernet0/3
 shutdown
line vty 0 4
 login local
 transport input ssh telnet
line vty 5 15
 login local
 transport input ssh
)";

Rule rule_of(const std::string& yaml) {
  auto policy = parse_policy("rules:\n  - id: r\n" + yaml, "t.yaml");
  if (!policy) FAIL(policy.error().message);
  return policy->rules.front();
}

RuleResult check(const std::string& yaml, const char* config = kConfig) {
  static const nauto::drivers::ConfigDiff parser({}, {});
  nauto::text::Matcher matcher;
  const ConfigView view(config, parser);
  return check_config(rule_of(yaml), view, matcher);
}

}  // namespace

TEST_CASE("must_match over the whole config") {
  CHECK(check("    must_match: '^ip ssh version 2$'").status == Status::Pass);
  auto missing = check("    must_match: '^logging host \\S+'");
  CHECK(missing.status == Status::Fail);
  CHECK(missing.missing == std::vector<std::string>{"^logging host \\S+"});
  // A line's indentation is as written: ` no shutdown` does not start with "no".
  CHECK(check("    must_match: '^no shutdown'").status == Status::Fail);
  CHECK(check("    must_match: '^ no shutdown'").status == Status::Pass);
}

TEST_CASE("must_not_match lists the offending lines; \\s never joins two lines") {
  auto telnet = check("    must_not_match: 'transport input .*telnet'");
  CHECK(telnet.status == Status::Fail);
  CHECK(telnet.lines == std::vector<std::string>{" transport input ssh telnet"});
  CHECK(telnet.message == "1 line matches");
  CHECK(check("    must_not_match: '^snmp-server community public'").status == Status::Pass);
  // Over the whole text `2\s+aaa` would match across the line end; per line it does not.
  CHECK(check("    must_not_match: 'version 2\\s+aaa'").status == Status::Pass);
  auto all = check("    must_not_match: 'shutdown'");
  CHECK(all.lines.size() == 3);
}

TEST_CASE("within sections: every enabled GigabitEthernet has a description") {
  auto out = check(R"(    within: {section: '^interface GigabitEthernet', having: '^no shutdown$'}
    must_match: '^description .+')");
  CHECK(out.status == Status::Fail);
  CHECK(out.lines == std::vector<std::string>{"interface GigabitEthernet0/2"});
  CHECK(out.message == "1 of 2 sections fail");
  CHECK(check(R"(    within: {section: '^interface GigabitEthernet0/1'}
    must_match: '^description .+')")
            .status == Status::Pass);
  // No such section: nothing to check.
  CHECK(check(R"(    within: {section: '^router bgp'}
    must_match: '^bgp log-neighbor-changes')")
            .status == Status::Pass);
}

TEST_CASE("within sections: must_not_match names the section and the line") {
  auto out = check(R"(    within: {section: '^line vty'}
    must_not_match: 'telnet')");
  CHECK(out.status == Status::Fail);
  CHECK(out.lines == std::vector<std::string>{"line vty 0 4 > transport input ssh telnet"});
}

TEST_CASE("must_contain_lines: an ordered block, whole or per section") {
  CHECK(check(R"(    must_contain_lines: |
      aaa new-model
      aaa authentication login default local)")
            .status == Status::Pass);
  auto order = check(R"(    must_contain_lines: |
      aaa authentication login default local
      aaa new-model)");
  CHECK(order.status == Status::Fail);
  CHECK(order.missing.empty());
  CHECK(order.message == "the lines are in the config, but not as this block");
  auto absent = check(
      R"(    must_contain_lines: [aaa new-model, aaa accounting exec default start-stop group tacacs+])");
  CHECK(absent.missing ==
        std::vector<std::string>{"aaa accounting exec default start-stop group tacacs+"});
  auto vty = check(R"(    within: {section: '^line vty'}
    must_contain_lines: [login local, transport input ssh])");
  CHECK(vty.status == Status::Fail);
  CHECK(vty.lines == std::vector<std::string>{"line vty 0 4"});
  CHECK(vty.missing == std::vector<std::string>{"transport input ssh"});
}

TEST_CASE("configs that are not ASCII or not even UTF-8 are checked") {
  CHECK(check("    must_match: '^banner motd .*Zutritt'",
              "banner motd ^Zutritt verboten für Unbefugte^\n")
            .status == Status::Pass);
  CHECK(check("    must_match: '^hostname r\\d'", "hostname r1\ndescription \xff\xfe\n").status ==
        Status::Pass);
}

TEST_CASE("at_least: how many lines must match, whole or per section") {
  CHECK(check("    must_match: '^aaa '\n    at_least: 3").status == Status::Pass);
  auto short_of = check("    must_match: '^aaa '\n    at_least: 4");
  CHECK(short_of.status == Status::Fail);
  CHECK(short_of.message == "3 lines match, 4 must");
  auto vty = check(R"(    within: {section: '^line vty'}
    must_match: '^(login|transport) '
    at_least: 2)");
  CHECK(vty.status == Status::Pass);
}

TEST_CASE("within.required: a config without such a section fails") {
  CHECK(check(R"(    within: {section: '^ntp \{'}
    must_match: '^server ')")
            .status == Status::Pass);
  auto out = check(R"(    within: {section: '^ntp \{', required: true}
    must_match: '^server ')");
  CHECK(out.status == Status::Fail);
  CHECK(out.message == "no section matches '^ntp \\{'");
}
