// nauto job run | push | get-config | facts   start a job and watch it
// nauto job run --parse textfsm [--templates DIR]: each output also parsed into records
// nauto job status ID | list | logs ID [--device D] | cancel ID
// Watching: a progress bar on a terminal, one line per device otherwise (--summary-only: just
// the end). Ctrl-C cancels the job. Exit status: 0 every device ok, 3 some device not ok,
// 1 the job could not run, 2 bad arguments.

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli_context.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/text/textfsm/template_library.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

constexpr int kSomeDevicesFailed = 3;

struct JobArgs {
  std::vector<std::string> commands;
  std::string config_file;
  std::string target;
  bool dry_run = false;
  bool replace = false;
  bool save = false;
  std::string commit_confirm, check;  // push: a confirmed push (the configs module's)
  std::string override_window, allow_dangerous, override_compliance;
  bool summary_only = false;
  bool detach = false;
  int max_parallel = 0;
  int attempts = 0;
  std::string device_timeout;
  std::string job_timeout;
  std::string lock = "wait";
  std::string id;
  std::string device;
  int limit = 20;
  std::string parse;                                  // "textfsm" or ""
  std::string templates;                              // --templates
  std::shared_ptr<textfsm::TemplateLibrary> library;  // opened before the job starts
};

std::string seconds_text(double seconds) {
  char text[32];
  if (seconds < 60)
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  else
    std::snprintf(text, sizeof text, "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  return text;
}

std::string device_line(const json& d) {
  char text[512];
  const auto status = d.value("status", "?");
  std::snprintf(text, sizeof text, "%-24s %-9s %7s", d.value("device", "?").c_str(), status.c_str(),
                seconds_text(d.value("duration_ms", 0) / 1000.0).c_str());
  std::string line = text;
  if (status != "ok" && !d.value("error", "").empty()) {
    line += "  " + d.value("error_code", "error") + ": " + d.value("error", "");
  }
  return line;
}

void draw_bar(const json& progress, std::int64_t total) {
  const auto& c = progress["counts"];
  const std::int64_t done = c.value("total", total) - c.value("pending", 0) - c.value("running", 0);
  const int width = 30;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar += std::string(static_cast<std::size_t>(width - filled), '.');
  const double eta = progress.value("eta_seconds", -1.0);
  std::fprintf(stderr, "\r[%s] %lld/%lld  ok %lld  failed %lld  running %lld  %.1f/s  ETA %s   ",
               bar.c_str(), static_cast<long long>(done), static_cast<long long>(total),
               static_cast<long long>(c.value("ok", 0)),
               static_cast<long long>(c.value("failed", 0) + c.value("timeout", 0)),
               static_cast<long long>(c.value("running", 0)),
               progress.value("rate_per_second", 0.0), eta < 0 ? "-" : seconds_text(eta).c_str());
  std::fflush(stderr);
}

// Every stored result of a job, page by page.
Result<std::vector<json>> all_results(CliContext& context, const std::string& id) {
  std::vector<json> out;
  std::string after;
  for (;;) {
    auto page = context.call(bus::schema::JobLogsRequest::kTopic,
                             {{"id", id}, {"after", after}, {"limit", 2000}});
    if (!page) return std::move(page).error();
    for (auto& r : (*page)["results"])
      out.push_back(std::move(r));
    if ((*page)["results"].size() < 2000) return out;
    after = out.back().value("device", "");
  }
}

// --parse textfsm: each command's output gets `parsed` (its records, by the template the index
// gives for the device's platform and the command) or `parse_error`, here in the CLI, so
// nautod never holds templates for a person's ad-hoc look. The parsed tables, for the table
// output of a few devices. False when some output could not be parsed.
bool parse_outputs(std::vector<json>& results, textfsm::TemplateLibrary& library,
                   std::map<std::string, std::string>& tables) {
  bool all_parsed = true;
  for (auto& r : results) {
    if (!r["output"].is_array()) continue;
    for (auto& o : r["output"]) {
      auto parsed =
          library.parse(o.value("platform", ""), o.value("command", ""), o.value("text", ""));
      if (!parsed) {
        o["parse_error"] = parsed.error().describe();
        all_parsed = false;
        continue;
      }
      o["parsed"] = textfsm::to_json(*parsed);
      tables[r.value("device", "") + ": " + o.value("command", "")] = records_table(*parsed);
    }
  }
  return all_parsed;
}

int finish_report(CliContext& context, const std::string& id, const JobArgs& args,
                  std::set<std::string>& printed, bool lines) {
  auto record = context.call(bus::schema::JobStatusRequest::kTopic, {{"id", id}});
  if (!record) return report(record.error());
  auto results = all_results(context, id);
  if (!results) return report(results.error());
  const auto& counts = (*record)["counts"];
  std::map<std::string, std::string> tables;
  const bool all_parsed = !args.library || parse_outputs(*results, *args.library, tables);
  const bool all_ok = counts.value("ok", 0) == counts.value("total", 0) && all_parsed;
  if (context.format() != OutputFormat::Table) {
    json document = {{"job", *record}};
    if (!args.summary_only) document["results"] = *results;
    std::cout << render_document(document, context.format());
    return all_ok ? 0 : kSomeDevicesFailed;
  }
  // Lines the live stream missed (events are shed under overload; the store has everything).
  for (const auto& r : *results) {
    if (lines && printed.insert(r.value("device", "")).second) std::cout << device_line(r) << "\n";
  }
  if (results->size() <= 10 && !args.summary_only) {
    for (const auto& r : *results) {
      if (!r["output"].is_array()) continue;
      for (const auto& o : r["output"]) {
        const auto name = r.value("device", "") + ": " + o.value("command", "");
        if (!args.library)
          std::cout << "\n--- " << name << "\n" << o.value("text", "");
        else if (const auto table = tables.find(name); table != tables.end())
          std::cout << "\n--- " << name << " (parsed)\n" << table->second;
        else
          std::cout << "\n--- " << name << ": not parsed: " << o.value("parse_error", "") << "\n";
      }
    }
    for (const auto& r : *results) {
      if (r["output"].is_object() && r["output"].contains("diff")) {
        std::cout << "\n--- " << r.value("device", "")
                  << (r["output"].value("dry_run", false) ? " (dry run, nothing changed)\n" : "\n")
                  << r["output"].value("diff", "");
      }
    }
  }
  std::vector<const json*> failed;
  for (const auto& r : *results) {
    if (r.value("status", "") != "ok") failed.push_back(&r);
  }
  if (!failed.empty() && !lines) {
    std::cout << "\nnot ok:\n";
    for (std::size_t i = 0; i < failed.size() && i < 50; ++i) {
      std::cout << "  " << device_line(*failed[i]) << "\n";
    }
    if (failed.size() > 50) std::cout << "  ... and " << failed.size() - 50 << " more\n";
  }
  std::printf(
      "\njob %s %s: %lld ok, %lld failed, %lld timed out, %lld cancelled, %lld skipped "
      "of %lld in %s\n",
      id.c_str(), record->value("state", "?").c_str(),
      static_cast<long long>(counts.value("ok", 0)),
      static_cast<long long>(counts.value("failed", 0)),
      static_cast<long long>(counts.value("timeout", 0)),
      static_cast<long long>(counts.value("cancelled", 0)),
      static_cast<long long>(counts.value("skipped", 0)),
      static_cast<long long>(counts.value("total", 0)),
      seconds_text(record->value("duration_ms", 0) / 1000.0).c_str());
  if (results->size() > 10 && !args.summary_only) {
    std::printf("outputs: nauto job logs %s --device NAME%s\n", id.c_str(),
                args.library ? "; parsed records: -o json" : "");
  }
  if (!all_parsed) std::printf("some outputs could not be parsed (parse_error in -o json)\n");
  return all_ok ? 0 : kSomeDevicesFailed;
}

int start_and_watch(CliContext& context, json body, const JobArgs& args) {
  auto client = context.connect();
  if (!client) return report(client.error());
  const bool terminal = ::isatty(STDERR_FILENO) && context.format() == OutputFormat::Table;
  const bool lines = !terminal && !args.summary_only && context.format() == OutputFormat::Table;
  if (!args.detach) {
    // Only what will be shown: each event wakes this process, and a job publishes its progress
    // 4 times a second and a line per device.
    std::vector<std::string> topics{bus::schema::JobFinishedEvent::kTopic};
    if (terminal && !args.summary_only) topics.push_back(bus::schema::JobProgressEvent::kTopic);
    if (lines) topics.push_back(bus::schema::JobDeviceEvent::kTopic);
    if (auto subscribed = client->subscribe(topics, context.timeout_ms); !subscribed) {
      return report(subscribed.error());
    }
  }
  auto started = client->call(bus::schema::JobRunRequest::kTopic, body, context.timeout_ms + 30000);
  if (!started) return report(started.error());
  const auto id = (*started)["id"].get<std::string>();
  const auto total = (*started)["devices"].get<std::int64_t>();
  if (args.detach) {
    std::cout << id << "\n";
    return 0;
  }
  if (context.format() == OutputFormat::Table) {
    std::fprintf(stderr, "job %s: %lld devices\n", id.c_str(), static_cast<long long>(total));
  }
  std::set<std::string> printed;
  bool cancel_sent = false;
  auto last_news = steady_us();
  for (;;) {
    if (g_interrupted && !cancel_sent) {
      std::fprintf(stderr, "\ncancelling job %s ...\n", id.c_str());
      if (auto cancelled =
              client->call(bus::schema::JobCancelRequest::kTopic, {{"id", id}}, context.timeout_ms);
          !cancelled && cancelled.error().code != Errc::NotFound) {
        return report(cancelled.error());
      }
      cancel_sent = true;
    }
    // Ctrl-C ends the wait at once (poll returns EINTR; zmq's own threads block signals);
    // the timeout only bounds a signal that lands just before the wait starts.
    auto event = client->next_event(1000);
    if (!event) return report(event.error());
    if (!*event) {
      // Quiet for a while: ask, in case the end was shed under load.
      if (steady_us() - last_news >= 3'000'000) {
        auto status =
            client->call(bus::schema::JobStatusRequest::kTopic, {{"id", id}}, context.timeout_ms);
        if (status && status->value("state", "running") != "running") break;
        last_news = steady_us();
      }
      continue;
    }
    auto body_json = bus::from_body((*event)->body);
    if (!body_json) continue;
    const auto& topic = (*event)->topic;
    if (topic == "job.device" && body_json->value("job", "") == id) {
      last_news = steady_us();
      if (lines && printed.insert(body_json->value("device", "")).second) {
        std::cout << device_line(*body_json) << std::endl;
      }
    } else if ((topic == "job.progress" || topic == "job.finished") &&
               body_json->value("id", "") == id) {
      last_news = steady_us();
      if (terminal && !args.summary_only) draw_bar(*body_json, total);
      if (topic == "job.finished") break;
    }
  }
  client->unsubscribe();
  if (terminal && !args.summary_only) std::fprintf(stderr, "\n");
  return finish_report(context, id, args, printed, lines);
}

Result<json> job_body(const JobArgs& args, const std::string& kind) {
  json body = {{"kind", kind},
               {"target", args.target},
               {"max_parallel", args.max_parallel},
               {"attempts", args.attempts},
               {"lock", args.lock},
               {"dry_run", args.dry_run},
               {"replace", args.replace},
               {"save", args.save},
               {"override_window", args.override_window},
               {"override_compliance", args.override_compliance},
               {"allow_dangerous", args.allow_dangerous},
               {"started_by", std::string("nauto cli (uid ") + std::to_string(::getuid()) + ")"}};
  if (!args.device_timeout.empty()) body["device_timeout"] = args.device_timeout;
  if (!args.job_timeout.empty()) body["job_timeout"] = args.job_timeout;
  if (kind == "commands") body["commands"] = args.commands;
  if (kind == "push") {
    auto text = read_input(args.config_file);
    if (!text) return std::move(text).error();
    body["config"] = *text;
  }
  return body;
}

void add_job_options(CLI::App* command, CliContext& context, JobArgs& args) {
  command->add_option("--allow-dangerous", args.allow_dangerous,
                      "why commands the platform calls dangerous (reload, write erase) may go");
  command->add_option("--override-window", args.override_window,
                      "push: why it may go outside the devices' change windows");
  command->add_option("--override-compliance", args.override_compliance,
                      "push: why it may go although the compliance gate refuses it");
  command->add_option("-t,--target", args.target, "selector: 'site=dc1 and role=leaf', r1,r2, all")
      ->required();
  command->add_option("--max-parallel", args.max_parallel, "devices at once for this job")
      ->check(CLI::NonNegativeNumber);
  command->add_option("--device-timeout", args.device_timeout, "per device, e.g. 30s");
  command->add_option("--job-timeout", args.job_timeout, "for the whole job, e.g. 10m");
  command->add_option("--attempts", args.attempts, "tries per device for transient faults")
      ->check(CLI::Range(0, 20));
  command->add_flag("--summary-only", args.summary_only, "no progress, no device lines");
  command->add_flag("--detach", args.detach, "print the job id and return at once");
  add_output_option(command, context);
}

void print_job_list(CliContext& context, const json& jobs) {
  if (context.format() != OutputFormat::Table) {
    std::cout << render_document(jobs, context.format());
    return;
  }
  Table table{{"ID", "STATE", "KIND", "TARGET", "DEVICES", "OK", "NOT OK", "STARTED", "TOOK"}, {}};
  for (const auto& j : jobs) {
    const auto& c = j["counts"];
    const auto not_ok = c.value("failed", 0) + c.value("timeout", 0) + c.value("cancelled", 0) +
                        c.value("skipped", 0);
    table.rows.push_back(
        {cell(j["id"]), cell(j["state"]), cell(j["spec"]["kind"]), cell(j["spec"]["target"]),
         cell(c["total"]), cell(c["ok"]), std::to_string(not_ok),
         format_time_us(j.value("created_us", 0)),
         j.contains("duration_ms") ? seconds_text(j.value("duration_ms", 0) / 1000.0) : "-"});
  }
  std::cout << table.render();
}

int show_logs(CliContext& context, const JobArgs& args) {
  if (!args.device.empty()) {
    auto answer = context.call(bus::schema::JobLogsRequest::kTopic,
                               {{"id", args.id}, {"device", args.device}});
    if (!answer) return report(answer.error());
    if ((*answer)["results"].empty()) {
      return report(fail(Errc::NotFound, "no result for " + args.device + " in job " + args.id));
    }
    const auto& r = (*answer)["results"][0];
    if (context.format() != OutputFormat::Table) {
      std::cout << render_document(r, context.format());
      return 0;
    }
    std::cout << device_line(r) << "\n";
    const auto& output = r["output"];
    if (output.is_array()) {
      for (const auto& o : output) {
        std::cout << "\n--- " << o.value("command", "") << "\n" << o.value("text", "");
      }
    } else if (output.is_object() && output.contains("diff")) {
      std::cout << output.value("diff", "");
    } else if (output.is_object() && output.contains("config")) {
      std::cout << output.value("config", "");
    } else if (!output.is_null()) {
      std::cout << render_document(output, OutputFormat::Yaml);
    }
    return 0;
  }
  auto results = all_results(context, args.id);
  if (!results) return report(results.error());
  if (context.format() != OutputFormat::Table) {
    std::cout << render_document(*results, context.format());
    return 0;
  }
  for (const auto& r : *results)
    std::cout << device_line(r) << "\n";
  return 0;
}

}  // namespace

