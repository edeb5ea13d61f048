#include "cron_expression.h"

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace nauto::scheduler {

namespace {

using namespace std::chrono_literals;

struct Field {
  const char* name;
  int low;
  int high;
  std::array<const char*, 12> names;  // for months (jan = low) and weekdays (sun = low)
  int name_count;
};

constexpr Field kFields[5] = {
    {"minute", 0, 59, {}, 0},
    {"hour", 0, 23, {}, 0},
    {"day-of-month", 1, 31, {}, 0},
    {"month",
     1,
     12,
     {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
     12},
    // 7 is Sunday too, as in every cron; folded into 0 after parsing.
    {"day-of-week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}, 7},
};

struct Macro {
  const char* name;
  const char* expansion;
};

constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error field_error(std::size_t index, const std::string& what) {
  const Field& field = kFields[index];
  return fail(Errc::InvalidArgument,
              "cron field " + std::to_string(index + 1) + " (" + field.name + "): " + what,
              "schedule");
}

// One value of a field: a number or (months, weekdays) a three-letter name.
Result<int> value_of(std::size_t index, std::string_view text) {
  const Field& field = kFields[index];
  int value = 0;
  const auto* end = text.data() + text.size();
  if (auto [ptr, ec] = std::from_chars(text.data(), end, value); ec == std::errc{} && ptr == end) {
    if (value < field.low || value > field.high) {
      return field_error(index, std::to_string(value) + " is out of range " +
                                    std::to_string(field.low) + "-" + std::to_string(field.high));
    }
    return value;
  }
  const auto name = lower(text);
  for (int i = 0; i < field.name_count; ++i)
    if (name == field.names[i]) return field.low + i;
  std::string accepted = std::to_string(field.low) + "-" + std::to_string(field.high);
  if (field.name_count) {
    accepted += " or " + std::string(field.names[0]) + "-" + field.names[field.name_count - 1];
  }
  return field_error(index, "'" + std::string(text) + "' is not a value (" + accepted + ")");
}

// A field's text into the set of values it allows.
template <std::size_t N>
Result<std::bitset<N>> parse_field(std::size_t index, std::string_view text) {
  const Field& field = kFields[index];
  std::bitset<N> allowed;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const auto item = text.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) return field_error(index, "an empty item in '" + std::string(text) + "'");
    auto range = item;
    int step = 1;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const auto step_text = item.substr(slash + 1);
      const auto* end = step_text.data() + step_text.size();
      if (auto [ptr, ec] = std::from_chars(step_text.data(), end, step);
          ec != std::errc{} || ptr != end || step < 1) {
        return field_error(
            index, "the step in '" + std::string(item) + "' must be a whole number of at least 1");
      }
    }
    int from = field.low, to = field.high;
    if (range == "?") {
      return field_error(index, "'?' is Quartz syntax, not cron's; write '*'");
    } else if (range != "*") {
      const auto dash = range.find('-');
      auto first = value_of(index, range.substr(0, dash));
      if (!first) return std::move(first).error();
      from = *first;
      if (dash != std::string_view::npos) {
        auto last = value_of(index, range.substr(dash + 1));
        if (!last) return std::move(last).error();
        to = *last;
        if (to < from) {
          return field_error(index, "the range '" + std::string(range) +
                                        "' runs backwards; ranges go from low to high");
        }
      } else if (item.find('/') == std::string_view::npos) {
        to = from;  // a single value; `a/n` runs from a to the field's end
      }
    }
    for (int value = from; value <= to; value += step)
      allowed.set(static_cast<std::size_t>(value));
    if (comma == text.size()) break;
  }
  return allowed;
}

}  // namespace

Result<CronExpression> CronExpression::parse(std::string_view text, std::string_view time_zone) {
  CronExpression cron;
  cron.text_ = std::string(text);
  std::string expanded(text);
  if (!text.empty() && text.front() == '@') {
    const auto name = lower(text);
    bool known = false;
    for (const auto& macro : kMacros) {
      if (name == macro.name) {
        expanded = macro.expansion;
        known = true;
      }
    }
    if (!known) {
      return fail(Errc::InvalidArgument,
                  "unknown cron macro '" + std::string(text) +
                      "' (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
                      "@hourly)",
                  "schedule");
    }
  }
  std::vector<std::string_view> fields;
  const std::string_view whole(expanded);
  for (std::size_t at = 0; at < whole.size();) {
    if (std::isspace(static_cast<unsigned char>(whole[at]))) {
      ++at;
      continue;
    }
    auto end = at;
    while (end < whole.size() && !std::isspace(static_cast<unsigned char>(whole[end])))
      ++end;
    fields.push_back(whole.substr(at, end - at));
    at = end;
  }
  if (fields.size() != 5) {
    return fail(Errc::InvalidArgument,
                "a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                "or is a macro such as @daily; '" +
                    std::string(text) + "' has " + std::to_string(fields.size()),
                "schedule");
  }
  auto minutes = parse_field<60>(0, fields[0]);
  if (!minutes) return std::move(minutes).error();
  auto hours = parse_field<24>(1, fields[1]);
  if (!hours) return std::move(hours).error();
  auto days = parse_field<32>(2, fields[2]);
  if (!days) return std::move(days).error();
  auto months = parse_field<13>(3, fields[3]);
  if (!months) return std::move(months).error();
  auto weekdays = parse_field<8>(4, fields[4]);
  if (!weekdays) return std::move(weekdays).error();
  cron.minutes_ = *minutes;
  cron.hours_ = *hours;
  cron.days_ = *days;
  cron.months_ = *months;
  for (std::size_t day = 0; day < 7; ++day)
    cron.weekdays_[day] = (*weekdays)[day] || (day == 0 && (*weekdays)[7]);
  cron.any_hour_ = fields[1].front() == '*';
  cron.any_day_ = fields[2].front() == '*';
  cron.any_weekday_ = fields[4].front() == '*';

  cron.zone_name_ = std::string(time_zone);
  try {
    cron.zone_ = date::locate_zone(cron.zone_name_);
  } catch (const std::exception&) {
    return fail(Errc::InvalidArgument,
                "unknown time zone '" + cron.zone_name_ +
                    "': an IANA name from the system's tz database, such as UTC, "
                    "Europe/Berlin or America/New_York",
                "schedule");
  }
  return cron;
}

