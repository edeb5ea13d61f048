// What the scheduler keeps in the store: state and added schedules round-trip, damaged entries
// are read without throwing, and an added definition is checked by the file format's rules.

#include "schedule_records.h"

#include <catch2/catch.hpp>

using namespace nauto::scheduler;
using nlohmann::json;

TEST_CASE("a schedule's state round-trips through its stored form", "[scheduler][records]") {
  ScheduleState state;
  state.cursor = Seconds{std::chrono::seconds{1'790'000'000}};
  state.paused = true;
  LastFiring last;
  last.nominal = "2026-12-05T02:00:00Z";
  last.reason = "catch_up";
  last.service = "job.run";
  last.id = "j1";
  last.chain = "c1";
  last.started_at = "2026-12-05T02:03:00Z";
  last.devices = 0;
  last.outcome = "done";
  last.ended_at = "2026-12-05T02:03:01Z";
  state.last = last;

  const auto read = schedule_state_from_json(to_json(state));
  CHECK(read.cursor == state.cursor);
  CHECK(read.paused);
  REQUIRE(read.last);
  CHECK(read.last->reason == "catch_up");
  CHECK(read.last->id == "j1");
  CHECK(read.last->chain == "c1");
  REQUIRE(read.last->devices);
  CHECK(*read.last->devices == 0);
  CHECK(read.last->outcome == "done");
  CHECK(read.last->ended_at == "2026-12-05T02:03:01Z");
}

TEST_CASE("a damaged state entry loses its bad fields, never throws", "[scheduler][records]") {
  CHECK_FALSE(schedule_state_from_json(json("text")).cursor);
  const auto read = schedule_state_from_json(
      json{{"cursor_s", "soon"}, {"paused", 1}, {"last", {{"id", 7}, {"devices", "x"}}}});
  CHECK_FALSE(read.cursor);
  CHECK_FALSE(read.paused);
  REQUIRE(read.last);
  CHECK(read.last->id.empty());
  CHECK_FALSE(read.last->devices);
  CHECK_FALSE(schedule_state_from_json(json{{"last", "x"}}).last);
}

TEST_CASE("an added schedule round-trips; one without a definition map is left out",
          "[scheduler][records]") {
  AddedSchedule added{json{{"name", "n"}, {"every", "1h"}, {"runbook", "r"}}, "alice",
                      "2026-12-05T08:00:00Z"};
  const auto read = added_schedule_from_json(to_json(added));
  REQUIRE(read);
  CHECK(read->definition == added.definition);
  CHECK(read->added_by == "alice");
  CHECK_FALSE(added_schedule_from_json(json{{"definition", "x"}}));
  CHECK_FALSE(added_schedule_from_json(json::array()));
}

TEST_CASE("an added definition is read by the file format's rules", "[scheduler][records]") {
  const auto good = parse_added_definition(
      json{{"name", "nightly"},
           {"cron", "0 2 * * *"},
           {"time_zone", "America/New_York"},
           {"max_catch_up", 3},
           {"paused", true},
           {"runbook", "config_backup"},
           {"params", {{"target", "site=dc1"}, {"max", 5}, {"quote", "it's \"here\": #1"}}}},
      "added by alice");
  REQUIRE(good);
  CHECK(good->name == "nightly");
  CHECK(good->origin == "added by alice");
  CHECK(good->timing.time_zone == "America/New_York");
  CHECK(good->policy.max_catch_up == 3);
  CHECK(good->paused);
  CHECK(good->action.service == "run.start");
  CHECK(good->action.body["params"]["quote"] == "it's \"here\": #1");

  // Every problem, each naming its field, without a file and line that do not exist.
  const auto bad = parse_added_definition(
      json{{"name", "x"}, {"cron", "61 * * * *"}, {"missed", "never"}, {"job", "x"}},
      "added by bob");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == nauto::Errc::InvalidArgument);
  CHECK(bad.error().message ==
        "cron field 1 (minute): 61 is out of range 0-59\n"
        "missed: 'never' is not skip, run_once or run_all\n"
        "job: expected a map such as {kind: facts, target: \"role=core\"}");
  const auto zone = parse_added_definition(
      json{{"name", "x"}, {"cron", "@daily"}, {"time_zone", "Mars/Base"}, {"runbook", "r"}}, "bob");
  REQUIRE_FALSE(zone);
  CHECK(zone.error().message.find("Mars/Base") != std::string::npos);

  CHECK_FALSE(parse_added_definition(json::array(), "added by bob"));
  CHECK_FALSE(parse_added_definition(json{{"every", "1h"}, {"runbook", "r"}}, "added by bob"));
}
