// nauto run FILE|NAME [--param k=v]... [--target SEL] [--dry-run] [--detach]
// nauto runbook list | show NAME | validate FILE|NAME
// nauto runs list [--all] | show ID | cancel ID | approve ID [--key K] [--reject] [--comment C]
// `nauto run` streams the run's steps and log lines as they happen; Ctrl-C cancels the run.
// Exit status: 0 the run succeeded, 4 it failed, was cancelled or timed out, 1 it could not
// start, 2 bad arguments.

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli_context.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

constexpr int kRunNotSucceeded = 4;

struct RunArgs {
  std::string runbook;
  std::vector<std::string> params;
  std::string target;
  bool dry_run = false;
  bool detach = false;
  bool all = false;
  bool reject = false;
  std::string key;
  std::string comment;
  std::string id;
  int limit = 20;
};

// A path that exists (or ends in .lua/.yaml) is sent as text; anything else is a name.
Result<json> runbook_reference(const std::string& given) {
  namespace fs = std::filesystem;
  const auto extension = fs::path(given).extension().string();
  const bool looks_like_file = given.find('/') != std::string::npos || extension == ".lua" ||
                               extension == ".yaml" || extension == ".yml";
  if (!looks_like_file) return json{{"runbook", given}};
  auto text = read_input(given);
  if (!text) return std::move(text).error();
  return json{{"runbook", fs::path(given).filename().string()},
              {"source", *text},
              {"language", extension == ".lua" ? "lua" : "yaml"}};
}

Result<json> params_of(const RunArgs& args) {
  json params = json::object();
  for (const auto& p : args.params) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(Errc::InvalidArgument, "--param " + p + ": expected name=value");
    }
    params[p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (!args.target.empty()) params["target"] = args.target;
  return params;
}

std::string step_line(const json& step) {
  const auto state = step.value("state", "");
  const char* mark = state == "ok" ? "ok    " : state == "failed" ? "FAILED" : "..    ";
  std::string line = std::string("  ") + mark + " " + step.value("summary", step.value("key", ""));
  if (step.contains("duration_ms") && state != "started") {
    char took[32];
    std::snprintf(took, sizeof took, "  (%.1fs)", step.value("duration_ms", 0) / 1000.0);
    line += took;
  }
  if (state == "failed" && step.contains("error")) line += "\n         " + cell(step["error"]);
  return line;
}

int print_outcome(const json& record) {
  const auto state = record.value("state", "?");
  if (state == "succeeded") {
    std::cout << "run " << record.value("id", "") << " succeeded";
    if (record.contains("result") && !record["result"].is_null()) {
      std::cout << "\n" << render_document(record["result"], OutputFormat::Yaml);
    } else {
      std::cout << "\n";
    }
    return 0;
  }
  std::cout << "run " << record.value("id", "") << " " << state << ": " << record.value("error", "")
            << "\n";
  return kRunNotSucceeded;
}

int run_and_watch(CliContext& context, const RunArgs& args) {
  auto reference = runbook_reference(args.runbook);
  if (!reference) return report(reference.error());
  auto params = params_of(args);
  if (!params) return report(params.error());
  json body = *reference;
  body["params"] = *params;
  body["dry_run"] = args.dry_run;
  body["started_by"] = user_name();
  auto client = context.connect();
  if (!client) return report(client.error());
  if (!args.detach) {
    if (auto subscribed = client->subscribe({"run."}, context.timeout_ms); !subscribed)
      return report(subscribed.error());
  }
  auto started =
      client->call(bus::schema::RunStartRequest::kTopic, body, context.timeout_ms + 30000);
  if (!started) return report(started.error());
  const auto id = (*started)["id"].get<std::string>();
  if (args.detach) {
    std::cout << id << "\n";
    return 0;
  }
  const bool table = context.format() == OutputFormat::Table;
  if (table) std::cout << "run " << id << (args.dry_run ? " (dry run)" : "") << std::endl;
  bool cancel_sent = false;
  auto last_news = steady_us();
  json finished;
  for (;;) {
    if (g_interrupted && !cancel_sent) {
      std::fprintf(stderr, "\ncancelling run %s ...\n", id.c_str());
      (void)client->call(bus::schema::RunCancelRequest::kTopic, {{"id", id}}, context.timeout_ms);
      cancel_sent = true;
    }
    auto event = client->next_event(200);
    if (!event) return report(event.error());
    if (!*event) {
      if (steady_us() - last_news > 3'000'000) {
        auto status =
            client->call(bus::schema::RunStatusRequest::kTopic, {{"id", id}}, context.timeout_ms);
        if (status && status->value("state", "running") != "running") break;
        last_news = steady_us();
      }
      continue;
    }
    auto e = bus::from_body((*event)->body);
    if (!e) continue;
    const auto& topic = (*event)->topic;
    const auto run = e->value("run", e->value("id", ""));
    // Our run and the runbooks it calls ("<id>:<key>").
    if (run != id && run.rfind(id + ":", 0) != 0) continue;
    last_news = steady_us();
    if (topic == "run.finished" && run == id) break;
    if (!table) continue;  // -o json|yaml prints only the final record
    if (topic == "run.step") {
      const bool named = e->value("kind", "") == "step";
      const auto state = e->value("state", "");
      if (named && state == "started") {
        std::cout << "step " << e->value("summary", "") << std::endl;
      } else if (named && state == "failed") {
        std::cout << "  FAILED " << e->value("summary", "") << ": " << cell((*e)["error"])
                  << std::endl;
      } else if (!named && state != "started") {
        std::cout << step_line(*e) << std::endl;
      }
    } else if (topic == "run.log") {
      std::cout << "  " << e->value("level", "info") << ": " << e->value("message", "")
                << std::endl;
    } else if (topic == "run.approval") {
      std::cout << "  waiting for approval: " << e->value("message", "")
                << "\n    nauto runs approve " << id << " [--reject]" << std::endl;
    }
  }
  client->unsubscribe();
  auto record =
      client->call(bus::schema::RunStatusRequest::kTopic, {{"id", id}}, context.timeout_ms);
  if (!record) return report(record.error());
  if (!table) {
    std::cout << render_document(*record, context.format());
    return record->value("state", "") == "succeeded" ? 0 : kRunNotSucceeded;
  }
  return print_outcome(*record);
}

