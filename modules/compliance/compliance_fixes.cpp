#include "compliance_fixes.h"

#include <set>

#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"

namespace nauto::compliance {

using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr std::int64_t kSelectTimeoutMs = 30'000;
constexpr std::int64_t kDeviceCallTimeoutMs = 300'000;
constexpr std::int64_t kStartTimeoutMs = 30'000;

// Answers once every one of `count` parts is in: a dry run's diffs, or the runs started.
struct Gathering {
  std::size_t left = 0;
  json items = json::array();
  std::optional<Reply> reply;
  json extra = json::object();
  void add(json item) {
    items.push_back(std::move(item));
    if (--left > 0) return;
    auto out = std::move(extra);
    out["devices"] = std::move(items);
    reply->ok_json(out);
  }
};

}  // namespace

void ComplianceFixes::fix(Context& ctx, std::shared_ptr<const Policy> policy, const Rule& rule,
                          FixAsk ask, Reply reply) {
  if (rule.remediation_lines.empty() && rule.remediation_runbook.empty())
    return reply.fail(
        fail(Errc::InvalidArgument, "rule '" + rule.id +
                                        "' has no remediation (remediation: {lines: ...} "
                                        "or {runbook: NAME} in " +
                                        rule.origin + ")"));
  auto failing = records_.failing(policy->name, rule.id);
  if (!failing) return reply.fail(failing.error());
  auto shared_reply = std::make_shared<std::optional<Reply>>(std::move(reply));
  const std::set<std::string> failing_now(failing->begin(), failing->end());
  const std::string policy_name = policy->name;
  // The rule outlives the request: `policy` is held by the lambda.
  ctx.request(schema::InventorySelectRequest::kTopic, bus::to_body(json{{"selector", ask.target}}),
              kSelectTimeoutMs,
              [this, &ctx, policy, &rule, ask, shared_reply, failing_now,
               policy_name](Result<std::string> body) mutable {
                auto selected = bus::from_reply(body);
                if (!selected) return (*shared_reply)->fail(selected.error());
                std::vector<std::string> devices;
                for (const auto& host : selected->value("hosts", json::array()))
                  if (failing_now.count(host.value("name", "")))
                    devices.push_back(host.value("name", ""));
                apply(ctx, rule, policy_name, std::move(devices), ask, std::move(**shared_reply));
              });
}

void ComplianceFixes::apply(Context& ctx, const Rule& rule, const std::string& policy,
                            std::vector<std::string> devices, const FixAsk& ask, Reply reply) {
  json extra = {
      {"policy", policy}, {"rule", rule.id}, {"dry_run", ask.dry_run}, {"runs", json::array()}};
  if (devices.empty()) {
    extra["devices"] = json::array();
    extra["message"] =
        "no device of the target fails rule '" + rule.id + "' (as of the policy's last runs)";
    return reply.ok_json(extra);
  }
  const auto by = ask.by;
  if (!rule.remediation_lines.empty() && !ask.dry_run) {
    // One run pushes them all, device by device, each diff approved first.
    json params = {{"devices", devices},
                   {"lines", rule.remediation_lines},
                   {"rule", policy + "/" + rule.id},
                   {"approvers", ask.approvers}};
    ctx.request(schema::RunStartRequest::kTopic,
                bus::to_body(json{{"runbook", fix_runbook_},
                                  {"params", std::move(params)},
                                  {"started_by", "compliance fix (" + by + ")"}}),
                kStartTimeoutMs,
                [reply = std::make_shared<Reply>(std::move(reply)), extra, devices,
                 runbook = fix_runbook_](Result<std::string> body) mutable {
                  auto started = bus::from_reply(body);
                  if (!started) {
                    auto error = std::move(started).error();
                    error.message = "runbook '" + runbook + "': " + error.message;
                    return reply->fail(error);
                  }
                  extra["runs"].push_back(started->value("id", ""));
                  extra["devices"] = devices;
                  reply->ok_json(extra);
                });
    return;
  }
  auto gathering = std::make_shared<Gathering>();
  gathering->left = devices.size();
  gathering->reply.emplace(std::move(reply));
  gathering->extra = std::move(extra);
  for (const auto& device : devices) {
    if (!rule.remediation_lines.empty()) {
      json call = {{"device", device},
                   {"kind", "push"},
                   {"config", rule.remediation_lines},
                   {"dry_run", true},
                   {"redact_secrets", true},
                   {"started_by", "compliance fix --dry-run (" + by + ")"}};
      ctx.request(
          schema::DeviceCallRequest::kTopic, bus::to_body(call), kDeviceCallTimeoutMs,
          [gathering, device](Result<std::string> body) {
            auto output = bus::from_reply(body);
            if (!output)
              return gathering->add({{"device", device}, {"error", output.error().describe()}});
            gathering->add({{"device", device},
                            {"changed", output->value("changed", false)},
                            {"diff", output->value("diff", "")},
                            {"commands", output->value("commands", json::array())}});
          });
      continue;
    }
    json start = {{"runbook", rule.remediation_runbook},
                  {"params", {{"target", device}}},
                  {"dry_run", ask.dry_run},
                  {"started_by", "compliance fix (" + by + ")"}};
    ctx.request(
        schema::RunStartRequest::kTopic, bus::to_body(start), kStartTimeoutMs,
        [gathering, device](Result<std::string> body) {
          auto started = bus::from_reply(body);
          if (!started)
            return gathering->add({{"device", device}, {"error", started.error().describe()}});
          gathering->extra["runs"].push_back(started->value("id", ""));
          gathering->add({{"device", device}, {"run", started->value("id", "")}});
        });
  }
}

}  // namespace nauto::compliance
