#pragma once
// CronExpression: when a cron schedule fires, in its own time zone.
//
// Syntax is Vixie cron's, as crontab(5) and every network engineer's servers read it: five
// fields, minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec) and day of
// week (0-7 or sun-sat, 0 and 7 both Sunday), each `*`, a value, a range `a-b`, a step `*/n`,
// `a-b/n` or `a/n` (from a to the field's end), or a comma list of those; or one of the macros
// @yearly @annually @monthly @weekly @daily @midnight @hourly. As in Vixie cron, when both day
// fields are restricted (neither starts with `*`) a day matches if either does.
//
// Time zones are IANA names read from the system's tz database (Debian's tzdata, through the
// date library), and daylight saving is handled as cronie does it:
// - a firing whose local time does not exist (the hour skipped in spring) fires when the gap
//   ends, once however many firings fell into it;
// - a firing whose local time happens twice (the hour repeated in autumn) fires once, the first
//   time, unless the hour field is `*`: then it fires in both passes, so `*/15 * * * *` keeps
//   firing every 15 minutes of real time.
//
// Immutable once parsed; every method may be called from any thread.

#include <date/date.h>

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace date {
class time_zone;
}

namespace nauto::scheduler {

using Seconds = std::chrono::sys_seconds;  // an instant, UTC

class CronExpression {
 public:
  /// Parses `text` for the zone named `time_zone` ("UTC", "Europe/Berlin", ...). Errors name the
  /// field and what it accepts: "cron field 2 (hour): 24 is out of range 0-23".
  static Result<CronExpression> parse(std::string_view text, std::string_view time_zone = "UTC");

  /// The first firing strictly after `after`; nullopt for an expression that never fires (the
  /// 30th of February) within the next 8 years.
  std::optional<Seconds> next_after(Seconds after) const;

  const std::string& text() const { return text_; }
  const std::string& time_zone() const { return zone_name_; }

 private:
  using LocalMinutes = date::local_time<std::chrono::minutes>;

  bool day_matches(LocalMinutes day) const;
  /// The first local minute at or after `from` that the five fields match; nullopt past `limit`.
  std::optional<LocalMinutes> next_local_match(LocalMinutes from, LocalMinutes limit) const;
  /// A wildcard-hour expression's firing in the repeated hour after a clock goes back, which
  /// walking local time forward from before the change would pass over.
  std::optional<Seconds> in_repeated_hour(Seconds after) const;

  std::string text_;
  std::string zone_name_;
  const date::time_zone* zone_ = nullptr;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1-31
  std::bitset<13> months_;    // 1-12
  std::bitset<7> weekdays_;   // 0 = Sunday
  bool any_hour_ = false;     // the hour field starts with `*`
  bool any_day_ = false;      // the day-of-month field starts with `*`
  bool any_weekday_ = false;  // the day-of-week field starts with `*`
};

}  // namespace nauto::scheduler
