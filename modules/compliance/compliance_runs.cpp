#include "compliance_runs.h"

#include <set>

#include "config_checks.h"
#include "evaluate.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/drivers/config_diff.h"
#include "nauto/sdk/json_text.h"
#include "nauto/store/retention.h"
#include "report.h"
#include "scope_selection.h"

namespace nauto::compliance {

using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr std::int64_t kShowTimeoutMs = 60'000;
constexpr std::int64_t kDeviceCallTimeoutMs = 300'000;
// Archived configs read at once: enough to keep the configs module busy, few enough that a
// run of 10,000 devices does not hold them all.
constexpr std::size_t kArchiveWindow = 64;
// Devices evaluated per batch on the evaluator's thread, and so results per store commit.
constexpr std::size_t kBatchSize = 64;
// Seconds a live run keeps a device's session between its calls.
constexpr double kKeepSessionSeconds = 60;

std::string site_of(const json& host) {
  auto text = [](const json& v) { return json_text(v); };
  if (auto it = host.find("site"); it != host.end() && !it->is_null()) return text(*it);
  if (auto vars = host.find("vars"); vars != host.end() && vars->is_object())
    if (auto it = vars->find("site"); it != vars->end() && !it->is_null()) return text(*it);
  return "";
}

std::string described(const Error& error) {
  return error.describe();
}

}  // namespace

ComplianceRuns::ComplianceRuns(ComplianceRecords& records, const drivers::PlatformCatalog& catalog,
                               std::shared_ptr<textfsm::TemplateLibrary> templates)
    : records_(records), catalog_(catalog), templates_(std::move(templates)) {}

void ComplianceRuns::close_interrupted(Context& ctx) {
  auto runs = records_.runs("", 1000);
  if (!runs) return;
  for (auto& record : *runs) {
    if (record.value("state", "") != "running") continue;
    record["state"] = "interrupted";
    record["error"] = "nautod stopped during the run";
    record["finished_us"] = now_us();
    if (auto saved = records_.save_run(record); !saved)
      ctx.log().error("compliance run {}: {}", record.value("id", ""), saved.error().describe());
  }
}

std::string ComplianceRuns::oldest_running() const {
  return live_.empty() ? std::string() : live_.begin()->first;
}

void ComplianceRuns::run(Context& ctx, std::shared_ptr<const Policy> policy, RunAsk ask,
                         Reply reply) {
  const auto id = store::new_time_ordered_id();
  Live live;
  json rules = json::array();
  for (const auto& rule : policy->rules)
    rules.push_back({{"id", rule.id},
                     {"severity", severity_name(rule.severity)},
                     {"description", rule.description},
                     {"check", check_kind_name(rule.kind)}});
  live.record = {{"id", id},
                 {"policy", policy->name},
                 {"target", ask.target},
                 {"live", ask.live},
                 {"by", ask.by},
                 {"state", "running"},
                 {"started_us", now_us()},
                 {"rules", std::move(rules)},
                 {"devices", 0}};
  live.policy = std::move(policy);
  live.ask = std::move(ask);
  live.waiting.emplace(std::move(reply));
  const auto target = live.ask.target;
  auto scopes = scopes_of(live.policy->rules);
  live_.emplace(id, std::move(live));
  select_with_scopes(ctx, target, std::move(scopes), [this, &ctx, id](Result<Selection> selection) {
    if (!live_.count(id)) return;
    if (!selection) return finish(ctx, id, std::move(selection).error());
    devices_known(ctx, id, std::move(*selection));
  });
}

void ComplianceRuns::devices_known(Context& ctx, const std::string& id, Selection selection) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  live.hosts = std::move(selection.hosts);
  for (const auto& host : live.hosts) {
    const auto name = host.value("name", "");
    auto& rules = live.rules_of[name];
    for (const auto& rule : live.policy->rules)
      if (selection.applies(rule, name)) rules.push_back(&rule);
  }
  live.record["devices"] = live.hosts.size();
  if (auto saved = records_.save_run(live.record); !saved) return finish(ctx, id, saved.error());
  if (!live.ask.wait) {
    live.waiting->ok_json(json{{"id", id}, {"devices", live.hosts.size()}});
    live.waiting.reset();
  }
  fetch_more(ctx, id);
}

