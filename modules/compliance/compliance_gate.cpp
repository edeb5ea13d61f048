#include "compliance_gate.h"

#include <map>

#include "config_checks.h"
#include "evaluate.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/drivers/config_diff.h"
#include "scope_selection.h"

namespace nauto::compliance {

using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr std::int64_t kDeviceCallTimeoutMs = 120'000;

struct GateRule {
  const Rule* rule;
  const Policy* policy;
};

json answer(bool allowed, const json& violations, std::int64_t already_failing,
            const std::vector<std::shared_ptr<const Policy>>& gates, bool overridden,
            const std::string& reason) {
  json checked = json::array();
  for (const auto& policy : gates)
    checked.push_back(policy->name);
  json out = {{"allowed", allowed},
              {"violations", violations},
              {"already_failing", already_failing},
              {"checked", std::move(checked)},
              {"overridden", overridden}};
  if (!reason.empty()) out["reason"] = reason;
  return out;
}

}  // namespace

struct ComplianceGate::Pending {
  std::vector<std::shared_ptr<const Policy>> gates;
  GateAsk ask;
  std::optional<Reply> reply;
  Selection selection;
  std::map<std::string, std::string> configs;  // device -> running config
  std::map<std::string, std::string> errors;   // device -> why it could not be read
  std::size_t left = 0;
};

void ComplianceGate::check(Context& ctx, std::vector<std::shared_ptr<const Policy>> gates,
                           GateAsk ask, Reply reply) {
  if (gates.empty() || ask.devices.empty())
    return reply.ok_json(answer(true, json::array(), 0, gates, false, ""));
  auto pending = std::make_shared<Pending>();
  std::set<std::string> scopes;
  for (const auto& policy : gates)
    for (auto& scope : scopes_of(policy->rules))
      scopes.insert(std::move(scope));
  std::string selector = "name=";
  for (std::size_t i = 0; i < ask.devices.size(); ++i)
    selector += (i ? "," : "") + ask.devices[i];
  pending->gates = std::move(gates);
  pending->ask = std::move(ask);
  pending->reply.emplace(std::move(reply));
  select_with_scopes(
      ctx, selector, std::move(scopes), [this, &ctx, pending](Result<Selection> selection) {
        if (!selection) return pending->reply->fail(selection.error());
        pending->selection = std::move(*selection);
        pending->left = pending->selection.hosts.size();
        if (pending->left == 0) return decide(ctx, *pending);
        for (const auto& host : pending->selection.hosts) {
          const auto device = host.value("name", "");
          json call = {{"device", device},
                       {"kind", "get_config"},
                       {"started_by", "compliance gate (" + pending->ask.by + ")"}};
          ctx.request(schema::DeviceCallRequest::kTopic, bus::to_body(call), kDeviceCallTimeoutMs,
                      [this, &ctx, pending, device](Result<std::string> body) {
                        auto output = bus::from_reply(body);
                        if (output && output->is_object())
                          pending->configs[device] = output->value("config", "");
                        else
                          pending->errors[device] =
                              output ? "no config in the reply" : output.error().describe();
                        if (--pending->left == 0) decide(ctx, *pending);
                      });
        }
      });
}

void ComplianceGate::decide(Context& ctx, Pending& pending) {
  std::vector<GateRule> rules;
  for (const auto& policy : pending.gates)
    for (const auto& rule : policy->rules)
      if (!rule.needs_device()) rules.push_back({&rule, policy.get()});
  text::Matcher matcher;
  json violations = json::array();
  std::int64_t already_failing = 0;
  std::string reason;
  for (const auto& host : pending.selection.hosts) {
    const auto device = host.value("name", "");
    if (auto failed = pending.errors.find(device); failed != pending.errors.end()) {
      reason += (reason.empty() ? "" : "; ") + device +
                ": its running config could not be read to check the push (" + failed->second + ")";
      continue;
    }
    const drivers::PlatformDefinition* platform = nullptr;
    if (auto found = catalog_.find(host.value("platform", ""))) platform = *found;
    const drivers::ConfigDiff parser(
        platform ? platform->volatile_lines : std::vector<std::string>{},
        platform ? platform->replace_keys : std::vector<std::string>{});
    const auto& running = pending.configs[device];
    const auto& pushed = pending.ask.config;
    const auto before_tree = parser.parse(running);
    std::string after_text;
    if (platform && platform->syntax == drivers::ConfigSyntax::Indented)
      after_text = drivers::ConfigDiff::render(
          pending.ask.replace ? parser.parse(pushed)
                              : parser.merge(before_tree, parser.parse(pushed)));
    else
      after_text = pending.ask.replace ? pushed : running + "\n" + pushed;
    std::vector<const Rule*> applicable;
    for (const auto& gate : rules)
      if (pending.selection.applies(*gate.rule, device)) applicable.push_back(gate.rule);
    if (applicable.empty()) continue;
    DeviceInput before, after;
    before.config.emplace(drivers::ConfigDiff::render(before_tree), parser);
    after.config.emplace(std::move(after_text), parser);
    before.data.platform = after.data.platform = host.value("platform", "");
    const auto was = evaluate(applicable, before, matcher);
    const auto will = evaluate(applicable, after, matcher);
    for (std::size_t i = 0; i < applicable.size(); ++i) {
      if (will[i].status != Status::Fail) continue;
      if (was[i].status == Status::Fail) {
        ++already_failing;
        continue;
      }
      const Policy* policy = nullptr;
      for (const auto& gate : rules)
        if (gate.rule == applicable[i]) policy = gate.policy;
      auto lines = will[i].lines;
      if (platform)
        for (auto& line : lines)
          line = drivers::redact_secrets(line, *platform);
      const auto rule_name = (policy ? policy->name : "") + "/" + applicable[i]->id;
      violations.push_back({{"device", device},
                            {"policy", policy ? policy->name : ""},
                            {"rule", applicable[i]->id},
                            {"severity", severity_name(applicable[i]->severity)},
                            {"message", will[i].message},
                            {"description", applicable[i]->description},
                            {"lines", lines}});
      reason += (reason.empty() ? "" : "; ") + device + ": " + rule_name + " (" +
                severity_name(applicable[i]->severity) + ") would fail - " + will[i].message;
    }
  }
  const bool refused = !reason.empty();
  json event = {
      {"devices", pending.ask.devices}, {"violations", violations}, {"by", pending.ask.by}};
  if (!refused)
    return pending.reply->ok_json(
        answer(true, violations, already_failing, pending.gates, false, ""));
  if (!pending.ask.override_reason.empty()) {
    event["reason"] = pending.ask.override_reason;
    (void)ctx.publish(schema::ComplianceGateOverriddenEvent::kTopic, bus::to_body(event));
    ctx.log().warn("compliance gate overridden by {} ({}): {}", pending.ask.by,
                   pending.ask.override_reason, reason);
    return pending.reply->ok_json(
        answer(true, violations, already_failing, pending.gates, true, reason));
  }
  (void)ctx.publish(schema::ComplianceGateRefusedEvent::kTopic, bus::to_body(event));
  pending.reply->ok_json(answer(false, violations, already_failing, pending.gates, false,
                                "refused by the compliance gate: " + reason +
                                    ". Nothing was pushed; fix the change, or give "
                                    "override_compliance with a reason"));
}

}  // namespace nauto::compliance