void list_runs(CliContext& context, const RunArgs& args) {
  auto answer =
      context.call(bus::schema::RunListRequest::kTopic, {{"limit", args.limit}, {"all", args.all}});
  if (!answer) {
    context.exit_code = report(answer.error());
    return;
  }
  if (context.format() != OutputFormat::Table) {
    std::cout << render_document((*answer)["runs"], context.format());
    return;
  }
  Table table{{"ID", "RUNBOOK", "STATE", "BY", "STARTED", "TOOK", "ERROR"}, {}};
  for (const auto& r : (*answer)["runs"]) {
    std::string took = "-";
    if (r.contains("finished_us")) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1fs",
                    (r.value("finished_us", 0LL) - r.value("started_us", 0LL)) / 1e6);
      took = text;
    }
    auto error = r.value("error", "");
    if (error.size() > 60) error = error.substr(0, 57) + "...";
    table.rows.push_back({cell(r["id"]), cell(r["runbook"]), cell(r["state"]),
                          r.value("started_by", ""), format_time_us(r.value("started_us", 0LL)),
                          took, error});
  }
  std::cout << table.render();
}

void show_run(CliContext& context, const RunArgs& args) {
  auto record = context.call(bus::schema::RunStatusRequest::kTopic, {{"id", args.id}});
  if (!record) {
    context.exit_code = report(record.error());
    return;
  }
  auto steps = context.call(bus::schema::RunStepsRequest::kTopic, {{"id", args.id}});
  if (!steps) {
    context.exit_code = report(steps.error());
    return;
  }
  if (context.format() != OutputFormat::Table) {
    std::cout << render_document(json{{"run", *record}, {"steps", (*steps)["steps"]}},
                                 context.format());
    return;
  }
  const auto& r = *record;
  std::cout << "run      " << r.value("id", "") << "\nrunbook  " << r.value("runbook", "")
            << "\nstate    " << r.value("state", "") << "\nby       " << r.value("started_by", "")
            << "\nstarted  " << format_time_us(r.value("started_us", 0LL)) << "\nparams   "
            << r.value("params", json::object()).dump() << "\n";
  if (r.value("resumes", 0) > 0)
    std::cout << "resumed  " << r.value("resumes", 0) << " time(s) after a restart\n";
  if (r.contains("error")) std::cout << "error    " << r.value("error", "") << "\n";
  std::cout << "\n";
  for (const auto& s : (*steps)["steps"]) {
    const auto type = s.value("type", "");
    if (type == "log") {
      std::cout << "  " << s.value("level", "") << ": " << s.value("message", "") << "\n";
    } else if (type == "step") {
      std::cout << "  step " << s.value("name", "") << "\n";
    } else if (type == "step_end") {
      if (!s.value("ok", true)) std::cout << "  step failed: " << cell(s["error"]) << "\n";
    } else {
      json line = s;
      line["state"] =
          s.value("state", "") == "done" ? (s.value("ok", false) ? "ok" : "failed") : "started";
      if (s.contains("finished_us"))
        line["duration_ms"] = (s.value("finished_us", 0LL) - s.value("started_us", 0LL)) / 1000;
      std::cout << step_line(line) << "\n";
    }
  }
  if (r.contains("result") && !r["result"].is_null())
    std::cout << "\nresult:\n" << render_document(r["result"], OutputFormat::Yaml);
}

}  // namespace