void ComplianceRuns::fetch_more(Context& ctx, const std::string& id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  // A request that cannot be sent is answered at once, from inside this loop: the loop that
  // is running goes on with what that answer changed, and only it may finish the run.
  if (live.fetching) return;
  live.fetching = true;
  const std::size_t window =
      live.ask.live ? static_cast<std::size_t>(std::max(1, live.ask.max_parallel)) : kArchiveWindow;
  while (live.in_flight < window && live.next < live.hosts.size()) {
    const auto& host = live.hosts[live.next++];
    Fetched fetched;
    fetched.device = host.value("name", "");
    fetched.platform = host.value("platform", "");
    fetched.site = site_of(host);
    fetched.rules = live.rules_of[fetched.device];
    ++live.in_flight;
    if (fetched.rules.empty()) {
      live.ready.push_back(std::move(fetched));  // nothing applies: no fetch
      --live.in_flight;
    } else if (live.ask.live) {
      fetch_live(ctx, id, std::move(fetched));
    } else {
      fetch_archived(ctx, id, std::move(fetched));
    }
  }
  live.fetching = false;
  evaluate_more(ctx);
  if (live.next == live.hosts.size() && live.in_flight == 0 && live.ready.empty() &&
      live.evaluating == 0)
    finish(ctx, id, std::nullopt);
}

void ComplianceRuns::fetch_archived(Context& ctx, const std::string& id, Fetched fetched) {
  const auto device = fetched.device;
  auto holder = std::make_shared<Fetched>(std::move(fetched));
  ctx.request(schema::ConfigsShowRequest::kTopic, bus::to_body(json{{"device", device}}),
              kShowTimeoutMs, [this, &ctx, id, holder](Result<std::string> body) {
                auto shown = bus::from_reply(body);
                if (shown && shown->contains("config")) {
                  holder->config = shown->value("config", "");
                } else if (!shown && shown.error().code == Errc::NotFound) {
                  holder->config_error =
                      "no archived config (`nauto config backup --target name=" + holder->device +
                      "` makes one, or run with --live)";
                } else {
                  holder->config_error =
                      "the archive did not answer: " +
                      (shown ? std::string("no config in its reply") : described(shown.error()));
                }
                this->fetched(ctx, id, std::move(*holder));
              });
}

void ComplianceRuns::fetch_live(Context& ctx, const std::string& id, Fetched fetched) {
  const auto needs = needs_of(fetched.rules, fetched.platform);
  std::vector<json> calls;
  calls.push_back({{"kind", "get_config"}});
  if (!needs.commands.empty())
    calls.push_back(
        {{"kind", "commands"},
         {"commands", std::vector<std::string>(needs.commands.begin(), needs.commands.end())}});
  if (needs.facts) calls.push_back({{"kind", "facts"}});
  for (std::size_t i = 0; i < calls.size(); ++i) {
    calls[i]["device"] = fetched.device;
    calls[i]["run"] = id;
    calls[i]["started_by"] = "compliance run " + id;
    calls[i]["keep_session"] = i + 1 < calls.size() ? kKeepSessionSeconds : 0.0;
  }
  live_step(ctx, id, std::make_shared<Fetched>(std::move(fetched)),
            std::make_shared<const std::vector<json>>(std::move(calls)), 0);
}

void ComplianceRuns::live_step(Context& ctx, const std::string& id, std::shared_ptr<Fetched> holder,
                               std::shared_ptr<const std::vector<json>> steps, std::size_t index) {
  if (index == steps->size()) return fetched(ctx, id, std::move(*holder));
  ctx.request(schema::DeviceCallRequest::kTopic, bus::to_body((*steps)[index]),
              kDeviceCallTimeoutMs,
              [this, &ctx, id, holder, steps, index](Result<std::string> body) {
                auto answer = bus::from_reply(body);
                const auto kind = (*steps)[index].value("kind", "");
                if (!answer) {
                  holder->device_error = kind + ": " + described(answer.error());
                  if (kind == "get_config") holder->config_error = holder->device_error;
                  // What the calls after this one would have kept open is let go now.
                  if (index + 1 < steps->size())
                    ctx.request(schema::DeviceSessionCloseRequest::kTopic,
                                bus::to_body(json{{"holder", id}, {"device", holder->device}}),
                                10'000, [](Result<std::string>) {});
                  return live_step(ctx, id, holder, steps, steps->size());
                }
                // device.call answers with the operation's output itself.
                auto& output = *answer;
                if (kind == "get_config")
                  holder->config = output.is_object() ? output.value("config", "") : std::string();
                if (kind == "commands") holder->outputs = std::move(output);
                if (kind == "facts") holder->facts = std::move(output);
                live_step(ctx, id, holder, steps, index + 1);
              });
}

void ComplianceRuns::fetched(Context& ctx, const std::string& id, Fetched fetched) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  --it->second.in_flight;
  it->second.ready.push_back(std::move(fetched));
  fetch_more(ctx, id);
}

