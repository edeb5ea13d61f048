#include "policy.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>

#include "lua_check.h"
#include "nauto/sdk/json_text.h"
#include "nauto/sdk/yaml_fields.h"
#include "nauto/sdk/yaml_json.h"

namespace nauto::compliance {

using nlohmann::json;

namespace {

const std::set<std::string> kPolicyKeys = {"name", "description", "gate", "rules"};
const std::set<std::string> kRuleKeys = {
    "id",          "description", "severity",       "scope",
    "within",      "must_match",  "must_not_match", "must_contain_lines",
    "command",     "parse",       "expect",         "validate",
    "remediation", "at_least",    "live",           "lua"};
const std::set<std::string> kOperators = {"==", "!=", "<", "<=", ">", ">=", "in", "regex"};
// Getter -> needs the device (false: computed from the config).
const std::map<std::string, bool> kGetters = {
    {"get_facts", true},
    {"get_interfaces", true},
    {"get_bgp_neighbors", true},
    {"get_ntp_servers", false},
};

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return std::string(text.substr(first, last - first + 1));
}

bool is_name(const std::string& name) {
  return !name.empty() && name.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                              "VWXYZ0123456789._-") == std::string::npos;
}

// Reads one policy file; each problem goes to `problems` as "file:line: what".
class PolicyReader : public YamlFields {
 public:
  using YamlFields::YamlFields;

  Policy read(const YAML::Node& root) {
    Policy policy;
    policy.origin = file();
    for (const auto& entry : root)
      if (!kPolicyKeys.count(entry.first.Scalar()))
        problem(entry.first,
                entry.first.Scalar() + ": unknown key (name, description, gate, rules)");
    policy.name = root["name"] ? text(root, "name") : std::filesystem::path(file()).stem().string();
    if (!is_name(policy.name))
      problem(root["name"] ? root["name"] : root,
              "name: '" + policy.name + "' may have letters, digits, '.', '_', '-'");
    policy.description = text(root, "description");
    policy.gate = flag(root, "gate");
    const auto rules = root["rules"];
    if (!rules || !rules.IsSequence() || rules.size() == 0) {
      problem(rules ? rules : root, "rules: expected a list of rules");
      return policy;
    }
    std::map<std::string, int> seen;  // id -> line
    for (const auto& item : rules) {
      // Ids count as defined even when their rule has problems, so a copy is reported too.
      if (item.IsMap() && item["id"] && item["id"].IsScalar()) {
        auto [it, fresh] = seen.emplace(item["id"].Scalar(), item.Mark().line + 1);
        if (!fresh) {
          problem(item, "rule '" + it->first + "' is already defined at line " +
                            std::to_string(it->second));
          continue;
        }
      }
      if (auto rule = read_rule(item)) policy.rules.push_back(std::move(*rule));
    }
    return policy;
  }

 private:
  std::optional<Rule> read_rule(const YAML::Node& item) {
    const auto before = problem_count();
    if (!item.IsMap()) {
      problem(item,
              "a rule is a map with id: and one check (must_match:, must_not_match:, "
              "must_contain_lines:, command: with expect:, or validate:)");
      return std::nullopt;
    }
    Rule rule;
    rule.origin = file() + ":" + std::to_string(item.Mark().line + 1);
    for (const auto& entry : item)
      if (!kRuleKeys.count(entry.first.Scalar()))
        problem(entry.first, entry.first.Scalar() + ": unknown key");
    rule.id = text(item, "id");
    if (!is_name(rule.id))
      problem(item["id"] ? item["id"] : item,
              "id: missing or not a name "
              "(letters, digits, . _ -)");
    rule.description = text(item, "description");
    if (item["scope"]) rule.scope = text(item, "scope");
    if (rule.scope.empty()) problem(item["scope"], "scope: expected a selector");
    read_severity(item, rule);
    read_check(item, rule);
    read_within(item, rule);
    read_options(item, rule);
    read_remediation(item, rule);
    if (problem_count() != before) return std::nullopt;
    return rule;
  }

