// nauto rules list | validate FILE | test RULE --event FILE
// nauto approvals list | show ID | approve ID [--reason R] | deny ID --reason R
// Rules live in the rules module, approvals in the runbook engine (run.approvals/run.approve);
// these commands only ask them. Exit status: 0 ok (rules test: the rule would fire), 1 the
// answer is no (rules test: would not fire; validate: problems), 2 bad arguments or nautod.

#include <unistd.h>

#include <ctime>
#include <iostream>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"
#include "output.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

std::string left_of(std::int64_t until_us) {
  const auto seconds =
      (until_us - static_cast<std::int64_t>(std::time(nullptr)) * 1'000'000) / 1'000'000;
  if (seconds <= 0) return "expired";
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds / 3600) + "h";
}

// Colours a unified diff for a terminal; plain text elsewhere.
void print_diff(const std::string& diff) {
  const bool colour = ::isatty(1) != 0;
  std::size_t start = 0;
  while (start < diff.size()) {
    auto end = diff.find('\n', start);
    if (end == std::string::npos) end = diff.size();
    const auto line = diff.substr(start, end - start);
    const char* code = !colour || line.empty() ? nullptr
                       : line[0] == '+'        ? "\033[32m"
                       : line[0] == '-'        ? "\033[31m"
                                               : nullptr;
    if (code)
      std::cout << "    " << code << line << "\033[0m\n";
    else
      std::cout << "    " << line << "\n";
    start = end + 1;
  }
}

