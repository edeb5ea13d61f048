#include "rule.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "nauto/bus/topic_match.h"
#include "webhook_caller.h"

namespace nauto::rules {

using nlohmann::json;

namespace {

json to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    json out = json::object();
    for (const auto& entry : node)
      out[entry.first.Scalar()] = to_json(entry.second);
    return out;
  }
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node)
      out.push_back(to_json(item));
    return out;
  }
  if (node.IsScalar()) {
    const auto& text = node.Scalar();
    if (node.Tag() == "!") return text;
    if (text == "true") return true;
    if (text == "false") return false;
    char* end = nullptr;
    const long long integer = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && end && *end == '\0') return integer;
    return text;
  }
  return nullptr;
}

class RuleReader {
 public:
  RuleReader(const std::string& file, std::vector<std::string>& problems)
      : file_(file), problems_(problems) {}

  void problem(const YAML::Node& node, const std::string& what) {
    problems_.push_back(file_ + ":" + std::to_string(node.Mark().line + 1) + ": " + what);
  }

  std::int64_t duration(const YAML::Node& node, const std::string& where) {
    if (!node.IsScalar()) {
      problem(node, where + ": expected a duration such as 10s, 5m, 1h");
      return 0;
    }
    const auto ms = parse_duration_ms(node.Scalar());
    if (ms < 0) problem(node, where + ": '" + node.Scalar() + "' is not a duration (10s, 5m, 1h)");
    return std::max<std::int64_t>(ms, 0);
  }

  int count(const YAML::Node& node, const std::string& where, int min) {
    if (node.IsScalar()) {
      char* end = nullptr;
      const long value = std::strtol(node.Scalar().c_str(), &end, 10);
      if (end && *end == '\0' && value >= min && value <= 1'000'000) return static_cast<int>(value);
    }
    problem(node, where + ": expected a whole number >= " + std::to_string(min));
    return min;
  }

  CountWindow count_window(const YAML::Node& node, const std::string& where) {
    CountWindow out;
    if (!node.IsMap()) {
      problem(node, where + ": expected {count: N, window: DURATION}");
      return out;
    }
    for (const auto& entry : node) {
      const auto key = entry.first.Scalar();
      if (key != "count" && key != "window")
        problem(entry.first, where + "." + key + ": unknown key (count, window)");
    }
    if (!node["count"] || !node["window"]) {
      problem(node, where + ": needs both count and window");
      return out;
    }
    out.count = count(node["count"], where + ".count", 1);
    out.window_ms = duration(node["window"], where + ".window");
    return out;
  }

  std::string text(const YAML::Node& node, const std::string& where) {
    if (!node.IsScalar()) {
      problem(node, where + ": expected text");
      return {};
    }
    return node.Scalar();
  }