  void read_severity(const YAML::Node& item, Rule& rule) {
    if (!item["severity"]) return;
    static const std::map<std::string, Severity> kNames = {{"info", Severity::Info},
                                                           {"low", Severity::Low},
                                                           {"medium", Severity::Medium},
                                                           {"high", Severity::High},
                                                           {"critical", Severity::Critical}};
    const auto name = text(item, "severity");
    auto it = kNames.find(name);
    if (it == kNames.end())
      problem(item["severity"],
              "severity: '" + name + "' is not info, low, medium, high or critical");
    else
      rule.severity = it->second;
  }

  void read_check(const YAML::Node& item, Rule& rule) {
    std::vector<std::string> kinds;
    for (const char* key :
         {"must_match", "must_not_match", "must_contain_lines", "command", "validate", "lua"})
      if (item[key]) kinds.push_back(key);
    if (kinds.size() != 1) {
      problem(item, kinds.empty() ? "a rule needs one check: must_match, must_not_match, "
                                    "must_contain_lines, command (with expect), validate or lua"
                                  : "a rule has one check; this one has " + join(kinds));
      return;
    }
    const auto& kind = kinds.front();
    if (kind == "must_match" || kind == "must_not_match") {
      rule.kind = kind == "must_match" ? CheckKind::MustMatch : CheckKind::MustNotMatch;
      rule.pattern_text = text(item, kind.c_str());
      rule.pattern = regex(item[kind], rule.pattern_text, kind);
      if (rule.pattern) rule.scan = regex(item[kind], "(?m)" + rule.pattern_text, kind);
    } else if (kind == "must_contain_lines") {
      rule.kind = CheckKind::MustContainLines;
      read_block(item[kind], rule);
    } else if (kind == "command") {
      rule.kind = CheckKind::Records;
      rule.command = text(item, "command");
      if (rule.command.empty()) problem(item["command"], "command: expected a show command");
      if (item["parse"]) {
        rule.parse = text(item, "parse");
        if (rule.parse != "textfsm" && rule.parse != "json")
          problem(item["parse"], "parse: '" + rule.parse + "' is not textfsm or json");
      }
      read_expect(item["expect"], item, rule);
    } else if (kind == "lua") {
      rule.kind = CheckKind::Lua;
      const auto code = text(item, "lua");
      // Lua's messages name the chunk and a line within the code: the code starts a line below.
      auto compiled = LuaCheck::compile(
          code, file() + ":" + std::to_string(item["lua"].Mark().line + 1) + " (lua)");
      if (!compiled)
        problem(item["lua"], "lua: " + compiled.error().message);
      else
        rule.lua = std::move(*compiled);
    } else {
      rule.kind = CheckKind::Validate;
      read_validate(item["validate"], rule);
    }
    if (rule.kind != CheckKind::Records) {
      for (const char* key : {"parse", "expect"})
        if (item[key]) problem(item[key], std::string(key) + ": only with command:");
    }
  }

  void read_block(const YAML::Node& node, Rule& rule) {
    if (node.IsScalar()) {
      std::string_view rest = node.Scalar();
      while (!rest.empty()) {
        const auto end = rest.find('\n');
        auto line = trim(rest.substr(0, end));
        if (!line.empty()) rule.block.push_back(std::move(line));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
      }
    } else if (node.IsSequence()) {
      for (const auto& line : node) {
        if (!line.IsScalar()) {
          problem(line, "must_contain_lines: expected lines of text");
          return;
        }
        if (auto trimmed = trim(line.Scalar()); !trimmed.empty())
          rule.block.push_back(std::move(trimmed));
      }
    }
    if (rule.block.empty())
      problem(node, "must_contain_lines: expected a block of lines (text or a list)");
  }

