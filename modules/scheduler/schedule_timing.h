#pragma once
// ScheduleTiming: when one schedule fires. Exactly one of
//   cron:  a cron expression (cron_expression.h), in the schedule's time zone;
//   every: a fixed interval ("15m"), counted from `start` (an instant) or else from the Unix
//          epoch, so `every: 15m` fires at :00, :15, :30 and :45 of every hour, UTC;
//   at:    one instant;
// and, optionally,
//   jitter:  a delay in [0, jitter) added to each firing, the same for a given schedule and
//            firing every time it is computed (a hash of both), so a restart does not move it
//            and 10,000 schedules made alike do not all start on the same second;
//   between: a daily window "01:00-05:00" in the schedule's time zone (it may wrap midnight,
//            "22:00-02:00"): a firing outside it is skipped (the module logs the skip).
// Instants are ISO 8601: "2026-12-24T02:00:00Z", "2026-12-24T03:00:00+01:00", or without an
// offset, "2026-12-24T03:00", a local time in the schedule's zone.
//
// Immutable once parsed; every method may be called from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cron_expression.h"

namespace nauto::scheduler {

/// A schedule's timing as written (in a schedule file or by `nauto schedule add`); empty
/// strings are absent fields.
struct TimingSpec {
  std::string cron{};
  std::string every{};
  std::string start{};
  std::string at{};
  std::string jitter{};
  std::string between{};
  std::string time_zone = "UTC";
};

class ScheduleTiming {
 public:
  /// Errors name the field: "every: '15x' is not a duration (30s, 15m, 1h, 2d)".
  static Result<ScheduleTiming> parse(const TimingSpec& spec);

  /// The next nominal firing strictly after `after` (before jitter and window); nullopt when
  /// there is none (a one-shot that has passed, a cron that never fires).
  std::optional<Seconds> next_after(Seconds after) const;
  /// When the nominal firing `nominal` of the schedule `name` starts: `nominal` plus its jitter.
  Seconds start_of(Seconds nominal, std::string_view name) const;
  /// Whether `nominal` falls inside the window (always, without one).
  bool in_window(Seconds nominal) const;

  const std::string& time_zone() const { return spec_.time_zone; }
  const std::string& window() const { return spec_.between; }

 private:
  TimingSpec spec_;
  std::optional<CronExpression> cron_;
  std::int64_t every_s_ = 0;
  Seconds anchor_{};           // every: the first firing's instant, or the epoch
  std::optional<Seconds> at_;  // at:
  std::int64_t jitter_s_ = 0;
  int window_from_ = -1, window_to_ = -1;  // minutes of the local day; -1 without a window
  const date::time_zone* zone_ = nullptr;
};

}  // namespace nauto::scheduler
