#include "evaluate.h"

#include "lua_check.h"
#include "napalm_validate.h"
#include "record_checks.h"

namespace nauto::compliance {

using nlohmann::json;

namespace {

RuleResult with_status(const Rule& rule, Status status, std::string message) {
  RuleResult out;
  out.rule = rule.id;
  out.status = status;
  out.message = std::move(message);
  return out;
}

RuleResult check_validate(const Rule& rule, const DeviceInput& input) {
  DeviceData data = input.data;
  data.config = input.config ? &*input.config : nullptr;
  std::vector<std::string> unavailable;
  auto report = napalm_compliance_report(rule.validate, [&](const std::string& getter) {
    auto value = getter_value(getter, data);
    if (!value) unavailable.push_back(getter);
    return value;
  });
  RuleResult out;
  out.rule = rule.id;
  const bool complies = report.value("complies", false);
  std::vector<std::string> failing;
  for (const auto& [key, value] : report.items())
    if (value.is_object() && value.contains("complies") && !value["complies"].get<bool>())
      failing.push_back(key);
  if (!complies) {
    out.status = Status::Fail;
    out.message = "does not comply:";
    for (const auto& key : failing)
      out.message += " " + key;
  } else if (report["skipped"].size() == rule.validate.size() && !rule.validate.empty()) {
    out.status = Status::Skipped;
    out.message = "no getter is available on this platform";
  }
  out.detail = std::move(report);
  return out;
}

RuleResult check_lua(const Rule& rule, const DeviceInput& input) {
  nlohmann::json facts = {
      {"device", input.device}, {"platform", input.data.platform}, {"site", input.site}};
  if (input.data.facts) facts["facts"] = *input.data.facts;
  auto verdict = rule.lua->run(input.config->text(), facts);
  if (!verdict) return with_status(rule, Status::Error, "lua: " + verdict.error().message);
  RuleResult out;
  out.rule = rule.id;
  if (verdict->pass) return out;
  out.status = Status::Fail;
  out.message = verdict->message.empty() ? "check returned false" : verdict->message;
  for (auto& line : verdict->lines)
    if (out.lines.size() < kLinesKept) out.lines.push_back(std::move(line));
  return out;
}

RuleResult check_command(const Rule& rule, const DeviceInput& input) {
  if (auto failed = input.command_errors.find(rule.command); failed != input.command_errors.end())
    return with_status(rule, Status::Error, rule.command + ": " + failed->second);
  auto parsed = input.data.parsed.find(rule.command);
  if (parsed == input.data.parsed.end())
    return with_status(rule, Status::Error, rule.command + ": no output");
  return check_records(rule, records_of(parsed->second));
}

}  // namespace

DeviceNeeds needs_of(const std::vector<const Rule*>& rules, const std::string& platform) {
  DeviceNeeds needs;
  for (const auto* rule : rules) {
    if (rule->kind == CheckKind::Records) needs.commands.insert(rule->command);
    if (rule->kind == CheckKind::Lua && rule->live_only) needs.facts = true;
    if (rule->kind != CheckKind::Validate) continue;
    for (const auto& item : rule->validate)
      for (const auto& [getter, expected] : item.items()) {
        if (getter == "get_facts") needs.facts = true;
        if (auto command = getter_command(getter, platform); !command.empty())
          needs.commands.insert(command);
      }
  }
  return needs;
}

std::vector<RuleResult> evaluate(const std::vector<const Rule*>& rules, const DeviceInput& input,
                                 text::Matcher& matcher) {
  std::vector<RuleResult> out;
  out.reserve(rules.size());
  for (const auto* rule : rules) {
    if (rule->needs_device() && !input.live) {
      out.push_back(with_status(*rule, Status::Skipped,
                                "needs the device (a show command or a getter): run with --live"));
      continue;
    }
    switch (rule->kind) {
      case CheckKind::MustMatch:
      case CheckKind::MustNotMatch:
      case CheckKind::MustContainLines:
        if (!input.config)
          out.push_back(with_status(*rule, Status::Error, input.config_error));
        else
          out.push_back(check_config(*rule, *input.config, matcher));
        break;
      case CheckKind::Records:
        out.push_back(check_command(*rule, input));
        break;
      case CheckKind::Lua:
        if (!input.config)
          out.push_back(with_status(*rule, Status::Error, input.config_error));
        else
          out.push_back(check_lua(*rule, input));
        break;
      case CheckKind::Validate:
        if (rule->needs_device() && !input.device_error.empty())
          out.push_back(with_status(*rule, Status::Error, input.device_error));
        else if (!rule->needs_device() && !input.config)
          out.push_back(with_status(*rule, Status::Error, input.config_error));
        else
          out.push_back(check_validate(*rule, input));
        break;
    }
  }
  return out;
}

const char* status_name(Status status) {
  switch (status) {
    case Status::Pass:
      return "pass";
    case Status::Fail:
      return "fail";
    case Status::Error:
      return "error";
    case Status::Skipped:
      return "skipped";
  }
  return "?";
}

json RuleResult::to_json() const {
  json out = {{"rule", rule}, {"status", status_name(status)}};
  if (!message.empty()) out["message"] = message;
  if (!lines.empty()) out["lines"] = lines;
  if (!missing.empty()) out["missing"] = missing;
  if (!detail.is_null()) out["detail"] = detail;
  return out;
}

}  // namespace nauto::compliance