void add_job_commands(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<JobArgs>();
  auto* job = app.add_subcommand("job", "run commands and config changes over the fleet");
  job->require_subcommand(1);

  auto start = [&context, args](const std::string& kind) {
    auto body = job_body(*args, kind);
    context.exit_code = body ? start_and_watch(context, *body, *args) : report(body.error());
  };

  auto* run = job->add_subcommand("run", "run show commands");
  run->add_option("--commands", args->commands, "commands, in order (repeat or list)")
      ->required()
      ->expected(1, -1);
  run->add_option("--parse", args->parse, "parse each output into records: textfsm")
      ->check(CLI::IsMember({"textfsm"}));
  run->add_option("--templates", args->templates,
                  "TextFSM template directory with an index (default: as nauto parse finds it)");
  add_job_options(run, context, *args);
  run->callback([start, args, &context] {
    // The templates open before the job starts, so a missing directory costs no device time.
    if (!args->parse.empty()) {
      auto directory = textfsm_template_directory(args->templates, context);
      if (!directory) {
        context.exit_code = report(directory.error());
        return;
      }
      auto library = textfsm::TemplateLibrary::open(*directory);
      if (!library) {
        context.exit_code = report(library.error());
        return;
      }
      args->library = std::move(*library);
    }
    start("commands");
  });

  auto* push = job->add_subcommand("push", "apply configuration lines");
  push->add_option("--config", args->config_file, "file of config lines, or - for stdin")
      ->required();
  push->add_flag("--dry-run", args->dry_run, "show what would change; change nothing");
  push->add_flag("--replace", args->replace, "make the config equal the file (not merge)");
  push->add_flag("--save", args->save, "copy running to startup afterwards (write memory)");
  push->add_option("--lock", args->lock, "when another job changes a device: wait or fail")
      ->check(CLI::IsMember({"wait", "fail"}));
  push->add_option("--commit-confirm", args->commit_confirm,
                   "a confirm window (5m): the push is archived first and rolled back unless "
                   "confirmed (`nauto config confirm ID`) or --check passes");
  push->add_option("--check", args->check, "with --commit-confirm: a runbook that decides");
  add_job_options(push, context, *args);
  push->callback([&context, args, start] {
    if (args->commit_confirm.empty()) {
      if (!args->check.empty()) {
        context.exit_code =
            report(fail(Errc::InvalidArgument, "--check: only with --commit-confirm"));
        return;
      }
      return start("push");
    }
    // A confirmed push is the configs module's: it snapshots, pushes, and rolls back.
    auto text = read_input(args->config_file);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    json body{{"target", args->target}, {"config", *text},   {"replace", args->replace},
              {"save", args->save},     {"by", user_name()}, {"confirm", args->commit_confirm}};
    if (!args->check.empty()) body["check_runbook"] = args->check;
    context.exit_code = confirmed_push(context, body);
  });

  auto* get_config = job->add_subcommand("get-config", "fetch running configurations");
  add_job_options(get_config, context, *args);
  get_config->callback([start] { start("get_config"); });

  auto* facts = job->add_subcommand("facts", "hostname, model, OS version, serial, uptime");
  add_job_options(facts, context, *args);
  facts->callback([start] { start("facts"); });

  auto* status = job->add_subcommand("status", "a job's state and counts");
  status->add_option("id", args->id, "job id")->required();
  add_output_option(status, context);
  status->callback([&context, args] {
    auto answer = context.call(bus::schema::JobStatusRequest::kTopic, {{"id", args->id}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    std::cout << render_document(
        *answer, context.format() == OutputFormat::Json ? OutputFormat::Json : OutputFormat::Yaml);
  });

  auto* list = job->add_subcommand("list", "recent jobs, newest first");
  list->add_option("-n,--limit", args->limit, "how many")->check(CLI::Range(1, 10000));
  add_output_option(list, context);
  list->callback([&context, args] {
    auto answer = context.call(bus::schema::JobListRequest::kTopic, {{"limit", args->limit}});
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    print_job_list(context, (*answer)["jobs"]);
  });

  auto* logs = job->add_subcommand("logs", "per-device results; with --device, its output");
  logs->add_option("id", args->id, "job id")->required();
  logs->add_option("--device", args->device, "one device's full output");
  add_output_option(logs, context);
  logs->callback([&context, args] { context.exit_code = show_logs(context, *args); });

  auto* cancel = job->add_subcommand("cancel", "stop a running job");
  cancel->add_option("id", args->id, "job id")->required();
  cancel->callback([&context, args] {
    auto answer = context.call(bus::schema::JobCancelRequest::kTopic, {{"id", args->id}});
    context.exit_code = answer ? 0 : report(answer.error());
    if (answer) std::cout << "job " << args->id << " cancelled\n";
  });
}

}  // namespace nauto::cli
