// nauto config backup | backups | status | history DEVICE | show DEVICE [@VERSION] |
//              diff DEVICE [FROM] [TO] | search REGEX | drift [--intended] | render DEVICE |
//              plan [--merge]
// The configs module's services (bus/schema/configs.yaml). A version is a number (@3), latest,
// previous, a day (@2026-12-01: the version in force at its end, UTC) or a time.
// Exit status: 0 done, 1 refused or nautod unreachable, 2 bad arguments, 3 some devices failed
// (backup) or differ from the archive (drift).

#include <iostream>
#include <memory>
#include <optional>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

constexpr int kSomeDevicesFailedOrDiffer = 3;
// A backup or drift check is answered when every device is done: wait as long as the router
// lets a request live.
constexpr std::int64_t kFleetWaitMs = 3'600'000;

struct ConfigArgs {
  std::string device, from = "previous", to = "latest", version = "latest";
  std::string target = "all", why, pattern;
  bool keep_secrets = false, detach = false, hierarchical = false, show_diff = false, merge = false,
       intended = false, replace = false, save = false;
  std::string file, confirm, check, id, override_window, allow_dangerous;
  int limit = 0, context_lines = 3, max_parallel = 0;
};

std::string signed_counts(const json& entry) {
  return "+" + std::to_string(entry.value("added", 0)) + " -" +
         std::to_string(entry.value("removed", 0));
}

void print_history(const json& answer) {
  Table table{{"VERSION", "TIME", "BY", "WHY", "CHANGE", "BYTES", "JOB"}, {}};
  for (const auto& v : answer["versions"]) {
    table.rows.push_back({cell(v["version"]), format_time_us(v.value("time_us", std::int64_t{0})),
                          v.value("by", ""), v.value("why", ""), signed_counts(v), cell(v["bytes"]),
                          v.value("job", "")});
  }
  std::cout << table.render();
}

void print_backup(const json& record) {
  std::cout << "backup " << record.value("id", "") << ": " << record.value("devices", 0)
            << " devices, " << record.value("changed", 0) << " changed, "
            << record.value("unchanged", 0) << " unchanged, " << record.value("failed", 0)
            << " failed\n";
  for (const auto& changed : record["changed_devices"])
    std::cout << "  changed  " << changed.value("device", "") << " -> version "
              << changed.value("version", 0) << "\n";
  for (const auto& failed : record["failed_devices"])
    std::cout << "  failed   " << failed.value("device", "") << ": " << failed.value("error", "")
              << "\n";
}

// A fleet comparison (plan, drift): the answer, exit status 3 when a device is not "same", and
// the document itself for -o json/yaml. nullopt when nothing is left to print.
std::optional<json> compare_fleet(CliContext& context, const std::string& service,
                                  const json& body) {
  auto answer = fleet_call(context, service, body);
  if (!answer) {
    context.exit_code = report(answer.error());
    return std::nullopt;
  }
  for (const auto& d : (*answer)["devices"])
    if (d.value("state", "") != "same") context.exit_code = kSomeDevicesFailedOrDiffer;
  if (context.format() != OutputFormat::Table) {
    std::cout << render_document(*answer, context.format());
    return std::nullopt;
  }
  return std::move(*answer);
}

void print_push(const json& record) {
  std::cout << "push " << record.value("id", "") << ": " << record.value("state", "") << "\n";
  for (const auto& d : record["devices"]) {
    std::cout << "  " << d.value("device", "") << ": " << d.value("status", "")
              << (d.value("error", "").empty() ? "" : " - " + d.value("error", "")) << "\n";
  }
  for (const auto& d : record.value("rolled_back", json::array())) {
    std::cout << "  rolled back " << d.value("device", "") << ": " << d.value("status", "")
              << (d.value("error", "").empty() ? "" : " - " + d.value("error", "")) << "\n";
  }
  if (record.value("state", "") == "waiting") {
    std::cout << "confirm with `nauto config confirm " << record.value("id", "") << "` before "
              << format_time_us(record.value("deadline_us", std::int64_t{0}))
              << ", or every device is put back to its snapshot\n";
  }
  if (record.contains("rollback_reason"))
    std::cout << "rolled back: " << record.value("rollback_reason", "") << "\n";
}

}  // namespace

Result<json> fleet_call(CliContext& context, const std::string& service, const json& body) {
  const auto saved = context.timeout_ms;
  context.timeout_ms = std::max(context.timeout_ms, kFleetWaitMs);
  auto answer = context.call(service, body);
  context.timeout_ms = saved;
  return answer;
}

