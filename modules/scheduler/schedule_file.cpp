#include "schedule_file.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/yaml_fields.h"
#include "nauto/sdk/yaml_json.h"

namespace nauto::scheduler {

namespace {

const std::set<std::string> kKeys = {
    "name",   "description", "cron",   "every",        "start",   "at",         "time_zone",
    "jitter", "between",     "missed", "max_catch_up", "overlap", "max_queued", "late_after",
    "paused", "runbook",     "params", "job",          "call",
};

// Reads one schedule; each problem goes to `problems` as "file:line: what".
class ScheduleReader : public YamlFields {
 public:
  using YamlFields::YamlFields;

  std::optional<ScheduleDefinition> read(const YAML::Node& item) {
    const auto before = problem_count();
    if (!item.IsMap()) {
      problem(item,
              "a schedule is a map with name:, a timing (cron:, every: or at:) and what "
              "it starts (runbook:, job: or call:)");
      return std::nullopt;
    }
    ScheduleDefinition out;
    out.origin = file() + ":" + std::to_string(item.Mark().line + 1);
    for (const auto& entry : item) {
      const auto key = entry.first.Scalar();
      if (!kKeys.count(key)) problem(entry.first, key + ": unknown key");
    }
    out.name = text(item, "name");
    if (out.name.empty()) {
      problem(item, "name: missing");
    } else if (out.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789._-") != std::string::npos) {
      problem(item["name"], "name: '" + out.name + "' may have letters, digits, '.', '_', '-'");
    }
    out.description = text(item, "description");
    auto& timing = out.timing;
    timing.cron = text(item, "cron");
    timing.every = text(item, "every");
    timing.start = text(item, "start");
    timing.at = text(item, "at");
    timing.jitter = text(item, "jitter");
    timing.between = text(item, "between");
    if (item["time_zone"]) timing.time_zone = text(item, "time_zone");
    if (auto checked = ScheduleTiming::parse(timing); !checked) {
      problem(timing_node(item), checked.error().message);
    }
    read_policy(item, out.policy);
    if (item["paused"]) out.paused = flag(item, "paused");
    read_action(item, out.action);
    if (problem_count() != before) return std::nullopt;
    return out;
  }

 private:
  // The node a timing error is reported at: the timing field, else the schedule.
  static YAML::Node timing_node(const YAML::Node& item) {
    for (const char* key : {"cron", "every", "at"})
      if (item[key]) return item[key];
    return item;
  }

  int count(const YAML::Node& item, const char* key, int fallback, int min) {
    if (!item[key]) return fallback;
    const auto value = text(item, key);
    char* end = nullptr;
    const long number = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || number < min || number > 1'000'000) {
      problem(item[key], std::string(key) + ": expected a whole number from " +
                             std::to_string(min) + " to 1000000");
      return fallback;
    }
    return static_cast<int>(number);
  }

  void read_policy(const YAML::Node& item, SchedulePolicy& policy) {
    if (item["missed"]) {
      const auto missed = text(item, "missed");
      if (missed == "skip")
        policy.missed = MissedPolicy::Skip;
      else if (missed == "run_once")
        policy.missed = MissedPolicy::RunOnce;
      else if (missed == "run_all")
        policy.missed = MissedPolicy::RunAll;
      else
        problem(item["missed"], "missed: '" + missed + "' is not skip, run_once or run_all");
    }
    if (item["overlap"]) {
      const auto overlap = text(item, "overlap");
      if (overlap == "skip")
        policy.overlap = OverlapPolicy::Skip;
      else if (overlap == "queue")
        policy.overlap = OverlapPolicy::Queue;
      else if (overlap == "allow")
        policy.overlap = OverlapPolicy::Allow;
      else
        problem(item["overlap"], "overlap: '" + overlap + "' is not skip, queue or allow");
    }
    policy.max_catch_up = count(item, "max_catch_up", policy.max_catch_up, 1);
    policy.max_queued = count(item, "max_queued", policy.max_queued, 1);
    if (item["late_after"]) {
      const auto late = text(item, "late_after");
      auto ms = parse_duration_ms(late);
      if (!ms || *ms < 1000) {
        problem(item["late_after"],
                "late_after: '" + late + "' is not a duration of at least 1s (30s, 5m, 1h)");
      } else {
        policy.late_after = std::chrono::seconds{*ms / 1000};
      }
    }
  }