void add_rules(CLI::App& app, CliContext& context) {
  auto* rules = app.add_subcommand("rules", "event rules: list, validate, test");
  rules->require_subcommand(1);

  auto* list = rules->add_subcommand("list", "the loaded rules and what each has done");
  add_output_option(list, context);
  list->callback([&context] {
    auto answer = context.call(bus::schema::RulesListRequest::kTopic, json::object());
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    if (context.format() != OutputFormat::Table) {
      std::cout << render_document(*answer, context.format());
      return;
    }
    Table table{{"RULE", "ON", "ACTION", "MATCHED", "FIRED", "HELD BACK", "ORIGIN"}, {}};
    for (const auto& r : (*answer)["rules"]) {
      const auto& c = r["counters"];
      const auto held = c.value("suppressed", 0) + c.value("cooled_down", 0) +
                        c.value("over_budget", 0) + c.value("over_concurrency", 0) +
                        c.value("deduplicated", 0) + c.value("below_threshold", 0);
      std::string on;
      for (const auto& t : r["on"])
        on += (on.empty() ? "" : ",") + t.get<std::string>();
      table.rows.push_back({cell(r["name"]) + (r.value("enabled", true) ? "" : " (disabled)"), on,
                            cell(r["action"]), cell(c["matched"]), cell(c["fired"]),
                            std::to_string(held), cell(r["origin"])});
    }
    std::cout << table.render();
    if (const auto error = answer->value("last_reload_error", ""); !error.empty())
      std::cerr << "nauto: the last reload failed, older rules are in force:\n" << error << "\n";
  });

  auto file = std::make_shared<std::string>();
  auto* validate =
      rules->add_subcommand("validate", "check a rules file (every problem, file:line)");
  validate->add_option("file", *file, "rules file (- for stdin)")->required();
  validate->callback([&context, file] {
    auto text = read_input(*file);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    auto answer =
        context.call(bus::schema::RulesValidateRequest::kTopic, {{"text", *text}, {"file", *file}});
    if (!answer) {
      std::cerr << answer.error().message << "\n";
      context.exit_code = answer.error().code == Errc::InvalidConfig ? 1 : report(answer.error());
      return;
    }
    for (const auto& r : (*answer)["rules"])
      std::cout << r.value("origin", "") << ": " << r.value("name", "") << " — on "
                << r["on"].dump() << ", " << r.value("action", "") << "\n";
    std::cout << *file << ": " << (*answer)["rules"].size() << " rule(s), no problems\n";
  });

  auto rule = std::make_shared<std::string>();
  auto event_file = std::make_shared<std::string>();
  auto* test = rules->add_subcommand(
      "test", "would RULE fire for this event, and why (changes nothing); exit 0 yes, 1 no");
  test->add_option("rule", *rule, "rule name")->required();
  test->add_option("--event", *event_file,
                   "JSON file: {\"topic\": \"device.r1.interface.down\", \"body\": {...}} "
                   "(- for stdin)")
      ->required();
  add_output_option(test, context);
  test->callback([&context, rule, event_file] {
    auto text = read_input(*event_file);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    auto event = json::parse(*text, nullptr, false);
    if (event.is_discarded() || !event.is_object() || !event.contains("topic")) {
      context.exit_code = report(Error{Errc::InvalidArgument,
                                       *event_file + ": expected a JSON object {\"topic\": ..., "
                                                     "\"body\": {...}} (an event as `nauto "
                                                     "events tail -o json` prints it)",
                                       "rules test"});
      return;
    }
    auto answer =
        context.call(bus::schema::RulesTestRequest::kTopic, {{"rule", *rule}, {"event", event}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    const bool fires = answer->value("would_fire", false);
    if (context.format() != OutputFormat::Table) {
      std::cout << render_document(*answer, context.format());
    } else {
      std::cout << *rule << ": " << (fires ? "WOULD FIRE" : "would not fire") << "\n";
      for (const auto& line : (*answer)["why"])
        std::cout << "  " << line.get<std::string>() << "\n";
      if (answer->contains("action"))
        std::cout << "  action: " << (*answer)["action"].value("does", "") << " "
                  << (*answer)["action"]["sends"].dump() << "\n";
      if (answer->contains("action_error"))
        std::cout << "  action error: " << answer->value("action_error", "") << "\n";
    }
    context.exit_code = fires ? 0 : 1;
  });
}

void add_approvals(CLI::App& app, CliContext& context) {
  auto* approvals = app.add_subcommand("approvals", "pending approvals: list, show, approve, deny");
  approvals->require_subcommand(1);
  auto* list = approvals->add_subcommand("list", "approvals waiting for a decision, oldest first");
  add_output_option(list, context);
  list->callback([&context] {
    auto answer = context.call(bus::schema::RunApprovalsRequest::kTopic, json::object());
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    if (context.format() != OutputFormat::Table) {
      std::cout << render_document((*answer)["approvals"], context.format());
      return;
    }
    Table table{{"ID", "RUNBOOK", "DEVICE", "EXPIRES IN", "APPROVERS", "MESSAGE"}, {}};
    for (const auto& a : (*answer)["approvals"]) {
      table.rows.push_back({cell(a["id"]), cell(a["runbook"]), a.value("device", "-"),
                            left_of(a.value("expires_us", 0LL)),
                            a["approvers"].empty() ? "anyone" : cell(a["approvers"]),
                            cell(a["message"])});
    }
    std::cout << table.render();
  });

  auto id = std::make_shared<std::string>();
  auto* show = approvals->add_subcommand("show", "one approval with its context and diff");
  show->add_option("id", *id, "approval id (from approvals list)")->required();
  add_output_option(show, context);
  show->callback([&context, id] {
    auto answer = context.call(bus::schema::RunApprovalsRequest::kTopic, json::object());
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    for (const auto& a : (*answer)["approvals"]) {
      if (a.value("id", "") != *id) continue;
      if (context.format() != OutputFormat::Table) {
        std::cout << render_document(a, context.format());
        return;
      }
      std::cout << "approval   " << a.value("id", "") << "\n"
                << "message    " << a.value("message", "") << "\n"
                << "runbook    " << a.value("runbook", "") << " " << a["params"].dump() << "\n"
                << "started by " << a.value("started_by", "") << "\n";
      if (a.contains("chain")) std::cout << "chain      " << a.value("chain", "") << "\n";
      std::cout << "requested  " << format_time_us(a.value("requested_us", 0LL)) << "\n"
                << "expires    " << format_time_us(a.value("expires_us", 0LL)) << " (in "
                << left_of(a.value("expires_us", 0LL)) << ")\n"
                << "approvers  " << (a["approvers"].empty() ? "anyone" : a["approvers"].dump())
                << "\n";
      if (a.contains("diff")) {
        std::cout << "device     " << a.value("device", "") << "\n"
                  << "diff       sha256 " << a.value("diff_sha256", "")
                  << " (approval holds for exactly this change)\n";
        print_diff(a.value("diff", ""));
      }
      return;
    }
    context.exit_code =
        report(Error{Errc::NotFound, "no pending approval " + *id + " (`nauto approvals list`)",
                     "approvals show"});
  });

  auto reason = std::make_shared<std::string>();
  auto decide = [&context, id, reason](bool approve) {
    if (!approve && reason->empty()) {
      context.exit_code = report(Error{Errc::InvalidArgument,
                                       "say why with --reason (it is recorded with the decision)",
                                       "approvals deny"});
      return;
    }
    auto answer = context.call(bus::schema::RunApproveRequest::kTopic,
                               {{"id", *id}, {"approve", approve}, {"comment", *reason}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    std::cout << *id << (approve ? ": approved" : ": denied") << "\n";
  };
  auto* approve = approvals->add_subcommand("approve", "approve (recorded with who and why)");
  approve->add_option("id", *id, "approval id")->required();
  approve->add_option("--reason", *reason, "why, kept with the decision");
  approve->callback([decide] { decide(true); });
  auto* deny = approvals->add_subcommand("deny", "deny: the run stops; nothing is pushed");
  deny->add_option("id", *id, "approval id")->required();
  deny->add_option("--reason", *reason, "why (required)");
  deny->callback([decide] { decide(false); });
}

}  // namespace

void add_event_commands(CLI::App& app, CliContext& context) {
  add_rules(app, context);
  add_approvals(app, context);
}

}  // namespace nauto::cli