  void action(const YAML::Node& node, const std::string& where, RuleAction& out) {
    if (!node.IsMap()) {
      problem(node, where +
                        ": expected {runbook: NAME, params: {...}}, {emit: {topic, body}}, "
                        "{webhook: {url, body, credential, timeout}} or {notify: {channel, text}}");
      return;
    }
    for (const auto& entry : node) {
      const auto key = entry.first.Scalar();
      if (key != "runbook" && key != "params" && key != "emit" && key != "dry_run" &&
          key != "webhook" && key != "notify")
        problem(entry.first, where + "." + key +
                                 ": unknown key (runbook, params, dry_run, emit, webhook, notify)");
    }
    const int kinds = (node["runbook"] ? 1 : 0) + (node["emit"] ? 1 : 0) +
                      (node["webhook"] ? 1 : 0) + (node["notify"] ? 1 : 0);
    if (kinds > 1) {
      problem(node, where + ": one action per rule: runbook, emit, webhook or notify");
    } else if (node["notify"]) {
      out.kind = RuleAction::Kind::Notify;
      const auto& notify = node["notify"];
      if (!notify.IsMap() || !notify["channel"] || !notify["text"]) {
        problem(notify, where + ".notify: expected {channel: NAME, text: ..., title: ...}");
        return;
      }
      for (const auto& entry : notify) {
        const auto key = entry.first.Scalar();
        if (key != "channel" && key != "text" && key != "title" && key != "severity")
          problem(entry.first,
                  where + ".notify." + key + ": unknown key (channel, text, title, severity)");
      }
      out.notification = to_json(notify);
    } else if (node["webhook"]) {
      webhook(node["webhook"], where + ".webhook", out);
    } else if (node["runbook"]) {
      out.kind = RuleAction::Kind::Runbook;
      out.runbook = text(node["runbook"], where + ".runbook");
      if (node["params"]) {
        if (!node["params"].IsMap())
          problem(node["params"], where + ".params: expected a map of name: value");
        else
          out.params = to_json(node["params"]);
      }
      if (node["dry_run"]) out.dry_run = to_json(node["dry_run"]) == true;
    } else if (node["emit"]) {
      out.kind = RuleAction::Kind::Emit;
      const auto& emit = node["emit"];
      if (!emit.IsMap() || !emit["topic"]) {
        problem(emit, where + ".emit: expected {topic: ..., body: {...}}");
        return;
      }
      out.topic = text(emit["topic"], where + ".emit.topic");
      if (emit["body"]) out.body = to_json(emit["body"]);
      for (const char* reserved : {"kernel.", "bus.", "run.", "job.", "audit.", "rule."}) {
        if (out.topic.rfind(reserved, 0) == 0)
          problem(emit["topic"],
                  where + ".emit.topic: '" + out.topic + "' is reserved (" + reserved + "...)");
      }
    } else {
      problem(node, where +
                        ": say what to do: runbook: NAME, emit: {topic, body}, webhook: "
                        "{url, body} or notify: {channel, text}");
    }
  }