  void read_expect(const YAML::Node& node, const YAML::Node& item, Rule& rule) {
    if (!node || !node.IsSequence() || node.size() == 0) {
      problem(node ? node : item,
              "expect: expected a list of assertions ({field: F, OP: value} or {count: {OP: n}})");
      return;
    }
    for (const auto& entry : node) {
      if (!entry.IsMap()) {
        problem(entry, "expect: an assertion is a map such as {field: state, '==': up}");
        continue;
      }
      FieldAssertion assertion;
      YAML::Node operator_holder = entry;
      for (const auto& key : entry) {
        const auto name = key.first.Scalar();
        if (name != "field" && name != "count" && name != "any" && !kOperators.count(name))
          problem(key.first, "expect: '" + name + "' is not field, count, any or an operator (" +
                                 "== != < <= > >= in regex)");
      }
      if (entry["count"]) {
        assertion.count = true;
        operator_holder = entry["count"];
        if (!operator_holder.IsMap()) {
          problem(entry["count"], "count: expected {OP: number}, such as {'>=': 2}");
          continue;
        }
        if (entry["field"]) problem(entry["field"], "expect: count and field do not go together");
      } else {
        assertion.field = text(entry, "field");
        if (assertion.field.empty()) {
          problem(entry, "expect: an assertion names a field: (or is a count:)");
          continue;
        }
      }
      if (entry["any"]) assertion.any = flag(entry, "any");
      std::vector<std::string> ops;
      for (const auto& key : operator_holder)
        if (kOperators.count(key.first.Scalar())) ops.push_back(key.first.Scalar());
      if (ops.size() != 1) {
        problem(entry, "expect: one operator (== != < <= > >= in regex) per assertion");
        continue;
      }
      assertion.op = ops.front();
      const auto value = operator_holder[assertion.op];
      assertion.operand = yaml_to_json(value);
      if (assertion.op == "in" && !assertion.operand.is_array())
        problem(value, "in: expected a list of values");
      if (assertion.op == "regex") {
        if (!value.IsScalar()) {
          problem(value, "regex: expected a pattern");
          continue;
        }
        assertion.regex = regex(value, value.Scalar(), "regex", text::Regex::Anchor::Anywhere);
      }
      if (assertion.count && assertion.op != "in" && assertion.op != "regex" &&
          !assertion.operand.is_number())
        problem(value, "count: expected a number");
      if (assertion.count && (assertion.op == "in" || assertion.op == "regex"))
        problem(value, "count: compare with == != < <= > >=");
      assertion.text = (assertion.count ? std::string("count") : assertion.field) + " " +
                       assertion.op + " " + json_text(assertion.operand) +
                       (assertion.any ? " (any record)" : "");
      rule.expect.push_back(std::move(assertion));
    }
  }

  void read_validate(const YAML::Node& node, Rule& rule) {
    if (!node.IsSequence() || node.size() == 0) {
      problem(node, "validate: expected a list of {getter: expected state}, as NAPALM's");
      return;
    }
    for (const auto& entry : node) {
      if (!entry.IsMap() || entry.size() != 1) {
        problem(entry, "validate: each item is one getter, such as get_facts: {...}");
        continue;
      }
      const auto getter = entry.begin()->first.Scalar();
      if (!is_known_getter(getter)) {
        std::string known;
        for (const auto& [name, live] : kGetters)
          known += (known.empty() ? "" : ", ") + name;
        problem(entry, "validate: unknown getter '" + getter + "' (known: " + known + ")");
        continue;
      }
      if (!entry.begin()->second.IsMap()) {
        problem(entry, "validate: " + getter + ": expected a map of expected values");
        continue;
      }
    }
    rule.validate = yaml_to_json(node);
  }

  void read_within(const YAML::Node& item, Rule& rule) {
    const auto within = item["within"];
    if (!within) return;
    if (rule.kind != CheckKind::MustMatch && rule.kind != CheckKind::MustNotMatch &&
        rule.kind != CheckKind::MustContainLines) {
      problem(within, "within: only with must_match, must_not_match or must_contain_lines");
      return;
    }
    if (!within.IsMap() || !within["section"]) {
      problem(within, "within: expected {section: pattern, having: pattern}");
      return;
    }
    for (const auto& entry : within)
      if (entry.first.Scalar() != "section" && entry.first.Scalar() != "having" &&
          entry.first.Scalar() != "required")
        problem(entry.first,
                "within: '" + entry.first.Scalar() + "' is not section, having or required");
    rule.section_required = flag(within, "required");
    rule.section = regex(within["section"], text(within, "section"), "within.section");
    if (within["having"])
      rule.having = regex(within["having"], text(within, "having"), "within.having");
  }