void ComplianceRuns::evaluate_more(Context& ctx) {
  if (evaluator_.busy()) return;
  for (auto& [id, live] : live_) {
    if (live.ready.empty()) continue;
    std::vector<Fetched> batch;
    while (!live.ready.empty() && batch.size() < kBatchSize) {
      batch.push_back(std::move(live.ready.front()));
      live.ready.pop_front();
    }
    live.evaluating = batch.size();
    auto policy = live.policy;
    const bool is_live = live.ask.live;
    evaluator_.run(
        [this, run = id, policy, is_live, batch = std::move(batch)]() mutable {
          return Batch{run, evaluate_batch(*policy, is_live, std::move(batch))};
        },
        [this, &ctx](Batch done) { evaluated(ctx, std::move(done)); });
    return;
  }
}

std::vector<json> ComplianceRuns::evaluate_batch(const Policy& policy, bool is_live,
                                                 std::vector<Fetched> batch) const {
  static thread_local text::Matcher matcher;
  std::map<std::string, std::unique_ptr<drivers::ConfigDiff>> parsers;
  std::map<const Rule*, std::size_t> order;  // a rule's place in the device's statuses
  for (std::size_t i = 0; i < policy.rules.size(); ++i)
    order[&policy.rules[i]] = i;
  std::vector<json> docs;
  docs.reserve(batch.size());
  for (auto& fetched : batch) {
    const drivers::PlatformDefinition* platform = nullptr;
    if (auto found = catalog_.find(fetched.platform)) platform = *found;
    auto& parser = parsers[fetched.platform];
    if (!parser)
      parser = platform ? std::make_unique<drivers::ConfigDiff>(platform->volatile_lines,
                                                                platform->replace_keys)
                        : std::make_unique<drivers::ConfigDiff>(std::vector<std::string>{},
                                                                std::vector<std::string>{});
    DeviceInput input;
    input.device = fetched.device;
    input.site = fetched.site;
    input.live = is_live;
    input.data.platform = fetched.platform;
    input.data.facts = std::move(fetched.facts);
    input.device_error = fetched.device_error;
    if (fetched.config)
      input.config.emplace(std::move(*fetched.config), *parser);
    else
      input.config_error = fetched.config_error;
    std::set<std::string> as_json;
    for (const auto* rule : fetched.rules)
      if (rule->kind == CheckKind::Records && rule->parse == "json") as_json.insert(rule->command);
    if (is_live && !fetched.device_error.empty())
      for (const auto& command : needs_of(fetched.rules, fetched.platform).commands)
        input.command_errors[command] = fetched.device_error;
    for (const auto& output : fetched.outputs) {
      const auto command = output.value("command", "");
      const auto text = output.value("text", "");
      if (as_json.count(command)) {
        auto parsed = json::parse(text, nullptr, false);
        if (parsed.is_discarded())
          input.command_errors[command] = "the output is not JSON";
        else
          input.data.parsed[command] = std::move(parsed);
        continue;
      }
      if (!templates_) {
        input.command_errors[command] =
            "no TextFSM templates: set modules.compliance.textfsm_templates";
        continue;
      }
      auto table = templates_->parse(fetched.platform, command, text);
      if (!table)
        input.command_errors[command] = table.error().message;
      else
        input.data.parsed[command] = textfsm::to_json(*table);
    }
    auto results = evaluate(fetched.rules, input, matcher);
    std::string statuses(policy.rules.size(), '-');
    std::int64_t counts[4] = {0, 0, 0, 0};
    json details = json::array();
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto& result = results[i];
      statuses[order[fetched.rules[i]]] = status_letter(status_name(result.status));
      ++counts[static_cast<int>(result.status)];
      if (result.status == Status::Pass) continue;
      if (is_live && platform) {
        // The config was read whole; what a result keeps of it must not carry its secrets.
        for (auto* lines : {&result.lines, &result.missing})
          for (auto& line : *lines)
            line = drivers::redact_secrets(line, *platform);
      }
      details.push_back(result.to_json());
    }
    docs.push_back({{"device", fetched.device},
                    {"site", fetched.site},
                    {"platform", fetched.platform},
                    {"statuses", std::move(statuses)},
                    {"pass", counts[0]},
                    {"fail", counts[1]},
                    {"error", counts[2]},
                    {"skipped", counts[3]},
                    {"score", score_of(counts[0], counts[1])},
                    {"results", std::move(details)}});
  }
  return docs;
}