  void webhook(const YAML::Node& node, const std::string& where, RuleAction& out) {
    out.kind = RuleAction::Kind::Webhook;
    if (!node.IsMap() || !node["url"]) {
      problem(node, where +
                        ": expected {url: https://..., body: {...}, credential: NAME, "
                        "timeout: 10s}");
      return;
    }
    for (const auto& entry : node) {
      const auto key = entry.first.Scalar();
      if (key != "url" && key != "body" && key != "credential" && key != "timeout")
        problem(entry.first, where + "." + key + ": unknown key (url, body, credential, timeout)");
    }
    out.url = text(node["url"], where + ".url");
    if (out.url.rfind("http://", 0) != 0 && out.url.rfind("https://", 0) != 0)
      problem(node["url"],
              where + ".url: '" + url_origin(out.url) + "' is not an http:// or https:// URL");
    if (node["body"]) {
      out.body = to_json(node["body"]);
      out.whole_event = false;
    }
    if (node["credential"]) out.credential = text(node["credential"], where + ".credential");
    if (node["timeout"]) {
      out.timeout_ms = duration(node["timeout"], where + ".timeout");
      if (out.timeout_ms <= 0 || out.timeout_ms > 300'000)
        problem(node["timeout"], where + ".timeout: between 1ms and 5m");
    }
  }

  Rule rule(const YAML::Node& node, const std::string& where) {
    Rule rule;
    rule.file = file_;
    rule.line = static_cast<int>(node.Mark().line) + 1;
    static const std::set<std::string> keys = {
        "name",      "description", "enabled",  "on",          "when",   "group_by", "dedup",
        "threshold", "debounce",    "cooldown", "concurrency", "budget", "approval", "action"};
    for (const auto& entry : node) {
      const auto key = entry.first.Scalar();
      if (!keys.contains(key)) {
        problem(entry.first, where + "." + key +
                                 ": unknown key (name, description, enabled, on, when, group_by, "
                                 "dedup, threshold, debounce, cooldown, concurrency, budget, "
                                 "approval, action)");
      }
    }
    if (node["name"]) rule.name = text(node["name"], where + ".name");
    if (rule.name.empty()) problem(node, where + ".name: every rule needs a name");
    if (node["description"]) rule.description = text(node["description"], where + ".description");
    if (node["enabled"]) rule.enabled = to_json(node["enabled"]) != false;
    if (!node["on"]) {
      problem(node, where + ".on: which events? a topic pattern such as device.*.interface.down");
    } else if (node["on"].IsSequence()) {
      for (const auto& item : node["on"])
        rule.topics.push_back(text(item, where + ".on"));
    } else {
      rule.topics.push_back(text(node["on"], where + ".on"));
    }
    for (const auto& topic : rule.topics) {
      if (auto valid = bus::validate_pattern(topic); !valid)
        problem(node["on"], where + ".on: " + valid.error().message);
    }
    if (node["when"]) {
      auto when = Condition::parse(node["when"], where + ".when");
      if (!when)
        problems_.push_back(file_ + ":" + when.error().message.substr(5));  // "line N: ..."
      else
        rule.when = std::move(*when);
    }
    if (node["group_by"]) {
      rule.group_by.clear();
      const auto& group = node["group_by"];
      if (group.IsSequence()) {
        for (const auto& item : group)
          rule.group_by.push_back(text(item, where + ".group_by"));
      } else {
        rule.group_by.push_back(text(group, where + ".group_by"));
      }
    }
    if (node["dedup"]) rule.dedup_ms = duration(node["dedup"], where + ".dedup");
    if (node["threshold"]) rule.threshold = count_window(node["threshold"], where + ".threshold");
    if (node["debounce"]) rule.debounce_ms = duration(node["debounce"], where + ".debounce");
    if (node["cooldown"]) rule.cooldown_ms = duration(node["cooldown"], where + ".cooldown");
    if (node["concurrency"])
      rule.concurrency = count(node["concurrency"], where + ".concurrency", 0);
    if (node["budget"]) rule.budget = count_window(node["budget"], where + ".budget");
    if (node["approval"]) {
      const auto& approval = node["approval"];
      if (!approval.IsMap()) {
        problem(approval, where + ".approval: expected {message, approvers: [...], timeout}");
      } else {
        rule.approval = to_json(approval);
        if (approval["timeout"]) {
          rule.approval["timeout"] =
              static_cast<double>(duration(approval["timeout"], where + ".approval.timeout")) /
              1000.0;
        }
      }
    }
    if (!node["action"])
      problem(node, where + ".action: say what to do: runbook: NAME or emit: {topic, body}");
    else
      action(node["action"], where + ".action", rule.action);
    if (rule.approval.is_object() && rule.action.kind != RuleAction::Kind::Runbook)
      problem(node["approval"], where + ".approval: only a runbook action can wait for approval");
    return rule;
  }

 private:
  std::string file_;
  std::vector<std::string>& problems_;
};

}  // namespace

std::int64_t parse_duration_ms(const std::string& text) {
  if (text.empty()) return -1;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || value < 0) return -1;
  const std::string unit(end);
  double factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "ms")
    factor = 1;
  else if (unit == "m" || unit == "min")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    return -1;
  return static_cast<std::int64_t>(value * factor);
}

std::string RuleAction::describe() const {
  switch (kind) {
    case Kind::Runbook:
      return "runbook " + runbook;
    case Kind::Emit:
      return "emit " + topic;
    case Kind::Webhook:
      return "webhook " + url_origin(url);
    case Kind::Notify:
      return "notify " + notification.value("channel", "");
  }
  return "?";
}

json Rule::summary() const {
  json out = {{"name", name},
              {"description", description},
              {"origin", origin()},
              {"enabled", enabled},
              {"on", topics},
              {"group_by", group_by},
              {"action", action.describe()}};
  if (dedup_ms) out["dedup_ms"] = dedup_ms;
  if (threshold.count > 1)
    out["threshold"] = {{"count", threshold.count}, {"window_ms", threshold.window_ms}};
  if (debounce_ms) out["debounce_ms"] = debounce_ms;
  if (cooldown_ms) out["cooldown_ms"] = cooldown_ms;
  if (concurrency) out["concurrency"] = concurrency;
  if (budget.count) out["budget"] = {{"count", budget.count}, {"window_ms", budget.window_ms}};
  if (approval.is_object()) out["approval"] = approval;
  return out;
}

