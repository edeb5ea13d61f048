// nauto schedule list | show NAME | next NAME [-n 5] | add NAME ... | rm NAME | pause NAME |
//                resume NAME | run-now NAME | validate FILE
// The scheduler module's services (bus/schema/scheduler.yaml). `add` builds the same map a
// schedule file holds (modules/scheduler/schedule_file.h) from flags; the module checks it
// and keeps it in the store. `validate` needs no daemon: without one, a passive nautod started
// for the command checks the file (and that its runbooks exist) with the module's own code.
// Exit status: 0 done, 1 refused or nautod unreachable, 2 bad arguments.

#include <iostream>
#include <memory>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

struct ScheduleArgs {
  std::string name;
  int count = 5;
  std::string file;
  // add
  std::string cron, every, start, at, time_zone, jitter, between, missed, overlap, late_after,
      description;
  int max_catch_up = 0, max_queued = 0;
  bool paused = false, replace = false;
  std::string runbook;
  std::vector<std::string> params;  // key=value
  std::string job_kind, target;
  std::vector<std::string> commands;
  std::string call_service, call_body;
};

// "key=value": the value as JSON when it reads as JSON (3, true, [..]), text otherwise.
Result<std::pair<std::string, json>> key_value(const std::string& given, const char* option) {
  const auto equals = given.find('=');
  if (equals == std::string::npos || equals == 0) {
    return fail(Errc::InvalidArgument,
                std::string(option) + " '" + given + "': expected KEY=VALUE, such as site=dc1");
  }
  const auto value_text = given.substr(equals + 1);
  auto value = json::parse(value_text, nullptr, false);
  if (value.is_discarded()) value = value_text;
  return std::make_pair(given.substr(0, equals), value);
}

// The definition map `add` sends: only what was given, so the module's defaults apply.
Result<json> definition_of(const ScheduleArgs& a) {
  json d = {{"name", a.name}};
  const std::pair<const char*, const std::string*> texts[] = {{"description", &a.description},
                                                              {"cron", &a.cron},
                                                              {"every", &a.every},
                                                              {"start", &a.start},
                                                              {"at", &a.at},
                                                              {"time_zone", &a.time_zone},
                                                              {"jitter", &a.jitter},
                                                              {"between", &a.between},
                                                              {"missed", &a.missed},
                                                              {"overlap", &a.overlap},
                                                              {"late_after", &a.late_after}};
  for (const auto& [key, value] : texts)
    if (!value->empty()) d[key] = *value;
  if (a.max_catch_up > 0) d["max_catch_up"] = a.max_catch_up;
  if (a.max_queued > 0) d["max_queued"] = a.max_queued;
  if (a.paused) d["paused"] = true;
  if (!a.runbook.empty()) {
    d["runbook"] = a.runbook;
    json params = json::object();
    for (const auto& given : a.params) {
      auto pair = key_value(given, "--param");
      if (!pair) return std::move(pair).error();
      params[pair->first] = pair->second;
    }
    if (!params.empty()) d["params"] = params;
  } else if (!a.params.empty()) {
    return fail(Errc::InvalidArgument, "--param: only with --runbook");
  }
  if (!a.job_kind.empty()) {
    json job = {{"kind", a.job_kind}, {"target", a.target}};
    if (!a.commands.empty()) job["commands"] = a.commands;
    d["job"] = job;
  }
  if (!a.call_service.empty()) {
    json call = {{"service", a.call_service}};
    if (!a.call_body.empty()) {
      auto body = json::parse(a.call_body, nullptr, false);
      if (body.is_discarded() || !body.is_object())
        return fail(Errc::InvalidArgument, "--body: expected a JSON object");
      call["body"] = body;
    }
    d["call"] = call;
  }
  return d;
}

// What a schedule starts, in a few words: "runbook backup", "job facts role=core", "call x".
std::string starts_text(const json& schedule) {
  const auto service = schedule.value("service", "");
  return service == "run.start" ? "runbook" : service == "job.run" ? "job" : service;
}

std::string last_text(const json& schedule) {
  if (!schedule.contains("last")) return "-";
  const auto& last = schedule["last"];
  auto text = last.value("nominal", "") + " " +
              (last.value("outcome", "").empty() ? "running" : last.value("outcome", ""));
  if (last.contains("devices")) text += " (" + cell(last["devices"]) + " devices)";
  return text;
}