void ComplianceRuns::evaluated(Context& ctx, Batch batch) {
  auto it = live_.find(batch.run);
  if (it == live_.end()) return evaluate_more(ctx);
  auto& live = it->second;
  const auto id = batch.run;
  live.evaluating = 0;
  auto saved = records_.save_results(id, batch.docs);
  if (!saved) {
    finish(ctx, id, saved.error());
    return evaluate_more(ctx);
  }
  for (auto& doc : batch.docs) {
    live.pass += doc.value("pass", 0);
    live.fail += doc.value("fail", 0);
    live.error += doc.value("error", 0);
    live.skipped += doc.value("skipped", 0);
    ++live.done;
    live.statuses.push_back(json{{"device", doc["device"]}, {"statuses", doc["statuses"]}});
  }
  fetch_more(ctx, id);  // finishes the run when it was the last batch
  evaluate_more(ctx);
}

void ComplianceRuns::finish(Context& ctx, const std::string& id, std::optional<Error> failure) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto live = std::move(it->second);
  live_.erase(it);
  auto& record = live.record;
  record["finished_us"] = now_us();
  record["pass"] = live.pass;
  record["fail"] = live.fail;
  record["error_count"] = live.error;
  record["skipped"] = live.skipped;
  record["score"] = score_of(live.pass, live.fail);
  if (failure) {
    record["state"] = "failed";
    record["error"] = failure->describe();
  } else {
    record["state"] = "finished";
    std::vector<std::string> rules, severities;
    for (const auto& rule : live.policy->rules) {
      rules.push_back(rule.id);
      severities.push_back(severity_name(rule.severity));
    }
    auto changes =
        records_.apply_state(live.policy->name, id, rules, severities, live.statuses, now_us());
    if (!changes) {
      ctx.log().error("compliance run {}: state not updated: {}", id, changes.error().describe());
    } else {
      std::map<std::string, const Rule*> by_id;
      for (const auto& rule : live.policy->rules)
        by_id[rule.id] = &rule;
      std::int64_t violations = 0, resolved = 0, unsent = 0;
      for (const auto& change : *changes) {
        const Rule* rule = by_id.count(change.rule) ? by_id[change.rule] : nullptr;
        json event{{"policy", live.policy->name},
                   {"rule", change.rule},
                   {"device", change.device},
                   {"severity", rule ? severity_name(rule->severity) : ""},
                   {"run", id}};
        if (change.violation) {
          ++violations;
          if (rule)
            event["remediation"] = !rule->remediation_runbook.empty()
                                       ? "runbook " + rule->remediation_runbook
                                       : rule->remediation_lines;
          event["message"] = rule ? rule->description : "";
        } else {
          ++resolved;
        }
        const char* topic = change.violation ? schema::ComplianceViolationEvent::kTopic
                                             : schema::ComplianceResolvedEvent::kTopic;
        if (!ctx.publish(topic, bus::to_body(event))) ++unsent;
      }
      record["violations"] = violations;
      record["resolved"] = resolved;
      if (unsent) {
        record["events_unsent"] = unsent;
        ctx.log().warn("compliance run {}: {} events not sent (the bus queue was full)", id,
                       unsent);
      }
    }
  }
  if (auto saved = records_.save_run(record); !saved)
    ctx.log().error("compliance run {}: record not saved: {}", id, saved.error().describe());
  json event{{"id", id},
             {"policy", record["policy"]},
             {"target", record["target"]},
             {"live", record["live"]},
             {"state", record["state"]},
             {"error", record.value("error", "")},
             {"devices", record["devices"]},
             {"pass", live.pass},
             {"fail", live.fail},
             {"error_count", live.error},
             {"skipped", live.skipped},
             {"score", record["score"]},
             {"by", record["by"]}};
  (void)ctx.publish(schema::ComplianceRunFinishedEvent::kTopic, bus::to_body(event));
  if (live.waiting) {
    if (failure && !live.ask.wait)
      live.waiting->fail(*failure);
    else
      live.waiting->ok_json(record);
  }
}

void ComplianceRuns::stop(Context& ctx) noexcept {
  evaluator_.stop(ctx);
  for (auto& [id, live] : live_)
    if (live.waiting) live.waiting->fail(fail(Errc::Unavailable, "nautod is stopping"));
  live_.clear();
}

}  // namespace nauto::compliance
