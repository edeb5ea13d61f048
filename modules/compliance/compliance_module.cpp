// The compliance module (issue 28): policies from files, runs over archived or live configs,
// results and their history, reports and events.
//   - reads every policy file (modules.compliance.files, and *.yaml in modules.compliance.dirs)
//     at start and again when one changes (checked every reload_interval); a file with problems
//     is left out and its problems kept for compliance.policies, the other files load;
//   - serves compliance.policies, compliance.validate, compliance.run (ComplianceRuns),
//     compliance.runs, compliance.results and compliance.report;
//   - keeps the newest keep_runs runs with their results (retention every hour and at start);
//   - in a passive nautod (one `nauto` command) runs what it is asked and sweeps nothing.

#include <algorithm>
#include <optional>

#include "compliance_fixes.h"
#include "compliance_gate.h"
#include "compliance_records.h"
#include "compliance_runs.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/drivers/platform.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/device_scope.h"
#include "nauto/sdk/registry.h"
#include "nauto/sdk/yaml_files.h"
#include "nauto/store/store.h"
#include "policy.h"
#include "report.h"

namespace nauto::mod::compliance {

using namespace nauto::compliance;
using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr std::chrono::hours kRetentionInterval{1};

struct ComplianceSettings {
  std::vector<std::string> files;
  std::vector<std::string> dirs;
  std::int64_t reload_interval_ms = 2000;
  std::string textfsm_templates;
  std::uint64_t keep_runs = 100;
  std::string fix_runbook = "compliance_fix";
};

Result<ComplianceSettings> read_settings(const json& config) {
  ComplianceSettings s;
  ConfigReader r(config, "modules.compliance");
  s.files = r.strings("files");
  s.dirs = r.strings("dirs");
  s.reload_interval_ms = r.duration_ms("reload_interval", 2000, 100);
  s.textfsm_templates = r.string("textfsm_templates", "");
  s.keep_runs = static_cast<std::uint64_t>(r.integer("keep_runs", 100, 1, 1'000'000));
  s.fix_runbook = r.string("fix_runbook", "compliance_fix");
  if (auto done = r.finish(); !done) return std::move(done).error();
  return s;
}

json rule_summary(const Rule& rule) {
  json out = {{"id", rule.id},
              {"severity", severity_name(rule.severity)},
              {"description", rule.description},
              {"scope", rule.scope},
              {"check", check_kind_name(rule.kind)},
              {"origin", rule.origin},
              {"needs_device", rule.needs_device()}};
  if (!rule.remediation_lines.empty()) out["remediation_lines"] = rule.remediation_lines;
  if (!rule.remediation_runbook.empty()) out["remediation_runbook"] = rule.remediation_runbook;
  return out;
}

}  // namespace

class ComplianceModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "compliance", "compliance policies over archived and live configs, with history", {},
        {ComplianceRecords::kRunsTable, ComplianceRecords::kResultsTable,
         ComplianceRecords::kStateTable});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    if (!s->textfsm_templates.empty())
      if (auto opened = textfsm::TemplateLibrary::open(s->textfsm_templates); !opened) {
        auto error = std::move(opened).error();
        error.message = "modules.compliance.textfsm_templates: " + error.message;
        return error;
      }
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = *s;
    if (!ctx.store())
      return fail(Errc::Unsupported, "the compliance module needs the store: host it in-process");
    auto catalog = drivers::PlatformCatalog::load_default();
    if (!catalog) return std::move(catalog).error();
    catalog_ = std::move(*catalog);
    std::shared_ptr<textfsm::TemplateLibrary> templates;
    if (!settings_.textfsm_templates.empty()) {
      auto opened = textfsm::TemplateLibrary::open(settings_.textfsm_templates);
      if (!opened) return std::move(opened).error();
      templates = std::move(*opened);
    }
    records_ = std::make_unique<ComplianceRecords>(*ctx.store());
    runs_ = std::make_unique<ComplianceRuns>(*records_, catalog_, std::move(templates));
    if (auto started = runs_->start(ctx); !started) return started;
    fixes_ = std::make_unique<ComplianceFixes>(*records_, settings_.fix_runbook);
    gate_ = std::make_unique<ComplianceGate>(catalog_);
    files_ =
        std::make_unique<YamlFiles>(settings_.files, settings_.dirs, "modules.compliance.dirs");
    load_policies(ctx);
    ctx.every(std::chrono::milliseconds(settings_.reload_interval_ms), [this, &ctx] {
      if (files_->changed()) load_policies(ctx);
    });
    if (ctx.passive()) return ok();
    runs_->close_interrupted(ctx);
    sweep(ctx);
    ctx.every(kRetentionInterval, [this, &ctx] { sweep(ctx); });
    return ok();
  }

  // Who asked is the verified caller (a user's `by` names the user); a caller limited to some
  // devices (its roles) may check or fix only those.
  void on_request(const bus::Envelope& original, Context& ctx, Reply reply) override {
    auto request = original;
    attribute_body(request);
    std::optional<std::string> target;
    if (request.topic == schema::ComplianceRunRequest::kTopic ||
        request.topic == schema::ComplianceFixRequest::kTopic) {
      auto body = bus::from_body(request.body);
      if (body && body->is_object() && body->contains("target") && (*body)["target"].is_string())
        target = (*body)["target"].get<std::string>();
    }
    serve_in_scope(ctx, request, target, std::move(reply),
                   [this, &ctx](const bus::Envelope& asked, Reply answer) {
                     serve(asked, ctx, std::move(answer));
                   });
  }

  void serve(const bus::Envelope& request, Context& ctx, Reply reply) {
    const auto& topic = request.topic;
    if (topic == schema::ComplianceRunRequest::kTopic) {
      auto args = schema::decode_body<schema::ComplianceRunRequest>(request.body);
      if (!args) return reply.fail(args.error());
      auto policy = find_policy(args->policy);
      if (!policy) return reply.fail(policy.error());
      RunAsk ask;
      ask.target = args->target;
      ask.live = args->live;
      ask.wait = args->wait;
      ask.max_parallel = static_cast<int>(std::clamp<std::int64_t>(args->max_parallel, 1, 1000));
      ask.by = args->by.empty() ? caller_of(request.header) : args->by;
      return runs_->run(ctx, *policy, std::move(ask), std::move(reply));
    }
    if (topic == schema::ComplianceGateRequest::kTopic) {
      auto args = schema::decode_body<schema::ComplianceGateRequest>(request.body);
      if (!args) return reply.fail(args.error());
      std::vector<std::shared_ptr<const Policy>> gates;
      for (const auto& [name, policy] : policies_)
        if (policy->gate) gates.push_back(policy);
      GateAsk ask;
      ask.devices = args->devices;
      ask.config = args->config;
      ask.replace = args->replace;
      ask.override_reason = args->override;
      ask.by = args->by.empty() ? caller_of(request.header) : args->by;
      return gate_->check(ctx, std::move(gates), std::move(ask), std::move(reply));
    }
    if (topic == schema::ComplianceFixRequest::kTopic) {
      auto args = schema::decode_body<schema::ComplianceFixRequest>(request.body);
      if (!args) return reply.fail(args.error());
      auto policy = find_policy(args->policy);
      if (!policy) return reply.fail(policy.error());
      const Rule* rule = nullptr;
      for (const auto& candidate : (*policy)->rules)
        if (candidate.id == args->rule) rule = &candidate;
      if (!rule)
        return reply.fail(
            fail(Errc::NotFound, "policy '" + args->policy + "' has no rule '" + args->rule + "'"));
      FixAsk ask;
      ask.target = args->target;
      ask.dry_run = args->dry_run;
      ask.approvers = args->approvers;
      ask.by = args->by.empty() ? caller_of(request.header) : args->by;
      return fixes_->fix(ctx, *policy, *rule, std::move(ask), std::move(reply));
    }
    auto answer = read(request);
    if (!answer) return reply.fail(answer.error());
    reply.ok_json(*answer);
  }

  void stop(Context& ctx) noexcept override {
    if (runs_) runs_->stop(ctx);
  }

 private:
  Result<json> read(const bus::Envelope& request) {
    const auto& topic = request.topic;
    const auto& body = request.body;
    if (topic == schema::CompliancePoliciesRequest::kTopic) {
      json policies = json::array();
      for (const auto& [name, policy] : policies_) {
        json rules = json::array();
        for (const auto& rule : policy->rules)
          rules.push_back(rule_summary(rule));
        policies.push_back({{"name", name},
                            {"description", policy->description},
                            {"gate", policy->gate},
                            {"origin", policy->origin},
                            {"rules", std::move(rules)}});
      }
      return json{{"policies", std::move(policies)}, {"problems", problems_}};
    }
    if (topic == schema::ComplianceValidateRequest::kTopic) {
      auto args = schema::decode_body<schema::ComplianceValidateRequest>(body);
      if (!args) return std::move(args).error();
      auto policy = parse_policy(args->text, args->file);
      if (!policy) return std::move(policy).error();
      return json{{"name", policy->name}, {"rules", policy->rules.size()}};
    }
    if (topic == schema::ComplianceRunsRequest::kTopic) {
      auto args = schema::decode_body<schema::ComplianceRunsRequest>(body);
      if (!args) return std::move(args).error();
      auto runs = records_->runs(
          args->policy, static_cast<std::size_t>(std::clamp<std::int64_t>(args->limit, 1, 10'000)));
      if (!runs) return std::move(runs).error();
      return json{{"runs", std::move(*runs)}};
    }
    if (topic == schema::ComplianceResultsRequest::kTopic) {
      auto args = schema::decode_body<schema::ComplianceResultsRequest>(body);
      if (!args) return std::move(args).error();
      return results(*args);
    }
    if (topic == schema::ComplianceReportRequest::kTopic) {
      auto args = schema::decode_body<schema::ComplianceReportRequest>(body);
      if (!args) return std::move(args).error();
      return report(*args);
    }
    return fail(Errc::Unsupported, "compliance does not serve " + topic);
  }

  // The run asked for by id, or the policy's latest finished one.
  Result<json> chosen_run(const std::string& id, const std::string& policy) {
    if (!id.empty()) {
      auto run = records_->run(id);
      if (!run) return std::move(run).error();
      if (!*run) return fail(Errc::NotFound, "no compliance run '" + id + "'");
      return std::move(**run);
    }
    if (policy.empty()) return fail(Errc::InvalidArgument, "give a run's id or a policy");
    auto latest = records_->latest_finished(policy);
    if (!latest) return std::move(latest).error();
    if (!*latest)
      return fail(Errc::NotFound, "policy '" + policy +
                                      "' has no finished run (`nauto compliance " +
                                      "run --policy " + policy + "` makes one)");
    return std::move(**latest);
  }

  Result<json> results(const schema::ComplianceResultsRequest& args) {
    auto run = chosen_run(args.id, args.policy);
    if (!run) return std::move(run).error();
    const auto limit = static_cast<std::size_t>(std::clamp<std::int64_t>(args.limit, 1, 1'000'000));
    auto docs = records_->results(run->value("id", ""), args.device,
                                  args.status.empty() ? limit : 1'000'000);
    if (!docs) return std::move(docs).error();
    json devices = json::array();
    const char letter = status_letter(args.status);
    if (!args.status.empty() && letter == '-')
      return fail(Errc::InvalidArgument,
                  "status: '" + args.status + "' is not pass, fail, error or skipped");
    for (auto& doc : *docs) {
      if (devices.size() >= limit) break;
      if (!args.status.empty() && doc.value("statuses", "").find(letter) == std::string::npos)
        continue;
      devices.push_back(std::move(doc));
    }
    return json{{"run", std::move(*run)}, {"devices", std::move(devices)}};
  }

  Result<json> report(const schema::ComplianceReportRequest& args) {
    auto run = chosen_run("", args.policy);
    if (!run) return std::move(run).error();
    auto docs = records_->results(run->value("id", ""), "", 10'000'000);
    if (!docs) return std::move(docs).error();
    json earlier = json::array();
    auto runs = records_->runs(args.policy, 10'000);
    if (!runs) return std::move(runs).error();
    const auto wanted = static_cast<std::size_t>(std::clamp<std::int64_t>(args.trend, 0, 1000));
    for (auto& r : *runs) {
      if (earlier.size() >= wanted) break;
      if (r.value("state", "") == "finished" && r.value("id", "") != run->value("id", ""))
        earlier.push_back(std::move(r));
    }
    return build_report(*run, *docs, earlier);
  }

  Result<std::shared_ptr<const Policy>> find_policy(const std::string& name) {
    auto it = policies_.find(name);
    if (it != policies_.end()) return it->second;
    std::string known;
    for (const auto& [policy, value] : policies_)
      known += (known.empty() ? "" : ", ") + policy;
    return fail(Errc::NotFound, "no compliance policy '" + name +
                                    "' (loaded: " + (known.empty() ? "none" : known) + ")");
  }

  void load_policies(Context& ctx) {
    auto contents = files_->read();
    std::map<std::string, std::shared_ptr<const Policy>> loaded;
    std::vector<std::string> problems = contents.problems;
    for (const auto& [path, text] : contents.texts) {
      auto policy = parse_policy(text, path);
      if (!policy) {
        problems.push_back(policy.error().message);
        continue;
      }
      const auto name = policy->name;
      if (auto it = loaded.find(name); it != loaded.end()) {
        problems.push_back(path + ":1: policy '" + name + "' is already defined in " +
                           it->second->origin);
        continue;
      }
      loaded.emplace(name, std::make_shared<const Policy>(std::move(*policy)));
    }
    for (const auto& problem : problems)
      ctx.log().error("compliance policy left out: {}", problem);
    policies_ = std::move(loaded);
    problems_ = std::move(problems);
    ctx.log().info("{} compliance policies loaded", policies_.size());
  }

  void sweep(Context& ctx) {
    auto swept = records_->sweep(settings_.keep_runs, now_us(), runs_->oldest_running());
    if (!swept) ctx.log().error("compliance retention: {}", swept.error().describe());
  }

  ComplianceSettings settings_;
  drivers::PlatformCatalog catalog_;
  std::unique_ptr<ComplianceRecords> records_;
  std::unique_ptr<ComplianceRuns> runs_;
  std::unique_ptr<ComplianceFixes> fixes_;
  std::unique_ptr<ComplianceGate> gate_;
  std::unique_ptr<YamlFiles> files_;
  std::map<std::string, std::shared_ptr<const Policy>> policies_;
  std::vector<std::string> problems_;
};

NAUTO_REGISTER_MODULE(ComplianceModule, "compliance");

}  // namespace nauto::mod::compliance
