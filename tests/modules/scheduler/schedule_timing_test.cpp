// ScheduleTiming: intervals, one-shots, jitter and windows (cron itself: cron_expression_test).
// Expected instants are worked out by hand; Europe/Berlin is UTC+1 in winter, and its clock
// skips 02:00-03:00 on 2026-03-29 and repeats 02:00-03:00 on 2026-10-25.

#include "schedule_timing.h"

#include <catch2/catch.hpp>
#include <set>

#include "utc_text.h"

using nauto::scheduler::ScheduleTiming;
using nauto::scheduler::Seconds;
using nauto::scheduler::TimingSpec;
using nauto::scheduler::test::utc;

namespace {

ScheduleTiming timing(const TimingSpec& spec) {
  auto parsed = ScheduleTiming::parse(spec);
  if (!parsed) FAIL(parsed.error().message);
  return std::move(*parsed);
}

std::string error_of(const TimingSpec& spec) {
  auto parsed = ScheduleTiming::parse(spec);
  REQUIRE_FALSE(parsed);
  return parsed.error().message;
}

}  // namespace

TEST_CASE("every: fixed intervals from the epoch or from a start", "[scheduler][timing]") {
  TimingSpec spec;
  spec.every = "15m";
  const auto quarter = timing(spec);
  CHECK(quarter.next_after(utc("2026-12-05T10:07:00Z")) == utc("2026-12-05T10:15:00Z"));
  CHECK(quarter.next_after(utc("2026-12-05T10:15:00Z")) == utc("2026-12-05T10:30:00Z"));

  spec.every = "7m";
  spec.start = "2026-12-05T10:00:00Z";
  const auto seven = timing(spec);
  CHECK(seven.next_after(utc("2026-12-05T09:00:00Z")) == utc("2026-12-05T10:00:00Z"));
  CHECK(seven.next_after(utc("2026-12-05T10:00:00Z")) == utc("2026-12-05T10:07:00Z"));
  CHECK(seven.next_after(utc("2026-12-05T10:20:00Z")) == utc("2026-12-05T10:21:00Z"));
}

TEST_CASE("at: one instant, with an offset or in the schedule's zone", "[scheduler][timing]") {
  TimingSpec spec;
  spec.at = "2026-12-24T02:00:00Z";
  const auto once = timing(spec);
  CHECK(once.next_after(utc("2026-12-05T00:00:00Z")) == utc("2026-12-24T02:00:00Z"));
  CHECK_FALSE(once.next_after(utc("2026-12-24T02:00:00Z")));

  spec.at = "2026-12-24T03:00+01:00";
  CHECK(timing(spec).next_after(utc("2026-12-05T00:00:00Z")) == utc("2026-12-24T02:00:00Z"));
  spec.at = "2026-12-23T21:00-05:00";
  CHECK(timing(spec).next_after(utc("2026-12-05T00:00:00Z")) == utc("2026-12-24T02:00:00Z"));
  spec.time_zone = "Europe/Berlin";
  spec.at = "2026-12-24T03:00";
  CHECK(timing(spec).next_after(utc("2026-12-05T00:00:00Z")) == utc("2026-12-24T02:00:00Z"));
  // Twice on October 25: the first.
  spec.at = "2026-10-25T02:30";
  CHECK(timing(spec).next_after(utc("2026-10-01T00:00:00Z")) == utc("2026-10-25T00:30:00Z"));
  // Never on March 29.
  spec.at = "2026-03-29T02:30";
  CHECK(error_of(spec) ==
        "at: '2026-03-29T02:30' does not exist in Europe/Berlin: the clock skips it; give an "
        "offset or another time");
}