void add_run_commands(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<RunArgs>();

  auto* run = app.add_subcommand("run", "run a runbook (a file, or a name from the catalog)");
  run->add_option("runbook", args->runbook, "FILE.lua, FILE.yaml, or a runbook name")->required();
  run->add_option("-p,--param", args->params, "a parameter, name=value (repeat)");
  run->add_option("-t,--target", args->target, "sets the runbook's 'target' selector parameter");
  run->add_flag("--dry-run", args->dry_run, "config pushes compute diffs and change nothing");
  run->add_flag("--detach", args->detach, "print the run id and return at once");
  add_output_option(run, context);
  run->callback([&context, args] { context.exit_code = run_and_watch(context, *args); });

  auto* runbook = app.add_subcommand("runbook", "the runbook catalog");
  runbook->require_subcommand(1);
  auto* list = runbook->add_subcommand("list", "runbooks in the configured directories");
  add_output_option(list, context);
  list->callback([&context] {
    auto answer = context.call(bus::schema::RunbookListRequest::kTopic, json::object());
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    if (context.format() != OutputFormat::Table) {
      std::cout << render_document((*answer)["runbooks"], context.format());
      return;
    }
    Table table{{"NAME", "LANGUAGE", "PARAMS", "DESCRIPTION"}, {}};
    for (const auto& r : (*answer)["runbooks"]) {
      std::string params;
      for (const auto& p : r.value("params", json::array()))
        params += (params.empty() ? "" : " ") + p.value("name", "") +
                  (p.value("required", false) ? "*" : "");
      table.rows.push_back(
          {cell(r["name"]), cell(r["language"]), params,
           r.contains("error") ? "ERROR: " + r.value("error", "") : r.value("description", "")});
    }
    std::cout << table.render();
  });
  auto* show = runbook->add_subcommand("show", "a runbook's parameters and text");
  show->add_option("name", args->runbook, "runbook name")->required();
  add_output_option(show, context);
  show->callback([&context, args] {
    auto answer = context.call(bus::schema::RunbookShowRequest::kTopic, {{"name", args->runbook}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    if (context.format() != OutputFormat::Table) {
      std::cout << render_document(*answer, context.format());
      return;
    }
    std::cout << answer->value("name", "") << " (" << answer->value("path", "") << ")\n"
              << answer->value("description", "") << "\n";
    if (answer->contains("version"))
      std::cout << "version: " << answer->value("version", "") << "\n";
    if (answer->contains("author")) std::cout << "author: " << answer->value("author", "") << "\n";
    std::cout << "params:\n";
    for (const auto& p : answer->value("params", json::array())) {
      std::cout << "  " << p.value("name", "") << " (" << p.value("type", "")
                << (p.value("required", false) ? ", required" : "")
                << (p.contains("default") ? ", default " + cell(p["default"]) : "") << ")"
                << (p.contains("description") ? "  " + p.value("description", "") : "") << "\n";
    }
    if (answer->contains("error")) std::cout << "ERROR: " << answer->value("error", "") << "\n";
    std::cout << "\n" << answer->value("text", "");
  });
  auto* validate = runbook->add_subcommand("validate", "check a runbook without running it");
  validate->add_option("runbook", args->runbook, "FILE or name")->required();
  validate->callback([&context, args] {
    auto reference = runbook_reference(args->runbook);
    if (!reference) {
      context.exit_code = report(reference.error());
      return;
    }
    auto answer = context.call(bus::schema::RunbookValidateRequest::kTopic, *reference);
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    std::cout << args->runbook << ": ok (" << answer->value("language", "") << ", "
              << answer->value("params", json::array()).size() << " parameters)\n";
  });

  auto* runs = app.add_subcommand("runs", "runs of runbooks: list, show, cancel, approve");
  runs->require_subcommand(1);
  auto* runs_list = runs->add_subcommand("list", "newest first");
  runs_list->add_flag("--all", args->all, "include runs of runbooks called by other runbooks");
  runs_list->add_option("--limit", args->limit, "how many")->check(CLI::PositiveNumber);
  add_output_option(runs_list, context);
  runs_list->callback([&context, args] { list_runs(context, *args); });
  auto* runs_show = runs->add_subcommand("show", "a run with each step and log line");
  runs_show->add_option("id", args->id, "run id")->required();
  add_output_option(runs_show, context);
  runs_show->callback([&context, args] { show_run(context, *args); });
  auto* runs_cancel = runs->add_subcommand("cancel", "stop a run");
  runs_cancel->add_option("id", args->id, "run id")->required();
  runs_cancel->callback([&context, args] {
    auto answer = context.call(bus::schema::RunCancelRequest::kTopic, {{"id", args->id}});
    if (!answer)
      context.exit_code = report(answer.error());
    else
      std::cout << "run " << args->id << " cancelled\n";
  });
  auto* approve = runs->add_subcommand("approve", "answer a run's approval request");
  approve->add_option("id", args->id, "run id")->required();
  approve->add_option("--key", args->key, "which approval, when a run waits for several");
  approve->add_flag("--reject", args->reject, "reject instead of approving");
  approve->add_option("--comment", args->comment, "a note kept with the decision");
  approve->callback([&context, args] {
    auto answer =
        context.call(bus::schema::RunApproveRequest::kTopic, {{"id", args->id},
                                                              {"key", args->key},
                                                              {"approve", !args->reject},
                                                              {"comment", args->comment}});
    if (!answer)
      context.exit_code = report(answer.error());
    else
      std::cout << "run " << args->id << (args->reject ? ": rejected\n" : ": approved\n");
  });
}

}  // namespace nauto::cli
