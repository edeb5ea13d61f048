// nauto rollout push FILE | template | runbook NAME  -t SELECTOR [wave options]
// nauto rollout list | status ID | pause ID | resume ID [--config FILE] | abort ID [--no-rollback]
// Staged rollouts (configs.rollout*, bus/schema/configs.yaml): a canary, then waves, a health
// check between waves, a halt past --max-fail with every changed device put back to its
// snapshot. The start commands wait for the rollout to stop (finished, halted, rolled back or
// paused) unless --detach.
// Exit status: 0 done (or paused, or detached), 1 refused or nautod unreachable, 2 bad
// arguments, 3 a device failed or the rollout halted.

#include <iostream>
#include <map>
#include <memory>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"
#include "output.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

constexpr int kSomeDevicesFailed = 3;

struct RolloutArgs {
  std::string file, runbook, target, waves, wave_by, max_fail = "0", check, why, id;
  std::string override_window, allow_dangerous;
  std::vector<std::string> params;
  int canary = 0, parallel = 10, limit = 20;
  bool replace = false, save = false, no_rollback = false, detach = false;
};

void print_rollout(const json& r) {
  const auto waves = r.value("waves", json::array()).size();
  std::cout << "rollout " << r.value("id", "") << ": " << r.value("state", "") << " (wave "
            << std::min(r.value("wave", std::size_t{0}) + 1, waves) << " of " << waves << ", "
            << r.value("ok", 0) << " ok, " << r.value("failed", 0) << " failed, "
            << r.value("rolled_back", 0) << " rolled back; " << r.value("tolerated", 0)
            << " failures tolerated)\n";
  if (!r.value("reason", "").empty()) std::cout << "  " << r.value("reason", "") << "\n";
  // By wave, then name.
  const json all = r.value("devices", json::object());
  std::map<std::pair<std::int64_t, std::string>, const json*> devices;
  for (const auto& [name, d] : all.items())
    devices[{d.value("wave", std::int64_t{0}), name}] = &d;
  Table table{{"WAVE", "DEVICE", "STATUS", "VERSION", "ERROR"}, {}};
  for (const auto& [key, d] : devices) {
    table.rows.push_back(
        {std::to_string(key.first), key.second, d->value("status", ""),
         d->contains("version") ? std::to_string(d->value("version", 0)) : "",
         d->value("error", "") + (d->contains("rollback_error")
                                      ? " (rollback: " + d->value("rollback_error", "") + ")"
                                      : "")});
  }
  std::cout << table.render();
  if (r.value("state", "") == "paused")
    std::cout << "`nauto rollout resume " << r.value("id", "") << "` goes on\n";
}

int print_outcome(CliContext& context, const json& r) {
  if (context.format() != OutputFormat::Table)
    std::cout << render_document(r, context.format());
  else
    print_rollout(r);
  const auto state = r.value("state", "");
  const bool failed =
      r.value("failed", 0) > 0 || state == "halted" || state == "rolled_back" || state == "failed";
  return failed ? kSomeDevicesFailed : 0;
}

void add_wave_options(CLI::App* command, RolloutArgs& a) {
  command->add_option("-t,--target", a.target, "which devices: all, site=dc1, r1,r2")->required();
  command->add_option("--canary", a.canary, "devices in a first wave of their own");
  command->add_option("--waves", a.waves,
                      "wave sizes after the canary, counts or percentages of all devices "
                      "(10%,30%,100%); the last repeats");
  command->add_option("--wave-by", a.wave_by, "one wave per value of an inventory key (site)");
  command->add_option("--max-fail", a.max_fail,
                      "failures tolerated (3 or 5%); one more halts and rolls back (default 0)");
  command->add_option("--check", a.check, "a runbook run with {target} after each wave");
  command->add_flag("--no-rollback", a.no_rollback, "on a halt, leave changed devices as they are");
  command->add_option("--parallel", a.parallel, "devices at once within a wave (default 10)");
  command->add_option("--why", a.why, "the reason, kept with the record");
  command->add_option("--override-window", a.override_window,
                      "why it may go outside the devices' change windows");
  command->add_option("--allow-dangerous", a.allow_dangerous,
                      "why lines the platform calls dangerous may go");
  command->add_flag("--detach", a.detach, "print the rollout's id and return at once");
}

json wave_body(const RolloutArgs& a, const std::string& kind) {
  json body{{"kind", kind},
            {"target", a.target},
            {"canary", a.canary},
            {"wave_by", a.wave_by},
            {"max_fail", a.max_fail},
            {"check_runbook", a.check},
            {"no_rollback", a.no_rollback},
            {"parallel", a.parallel},
            {"wait", !a.detach},
            {"by", user_name()},
            {"why", a.why},
            {"override_window", a.override_window},
            {"allow_dangerous", a.allow_dangerous},
            {"waves", json::array()}};
  std::string size;
  for (std::size_t i = 0; i <= a.waves.size(); ++i) {
    if (i == a.waves.size() || a.waves[i] == ',') {
      if (!size.empty()) body["waves"].push_back(size);
      size.clear();
    } else {
      size += a.waves[i];
    }
  }
  return body;
}

void start(CliContext& context, const json& body) {
  auto answer = fleet_call(context, bus::schema::ConfigsRolloutRequest::kTopic, body);
  if (!answer) {
    context.exit_code = report(answer.error());
    return;
  }
  if (!body.value("wait", true) && context.format() == OutputFormat::Table) {
    std::cout << answer->value("id", "") << "\n";
    return;
  }
  context.exit_code = print_outcome(context, *answer);
}

}  // namespace