bool CronExpression::day_matches(LocalMinutes when) const {
  const auto day = std::chrono::floor<date::days>(when);
  const date::year_month_day ymd{date::local_days{day.time_since_epoch()}};
  const auto by_date = days_[static_cast<unsigned>(ymd.day())];
  const auto by_weekday =
      weekdays_[date::weekday{date::local_days{day.time_since_epoch()}}.c_encoding()];
  // Vixie cron: with both day fields restricted, either may match.
  if (!any_day_ && !any_weekday_) return by_date || by_weekday;
  return by_date && by_weekday;
}

std::optional<CronExpression::LocalMinutes> CronExpression::next_local_match(
    LocalMinutes from, LocalMinutes limit) const {
  using std::chrono::floor;
  using std::chrono::hours;
  using std::chrono::minutes;
  auto when = from;
  while (when <= limit) {
    const auto day = floor<date::days>(when);
    const date::year_month_day ymd{date::local_days{day.time_since_epoch()}};
    if (!months_[static_cast<unsigned>(ymd.month())]) {
      const auto next_month = date::year_month_day{ymd.year() / ymd.month() / 1} + date::months{1};
      when = LocalMinutes{date::local_days{next_month}.time_since_epoch()};
      continue;
    }
    if (!day_matches(when)) {
      when = LocalMinutes{(day + date::days{1}).time_since_epoch()};
      continue;
    }
    const auto hour = static_cast<std::size_t>(floor<hours>(when - day).count());
    if (!hours_[hour]) {
      when = floor<hours>(when) + hours{1};
      continue;
    }
    auto minute = static_cast<std::size_t>((when - floor<hours>(when)).count());
    while (minute < 60 && !minutes_[minute])
      ++minute;
    if (minute == 60) {
      when = floor<hours>(when) + hours{1};
      continue;
    }
    return floor<hours>(when) + minutes{minute};
  }
  return std::nullopt;
}

std::optional<Seconds> CronExpression::in_repeated_hour(Seconds after) const {
  const auto now = zone_->get_info(after);
  if (now.end <= after) return std::nullopt;  // no later change known
  const auto then = zone_->get_info(now.end);
  if (then.offset >= now.offset) return std::nullopt;  // not a change back
  // Local times [change + new offset, change + old offset) happen a second time, at the new
  // offset; the first pass has, or will have, come from the ordinary walk.
  const auto start = LocalMinutes{
      std::chrono::ceil<std::chrono::minutes>(now.end + then.offset).time_since_epoch()};
  const auto end = LocalMinutes{
      std::chrono::floor<std::chrono::minutes>(now.end + now.offset).time_since_epoch()};
  const auto match = next_local_match(start, end - std::chrono::minutes{1});
  if (!match) return std::nullopt;
  return Seconds{match->time_since_epoch()} - then.offset;
}

std::optional<Seconds> CronExpression::next_after(Seconds after) const {
  using std::chrono::minutes;
  const auto offset = zone_->get_info(after).offset;
  auto from = std::chrono::floor<minutes>(LocalMinutes{} + (after + offset).time_since_epoch()) +
              minutes{1};
  const auto limit = from + date::years{8};
  std::optional<Seconds> found;
  while (auto match = next_local_match(from, std::chrono::floor<minutes>(limit))) {
    const date::local_seconds local{match->time_since_epoch()};
    const auto info = zone_->get_info(local);
    std::optional<Seconds> candidate;
    switch (info.result) {
      case date::local_info::unique:
        candidate = Seconds{local.time_since_epoch()} - info.first.offset;
        break;
      case date::local_info::nonexistent:
        candidate = std::chrono::floor<std::chrono::seconds>(info.first.end);  // the gap's end
        break;
      case date::local_info::ambiguous: {
        const auto first = Seconds{local.time_since_epoch()} - info.first.offset;
        const auto second = Seconds{local.time_since_epoch()} - info.second.offset;
        if (first > after)
          candidate = first;
        else if (any_hour_)
          candidate = second;
        break;
      }
    }
    if (candidate && *candidate > after) {
      found = candidate;
      break;
    }
    from = *match + minutes{1};
  }
  if (any_hour_) {
    if (auto repeated = in_repeated_hour(after);
        repeated && *repeated > after && (!found || *repeated < *found)) {
      found = repeated;
    }
  }
  return found;
}

}  // namespace nauto::scheduler