  void read_options(const YAML::Node& item, Rule& rule) {
    if (item["live"]) {
      rule.live_only = flag(item, "live");
      if (rule.kind == CheckKind::Records) problem(item["live"], "live: a command is always live");
    }
    if (!item["at_least"]) return;
    if (rule.kind != CheckKind::MustMatch) {
      problem(item["at_least"], "at_least: only with must_match");
      return;
    }
    const auto text_value = text(item, "at_least");
    char* end = nullptr;
    const long n = std::strtol(text_value.c_str(), &end, 10);
    if (text_value.empty() || *end != '\0' || n < 1 || n > 100000)
      problem(item["at_least"], "at_least: expected a whole number from 1 to 100000");
    else
      rule.at_least = static_cast<int>(n);
  }

  void read_remediation(const YAML::Node& item, Rule& rule) {
    const auto node = item["remediation"];
    if (!node) return;
    if (!node.IsMap()) {
      problem(node, "remediation: expected {lines: ...} or {runbook: name}");
      return;
    }
    for (const auto& entry : node)
      if (entry.first.Scalar() != "lines" && entry.first.Scalar() != "runbook")
        problem(entry.first, "remediation: '" + entry.first.Scalar() + "' is not lines or runbook");
    if (node["lines"]) {
      const auto lines = node["lines"];
      if (lines.IsSequence()) {
        for (const auto& line : lines)
          rule.remediation_lines += (line.IsScalar() ? line.Scalar() : std::string()) + "\n";
      } else {
        rule.remediation_lines = text(node, "lines");
      }
    }
    rule.remediation_runbook = text(node, "runbook");
    if (!rule.remediation_lines.empty() && !rule.remediation_runbook.empty())
      problem(node, "remediation: lines or runbook, not both");
  }

  SharedRegex regex(const YAML::Node& node, const std::string& pattern, const std::string& key,
                    text::Regex::Anchor anchor = text::Regex::Anchor::Anywhere) {
    if (pattern.empty()) {
      problem(node, key + ": expected a pattern");
      return nullptr;
    }
    auto compiled = text::Regex::compile(pattern, anchor);
    if (!compiled) {
      problem(node, key + ": " + compiled.error().message);
      return nullptr;
    }
    return std::make_shared<const text::Regex>(std::move(*compiled));
  }

  static std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names)
      out += (out.empty() ? "" : ", ") + name;
    return out;
  }
};

}  // namespace

const char* severity_name(Severity severity) {
  switch (severity) {
    case Severity::Info:
      return "info";
    case Severity::Low:
      return "low";
    case Severity::Medium:
      return "medium";
    case Severity::High:
      return "high";
    case Severity::Critical:
      return "critical";
  }
  return "?";
}

const char* check_kind_name(CheckKind kind) {
  switch (kind) {
    case CheckKind::MustMatch:
      return "must_match";
    case CheckKind::MustNotMatch:
      return "must_not_match";
    case CheckKind::MustContainLines:
      return "must_contain_lines";
    case CheckKind::Records:
      return "command";
    case CheckKind::Validate:
      return "validate";
    case CheckKind::Lua:
      return "lua";
  }
  return "?";
}

bool is_known_getter(const std::string& getter) {
  return kGetters.count(getter) > 0;
}

bool getter_needs_device(const std::string& getter) {
  auto it = kGetters.find(getter);
  return it == kGetters.end() || it->second;
}

bool Rule::needs_device() const {
  if (kind == CheckKind::Records || live_only) return true;
  if (kind != CheckKind::Validate) return false;
  for (const auto& item : validate)
    for (const auto& [getter, expected] : item.items())
      if (getter_needs_device(getter)) return true;
  return false;
}

Result<Policy> parse_policy(const std::string& yaml_text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig, file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap())
    return fail(Errc::InvalidConfig,
                file + ":1: a policy file is a map with name:, description:, gate: and rules:");
  std::vector<std::string> problems;
  PolicyReader reader(file, problems);
  Policy policy;
  try {
    policy = reader.read(root);
  } catch (const YAML::Exception& e) {  // a node of an unexpected kind deep in the file
    return fail(Errc::InvalidConfig, file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return policy;
}

}  // namespace nauto::compliance
