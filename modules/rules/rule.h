#pragma once
// Rule: one entry of a rules file — which events it matches (topic patterns and a `when:`
// condition), how events are counted before it fires (group, dedup, threshold window,
// debounce), what holds it back after firing (cooldown, budget, concurrency), and its action.
//
//   rules:
//     - name: interface-admin-down
//       on: device.*.interface.down            # one pattern or a list
//       when: {fields.reason: admin}
//       group_by: [device, fields.interface]   # default [device]
//       dedup: 10s                             # same group within 10 s: one event
//       threshold: {count: 3, window: 60s}     # fire on the 3rd within 60 s (default: 1st)
//       debounce: 2s                           # fire once quiet for 2 s, with the last event
//       cooldown: 5m                           # per group after firing
//       concurrency: 1                         # runs of this rule at once (0: no limit)
//       budget: {count: 3, window: 1h}         # per device; default from the module config
//       approval: {message: ..., approvers: [alice], timeout: 30m}   # asked before the run
//       action:
//         runbook: interface_remediate         # or emit: {topic, body}
//         params: {device: "{{device}}", interface: "{{fields.interface}}"}
//
// Parsing collects every problem with its line ("rules.yaml:12: rules[1].dedup: ...").

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "condition.h"
#include "nauto/base/result.h"

namespace nauto::rules {

struct CountWindow {
  int count = 0;  ///< 0: not set
  std::int64_t window_ms = 0;
};

struct RuleAction {
  enum class Kind { Runbook, Emit, Webhook, Notify };
  Kind kind = Kind::Runbook;
  std::string runbook;
  nlohmann::json params = nlohmann::json::object();  ///< values may hold {{ path }} templates
  std::string topic;
  nlohmann::json body = nlohmann::json::object();  ///< emit's and webhook's; templates too
  /// notify: {channel, text, title, severity} to a channel of modules.outbound.channels
  /// (notify.send); templates too.
  nlohmann::json notification = nlohmann::json::object();
  bool dry_run = false;
  std::string url;         ///< webhook: http:// or https://
  std::string credential;  ///< webhook: vault credential whose password signs the body
  std::int64_t timeout_ms = 10'000;
  bool whole_event = true;  ///< webhook without `body:` posts the event as it came

  /// "runbook NAME", "emit TOPIC", "webhook https://host/…" (a URL's path is not shown) or
  /// "notify CHANNEL".
  std::string describe() const;
};

struct Rule {
  std::string name;
  std::string description;
  std::string file;
  int line = 0;
  bool enabled = true;
  std::vector<std::string> topics;
  Condition when;
  std::vector<std::string> group_by = {"device"};
  std::int64_t dedup_ms = 0;
  CountWindow threshold{1, 0};
  std::int64_t debounce_ms = 0;
  std::int64_t cooldown_ms = 0;
  int concurrency = 0;
  CountWindow budget;       ///< count 0: the module's default
  nlohmann::json approval;  ///< null, or {message, approvers, timeout}
  RuleAction action;

  /// "rule.yaml:12"
  std::string origin() const { return file + ":" + std::to_string(line); }
  nlohmann::json summary() const;
};

/// Parses one rules file. Every problem is reported at once, each with file:line.
Result<std::vector<Rule>> parse_rules(const std::string& yaml_text, const std::string& file);

/// Fills `{{ path }}` templates in `value` (strings, lists and maps, recursively) from the event.
/// A string that is exactly one template keeps the field's type. A missing field is an error
/// naming the template.
Result<nlohmann::json> fill_templates(const nlohmann::json& value, const nlohmann::json& event);
/// What an action sends for `event` (a rule view: body fields plus topic and id): a runbook's
/// params, an emit's or webhook's body — templates filled — or, for a webhook without `body:`,
/// the event itself.
Result<nlohmann::json> action_payload(const RuleAction& action, const nlohmann::json& event);

/// "10s", "5m", "1h", "250ms", or a number of seconds. -1 when malformed.
std::int64_t parse_duration_ms(const std::string& text);

}  // namespace nauto::rules
