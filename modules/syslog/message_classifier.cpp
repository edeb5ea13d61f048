#include "message_classifier.h"

#include "nauto/text/control_characters.h"

namespace nauto::syslog {

using nlohmann::json;

namespace {

bool valid_kind(const std::string& kind) {
  if (kind.empty() || kind.front() == '.' || kind.back() == '.') return false;
  for (char c : kind) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

}  // namespace

const std::vector<MessageRuleSpec>& MessageClassifier::builtin_rules() {
  static const std::vector<MessageRuleSpec> rules = {
      // Cisco IOS and Arista EOS
      {"ios-link-admin-down",
       "interface.down",
       "%LINK-5-CHANGED",
       R"(%LINK-5-CHANGED: Interface (?P<interface>[^,]+), changed state to administratively down)",
       {{"reason", "admin"}}},
      {"ios-link-down",
       "interface.down",
       "%LINK-3-UPDOWN",
       R"(%LINK-3-UPDOWN: Interface (?P<interface>[^,]+), changed state to down)",
       {{"reason", "link"}}},
      {"ios-link-up", "interface.up", "%LINK-3-UPDOWN",
       R"(%LINK-3-UPDOWN: Interface (?P<interface>[^,]+), changed state to up)", json::object()},
      {"ios-lineproto-down", "interface.protocol.down", "%LINEPROTO-5-UPDOWN",
       R"(%LINEPROTO-5-UPDOWN: Line protocol on Interface (?P<interface>[^,]+), changed state to down)",
       json::object()},
      {"ios-lineproto-up", "interface.protocol.up", "%LINEPROTO-5-UPDOWN",
       R"(%LINEPROTO-5-UPDOWN: Line protocol on Interface (?P<interface>[^,]+), changed state to up)",
       json::object()},
      // Cisco NX-OS
      {"nxos-if-admin-down",
       "interface.down",
       "%ETHPORT-5-IF_DOWN_ADMIN_DOWN",
       R"(%ETHPORT-5-IF_DOWN_ADMIN_DOWN: Interface (?P<interface>\S+) is down)",
       {{"reason", "admin"}}},
      {"nxos-if-down",
       "interface.down",
       "%ETHPORT-5-IF_DOWN_",
       R"(%ETHPORT-5-IF_DOWN_\w+: Interface (?P<interface>\S+) is down(?: \((?P<detail>[^)]*)\))?)",
       {{"reason", "link"}}},
      {"nxos-if-up", "interface.up", "%ETHPORT-5-IF_UP",
       R"(%ETHPORT-5-IF_UP: Interface (?P<interface>\S+) is up)", json::object()},
      // Junos
      {"junos-link-admin-down",
       "interface.down",
       "SNMP_TRAP_LINK_DOWN",
       R"(SNMP_TRAP_LINK_DOWN: ifIndex (?P<if_index>\d+), ifAdminStatus down\(2\), ifOperStatus \w+\(\d\), ifName (?P<interface>\S+))",
       {{"reason", "admin"}}},
      {"junos-link-down",
       "interface.down",
       "SNMP_TRAP_LINK_DOWN",
       R"(SNMP_TRAP_LINK_DOWN: ifIndex (?P<if_index>\d+), ifAdminStatus \w+\(\d\), ifOperStatus \w+\(\d\), ifName (?P<interface>\S+))",
       {{"reason", "link"}}},
      {"junos-link-up", "interface.up", "SNMP_TRAP_LINK_UP",
       R"(SNMP_TRAP_LINK_UP: ifIndex (?P<if_index>\d+), .*ifName (?P<interface>\S+))",
       json::object()},
      // BGP
      {"ios-bgp-up", "bgp.up", "%BGP-5-ADJCHANGE",
       R"(%BGP-5-ADJCHANGE: neighbor (?P<neighbor>\S+)(?: vpn vrf (?P<vrf>\S+))? Up)",
       json::object()},
      {"ios-bgp-down", "bgp.down", "%BGP-5-ADJCHANGE",
       R"(%BGP-5-ADJCHANGE: neighbor (?P<neighbor>\S+)(?: vpn vrf (?P<vrf>\S+))? Down ?(?P<reason>.*))",
       json::object()},
      {"eos-bgp-up", "bgp.up", "%BGP-5-ADJCHANGE",
       R"(%BGP-5-ADJCHANGE: peer (?P<neighbor>\S+) \(VRF (?P<vrf>\S+) AS (?P<remote_as>\d+)\) old state \w+ event \w+ new state Established)",
       json::object()},
      {"eos-bgp-down", "bgp.down", "%BGP-5-ADJCHANGE",
       R"(%BGP-5-ADJCHANGE: peer (?P<neighbor>\S+) \(VRF (?P<vrf>\S+) AS (?P<remote_as>\d+)\) old state Established event (?P<reason>\w+) new state (?P<state>\w+))",
       json::object()},
      {"nxos-bgp-up", "bgp.up", "%BGP-5-ADJCHANGE",
       R"(%BGP-5-ADJCHANGE: +bgp-\d+ \[\d+\] \((?P<vrf>[^)]+)\) neighbor (?P<neighbor>\S+) Up)",
       json::object()},
      {"nxos-bgp-down", "bgp.down", "%BGP-5-ADJCHANGE",
       R"(%BGP-5-ADJCHANGE: +bgp-\d+ \[\d+\] \((?P<vrf>[^)]+)\) neighbor (?P<neighbor>\S+) Down(?: - (?P<reason>.*))?)",
       json::object()},
      {"junos-bgp-down", "bgp.down", "BGP_NEIGHBOR_STATE_CHANGED",
       R"(BGP_NEIGHBOR_STATE_CHANGED: BGP peer (?P<neighbor>\S+) \((?:Internal|External) AS (?P<remote_as>\d+)\) changed state from Established to (?P<state>\w+)(?: \(event (?P<reason>\w+)\))?)",
       json::object()},
      {"junos-bgp-up", "bgp.up", "BGP_NEIGHBOR_STATE_CHANGED",
       R"(BGP_NEIGHBOR_STATE_CHANGED: BGP peer (?P<neighbor>\S+) \((?:Internal|External) AS (?P<remote_as>\d+)\) changed state from \w+ to Established)",
       json::object()},
      // Configuration changes
      {"ios-config", "config.changed", "CONFIG_I",
       R"(%SYS-5-CONFIG_I: Configured from (?P<source>\S+) by (?P<user>\S+)(?: on (?P<line>\S+))?(?: \((?P<address>[^)]+)\))?)",
       json::object()},
      {"nxos-config", "config.changed", "VSHD_SYSLOG_CONFIG_I",
       R"(VSHD_SYSLOG_CONFIG_I: Configured from (?P<source>\S+) by (?P<user>\S+) on (?P<address>[^@\s]+))",
       json::object()},
      {"junos-commit", "config.changed", "UI_COMMIT",
       R"(UI_COMMIT: User '(?P<user>[^']+)' requested '(?P<operation>[^']+)' operation)",
       json::object()},
      // Failed logins
      {"ios-login-failed", "login.failed", "LOGIN_FAILED",
       R"(%SEC_LOGIN-\d-LOGIN_FAILED: Login failed \[user: (?P<user>[^\]]*)\] \[Source: (?P<address>[^\]]*)\])",
       json::object()},
      {"junos-login-failed", "login.failed", "SSHD_LOGIN_FAILED",
       R"(SSHD_LOGIN_FAILED: Login failed for user '(?P<user>[^']*)' from host '(?P<address>[^']*)')",
       json::object()},
      {"sshd-login-failed", "login.failed", "Failed password",
       R"(Failed password for (?:invalid user )?(?P<user>\S+) from (?P<address>\S+))",
       json::object()},
  };
  return rules;
}

Result<std::vector<MessageRuleSpec>> MessageClassifier::read_specs(const json& list,
                                                                   const std::string& where) {
  std::vector<MessageRuleSpec> specs;
  if (list.is_null()) return specs;
  if (!list.is_array())
    return fail(Errc::InvalidConfig, "expected a list of {name, kind, pattern, contains, set}",
                where);
  std::string problems;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto path = where + "[" + std::to_string(i) + "]";
    const auto& item = list[i];
    if (!item.is_object()) {
      problems += path + ": expected a map {name, kind, pattern}\n";
      continue;
    }
    for (const auto& [key, value] : item.items()) {
      if (key != "name" && key != "kind" && key != "pattern" && key != "contains" && key != "set")
        problems += path + "." + key + ": unknown key (name, kind, pattern, contains, set)\n";
    }
    MessageRuleSpec spec;
    auto text = [&](const char* key, std::string& out, bool required) {
      if (!item.contains(key)) {
        if (required) problems += path + "." + key + ": required\n";
        return;
      }
      if (!item[key].is_string()) {
        problems += path + "." + key + ": expected a string\n";
        return;
      }
      out = item[key].get<std::string>();
    };
    text("name", spec.name, false);
    text("kind", spec.kind, true);
    text("pattern", spec.pattern, true);
    text("contains", spec.contains, false);
    if (spec.name.empty()) spec.name = path;
    if (!spec.kind.empty() && !valid_kind(spec.kind))
      problems += path + ".kind: '" + spec.kind +
                  "' is not a dotted name of letters, digits, '_' and '-' (interface.down)\n";
    if (item.contains("set")) {
      if (!item["set"].is_object())
        problems += path + ".set: expected a map of field: value\n";
      else
        spec.set = item["set"];
    }
    specs.push_back(std::move(spec));
  }
  if (!problems.empty()) {
    problems.pop_back();
    return fail(Errc::InvalidConfig, problems);
  }
  return specs;
}

Result<MessageClassifier> MessageClassifier::create(
    const std::vector<MessageRuleSpec>& configured) {
  MessageClassifier classifier;
  std::vector<const MessageRuleSpec*> all;
  for (const auto& spec : configured)
    all.push_back(&spec);
  for (const auto& spec : builtin_rules())
    all.push_back(&spec);
  for (const auto* spec : all) {
    auto regex = text::Regex::compile(spec->pattern, text::Regex::Anchor::Anywhere);
    if (!regex) {
      return fail(Errc::InvalidConfig, "message rule '" + spec->name +
                                           "': pattern: " + regex.error().message +
                                           " (Python regex syntax, named groups as (?P<name>...))");
    }
    classifier.rules_.push_back(Rule{*spec, std::move(*regex)});
  }
  return classifier;
}

Classification MessageClassifier::classify(std::string_view text) const {
  thread_local text::Matcher matcher;
  Classification out;
  for (const auto& rule : rules_) {
    if (!rule.spec.contains.empty() && text.find(rule.spec.contains) == std::string_view::npos)
      continue;
    auto matched = matcher.match(rule.regex, text, text::Matcher::Subject::ValidUtf8);
    if (!matched || !*matched) continue;
    // A field goes on into rules, runbooks and device commands: one that captured a control
    // character ("Gi0/1\nreload") makes the rule not match, and the message stays plain syslog.
    bool clean = true;
    for (const auto& [name, number] : rule.regex.named_groups()) {
      if (auto group = matcher.group(number); group && text::has_control_character(*group))
        clean = false;
    }
    if (!clean) continue;
    out.kind = rule.spec.kind;
    out.rule = rule.spec.name;
    for (const auto& [name, number] : rule.regex.named_groups()) {
      if (auto group = matcher.group(number)) out.fields[name] = std::string(*group);
    }
    for (const auto& [key, value] : rule.spec.set.items())
      out.fields[key] = value;
    return out;
  }
  return out;
}

}  // namespace nauto::syslog
