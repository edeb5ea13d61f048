// Schedule files: what a valid file gives, and every problem of a bad one at once, each with
// its file and line.

#include "schedule_file.h"

#include <catch2/catch.hpp>

using namespace nauto::scheduler;

TEST_CASE("a schedule file with a runbook, a job and a call", "[scheduler][file]") {
  const std::string text = R"(schedules:
  - name: nightly-backup
    description: configs to the archive
    cron: "0 2 * * *"
    time_zone: Europe/Berlin
    jitter: 10m
    between: "01:00-05:00"
    missed: run_all
    max_catch_up: 3
    overlap: queue
    max_queued: 2
    late_after: 10m
    runbook: backup_configs
    params: {site: dc1, keep: 30, verify: true, tag: "007"}
  - name: hourly-facts
    every: 1h
    paused: true
    job: {kind: facts, target: "role=core"}
  - name: health
    every: 15m
    job: {kind: run, target: all, commands: [show clock]}
  - name: compliance
    at: 2026-12-24T02:00:00Z
    call: {service: compliance.run, body: {policy: baseline}}
)";
  auto parsed = parse_schedule_file(text, "ops.yaml");
  if (!parsed) FAIL(parsed.error().message);
  REQUIRE(parsed->size() == 4);
  const auto& backup = (*parsed)[0];
  CHECK(backup.name == "nightly-backup");
  CHECK(backup.origin == "ops.yaml:2");
  CHECK(backup.timing.cron == "0 2 * * *");
  CHECK(backup.timing.time_zone == "Europe/Berlin");
  CHECK(backup.timing.jitter == "10m");
  CHECK(backup.policy.missed == MissedPolicy::RunAll);
  CHECK(backup.policy.max_catch_up == 3);
  CHECK(backup.policy.overlap == OverlapPolicy::Queue);
  CHECK(backup.policy.max_queued == 2);
  CHECK(backup.policy.late_after == std::chrono::minutes{10});
  CHECK(backup.action.service == "run.start");
  CHECK(backup.action.body == nlohmann::json::parse(
                                  R"({"runbook": "backup_configs", "params": {"site": "dc1",
                                      "keep": 30, "verify": true, "tag": "007"}})"));
  const auto& facts = (*parsed)[1];
  CHECK(facts.paused);
  CHECK(facts.timing.time_zone == "UTC");
  CHECK(facts.policy.missed == MissedPolicy::RunOnce);  // the defaults
  CHECK(facts.policy.overlap == OverlapPolicy::Skip);
  CHECK(facts.action.service == "job.run");
  CHECK(facts.action.body == nlohmann::json{{"kind", "facts"}, {"target", "role=core"}});
  CHECK((*parsed)[2].action.body["kind"] == "commands");  // run is commands
  CHECK((*parsed)[3].action.service == "compliance.run");
  CHECK((*parsed)[3].action.body == nlohmann::json{{"policy", "baseline"}});
}

TEST_CASE("every problem of a schedule file at once, with file and line", "[scheduler][file]") {
  const std::string text = R"(schedules:
  - name: bad cron
    cron: "0 24 * * *"
    runbook: x
  - name: two-timings
    cron: "@daily"
    every: 1h
    runbook: x
  - name: no-action
    every: 1h
  - name: bad-policies
    every: 1h
    missed: sometimes
    overlap: never
    max_queued: 0
    late_after: soon
    runbook: x
  - name: bad-job
    every: 1h
    job: {kind: reboot}
  - name: unknown-zone
    cron: "@daily"
    time_zone: Mars/Olympus
    runbook: x
    colour: blue
  - name: dup
    every: 1h
    runbook: x
  - name: dup
    every: 2h
    runbook: x
)";
  auto parsed = parse_schedule_file(text, "ops.yaml");
  REQUIRE_FALSE(parsed);
  const auto& message = parsed.error().message;
  const std::vector<std::string> expected = {
      "ops.yaml:2: name: 'bad cron' may have letters, digits, '.', '_', '-'",
      "ops.yaml:3: cron field 2 (hour): 24 is out of range 0-23",
      "ops.yaml:6: a schedule has exactly one of cron:, every: and at: (this one has 2)",
      "ops.yaml:9: a schedule starts exactly one of runbook:, job: and call: (this one has 0)",
      "ops.yaml:13: missed: 'sometimes' is not skip, run_once or run_all",
      "ops.yaml:14: overlap: 'never' is not skip, queue or allow",
      "ops.yaml:15: max_queued: expected a whole number from 1 to 1000000",
      "ops.yaml:16: late_after: 'soon' is not a duration of at least 1s (30s, 5m, 1h)",
      "ops.yaml:20: job.kind: 'reboot' is not commands (run), get_config (get-config), facts or "
      "push",
      "ops.yaml:20: job.target: missing; a selector such as \"site=dc1\" or \"all\"",
      "ops.yaml:22: time_zone: unknown time zone 'Mars/Olympus'",
      "ops.yaml:25: colour: unknown key",
      "ops.yaml:29: name: 'dup' is used by an earlier schedule",
  };
  for (const auto& line : expected) {
    INFO(line);
    CHECK(message.find(line) != std::string::npos);
  }
  CHECK(std::count(message.begin(), message.end(), '\n') + 1 == static_cast<long>(expected.size()));
}

TEST_CASE("fields of the wrong type are problems, never exceptions", "[scheduler][file]") {
  // The inputs the fuzz target (tests/fuzz/fuzz_schedule_file.cpp) found: a job kind that is a
  // map, and a map used as a key, made the parser throw.
  const std::string text = R"(schedules:
  - name: a
    every: 1h
    job: {kind: {nested: map}, target: all}
  - name: b
    every: [1h]
    runbook: [x]
    params: [1, 2]
  - name: c
    every: 1h
    call: {service: [x]}
  - name: d
    every: 1h
    job: {{nested: map}: 1, kind: facts, target: all}
)";
  auto parsed = parse_schedule_file(text, "types.yaml");
  REQUIRE_FALSE(parsed);
  const auto& message = parsed.error().message;
  CHECK(message.find("types.yaml:4: job.kind: expected text (commands, get_config, facts or "
                     "push)") != std::string::npos);
  CHECK(message.find("types.yaml:6: every: expected text") != std::string::npos);
  CHECK(message.find("types.yaml:7: runbook: expected text") != std::string::npos);
  CHECK(message.find("types.yaml:11: call: expected {service: NAME, body: {...}}") !=
        std::string::npos);
  CHECK(message.find(":14:") == std::string::npos);  // d is well formed; its odd key is text
}

TEST_CASE("schedule files that are empty, not YAML, or shaped wrong", "[scheduler][file]") {
  auto empty = parse_schedule_file("", "empty.yaml");
  REQUIRE(empty);
  CHECK(empty->empty());
  auto broken = parse_schedule_file("schedules:\n  - name: [unclosed\n", "broken.yaml");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message.rfind("broken.yaml:", 0) == 0);
  auto wrong = parse_schedule_file("rules: []\n", "wrong.yaml");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message ==
        "wrong.yaml:1: expected 'schedules:' with a list of schedules (see "
        "modules/scheduler/schedule_file.h)");
}
