#pragma once
// Schedule definitions and the schedule file format (modules.scheduler.dirs, and what
// `nauto schedule validate FILE` checks):
//
//   schedules:
//     - name: nightly-backup            # letters, digits, . _ -; unique
//       description: configs to the archive
//       cron: "0 2 * * *"                # or every: 15m (start: ...), or at: 2026-12-24T02:00:00Z
//       time_zone: Europe/Berlin         # default UTC
//       jitter: 10m
//       between: "01:00-05:00"
//       missed: run_once                 # skip | run_once (default) | run_all
//       max_catch_up: 10                 # run_all's bound
//       overlap: skip                    # skip (default) | queue | allow
//       max_queued: 10                   # queue's bound
//       late_after: 5m                   # a firing later than this was missed
//       paused: false
//       runbook: backup_configs          # what it starts: one of runbook:, job: and call:
//       params: {site: dc1}
//     - name: hourly-facts
//       every: 1h
//       job: {kind: facts, target: "role=core"}   # commands (run), get_config (get-config),
//                                                 # facts or push, and job.run's other fields
//     - name: compliance
//       cron: "@daily"
//       call: {service: compliance.run, body: {policy: baseline}}
//
// A firing calls a bus service with a body: runbook: is run.start, job: is job.run, call: any
// other service, so modules added later are scheduled without code here.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "schedule_engine.h"

namespace nauto::scheduler {

/// What a firing starts: a request to `service` with `body`.
struct ScheduleAction {
  std::string service;
  nlohmann::json body = nlohmann::json::object();
};

struct ScheduleDefinition {
  std::string name;
  std::string description;
  TimingSpec timing;
  SchedulePolicy policy;
  bool paused = false;
  ScheduleAction action;
  std::string origin;  // "file:line", or who added it
};

/// Every schedule in a file, or every problem at once, one per line: "file:line: what".
Result<std::vector<ScheduleDefinition>> parse_schedule_file(const std::string& yaml_text,
                                                            const std::string& file);

}  // namespace nauto::scheduler
