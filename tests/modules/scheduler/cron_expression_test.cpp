// CronExpression: syntax, Vixie cron's day rule, and firings across daylight-saving changes in
// Europe/Berlin and America/New_York. Every expected instant below was worked out by hand from
// the calendar and the zones' 2026 rules (no cron library computed them):
//   Europe/Berlin: CET = UTC+1, CEST = UTC+2; summer time 2026-03-29T01:00Z to 2026-10-25T01:00Z
//   America/New_York: EST = UTC-5, EDT = UTC-4; summer time 2026-03-08T07:00Z to 2026-11-01T06:00Z
//   2026-12-05 is a Saturday; 2028-02-29 is the next February 29th.

#include "cron_expression.h"

#include <date/date.h>

#include <catch2/catch.hpp>

#include "utc_text.h"

using nauto::scheduler::CronExpression;
using nauto::scheduler::Seconds;
using nauto::scheduler::test::iso;
using nauto::scheduler::test::utc;

namespace {

// The next firing of `expression` in `zone` after `after`, as ISO UTC text ("never" if none).
std::string next(const std::string& expression, const std::string& zone, const std::string& after) {
  auto cron = CronExpression::parse(expression, zone);
  REQUIRE(cron);
  auto when = cron->next_after(utc(after));
  return when ? iso(*when) : "never";
}

struct Firing {
  const char* expression;
  const char* zone;
  const char* after;
  const char* expected;
};

template <std::size_t N>
void check_firings(const Firing (&firings)[N]) {
  for (const auto& firing : firings) {
    INFO(firing.expression << " in " << firing.zone << " after " << firing.after);
    CHECK(next(firing.expression, firing.zone, firing.after) == firing.expected);
  }
}

std::string error_of(const std::string& expression, const std::string& zone = "UTC") {
  auto cron = CronExpression::parse(expression, zone);
  REQUIRE_FALSE(cron);
  return cron.error().message;
}

}  // namespace