void print_list(const json& answer) {
  Table table{{"SCHEDULE", "TIMING", "ZONE", "STARTS", "NEXT (UTC)", "LAST", "STATE", "ORIGIN"},
              {}};
  for (const auto& s : answer["schedules"]) {
    std::string state = s.value("paused", false) ? "paused" : "active";
    if (s.value("running", 0) > 0) state += ", " + cell(s["running"]) + " running";
    if (!s.value("problem", "").empty()) state += ", PROBLEM";
    table.rows.push_back({cell(s["name"]), cell(s["timing"]), cell(s["time_zone"]), starts_text(s),
                          s.value("next", "").empty() ? "-" : s.value("next", ""), last_text(s),
                          state, cell(s["origin"])});
  }
  std::cout << table.render();
  for (const auto& s : answer["schedules"])
    if (!s.value("problem", "").empty()) std::cerr << "nauto: " << s.value("problem", "") << "\n";
}

void print_firings(const json& firings) {
  for (const auto& f : firings)
    std::cout << "  " << f.value("local", "") << "   (" << f.value("utc", "") << ")"
              << (f.value("in_window", true) ? "" : "  outside the window: skipped") << "\n";
}

void print_show(const json& s) {
  const auto line = [](const char* label, const std::string& value) {
    if (!value.empty()) std::cout << label << value << "\n";
  };
  line("schedule:     ", s.value("name", ""));
  line("description:  ", s.value("description", ""));
  line("timing:       ", s.value("timing", "") + " (" + s.value("time_zone", "") + ")");
  const auto& fields = s["timing_fields"];
  line("jitter:       ", fields.value("jitter", ""));
  line("between:      ", fields.value("between", ""));
  const auto& p = s["policy"];
  line("missed:       ", p.value("missed", "") + " (late after " + cell(p["late_after_s"]) +
                             "s, catches up at most " + cell(p["max_catch_up"]) + ")");
  line("overlap:      ",
       p.value("overlap", "") + " (at most " + cell(p["max_queued"]) + " queued)");
  line("starts:       ", s.value("service", "") + " " + s["body"].dump());
  line("state:        ", std::string(s.value("paused", false) ? "paused" : "active") + ", " +
                             cell(s["running"]) + " running");
  line("origin:       ",
       s.value("origin", "") + (s.contains("added_at") ? " at " + s.value("added_at", "") : ""));
  line("last firing:  ", last_text(s));
  if (s.contains("last")) {
    line("  id:         ", s["last"].value("id", ""));
    line("  chain:      ", s["last"].value("chain", ""));
    line("  ended:      ", s["last"].value("ended_at", ""));
  }
  line("PROBLEM:      ", s.value("problem", ""));
  std::cout << "next firings:\n";
  print_firings(s["firings"]);
}

}  // namespace