void add_rollout_commands(CLI::App& app, CliContext& context) {
  namespace schema = bus::schema;
  auto a = std::make_shared<RolloutArgs>();
  auto* rollout = app.add_subcommand(
      "rollout", "staged rollouts: waves, a failure threshold, health checks, rollback");
  rollout->require_subcommand(1);

  auto* push = rollout->add_subcommand("push", "push a config to the devices, wave by wave");
  push->add_option("file", a->file, "config lines (- for stdin)")->required();
  push->add_flag("--replace", a->replace, "make the config equal the file (not merge)");
  push->add_flag("--save", a->save, "copy running to startup on each device");
  add_wave_options(push, *a);
  add_output_option(push, context);
  push->callback([&context, a] {
    auto text = read_input(a->file);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    auto body = wave_body(*a, "push");
    body["config"] = std::move(*text);
    body["replace"] = a->replace;
    body["save"] = a->save;
    start(context, body);
  });

  auto* apply = rollout->add_subcommand(
      "template", "push each device's intended config (its template), wave by wave");
  apply->add_flag("--replace", a->replace, "the template is the whole config (not merged)");
  apply->add_flag("--save", a->save, "copy running to startup on each device");
  add_wave_options(apply, *a);
  add_output_option(apply, context);
  apply->callback([&context, a] {
    auto body = wave_body(*a, "template");
    body["replace"] = a->replace;
    body["save"] = a->save;
    start(context, body);
  });

  auto* runbook = rollout->add_subcommand(
      "runbook", "run a runbook once per device ({target = the device}), wave by wave");
  runbook->add_option("name", a->runbook, "the runbook")->required();
  runbook->add_option("-p,--param", a->params, "key=value, passed to every run");
  add_wave_options(runbook, *a);
  add_output_option(runbook, context);
  runbook->callback([&context, a] {
    auto body = wave_body(*a, "runbook");
    body["runbook"] = a->runbook;
    body["params"] = json::object();
    for (const auto& p : a->params) {
      const auto eq = p.find('=');
      if (eq == std::string::npos || eq == 0) {
        context.exit_code = report(
            Error{Errc::InvalidArgument, "--param: expected key=value, got '" + p + "'", ""});
        return;
      }
      body["params"][p.substr(0, eq)] = p.substr(eq + 1);
    }
    start(context, body);
  });

  auto* list = rollout->add_subcommand("list", "the latest rollouts");
  list->add_option("-n,--limit", a->limit, "at most this many (default 20)");
  add_output_option(list, context);
  list->callback([&context, a] {
    call_and_print(
        context, schema::ConfigsRolloutsRequest::kTopic, json{{"limit", a->limit}},
        [](const json& answer) {
          Table table{{"ID", "CREATED", "BY", "KIND", "STATE", "OK", "FAILED", "TARGET"}, {}};
          for (const auto& r : answer["rollouts"]) {
            table.rows.push_back({r.value("id", ""),
                                  format_time_us(r.value("created_us", std::int64_t{0})),
                                  r.value("by", ""), r.value("kind", ""), r.value("state", ""),
                                  std::to_string(r.value("ok", 0)),
                                  std::to_string(r.value("failed", 0)), r.value("target", "")});
          }
          std::cout << table.render();
        });
  });

  auto* status = rollout->add_subcommand("status", "a rollout's state, waves and devices");
  status->add_option("id", a->id, "the rollout's id")->required();
  add_output_option(status, context);
  status->callback([&context, a] {
    call_and_print(context, schema::ConfigsRolloutShowRequest::kTopic, json{{"id", a->id}},
                   print_rollout);
  });

  auto* pause = rollout->add_subcommand("pause", "hold a rollout after its current wave");
  pause->add_option("id", a->id, "the rollout's id")->required();
  add_output_option(pause, context);
  pause->callback([&context, a] {
    call_and_print(context, schema::ConfigsRolloutPauseRequest::kTopic,
                   json{{"id", a->id}, {"by", user_name()}}, print_rollout);
  });

  auto* resume = rollout->add_subcommand("resume", "go on with a paused rollout");
  resume->add_option("id", a->id, "the rollout's id")->required();
  resume->add_option("--config", a->file,
                     "a push rollout's config again, after nautod restarted (- for stdin)");
  add_output_option(resume, context);
  resume->callback([&context, a] {
    json body{{"id", a->id}, {"by", user_name()}};
    if (!a->file.empty()) {
      auto text = read_input(a->file);
      if (!text) {
        context.exit_code = report(text.error());
        return;
      }
      body["config"] = std::move(*text);
    }
    call_and_print(context, schema::ConfigsRolloutResumeRequest::kTopic, body, print_rollout);
  });

  auto* abort = rollout->add_subcommand(
      "abort", "stop a rollout and put the changed devices back (unless --no-rollback)");
  abort->add_option("id", a->id, "the rollout's id")->required();
  abort->add_flag("--no-rollback", a->no_rollback, "leave the changed devices as they are");
  add_output_option(abort, context);
  abort->callback([&context, a] {
    call_and_print(context, schema::ConfigsRolloutAbortRequest::kTopic,
                   json{{"id", a->id}, {"no_rollback", a->no_rollback}, {"by", user_name()}},
                   print_rollout);
  });
}

}  // namespace nauto::cli
