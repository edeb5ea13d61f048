#include "schedule_timing.h"

#include <date/tz.h>

#include <cstdio>
#include <exception>

#include "nauto/base/digest.h"
#include "nauto/sdk/config_reader.h"

namespace nauto::scheduler {

namespace {

Error field_error(const std::string& field, const std::string& what) {
  return fail(Errc::InvalidArgument, field + ": " + what, "schedule");
}

Result<std::int64_t> seconds_of(const std::string& field, const std::string& text,
                                std::int64_t min_s) {
  auto ms = parse_duration_ms(text);
  if (!ms || *ms < 0) {
    return field_error(field, "'" + text + "' is not a duration (30s, 15m, 1h, 2d)");
  }
  if (*ms / 1000 < min_s) {
    return field_error(field, "'" + text + "' is shorter than " + std::to_string(min_s) + "s");
  }
  return *ms / 1000;
}

// "2026-12-24T02:00:00Z", "...+01:00", or a local time in `zone` without an offset.
Result<Seconds> instant_of(const std::string& field, const std::string& text,
                           const date::time_zone* zone) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  const auto bad = [&] {
    return field_error(field, "'" + text +
                                  "' is not an ISO 8601 time such as 2026-12-24T02:00:00Z, "
                                  "2026-12-24T03:00+01:00 or 2026-12-24T03:00 (the schedule's "
                                  "time zone)");
  };
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &used) != 5) {
    return bad();
  }
  std::string_view rest = std::string_view(text).substr(static_cast<std::size_t>(used));
  if (rest.size() >= 3 && rest[0] == ':') {
    int seconds_used = 0;
    if (std::sscanf(rest.data(), ":%2d%n", &second, &seconds_used) != 1 || seconds_used != 3)
      return bad();
    rest.remove_prefix(3);
  }
  const date::year_month_day ymd{date::year{year} / month / day};
  if (!ymd.ok() || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
    return bad();
  const auto clock =
      std::chrono::hours{hour} + std::chrono::minutes{minute} + std::chrono::seconds{second};
  if (rest == "Z") return Seconds{date::sys_days{ymd}} + clock;
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int offset_hours = 0, offset_minutes = 0;
    if (std::sscanf(rest.data() + 1, "%2d:%2d", &offset_hours, &offset_minutes) != 2) return bad();
    const auto offset = std::chrono::hours{offset_hours} + std::chrono::minutes{offset_minutes};
    return Seconds{date::sys_days{ymd}} + clock - (rest[0] == '+' ? offset : -offset);
  }
  if (!rest.empty()) return bad();
  const date::local_seconds local{(date::local_days{ymd} + clock).time_since_epoch()};
  const auto info = zone->get_info(local);
  if (info.result == date::local_info::nonexistent) {
    return field_error(field, "'" + text + "' does not exist in " + std::string(zone->name()) +
                                  ": the clock skips it; give an offset or another time");
  }
  return Seconds{local.time_since_epoch()} - info.first.offset;  // an ambiguous time: the first
}

// "01:00" into minutes of the day.
std::optional<int> minute_of_day(std::string_view text) {
  int hour = 0, minute = 0, used = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%2d:%2d%n", &hour, &minute, &used) != 2 ||
      used != static_cast<int>(copy.size()) || hour > 23 || minute > 59 || hour < 0 || minute < 0)
    return std::nullopt;
  return hour * 60 + minute;
}

}  // namespace

Result<ScheduleTiming> ScheduleTiming::parse(const TimingSpec& spec) {
  ScheduleTiming timing;
  timing.spec_ = spec;
  if (timing.spec_.time_zone.empty()) timing.spec_.time_zone = "UTC";
  try {
    timing.zone_ = date::locate_zone(timing.spec_.time_zone);
  } catch (const std::exception&) {
    return field_error("time_zone", "unknown time zone '" + timing.spec_.time_zone +
                                        "': an IANA name from the system's tz database, such as "
                                        "UTC, Europe/Berlin or America/New_York");
  }
  const int kinds = !spec.cron.empty() + !spec.every.empty() + !spec.at.empty();
  if (kinds != 1) {
    return fail(Errc::InvalidArgument,
                "a schedule has exactly one of cron:, every: and at: (this one has " +
                    std::to_string(kinds) + ")",
                "schedule");
  }
  if (!spec.start.empty() && spec.every.empty()) {
    return field_error("start", "only an every: schedule has a start");
  }
  if (!spec.cron.empty()) {
    auto cron = CronExpression::parse(spec.cron, timing.spec_.time_zone);
    if (!cron) return std::move(cron).error();
    timing.cron_ = std::move(*cron);
  } else if (!spec.every.empty()) {
    auto every = seconds_of("every", spec.every, 1);
    if (!every) return std::move(every).error();
    timing.every_s_ = *every;
    if (!spec.start.empty()) {
      auto start = instant_of("start", spec.start, timing.zone_);
      if (!start) return std::move(start).error();
      timing.anchor_ = *start;
    }
  } else {
    auto at = instant_of("at", spec.at, timing.zone_);
    if (!at) return std::move(at).error();
    timing.at_ = *at;
  }
  if (!spec.jitter.empty()) {
    auto jitter = seconds_of("jitter", spec.jitter, 0);
    if (!jitter) return std::move(jitter).error();
    if (timing.every_s_ && *jitter >= timing.every_s_) {
      return field_error("jitter", "'" + spec.jitter + "' is not shorter than every: '" +
                                       spec.every + "', so firings could pass each other");
    }
    timing.jitter_s_ = *jitter;
  }
  if (!spec.between.empty()) {
    const auto dash = spec.between.find('-');
    const auto from = minute_of_day(std::string_view(spec.between).substr(0, dash));
    const auto to = dash == std::string::npos
                        ? std::nullopt
                        : minute_of_day(std::string_view(spec.between).substr(dash + 1));
    if (!from || !to || *from == *to) {
      return field_error("between", "'" + spec.between +
                                        "' is not a window such as \"01:00-05:00\" (local time; "
                                        "\"22:00-02:00\" wraps midnight; the ends differ)");
    }
    timing.window_from_ = *from;
    timing.window_to_ = *to;
  }
  return timing;
}

std::optional<Seconds> ScheduleTiming::next_after(Seconds after) const {
  if (cron_) return cron_->next_after(after);
  if (at_) return *at_ > after ? at_ : std::nullopt;
  if (after < anchor_) return anchor_;
  const auto every = std::chrono::seconds{every_s_};
  return anchor_ + ((after - anchor_) / every + 1) * every;
}

Seconds ScheduleTiming::start_of(Seconds nominal, std::string_view name) const {
  if (jitter_s_ == 0) return nominal;
  const auto digest =
      sha256_hex(std::string(name) + "@" + std::to_string(nominal.time_since_epoch().count()));
  const auto draw = std::stoull(digest.substr(0, 15), nullptr, 16);
  return nominal + std::chrono::seconds{static_cast<std::int64_t>(draw % jitter_s_)};
}

bool ScheduleTiming::in_window(Seconds nominal) const {
  if (window_from_ < 0) return true;
  const auto local = zone_->to_local(nominal);
  const auto minute = static_cast<int>(
      std::chrono::floor<std::chrono::minutes>(local - std::chrono::floor<date::days>(local))
          .count());
  if (window_from_ < window_to_) return minute >= window_from_ && minute < window_to_;
  return minute >= window_from_ || minute < window_to_;  // wraps midnight
}

}  // namespace nauto::scheduler
