// PollSchedule: each target keeps the cadence of its interval from a phase of its own; a late
// wake-up skips the slots it missed and says how many (the overruns the module reports).
#include "poll_schedule.h"

#include <catch2/catch.hpp>

using namespace nauto::telemetry;

TEST_CASE("targets are spread over the interval, each on its own cadence",
          "[telemetry][schedule]") {
  PollSchedule s;
  const std::int64_t minute = 60'000'000;
  const std::int64_t t0 = 1000 * minute;
  for (int i = 0; i < 600; ++i)
    s.set("r" + std::to_string(i), minute, t0);
  CHECK(s.size() == 600);
  // Over the first minute every target comes due once, spread: no second holds a tenth of them.
  std::map<std::int64_t, int> per_second;
  std::size_t due = 0;
  for (std::int64_t now = t0; now <= t0 + minute; now += 1'000'000) {
    const auto names = s.take_due(now);
    due += names.size();
    per_second[now] = static_cast<int>(names.size());
  }
  CHECK(due == 600);
  for (const auto& [second, count] : per_second)
    CHECK(count < 60);
  // Each next slot is a whole interval later.
  const auto next = s.next_due_us();
  CHECK(next > t0 + minute);
  CHECK(next <= t0 + 2 * minute);
}

TEST_CASE("a late wake-up polls once and counts the slots it skipped", "[telemetry][schedule]") {
  PollSchedule s;
  const std::int64_t second = 1'000'000;
  s.set("r1", 10 * second, 0);
  const auto first = s.next_due_us();
  REQUIRE(first > 0);
  REQUIRE(first <= 10 * second);
  CHECK(s.take_due(first - 1).empty());
  std::map<std::string, int> missed;
  // 35 s late: one poll now, three slots skipped, and the next slot after now.
  const auto due = s.take_due(first + 35 * second, &missed);
  REQUIRE(due.size() == 1);
  CHECK(missed["r1"] == 3);
  CHECK(s.next_due_us() == first + 40 * second);
  // A new interval starts a new cadence; retain drops what no group selects.
  s.set("r1", 20 * second, first + 36 * second);
  CHECK(s.next_due_us() > first + 36 * second);
  s.retain({});
  CHECK(s.size() == 0);
  CHECK(s.next_due_us() == 0);
}
