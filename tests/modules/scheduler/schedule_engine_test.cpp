// ScheduleEngine on a clock the test moves: on-time firings, the three missed policies after a
// stop across two firings, the three overlap policies, windows, pauses, replacing and removing
// schedules, and a clock set back or jumping forward.

#include "schedule_engine.h"

#include <catch2/catch.hpp>

#include "utc_text.h"

using namespace nauto::scheduler;
using nauto::scheduler::test::iso;
using nauto::scheduler::test::utc;

namespace {

ScheduleTiming timing_of(TimingSpec spec) {
  auto parsed = ScheduleTiming::parse(spec);
  if (!parsed) FAIL(parsed.error().message);
  return std::move(*parsed);
}

ScheduleTiming cron(const std::string& expression, const std::string& zone = "UTC") {
  TimingSpec spec;
  spec.cron = expression;
  spec.time_zone = zone;
  return timing_of(spec);
}

// "name@time/reason" for each firing, to compare whole decisions at once.
std::vector<std::string> fired(const Decisions& decisions) {
  std::vector<std::string> out;
  for (const auto& firing : decisions.fire) {
    const char* reason = firing.reason == Firing::Reason::OnTime    ? "on time"
                         : firing.reason == Firing::Reason::CatchUp ? "catch up"
                         : firing.reason == Firing::Reason::Queued  ? "queued"
                                                                    : "run now";
    out.push_back(firing.schedule + "@" + iso(firing.nominal) + "/" + reason);
  }
  return out;
}

std::string missed_text(const Decisions& decisions) {
  std::string out;
  for (const auto& missed : decisions.missed)
    out += missed.schedule + ": " + std::to_string(missed.count) + " from " + iso(missed.first) +
           " to " + iso(missed.last) + ";";
  return out;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("a schedule fires on time and wakes for its next firing", "[scheduler][engine]") {
  ScheduleEngine engine;
  engine.put("poll", cron("*/15 * * * *"), {}, std::nullopt, utc("2026-12-05T10:07:00Z"));
  CHECK(engine.next_wake() == utc("2026-12-05T10:15:00Z"));
  CHECK(engine.advance(utc("2026-12-05T10:14:59Z")).fire.empty());
  CHECK(fired(engine.advance(utc("2026-12-05T10:15:00Z"))) ==
        Names{"poll@2026-12-05T10:15:00Z/on time"});
  CHECK(engine.cursor("poll") == utc("2026-12-05T10:15:00Z"));
  CHECK(engine.next_wake() == utc("2026-12-05T10:30:00Z"));
  CHECK(engine.advance(utc("2026-12-05T10:16:00Z")).fire.empty());  // never twice
}

TEST_CASE("missed policies after nautod was stopped across two firings", "[scheduler][engine]") {
  // Hourly; the last firing dealt with was 10:00; nautod comes back at 12:30, so 11:00 and
  // 12:00 are both more than 5 minutes late.
  const auto stopped_at = utc("2026-12-05T10:00:00Z");
  const auto back = utc("2026-12-05T12:30:00Z");
  SchedulePolicy policy;
  ScheduleEngine engine;

  SECTION("skip: none runs, both are reported missed") {
    policy.missed = MissedPolicy::Skip;
    engine.put("backup", cron("0 * * * *"), policy, stopped_at, back);
    const auto decisions = engine.advance(back);
    CHECK(decisions.fire.empty());
    CHECK(missed_text(decisions) == "backup: 2 from 2026-12-05T11:00:00Z to 2026-12-05T12:00:00Z;");
  }
  SECTION("run_once: the newest runs, the other is reported missed") {
    engine.put("backup", cron("0 * * * *"), policy, stopped_at, back);
    const auto decisions = engine.advance(back);
    CHECK(fired(decisions) == Names{"backup@2026-12-05T12:00:00Z/catch up"});
    CHECK(missed_text(decisions) == "backup: 1 from 2026-12-05T11:00:00Z to 2026-12-05T11:00:00Z;");
  }
  SECTION("run_all: both run, oldest first") {
    policy.missed = MissedPolicy::RunAll;
    policy.overlap = OverlapPolicy::Allow;
    engine.put("backup", cron("0 * * * *"), policy, stopped_at, back);
    const auto decisions = engine.advance(back);
    CHECK(fired(decisions) ==
          Names{"backup@2026-12-05T11:00:00Z/catch up", "backup@2026-12-05T12:00:00Z/catch up"});
    CHECK(decisions.missed.empty());
  }
  SECTION("run_all with overlap skip: the catch-ups run one after another, oldest first") {
    policy.missed = MissedPolicy::RunAll;
    engine.put("backup", cron("0 * * * *"), policy, stopped_at, back);
    auto decisions = engine.advance(back);
    CHECK(fired(decisions) == Names{"backup@2026-12-05T11:00:00Z/catch up"});
    CHECK(decisions.skipped.empty());
    CHECK(decisions.missed.empty());
    engine.run_started("backup", "r1");
    CHECK(fired(engine.advance(back)).empty());  // r1 still going
    engine.run_finished("r1");
    CHECK(engine.next_wake() == Seconds{});  // the waiting catch-up is due at once
    decisions = engine.advance(back);
    CHECK(fired(decisions) == Names{"backup@2026-12-05T12:00:00Z/catch up"});
  }
  SECTION("run_all is bounded by max_catch_up") {
    policy.missed = MissedPolicy::RunAll;
    policy.max_catch_up = 1;
    engine.put("backup", cron("0 * * * *"), policy, utc("2026-12-05T08:00:00Z"), back);
    const auto decisions = engine.advance(back);
    CHECK(fired(decisions) == Names{"backup@2026-12-05T12:00:00Z/catch up"});
    CHECK(missed_text(decisions) == "backup: 3 from 2026-12-05T09:00:00Z to 2026-12-05T11:00:00Z;");
  }
  SECTION("a firing only minutes late is on time; run_once still runs just one") {
    const auto soon = utc("2026-12-05T12:02:00Z");
    engine.put("backup", cron("0 * * * *"), policy, stopped_at, soon);
    const auto decisions = engine.advance(soon);
    CHECK(fired(decisions) == Names{"backup@2026-12-05T12:00:00Z/on time"});
    CHECK(missed_text(decisions) == "backup: 1 from 2026-12-05T11:00:00Z to 2026-12-05T11:00:00Z;");
  }
  CHECK(engine.cursor("backup") == utc("2026-12-05T12:00:00Z"));
  CHECK(engine.next_wake() == utc("2026-12-05T13:00:00Z"));
}

TEST_CASE("overlap policies while the previous run is going", "[scheduler][engine]") {
  SchedulePolicy policy;
  ScheduleEngine engine;
  const auto t0 = utc("2026-12-05T10:00:00Z");

  SECTION("skip: the firing is skipped, with the run that holds it") {
    engine.put("slow", cron("*/15 * * * *"), policy, t0, t0);
    REQUIRE(engine.advance(utc("2026-12-05T10:15:00Z")).fire.size() == 1);
    engine.run_started("slow", "run-1");
    auto decisions = engine.advance(utc("2026-12-05T10:30:00Z"));
    CHECK(decisions.fire.empty());
    REQUIRE(decisions.skipped.size() == 1);
    CHECK(decisions.skipped[0].reason == "the previous run (run-1) is still going (overlap: skip)");
    engine.run_finished("run-1");
    CHECK(fired(engine.advance(utc("2026-12-05T10:45:00Z"))) ==
          Names{"slow@2026-12-05T10:45:00Z/on time"});
  }
  SECTION("skip: a run still starting holds it too, until its start fails") {
    engine.put("slow", cron("*/15 * * * *"), policy, t0, t0);
    REQUIRE(engine.advance(utc("2026-12-05T10:15:00Z")).fire.size() == 1);
    auto decisions = engine.advance(utc("2026-12-05T10:30:00Z"));
    REQUIRE(decisions.skipped.size() == 1);
    CHECK(decisions.skipped[0].reason ==
          "the previous run (starting) is still going (overlap: skip)");
    engine.start_failed("slow");
    CHECK(engine.advance(utc("2026-12-05T10:45:00Z")).fire.size() == 1);
  }
  SECTION("queue: the firing waits and starts when the run ends; the queue is bounded") {
    policy.overlap = OverlapPolicy::Queue;
    policy.max_queued = 1;
    engine.put("slow", cron("*/15 * * * *"), policy, t0, t0);
    REQUIRE(engine.advance(utc("2026-12-05T10:15:00Z")).fire.size() == 1);
    engine.run_started("slow", "run-1");
    auto decisions = engine.advance(utc("2026-12-05T10:30:00Z"));
    CHECK(decisions.fire.empty());
    CHECK(decisions.skipped.empty());
    decisions = engine.advance(utc("2026-12-05T10:45:00Z"));
    REQUIRE(decisions.skipped.size() == 1);
    CHECK(decisions.skipped[0].reason ==
          "1 firings already wait for the previous run to end (overlap: queue holds at most 1)");
    engine.run_finished("run-1");
    CHECK(engine.next_wake() <= utc("2026-12-05T10:46:00Z"));  // at once
    CHECK(fired(engine.advance(utc("2026-12-05T10:46:00Z"))) ==
          Names{"slow@2026-12-05T10:30:00Z/queued"});
  }
  SECTION("run now starts at once when idle, and follows the overlap policy when not") {
    engine.put("slow", cron("*/15 * * * *"), policy, t0, t0);
    CHECK(fired(engine.run_now("slow", utc("2026-12-05T10:03:00Z"))) ==
          Names{"slow@2026-12-05T10:03:00Z/run now"});
    CHECK(engine.running("slow") == 1);
    engine.run_started("slow", "run-1");
    const auto decisions = engine.run_now("slow", utc("2026-12-05T10:04:00Z"));
    CHECK(decisions.fire.empty());
    CHECK(decisions.skipped.size() == 1);
    CHECK(engine.run_now("nope", t0).fire.empty());
    CHECK(engine.next_start("slow") == utc("2026-12-05T10:15:00Z"));
  }
  SECTION("allow: every firing starts") {
    policy.overlap = OverlapPolicy::Allow;
    engine.put("slow", cron("*/15 * * * *"), policy, t0, t0);
    REQUIRE(engine.advance(utc("2026-12-05T10:15:00Z")).fire.size() == 1);
    engine.run_started("slow", "run-1");
    CHECK(engine.advance(utc("2026-12-05T10:30:00Z")).fire.size() == 1);
  }
}

TEST_CASE("a window skips firings outside it, with the reason", "[scheduler][engine]") {
  TimingSpec spec;
  spec.every = "1h";
  spec.time_zone = "Europe/Berlin";
  spec.between = "01:00-03:00";
  SchedulePolicy policy;
  policy.overlap = OverlapPolicy::Allow;
  ScheduleEngine engine;
  const auto start = utc("2026-12-05T22:30:00Z");  // 23:30 CET
  engine.put("night", timing_of(spec), policy, std::nullopt, start);
  Names runs;
  std::vector<std::string> skips;
  for (auto now = start; now <= utc("2026-12-06T04:00:00Z"); now += std::chrono::minutes{1}) {
    const auto decisions = engine.advance(now);
    for (const auto& run : fired(decisions))
      runs.push_back(run);
    for (const auto& skip : decisions.skipped)
      skips.push_back(iso(skip.nominal) + " " + skip.reason);
  }
  // 01:00 and 02:00 CET run; 00:00, 03:00, 04:00 and 05:00 CET are skipped.
  CHECK(runs == Names{"night@2026-12-06T00:00:00Z/on time", "night@2026-12-06T01:00:00Z/on time"});
  CHECK(skips == std::vector<std::string>{"2026-12-05T23:00:00Z outside the window 01:00-03:00",
                                          "2026-12-06T02:00:00Z outside the window 01:00-03:00",
                                          "2026-12-06T03:00:00Z outside the window 01:00-03:00",
                                          "2026-12-06T04:00:00Z outside the window 01:00-03:00"});
}

TEST_CASE("the clock set back never fires twice; a jump forward still runs",
          "[scheduler][engine]") {
  ScheduleEngine engine;
  engine.put("poll", cron("*/15 * * * *"), {}, std::nullopt, utc("2026-12-05T10:00:00Z"));
  REQUIRE(engine.advance(utc("2026-12-05T10:15:00Z")).fire.size() == 1);
  engine.run_started("poll", "run-1");
  engine.run_finished("run-1");
  // Back by an hour (NTP stepping a clock): nothing fires again; it waits for 10:30.
  for (auto now = utc("2026-12-05T09:15:00Z"); now < utc("2026-12-05T10:30:00Z");
       now += std::chrono::minutes{5})
    CHECK(engine.advance(now).fire.empty());
  CHECK(fired(engine.advance(utc("2026-12-05T10:30:00Z"))) ==
        Names{"poll@2026-12-05T10:30:00Z/on time"});
  engine.run_started("poll", "run-2");
  engine.run_finished("run-2");
  // Forward to 11:19: 10:45 and 11:00 are over 5 minutes late, 11:15 is on time. run_once makes
  // one run for the three, the newest; the two late ones are reported missed, not dropped.
  const auto decisions = engine.advance(utc("2026-12-05T11:19:00Z"));
  CHECK(fired(decisions) == Names{"poll@2026-12-05T11:15:00Z/on time"});
  CHECK(missed_text(decisions) == "poll: 2 from 2026-12-05T10:45:00Z to 2026-12-05T11:00:00Z;");
  // One firing jumped over, with nothing on time after it: it runs, late.
  ScheduleEngine hourly;
  hourly.put("backup", cron("0 * * * *"), {}, utc("2026-12-05T10:00:00Z"),
             utc("2026-12-05T10:00:00Z"));
  CHECK(fired(hourly.advance(utc("2026-12-05T11:40:00Z"))) ==
        Names{"backup@2026-12-05T11:00:00Z/catch up"});
}

TEST_CASE("pause resume replace and remove", "[scheduler][engine]") {
  ScheduleEngine engine;
  engine.put("poll", cron("*/15 * * * *"), {}, std::nullopt, utc("2026-12-05T10:07:00Z"));
  engine.pause("poll");
  CHECK(engine.paused("poll"));
  CHECK_FALSE(engine.next_wake());
  CHECK(engine.advance(utc("2026-12-05T11:00:00Z")).fire.empty());
  // What fell into the pause is not owed.
  engine.resume("poll", utc("2026-12-05T11:05:00Z"));
  CHECK(engine.next_wake() == utc("2026-12-05T11:15:00Z"));
  const auto decisions = engine.advance(utc("2026-12-05T11:15:00Z"));
  CHECK(fired(decisions) == Names{"poll@2026-12-05T11:15:00Z/on time"});
  CHECK(decisions.missed.empty());
  engine.start_failed("poll");
  // Replaced with another timing: the cursor stays.
  engine.put("poll", cron("*/10 * * * *"), {}, std::nullopt, utc("2026-12-05T11:16:00Z"));
  CHECK(engine.cursor("poll") == utc("2026-12-05T11:15:00Z"));
  CHECK(engine.next_wake() == utc("2026-12-05T11:20:00Z"));
  engine.remove("poll");
  CHECK_FALSE(engine.contains("poll"));
  CHECK_FALSE(engine.next_wake());
}