  void read_action(const YAML::Node& item, ScheduleAction& action) {
    const int kinds = !!item["runbook"] + !!item["job"] + !!item["call"];
    if (kinds != 1) {
      problem(item, "a schedule starts exactly one of runbook:, job: and call: (this one has " +
                        std::to_string(kinds) + ")");
      return;
    }
    if (item["params"] && !item["runbook"]) problem(item["params"], "params: only for runbook:");
    if (item["runbook"]) {
      action.service = "run.start";
      action.body["runbook"] = text(item, "runbook");
      if (const auto params = item["params"]) {
        if (!params.IsMap())
          problem(params, "params: expected a map of the runbook's parameters");
        else
          action.body["params"] = yaml_to_json(params);
      }
      return;
    }
    if (const auto job = item["job"]) {
      if (!job.IsMap()) {
        problem(job, "job: expected a map such as {kind: facts, target: \"role=core\"}");
        return;
      }
      action.service = "job.run";
      action.body = yaml_to_json(job);
      std::string kind = "commands";
      if (const auto given = action.body.find("kind"); given != action.body.end()) {
        if (!given->is_string()) {
          problem(job["kind"], "job.kind: expected text (commands, get_config, facts or push)");
          return;
        }
        kind = given->get<std::string>();
      }
      if (kind == "run") kind = "commands";
      if (kind == "get-config") kind = "get_config";
      if (kind != "commands" && kind != "get_config" && kind != "facts" && kind != "push") {
        problem(job["kind"] ? job["kind"] : job,
                "job.kind: '" + kind +
                    "' is not commands (run), get_config (get-config), "
                    "facts or push");
      }
      action.body["kind"] = kind;
      if (!action.body.contains("target") || !action.body["target"].is_string() ||
          action.body["target"].get<std::string>().empty()) {
        problem(job, "job.target: missing; a selector such as \"site=dc1\" or \"all\"");
      }
      if (kind == "commands" && !action.body.contains("commands")) {
        problem(job, "job.commands: missing; the commands a commands job runs");
      }
      return;
    }
    const auto call = item["call"];
    if (!call.IsMap() || !call["service"] || !call["service"].IsScalar()) {
      problem(call, "call: expected {service: NAME, body: {...}}");
      return;
    }
    action.service = call["service"].Scalar();
    if (const auto body = call["body"]) {
      if (!body.IsMap())
        problem(body, "call.body: expected a map");
      else
        action.body = yaml_to_json(body);
    }
  }
};

}  // namespace

Result<std::vector<ScheduleDefinition>> parse_schedule_file(const std::string& yaml_text,
                                                            const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig, file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  std::vector<ScheduleDefinition> schedules;
  if (!root || root.IsNull()) return schedules;
  if (!root.IsMap() || !root["schedules"] || !root["schedules"].IsSequence()) {
    return fail(Errc::InvalidConfig, file +
                                         ":1: expected 'schedules:' with a list of schedules (see "
                                         "modules/scheduler/schedule_file.h)");
  }
  std::vector<std::string> problems;
  ScheduleReader reader(file, problems);
  std::set<std::string> names;
  for (const auto& item : root["schedules"]) {
    auto schedule = reader.read(item);
    if (!schedule) continue;
    if (!names.insert(schedule->name).second) {
      reader.problem(item, "name: '" + schedule->name + "' is used by an earlier schedule");
      continue;
    }
    schedules.push_back(std::move(*schedule));
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& problem : problems)
      all += (all.empty() ? "" : "\n") + problem;
    return fail(Errc::InvalidConfig, all);
  }
  return schedules;
}

}  // namespace nauto::scheduler