TEST_CASE("cron fields: values ranges steps lists names and macros", "[scheduler][cron]") {
  const Firing firings[] = {
      {"*/15 * * * *", "UTC", "2026-12-05T10:07:00Z", "2026-12-05T10:15:00Z"},
      {"*/15 * * * *", "UTC", "2026-12-05T10:15:00Z", "2026-12-05T10:30:00Z"},
      {"0 0 * * *", "UTC", "2026-12-05T10:07:30Z", "2026-12-06T00:00:00Z"},
      {"@hourly", "UTC", "2026-12-05T23:59:59Z", "2026-12-06T00:00:00Z"},
      {"@weekly", "UTC", "2026-12-05T12:00:00Z", "2026-12-06T00:00:00Z"},
      {"@monthly", "UTC", "2026-12-05T12:00:00Z", "2027-01-01T00:00:00Z"},
      {"@yearly", "UTC", "2026-12-05T12:00:00Z", "2027-01-01T00:00:00Z"},
      {"@DAILY", "UTC", "2026-12-05T12:00:00Z", "2026-12-06T00:00:00Z"},
      {"30 4 1,15 * *", "UTC", "2026-12-05T00:00:00Z", "2026-12-15T04:30:00Z"},
      {"0 9 * * mon-fri", "UTC", "2026-12-05T10:00:00Z", "2026-12-07T09:00:00Z"},
      {"0 9 * * 1-5", "UTC", "2026-12-07T09:00:00Z", "2026-12-08T09:00:00Z"},
      {"5-10/2 8 * * *", "UTC", "2026-12-05T08:06:00Z", "2026-12-05T08:07:00Z"},
      {"5/20 * * * *", "UTC", "2026-12-05T10:26:00Z", "2026-12-05T10:45:00Z"},
      {"0 0 1 jan,JUL *", "UTC", "2026-12-05T00:00:00Z", "2027-01-01T00:00:00Z"},
      {"0 0 1 jan,JUL *", "UTC", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"},
      {"0 0 * * 7", "UTC", "2026-12-05T01:00:00Z", "2026-12-06T00:00:00Z"},
      {"59 23 31 12 *", "UTC", "2026-12-05T00:00:00Z", "2026-12-31T23:59:00Z"},
      {"0 0 29 2 *", "UTC", "2026-12-05T00:00:00Z", "2028-02-29T00:00:00Z"},
      {"0 0 30 2 *", "UTC", "2026-12-05T00:00:00Z", "never"},
  };
  check_firings(firings);
}

TEST_CASE("cron days: both day fields restricted means either matches", "[scheduler][cron]") {
  const Firing firings[] = {
      // The 13th (a Sunday) or any Friday: Friday the 11th comes first.
      {"0 12 13 * 5", "UTC", "2026-12-05T00:00:00Z", "2026-12-11T12:00:00Z"},
      // Day of week `*`: the 13th only.
      {"0 12 13 * *", "UTC", "2026-12-05T00:00:00Z", "2026-12-13T12:00:00Z"},
      // A day of month starting with `*` counts as unrestricted: odd days that are Fridays.
      {"0 12 */2 * 5", "UTC", "2026-12-12T00:00:00Z", "2026-12-25T12:00:00Z"},
  };
  check_firings(firings);
}

TEST_CASE("cron in Europe/Berlin across both daylight-saving changes", "[scheduler][cron]") {
  const Firing firings[] = {
      // Spring: 02:30 does not exist on March 29; it fires when the gap ends (03:00 CEST), once.
      {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
      // Hourly: 01:00 CET, then the skipped 02:00 at the gap's end, then 04:00 CEST.
      {"0 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z"},
      {"0 * * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"},
      // Autumn: 02:30 happens twice on October 25; a fixed hour fires at the first, once.
      {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
      {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
      {"0 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:00:00Z"},
      {"0 3 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T02:00:00Z"},
      // A wildcard hour fires in both passes: every 30 minutes of real time throughout.
      {"*/30 * * * *", "Europe/Berlin", "2026-10-25T00:45:00Z", "2026-10-25T01:00:00Z"},
      {"*/30 * * * *", "Europe/Berlin", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z"},
      {"*/30 * * * *", "Europe/Berlin", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"},
  };
  check_firings(firings);
}

TEST_CASE("cron in America/New_York across both daylight-saving changes", "[scheduler][cron]") {
  const Firing firings[] = {
      {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"},
      {"0 9 * * 1-5", "America/New_York", "2026-03-06T15:00:00Z", "2026-03-09T13:00:00Z"},
      // Hourly through the repeated 01:00: 01:00 EDT, 01:00 EST, 02:00 EST.
      {"0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", "2026-11-01T05:00:00Z"},
      {"0 * * * *", "America/New_York", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z"},
      {"0 * * * *", "America/New_York", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"},
      {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"},
      {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
      {"0 0 1 * *", "America/New_York", "2026-12-05T00:00:00Z", "2027-01-01T05:00:00Z"},
  };
  check_firings(firings);
}

TEST_CASE("cron errors name the field and what it accepts", "[scheduler][cron]") {
  CHECK(error_of("60 * * * *") == "cron field 1 (minute): 60 is out of range 0-59");
  CHECK(error_of("* 24 * * *") == "cron field 2 (hour): 24 is out of range 0-23");
  CHECK(error_of("* * 0 * *") == "cron field 3 (day-of-month): 0 is out of range 1-31");
  CHECK(error_of("* * * foo *") == "cron field 4 (month): 'foo' is not a value (1-12 or jan-dec)");
  CHECK(error_of("* * * * 8") == "cron field 5 (day-of-week): 8 is out of range 0-7");
  CHECK(error_of("5-2 * * * *") ==
        "cron field 1 (minute): the range '5-2' runs backwards; ranges go from low to high");
  CHECK(error_of("*/0 * * * *") ==
        "cron field 1 (minute): the step in '*/0' must be a whole number of at least 1");
  CHECK(error_of("1,,2 * * * *") == "cron field 1 (minute): an empty item in '1,,2'");
  CHECK(error_of("0 0 ? * *") ==
        "cron field 3 (day-of-month): '?' is Quartz syntax, not cron's; "
        "write '*'");
  CHECK(error_of("* * *").find("has 3") != std::string::npos);
  CHECK(error_of("@reboot").find("unknown cron macro '@reboot'") == 0);
  CHECK(error_of("0 0 * * *", "Mars/Olympus_Mons").find("unknown time zone 'Mars/Olympus_Mons'") ==
        0);
}