int confirmed_push(CliContext& context, const json& body) {
  auto answer = fleet_call(context, bus::schema::ConfigsPushRequest::kTopic, body);
  if (!answer) return report(answer.error());
  if (context.format() != OutputFormat::Table)
    std::cout << render_document(*answer, context.format());
  else
    print_push(*answer);
  const auto state = answer->value("state", "");
  bool failed = state == "failed" || state == "rolled_back";
  for (const auto& d : (*answer)["devices"])
    failed = failed || d.value("status", "") != "ok";
  return failed ? kSomeDevicesFailedOrDiffer : 0;
}

void add_config_commands(CLI::App& app, CliContext& context) {
  namespace schema = bus::schema;
  auto args = std::make_shared<ConfigArgs>();
  auto* config = app.add_subcommand(
      "config", "the config archive: backups, history, versions, diffs, search, drift");
  config->require_subcommand(1);

  auto* backup = config->add_subcommand(
      "backup", "fetch running configs and archive those that changed (secrets redacted)");
  backup->add_option("-t,--target", args->target, "which devices: all, site=dc1, r1,r2");
  backup->add_option("--why", args->why, "the reason, kept with each new version");
  backup->add_flag("--keep-secrets", args->keep_secrets,
                   "archive secrets as the device has them (default: redacted)");
  backup->add_option("--max-parallel", args->max_parallel, "devices at once");
  backup->add_flag("--detach", args->detach, "print the backup's id and return at once");
  add_output_option(backup, context);
  backup->callback([&context, args] {
    json body{{"target", args->target}, {"why", args->why},  {"keep_secrets", args->keep_secrets},
              {"wait", !args->detach},  {"by", user_name()}, {"max_parallel", args->max_parallel}};
    auto answer = fleet_call(context, schema::ConfigsBackupRequest::kTopic, body);
    if (!answer) {
      context.exit_code = report(answer.error());
      return;
    }
    if (args->detach) {
      std::cout << answer->value("id", "") << "\n";
      return;
    }
    if (context.format() != OutputFormat::Table)
      std::cout << render_document(*answer, context.format());
    else
      print_backup(*answer);
    if (answer->value("failed", 0) > 0) context.exit_code = kSomeDevicesFailedOrDiffer;
  });

  auto* backups = config->add_subcommand("backups", "the latest backups and what they changed");
  backups->add_option("-n,--limit", args->limit, "at most this many (default 20)");
  add_output_option(backups, context);
  backups->callback([&context, args] {
    call_and_print(
        context, schema::ConfigsBackupsRequest::kTopic,
        json{{"limit", args->limit > 0 ? args->limit : 20}}, [](const json& answer) {
          Table table{
              {"ID", "STARTED", "BY", "WHY", "STATE", "DEVICES", "CHANGED", "UNCHANGED", "FAILED"},
              {}};
          for (const auto& b : answer["backups"]) {
            table.rows.push_back(
                {b.value("id", ""), format_time_us(b.value("started_us", std::int64_t{0})),
                 b.value("by", ""), b.value("why", ""), b.value("state", ""), cell(b["devices"]),
                 cell(b["changed"]), cell(b["unchanged"]), cell(b["failed"])});
          }
          std::cout << table.render();
        });
  });

  auto* status = config->add_subcommand("status", "each device's last backup and latest version");
  add_output_option(status, context);
  status->callback([&context] {
    call_and_print(
        context, schema::ConfigsStatusRequest::kTopic, json::object(), [](const json& answer) {
          Table table{{"DEVICE", "VERSION", "LAST BACKUP", "RESULT"}, {}};
          for (const auto& d : answer["devices"]) {
            table.rows.push_back({d.value("device", ""), cell(d["version"]),
                                  format_time_us(d.value("checked_us", std::int64_t{0})),
                                  d.value("ok", false) ? "ok" : "failed: " + d.value("error", "")});
          }
          std::cout << table.render();
        });
  });

  auto* history = config->add_subcommand("history", "a device's archived versions, newest first");
  history->add_option("device", args->device, "device name")->required();
  history->add_option("-n,--limit", args->limit, "at most this many (default 100)");
  add_output_option(history, context);
  history->callback([&context, args] {
    call_and_print(context, schema::ConfigsHistoryRequest::kTopic,
                   json{{"device", args->device}, {"limit", args->limit > 0 ? args->limit : 100}},
                   print_history);
  });

  auto* show = config->add_subcommand("show", "an archived version's text");
  show->add_option("device", args->device, "device name")->required();
  show->add_option("version", args->version,
                   "@3, latest (default), previous, @2026-12-01 or @2026-12-01T10:30:00Z");
  add_output_option(show, context);
  show->callback([&context, args] {
    call_and_print(context, schema::ConfigsShowRequest::kTopic,
                   json{{"device", args->device}, {"version", args->version}},
                   [](const json& answer) { std::cout << answer.value("config", ""); });
  });

  auto* diff = config->add_subcommand("diff", "the difference between two archived versions");
  diff->add_option("device", args->device, "device name")->required();
  diff->add_option("from", args->from, "the older version (default previous)");
  diff->add_option("to", args->to, "the newer version (default latest)");
  diff->add_flag("--hierarchical", args->hierarchical,
                 "changed lines under their section headers; order within a section ignored");
  diff->add_option("-U,--context", args->context_lines, "lines of context (unified)");
  add_output_option(diff, context);
  diff->callback([&context, args] {
    call_and_print(context, schema::ConfigsDiffRequest::kTopic,
                   json{{"device", args->device},
                        {"from", args->from},
                        {"to", args->to},
                        {"format", args->hierarchical ? "hierarchical" : "unified"},
                        {"context", args->context_lines}},
                   [](const json& answer) { std::cout << answer.value("diff", ""); });
  });

  auto* search =
      config->add_subcommand("search", "lines matching a regular expression in the latest configs");
  search->add_option("pattern", args->pattern, "PCRE2 pattern, matched against each line")
      ->required();
  search->add_option("-t,--target", args->target, "only these devices (default: all archived)");
  search->add_option("-n,--limit", args->limit, "at most this many lines (default 1000)");
  add_output_option(search, context);
  search->callback([&context, args] {
    json body{{"pattern", args->pattern}, {"limit", args->limit > 0 ? args->limit : 1000}};
    if (args->target != "all") body["target"] = args->target;
    call_and_print(context, schema::ConfigsSearchRequest::kTopic, body, [](const json& answer) {
      for (const auto& m : answer["matches"]) {
        std::cout << m.value("device", "") << "@" << m.value("version", 0) << ":"
                  << m.value("line", 0) << ": " << m.value("text", "") << "\n";
      }
      std::cerr << answer["matches"].size() << " lines in " << answer.value("devices", 0)
                << " devices searched"
                << (answer.value("truncated", false) ? " (limit reached)" : "") << "\n";
    });
  });

  auto* render = config->add_subcommand(
      "render", "a device's intended config: its template with its inventory variables");
  render->add_option("device", args->device, "device name")->required();
  add_output_option(render, context);
  render->callback([&context, args] {
    call_and_print(context, schema::ConfigsRenderRequest::kTopic, json{{"device", args->device}},
                   [](const json& answer) { std::cout << answer.value("config", ""); });
  });

  auto* plan = config->add_subcommand(
      "plan", "what pushing each device's intended config would change (a dry run)");
  plan->add_option("-t,--target", args->target, "which devices: all, site=dc1, r1,r2");
  plan->add_flag("--merge", args->merge,
                 "the template's lines are added to the config (default: it is the whole config)");
  add_output_option(plan, context);
  plan->callback([&context, args] {
    auto answer = compare_fleet(context, schema::ConfigsPlanRequest::kTopic,
                                json{{"target", args->target},
                                     {"mode", args->merge ? "merge" : "replace"},
                                     {"by", user_name()}});
    if (!answer) return;
    for (const auto& d : (*answer)["devices"]) {
      const auto state = d.value("state", "");
      std::cout << "== " << d.value("device", "") << " (" << d.value("template_name", "") << "): "
                << (state == "failed" ? "failed: " + d.value("error", "")
                    : state == "same" ? std::string("no change")
                                      : std::string("changes"))
                << "\n"
                << (state == "changes" ? d.value("diff", "") : "");
    }
  });

  auto* push = config->add_subcommand(
      "push", "push a config after archiving a snapshot; with --confirm, undone unless confirmed");
  push->add_option("file", args->file, "config lines (- for stdin)")->required();
  push->add_option("-t,--target", args->target, "which devices: all, site=dc1, r1,r2")->required();
  push->add_flag("--replace", args->replace, "make the config equal the file (not merge)");
  push->add_flag("--save", args->save, "copy running to startup (after the confirmation)");
  push->add_option("--confirm", args->confirm,
                   "the confirm window (5m): rolled back unless confirmed or --check passes");
  push->add_option("--check", args->check, "a runbook run with {target} that decides");
  push->add_option("--why", args->why, "the reason, kept with the record");
  push->add_option("--override-window", args->override_window,
                   "why it may go outside the devices' change windows");
  push->add_option("--allow-dangerous", args->allow_dangerous,
                   "why lines the platform calls dangerous may go");
  add_output_option(push, context);
  push->callback([&context, args] {
    auto text = read_input(args->file);
    if (!text) {
      context.exit_code = report(text.error());
      return;
    }
    json body{{"target", args->target}, {"config", *text},   {"replace", args->replace},
              {"save", args->save},     {"by", user_name()}, {"why", args->why}};
    if (!args->confirm.empty()) body["confirm"] = args->confirm;
    if (!args->check.empty()) body["check_runbook"] = args->check;
    body["override_window"] = args->override_window;
    body["allow_dangerous"] = args->allow_dangerous;
    context.exit_code = confirmed_push(context, body);
  });

  auto* confirm = config->add_subcommand("confirm", "confirm a push waiting in its window");
  confirm->add_option("id", args->id, "the push's id")->required();
  add_output_option(confirm, context);
  confirm->callback([&context, args] {
    call_and_print(context, schema::ConfigsConfirmRequest::kTopic,
                   json{{"id", args->id}, {"by", user_name()}}, print_push);
  });

  auto* pushes = config->add_subcommand("pushes", "the latest pushes and their state");
  pushes->add_option("-n,--limit", args->limit, "at most this many (default 20)");
  add_output_option(pushes, context);
  pushes->callback([&context, args] {
    call_and_print(context, schema::ConfigsPushesRequest::kTopic,
                   json{{"limit", args->limit > 0 ? args->limit : 20}}, [](const json& answer) {
                     Table table{{"ID", "CREATED", "BY", "STATE", "TARGET", "WHY"}, {}};
                     for (const auto& p : answer["pushes"]) {
                       table.rows.push_back({p.value("id", ""),
                                             format_time_us(p.value("created_us", std::int64_t{0})),
                                             p.value("by", ""), p.value("state", ""),
                                             p.value("target", ""), p.value("why", "")});
                     }
                     std::cout << table.render();
                   });
  });

  auto* rollback = config->add_subcommand(
      "rollback", "put a device back to an archived version (its secrets kept as they are now)");
  rollback->add_option("device", args->device, "device name")->required();
  rollback->add_option("--to", args->version, "the version: 3, previous, @2026-12-01")->required();
  rollback->add_flag("--save", args->save, "copy running to startup afterwards");
  rollback->add_option("--override-window", args->override_window,
                       "why it may go outside the device's change windows");
  add_output_option(rollback, context);
  rollback->callback([&context, args] {
    call_and_print(context, schema::ConfigsRollbackRequest::kTopic,
                   json{{"device", args->device},
                        {"to", args->version},
                        {"save", args->save},
                        {"by", user_name()},
                        {"override_window", args->override_window}},
                   [](const json& answer) {
                     std::cout << answer.value("device", "") << " is back at version "
                               << answer.value("version", 0)
                               << (answer.value("changed", false) ? "" : " (it already was)")
                               << "\n"
                               << answer.value("diff", "");
                     if (answer.value("secrets_unknown", 0) > 0) {
                       std::cout << answer.value("secrets_unknown", 0)
                                 << " line(s) with a secret the device no longer has were left "
                                    "out\n";
                     }
                   });
  });

  auto* drift = config->add_subcommand(
      "drift", "compare running configs with their latest archived versions (nothing archived)");
  drift->add_option("-t,--target", args->target, "which devices: all, site=dc1, r1,r2");
  drift->add_flag("--diff", args->show_diff, "print each drifted device's diff");
  drift->add_flag("--intended", args->intended,
                  "compare with the intended configs (templates) instead of the archive");
  drift->add_option("--max-parallel", args->max_parallel, "devices at once");
  add_output_option(drift, context);
  drift->callback([&context, args] {
    auto answer = compare_fleet(context, schema::ConfigsDriftRequest::kTopic,
                                json{{"target", args->target},
                                     {"by", user_name()},
                                     {"intended", args->intended},
                                     {"max_parallel", args->max_parallel}});
    if (!answer) return;
    Table table{{"DEVICE", "STATE", "ARCHIVED", "CHANGE", "ERROR"}, {}};
    for (const auto& d : (*answer)["devices"]) {
      table.rows.push_back({d.value("device", ""), d.value("state", ""),
                            d.contains("version") ? "@" + cell(d["version"]) : "",
                            d.value("state", "") == "drifted" ? signed_counts(d) : "",
                            d.value("error", "")});
    }
    std::cout << table.render();
    if (!args->show_diff) return;
    for (const auto& d : (*answer)["devices"])
      if (d.value("state", "") == "drifted") std::cout << "\n" << d.value("diff", "");
  });
}

}  // namespace nauto::cli