void add_schedule_commands(CLI::App& app, CliContext& context) {
  namespace schema = bus::schema;
  auto args = std::make_shared<ScheduleArgs>();
  auto* schedule =
      app.add_subcommand("schedule", "cron, interval and one-shot schedules of runbooks and jobs");
  schedule->require_subcommand(1);

  // Calls `service` with {name}; prints the answer as a document or with `print`.
  auto named_call = [&context, args](const std::string& service,
                                     std::function<void(const json&)> print) {
    call_and_print(context, service, json{{"name", args->name}}, print);
  };

  auto* list = schedule->add_subcommand("list", "every schedule: timing, next and last firing");
  add_output_option(list, context);
  list->callback([&context] {
    call_and_print(context, schema::ScheduleListRequest::kTopic, json::object(), print_list);
  });

  auto* show = schedule->add_subcommand("show", "one schedule whole, with its next firings");
  show->add_option("name", args->name, "schedule")->required();
  add_output_option(show, context);
  show->callback([named_call] { named_call(schema::ScheduleShowRequest::kTopic, print_show); });

  auto* next = schedule->add_subcommand("next", "the next firings, in the schedule's time zone");
  next->add_option("name", args->name, "schedule")->required();
  next->add_option("-n,--count", args->count, "how many (1-100)")->check(CLI::Range(1, 100));
  add_output_option(next, context);
  next->callback([&context, args] {
    call_and_print(context, schema::ScheduleNextRequest::kTopic,
                   json{{"name", args->name}, {"count", args->count}},
                   [](const json& answer) { print_firings(answer["firings"]); });
  });

  auto* add = schedule->add_subcommand(
      "add", "add a schedule (kept in nautod's store; files' schedules are edited in the file)");
  add->add_option("name", args->name, "schedule name (letters, digits, . _ -)")->required();
  auto* timing = add->add_option_group("timing", "when it fires (one of)");
  timing->add_option("--cron", args->cron, "5 fields or @hourly/@daily/@weekly/...");
  timing->add_option("--every", args->every, "an interval: 15m, 1h, 1d");
  timing->add_option("--at", args->at, "once: 2026-12-24T02:00:00Z");
  timing->require_option(1);
  add->add_option("--start", args->start, "with --every: the first firing (ISO 8601)");
  add->add_option("--tz,--time-zone", args->time_zone, "IANA time zone (default UTC)");
  add->add_option("--jitter", args->jitter, "a stable random delay up to this: 5m");
  add->add_option("--between", args->between, "a daily window HH:MM-HH:MM (local time)");
  add->add_option("--missed", args->missed, "after downtime: skip, run_once (default), run_all")
      ->check(CLI::IsMember({"skip", "run_once", "run_all"}));
  add->add_option("--max-catch-up", args->max_catch_up, "run_all's bound (default 10)");
  add->add_option("--overlap", args->overlap, "while a run goes on: skip (default), queue, allow")
      ->check(CLI::IsMember({"skip", "queue", "allow"}));
  add->add_option("--max-queued", args->max_queued, "queue's bound (default 10)");
  add->add_option("--late-after", args->late_after, "a firing later than this was missed (5m)");
  add->add_option("--description", args->description, "what it is for");
  add->add_flag("--paused", args->paused, "add it paused");
  add->add_flag("--replace", args->replace, "change an added schedule of this name");
  auto* what = add->add_option_group("what", "what it starts (one of)");
  what->add_option("--runbook", args->runbook, "a runbook's name");
  what->add_option("--job", args->job_kind, "a job: run, get-config, facts or push")
      ->check(CLI::IsMember({"run", "commands", "get-config", "get_config", "facts", "push"}));
  what->add_option("--call", args->call_service, "any bus service (with --body)");
  what->require_option(1);
  add->add_option("--param", args->params, "runbook parameter KEY=VALUE (repeat)");
  add->add_option("--target", args->target, "the job's selector: site=dc1, all");
  add->add_option("--command", args->commands, "a command of a run job (repeat)");
  add->add_option("--body", args->call_body, "--call's request body (JSON)");
  add_output_option(add, context);
  add->callback([&context, args] {
    auto definition = definition_of(*args);
    if (!definition) {
      context.exit_code = report(definition.error());
      return;
    }
    call_and_print(
        context, schema::ScheduleAddRequest::kTopic,
        json{{"definition", *definition}, {"replace", args->replace}, {"by", user_name()}},
        [](const json& answer) {
          std::cout << "schedule '" << answer.value("name", "") << "' added; next firing "
                    << (answer.value("next", "").empty() ? "none" : answer.value("next", ""))
                    << "\n";
        });
  });

  auto* rm = schedule->add_subcommand("rm", "remove a schedule that `schedule add` made");
  rm->add_option("name", args->name, "schedule")->required();
  rm->callback([named_call, args] {
    named_call(schema::ScheduleRemoveRequest::kTopic,
               [args](const json&) { std::cout << "schedule '" << args->name << "' removed\n"; });
  });

  const std::pair<const char*, const char*> toggles[] = {
      {"pause", "stop a schedule firing (kept across restarts)"},
      {"resume", "let a paused schedule fire again, from now on"}};
  for (const auto& [verb, help] : toggles) {
    auto* command = schedule->add_subcommand(verb, help);
    command->add_option("name", args->name, "schedule")->required();
    const std::string service = std::string("schedule.") + verb;
    command->callback([named_call, args, service] {
      named_call(service, [args](const json& answer) {
        std::cout << "schedule '" << args->name << "' "
                  << (answer.value("paused", false) ? "paused" : "active") << "\n";
      });
    });
  }

  auto* run_now =
      schedule->add_subcommand("run-now", "fire a schedule now (its overlap policy applies)");
  run_now->add_option("name", args->name, "schedule")->required();
  run_now->callback([named_call, args] {
    named_call(schema::ScheduleRunNowRequest::kTopic, [args](const json& answer) {
      std::cout << "schedule '" << args->name << "' "
                << (answer.value("started", false)
                        ? "fired (`nauto events tail -t schedule.fired` shows what it started)"
                        : "did not fire: its previous run is still going (overlap policy)")
                << "\n";
    });
  });

  auto* validate = schedule->add_subcommand(
      "validate", "check a schedule file (every problem, file:line); needs no nautod");
  validate->add_option("file", args->file, "schedule file (- for stdin)")->required();
  validate->callback([&context, args] {
    auto text = read_input(args->file);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    auto answer = context.call_even_offline(schema::ScheduleValidateRequest::kTopic,
                                            {{"text", *text}, {"file", args->file}});
    if (!answer) {
      std::cerr << answer.error().message << "\n";
      context.exit_code = answer.error().code == Errc::InvalidConfig ? 1 : report(answer.error());
      return;
    }
    std::cout << args->file << ": " << answer->value("schedules", 0)
              << " schedule(s), no problems\n";
  });
}

}  // namespace nauto::cli
