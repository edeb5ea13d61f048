// nauto compliance policies [NAME] | validate FILE | run --policy NAME [-t SELECTOR] [--live] |
//                  runs | results [RUN] | report --policy NAME [--format table|json|csv|html] |
//                  fix --policy NAME --rule ID [-t SELECTOR] [--dry-run]
// The compliance module's services (bus/schema/compliance.yaml). A run checks the latest
// archived configs unless --live, and waits for its end unless --detach.
// Exit status: 0 done (and every check passed, for run), 1 refused or nautod unreachable,
// 2 bad arguments, 3 a check failed or could not be made.

#include <iostream>
#include <memory>

#include "cli_context.h"
#include "compliance_report.h"
#include "nauto/bus/schema_types.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

constexpr int kChecksFailed = 3;

struct ComplianceArgs {
  std::string policy, target = "all", file, id, device, status, format = "table", rule;
  std::vector<std::string> approvers;
  bool live = false, from_archive = false, detach = false, dry_run = false;
  int parallel = 20, limit = 20, trend = 10;
};

std::string counts_text(const json& r) {
  return std::to_string(r.value("pass", 0)) + " passed, " + std::to_string(r.value("fail", 0)) +
         " failed, " + std::to_string(r.value("error_count", r.value("error", 0))) + " errors, " +
         std::to_string(r.value("skipped", 0)) + " skipped";
}

void print_results(const json& answer) {
  const auto& run = answer["run"];
  std::cout << "run " << run.value("id", "") << " of " << run.value("policy", "") << " ("
            << (run.value("live", false) ? "live" : "archived configs") << "): " << counts_text(run)
            << "\n";
  Table table{{"DEVICE", "RULE", "STATUS", "DETAIL"}, {}};
  for (const auto& device : answer["devices"]) {
    for (const auto& result : device.value("results", json::array())) {
      std::string detail = result.value("message", "");
      for (const auto& line : result.value("lines", json::array()))
        detail += "\n  " + cell(line);
      for (const auto& line : result.value("missing", json::array()))
        detail += "\n  missing: " + cell(line);
      table.rows.push_back({device.value("device", ""), result.value("rule", ""),
                            result.value("status", ""), detail});
    }
  }
  if (table.rows.empty())
    std::cout << "every check passed\n";
  else
    std::cout << table.render();
}

void print_run(const json& record) {
  std::cout << "compliance run " << record.value("id", "") << " of " << record.value("policy", "")
            << ": " << record.value("state", "") << ", " << record.value("devices", 0)
            << " devices, " << counts_text(record) << "; score "
            << (record.value("score", -1.0) < 0 ? std::string("-") : cell(record["score"]) + "%")
            << "\n";
  if (!record.value("error", "").empty()) std::cout << "  " << record.value("error", "") << "\n";
  if (record.value("violations", 0) || record.value("resolved", 0))
    std::cout << "  " << record.value("violations", 0) << " new violations, "
              << record.value("resolved", 0) << " resolved\n";
}

int run_status(const json& record) {
  if (record.value("state", "") != "finished") return kChecksFailed;
  return record.value("fail", 0) > 0 || record.value("error_count", 0) > 0 ? kChecksFailed : 0;
}

}  // namespace