TEST_CASE("jitter: the same delay for a schedule and firing, spread across schedules",
          "[scheduler][timing]") {
  const auto nightly = timing(TimingSpec{.cron = "0 2 * * *", .jitter = "5m"});
  const auto nominal = utc("2026-12-06T02:00:00Z");
  const auto start = nightly.start_of(nominal, "backup-dc1");
  CHECK(start == nightly.start_of(nominal, "backup-dc1"));  // a restart computes the same
  std::set<std::int64_t> delays;
  for (int i = 0; i < 1000; ++i) {
    const auto delay = (nightly.start_of(nominal, "backup-" + std::to_string(i)) - nominal).count();
    CHECK(delay >= 0);
    CHECK(delay < 300);
    delays.insert(delay);
  }
  // 1,000 draws from 300 seconds leave few unused (about 10 expected): not all at :00.
  CHECK(delays.size() > 250);
  // The next night draws again.
  std::set<std::int64_t> nights;
  for (int day = 0; day < 20; ++day) {
    const auto night = nominal + date::days{day};
    nights.insert((nightly.start_of(night, "backup-dc1") - night).count());
  }
  CHECK(nights.size() > 10);
  CHECK(timing(TimingSpec{.cron = "0 2 * * *"}).start_of(nominal, "backup-dc1") == nominal);
}

TEST_CASE("between: a daily window in local time, also across midnight", "[scheduler][timing]") {
  TimingSpec spec;
  spec.every = "30m";
  spec.time_zone = "Europe/Berlin";
  spec.between = "01:00-05:00";
  const auto night = timing(spec);
  CHECK(night.in_window(utc("2026-12-06T00:30:00Z")));        // 01:30 CET
  CHECK(night.in_window(utc("2026-12-06T03:59:00Z")));        // 04:59 CET
  CHECK_FALSE(night.in_window(utc("2026-12-06T04:00:00Z")));  // 05:00 CET: the end is out
  CHECK_FALSE(night.in_window(utc("2026-12-05T23:30:00Z")));  // 00:30 CET
  spec.between = "22:00-02:00";
  const auto late = timing(spec);
  CHECK(late.in_window(utc("2026-12-05T22:00:00Z")));        // 23:00 CET
  CHECK(late.in_window(utc("2026-12-06T00:30:00Z")));        // 01:30 CET
  CHECK_FALSE(late.in_window(utc("2026-12-06T02:00:00Z")));  // 03:00 CET
  spec.between.clear();
  CHECK(timing(spec).in_window(utc("2026-12-06T12:00:00Z")));
}

TEST_CASE("timing errors name the field", "[scheduler][timing]") {
  TimingSpec spec;
  CHECK(error_of(spec) == "a schedule has exactly one of cron:, every: and at: (this one has 0)");
  spec.cron = "@daily";
  spec.every = "1h";
  CHECK(error_of(spec) == "a schedule has exactly one of cron:, every: and at: (this one has 2)");
  spec.cron.clear();
  spec.every = "15x";
  CHECK(error_of(spec) == "every: '15x' is not a duration (30s, 15m, 1h, 2d)");
  spec.every = "0s";
  CHECK(error_of(spec) == "every: '0s' is shorter than 1s");
  spec.every = "10m";
  spec.jitter = "10m";
  CHECK(error_of(spec) ==
        "jitter: '10m' is not shorter than every: '10m', so firings could pass each other");
  spec.jitter.clear();
  spec.between = "05:00";
  CHECK(error_of(spec).find("between: '05:00' is not a window") == 0);
  spec.between = "25:00-05:00";
  CHECK(error_of(spec).find("between: '25:00-05:00' is not a window") == 0);
  spec.between.clear();
  spec.start = "tomorrow";
  CHECK(error_of(spec).find("start: 'tomorrow' is not an ISO 8601 time") == 0);
  spec.start.clear();
  spec.time_zone = "Europe/Atlantis";
  CHECK(error_of(spec).find("time_zone: unknown time zone 'Europe/Atlantis'") == 0);
  spec = TimingSpec{};
  spec.cron = "@daily";
  spec.start = "2026-12-05T00:00:00Z";
  CHECK(error_of(spec) == "start: only an every: schedule has a start");
  spec.start.clear();
  spec.cron = "61 * * * *";
  CHECK(error_of(spec) == "cron field 1 (minute): 61 is out of range 0-59");
}