Result<std::vector<Rule>> parse_rules(const std::string& yaml_text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig, file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  std::vector<std::string> problems;
  RuleReader reader(file, problems);
  std::vector<Rule> rules;
  if (!root || root.IsNull()) return rules;
  if (!root.IsMap() || !root["rules"] || !root["rules"].IsSequence()) {
    return fail(Errc::InvalidConfig,
                file + ":1: expected 'rules:' with a list of rules (see docs/events.md)");
  }
  for (const auto& entry : root) {
    if (entry.first.Scalar() != "rules")
      reader.problem(entry.first, entry.first.Scalar() + ": unknown key (rules)");
  }
  std::set<std::string> names;
  const auto& list = root["rules"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto where = "rules[" + std::to_string(i) + "]";
    if (!list[i].IsMap()) {
      reader.problem(list[i], where + ": expected a map (name, on, when, action, ...)");
      continue;
    }
    auto rule = reader.rule(list[i], where);
    if (!rule.name.empty() && !names.insert(rule.name).second)
      reader.problem(list[i], where + ".name: '" + rule.name + "' is used twice in this file");
    rules.push_back(std::move(rule));
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return rules;
}

namespace {

// The templated path of a string that is exactly "{{ path }}", or empty.
std::string sole_template(const std::string& text) {
  if (text.size() < 5 || text.rfind("{{", 0) != 0 || text.substr(text.size() - 2) != "}}")
    return {};
  if (text.find("{{", 2) != std::string::npos) return {};
  auto inner = text.substr(2, text.size() - 4);
  const auto first = inner.find_first_not_of(' ');
  const auto last = inner.find_last_not_of(' ');
  return first == std::string::npos ? std::string() : inner.substr(first, last - first + 1);
}

}  // namespace

Result<json> fill_templates(const json& value, const json& event) {
  if (value.is_object() || value.is_array()) {
    json out = value.is_object() ? json::object() : json::array();
    for (auto it = value.begin(); it != value.end(); ++it) {
      auto filled = fill_templates(*it, event);
      if (!filled) return filled;
      if (value.is_object())
        out[it.key()] = std::move(*filled);
      else
        out.push_back(std::move(*filled));
    }
    return out;
  }
  if (!value.is_string()) return value;
  const auto& text = value.get_ref<const std::string&>();
  if (auto path = sole_template(text); !path.empty()) {
    const json* field = field_of(event, path);
    if (!field) return fail(Errc::InvalidArgument, "{{ " + path + " }}: the event has no " + path);
    return *field;
  }
  std::string out;
  std::size_t at = 0;
  while (true) {
    const auto open = text.find("{{", at);
    if (open == std::string::npos) break;
    const auto close = text.find("}}", open);
    if (close == std::string::npos) break;
    out += text.substr(at, open - at);
    auto path = sole_template(text.substr(open, close + 2 - open));
    const json* field = path.empty() ? nullptr : field_of(event, path);
    if (!field) {
      return fail(Errc::InvalidArgument,
                  text.substr(open, close + 2 - open) + ": the event has no such field");
    }
    out += field->is_string() ? field->get<std::string>() : field->dump();
    at = close + 2;
  }
  out += text.substr(at);
  return json(out);
}

Result<json> action_payload(const RuleAction& action, const json& event) {
  switch (action.kind) {
    case RuleAction::Kind::Runbook:
      return fill_templates(action.params, event);
    case RuleAction::Kind::Emit:
      return fill_templates(action.body, event);
    case RuleAction::Kind::Webhook:
      return action.whole_event ? Result<json>(event) : fill_templates(action.body, event);
    case RuleAction::Kind::Notify:
      return fill_templates(action.notification, event);
  }
  return fail(Errc::Bug, "unknown action kind");
}

}  // namespace nauto::rules