void add_compliance_commands(CLI::App& app, CliContext& context) {
  namespace schema = bus::schema;
  auto a = std::make_shared<ComplianceArgs>();
  auto* compliance = app.add_subcommand(
      "compliance", "policies over configs and show output: runs, results, reports");
  compliance->require_subcommand(1);

  auto* policies = compliance->add_subcommand("policies", "the policies loaded, or one's rules");
  policies->add_option("name", a->policy, "a policy: list its rules");
  add_output_option(policies, context);
  policies->callback([&context, a] {
    call_and_print(
        context, schema::CompliancePoliciesRequest::kTopic, json::object(),
        [a](const json& answer) {
          if (a->policy.empty()) {
            Table table{{"POLICY", "RULES", "GATE", "FILE"}, {}};
            for (const auto& p : answer["policies"])
              table.rows.push_back({p.value("name", ""), std::to_string(p["rules"].size()),
                                    p.value("gate", false) ? "yes" : "no", p.value("origin", "")});
            std::cout << table.render();
          }
          for (const auto& p : answer["policies"]) {
            if (p.value("name", "") != a->policy) continue;
            Table table{{"RULE", "SEVERITY", "CHECK", "SCOPE", "DESCRIPTION"}, {}};
            for (const auto& r : p["rules"])
              table.rows.push_back({r.value("id", ""), r.value("severity", ""),
                                    r.value("check", ""), r.value("scope", ""),
                                    r.value("description", "")});
            std::cout << table.render();
          }
          for (const auto& problem : answer.value("problems", json::array()))
            std::cerr << "left out: " << cell(problem) << "\n";
        });
  });

  auto* validate = compliance->add_subcommand("validate", "check a policy file");
  validate->add_option("file", a->file, "the policy file (- for stdin)")->required();
  validate->callback([&context, a] {
    auto text = read_input(a->file);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    auto answer = context.call_even_offline(schema::ComplianceValidateRequest::kTopic,
                                            json{{"text", *text}, {"file", a->file}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    std::cout << a->file << ": policy " << answer->value("name", "") << ", "
              << answer->value("rules", 0) << " rules\n";
  });

  auto* run = compliance->add_subcommand("run", "check a policy over devices");
  run->add_option("--policy", a->policy, "the policy")->required();
  run->add_option("-t,--target", a->target, "which devices: all (default), site=dc1, r1,r2");
  auto* live =
      run->add_flag("--live", a->live, "fetch configs, show output and facts from the devices");
  run->add_flag("--from-archive", a->from_archive,
                "check the latest archived configs, touching no device (the default)")
      ->excludes(live);
  run->add_option("--parallel", a->parallel, "devices fetched at once with --live (default 20)");
  run->add_flag("--detach", a->detach, "print the run's id and return at once");
  add_output_option(run, context);
  run->callback([&context, a] {
    json body{{"policy", a->policy}, {"target", a->target},         {"live", a->live},
              {"wait", !a->detach},  {"max_parallel", a->parallel}, {"by", user_name()}};
    auto answer = fleet_call(context, schema::ComplianceRunRequest::kTopic, body);
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    if (context.format() != OutputFormat::Table) {
      std::cout << render_document(*answer, context.format());
    } else if (a->detach) {
      std::cout << answer->value("id", "") << "\n";
      return;
    } else {
      print_run(*answer);
    }
    if (!a->detach) context.exit_code = run_status(*answer);
  });

  auto* runs = compliance->add_subcommand("runs", "the latest runs");
  runs->add_option("--policy", a->policy, "only this policy's");
  runs->add_option("-n,--limit", a->limit, "at most this many (default 20)");
  add_output_option(runs, context);
  runs->callback([&context, a] {
    call_and_print(
        context, schema::ComplianceRunsRequest::kTopic,
        json{{"policy", a->policy}, {"limit", a->limit}}, [](const json& answer) {
          Table table{{"ID", "POLICY", "STARTED", "BY", "SOURCE", "STATE", "DEVICES", "PASS",
                       "FAIL", "ERROR", "SCORE"},
                      {}};
          for (const auto& r : answer["runs"])
            table.rows.push_back({r.value("id", ""), r.value("policy", ""),
                                  format_time_us(r.value("started_us", std::int64_t{0})),
                                  r.value("by", ""), r.value("live", false) ? "live" : "archive",
                                  r.value("state", ""), cell(r.value("devices", json(0))),
                                  cell(r.value("pass", json(0))), cell(r.value("fail", json(0))),
                                  cell(r.value("error_count", json(0))),
                                  cell(r.value("score", json(-1)))});
          std::cout << table.render();
        });
  });

  auto* results = compliance->add_subcommand(
      "results", "a run's results per device and rule (default: the policy's latest run)");
  results->add_option("id", a->id, "the run's id");
  results->add_option("--policy", a->policy, "the policy whose latest run to show");
  results->add_option("--device", a->device, "only this device");
  results->add_option("--status", a->status, "only devices with a rule of this status (fail)");
  add_output_option(results, context);
  results->callback([&context, a] {
    call_and_print(
        context, schema::ComplianceResultsRequest::kTopic,
        json{{"id", a->id}, {"policy", a->policy}, {"device", a->device}, {"status", a->status}},
        print_results);
  });

  auto* fix = compliance->add_subcommand(
      "fix", "apply a rule's remediation to the devices that fail it (each diff approved first)");
  fix->add_option("--policy", a->policy, "the policy")->required();
  fix->add_option("--rule", a->rule, "the rule's id")->required();
  fix->add_option("-t,--target", a->target, "which devices: all (default), site=dc1, r1,r2");
  fix->add_flag("--dry-run", a->dry_run, "show each device's diff; change nothing");
  fix->add_option("--approver", a->approvers, "who may approve (repeat; default anyone)");
  add_output_option(fix, context);
  fix->callback([&context, a] {
    call_and_print(
        context, schema::ComplianceFixRequest::kTopic,
        json{{"policy", a->policy},
             {"rule", a->rule},
             {"target", a->target},
             {"dry_run", a->dry_run},
             {"approvers", a->approvers},
             {"by", user_name()}},
        [](const json& answer) {
          if (answer.contains("message")) std::cout << answer.value("message", "") << "\n";
          for (const auto& d : answer["devices"]) {
            if (!d.is_object()) continue;
            std::cout << "== " << d.value("device", "")
                      << (d.contains("error") ? ": " + d.value("error", "") : "") << "\n";
            if (d.contains("diff"))
              std::cout << (d.value("changed", false) ? d.value("diff", "")
                                                      : std::string("(nothing to change)\n"));
          }
          for (const auto& run : answer["runs"]) {
            std::cout << "run " << cell(run) << " started";
            if (!answer.value("dry_run", false))
              std::cout << ": each device's diff waits for approval (nauto approvals list)";
            std::cout << "\n";
          }
        });
  });

  auto* report_command = compliance->add_subcommand(
      "report", "scores per device, rule and site, and their trend, from the latest run");
  report_command->add_option("--policy", a->policy, "the policy")->required();
  report_command->add_option("--format", a->format, "table (default), json, csv or html")
      ->check(CLI::IsMember({"table", "json", "csv", "html"}));
  report_command->add_option("--trend", a->trend, "earlier runs in the trend (default 10)");
  report_command->callback([&context, a] {
    auto answer = context.call(schema::ComplianceReportRequest::kTopic,
                               json{{"policy", a->policy}, {"trend", a->trend}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    if (a->format == "json")
      std::cout << answer->dump(2) << "\n";
    else if (a->format == "csv")
      std::cout << compliance_report_csv(*answer);
    else if (a->format == "html")
      std::cout << compliance_report_html(*answer);
    else
      std::cout << compliance_report_table(*answer);
  });
}

}  // namespace nauto::cli
