#include "change_guard.h"

#include <date/tz.h>

#include <cstdio>
#include <set>

#include "nauto/drivers/indented_push.h"
#include "nauto/drivers/platform_patterns.h"
#include "nauto/text/regex.h"

namespace nauto::devices {

using nlohmann::json;

namespace {

constexpr int kWeek = 7 * 24 * 60;
const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// "Sat 22:00" or "22:00" (day -1): minutes from the day's start and the day (0 = Monday).
bool parse_point(std::string text, int& day, int& minute) {
  day = -1;
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text.size() > 4 && text[3] == ' ') {
    for (int d = 0; d < 7; ++d)
      if (text.compare(0, 3, kDays[d]) == 0) day = d;
    if (day < 0) return false;
    text = text.substr(4);
  }
  int h = 0, m = 0, used = 0;
  if (std::sscanf(text.c_str(), "%2d:%2d%n", &h, &m, &used) != 2 ||
      static_cast<std::size_t>(used) != text.size() || h > 24 || m > 59 || (h == 24 && m != 0))
    return false;
  minute = h * 60 + m;
  return true;
}

// "Sat 22:00-Sun 04:00" (weekly) or "01:00-05:00" (every day).
bool parse_window(const std::string& text, std::vector<WeeklySpan>& spans) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) return false;
  int from_day = 0, from = 0, to_day = 0, to = 0;
  if (!parse_point(text.substr(0, dash), from_day, from) ||
      !parse_point(text.substr(dash + 1), to_day, to))
    return false;
  if ((from_day < 0) != (to_day < 0)) return false;
  if (from_day < 0) {  // daily
    for (int d = 0; d < 7; ++d)
      spans.push_back(
          {(d * 1440 + from) % kWeek, (d * 1440 + to + (to <= from ? 1440 : 0)) % kWeek});
    return true;
  }
  spans.push_back({from_day * 1440 + from, (to_day * 1440 + to) % kWeek});
  return true;
}

bool inside(const WeeklySpan& span, int minute) {
  if (span.start <= span.end) return minute >= span.start && minute < span.end;
  return minute >= span.start || minute < span.end;  // wraps over Sunday midnight
}

// Minutes from Monday 00:00 in `zone`, and the local time, at `now`.
int minute_of_week(const date::time_zone* zone, std::chrono::system_clock::time_point now) {
  const auto local = zone->to_local(std::chrono::floor<std::chrono::minutes>(now));
  const auto day = date::floor<date::days>(local);
  const auto weekday = date::weekday(day).iso_encoding() - 1;  // Monday 0
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - day).count();
  return static_cast<int>(weekday * 1440 + minutes);
}

std::string attribute(const json& host, const std::string& key) {
  if (auto it = host.find(key); it != host.end() && it->is_string()) return it->get<std::string>();
  if (auto vars = host.find("vars"); vars != host.end() && vars->is_object()) {
    if (auto it = vars->find(key); it != vars->end())
      return it->is_string() ? it->get<std::string>() : it->dump();
  }
  return {};
}

bool matches(const ChangeWindowRule& rule, const json& host) {
  for (const auto& [key, value] : rule.match) {
    if (key == "tag") {
      const auto tags = host.value("tags", json::array());
      if (std::find(tags.begin(), tags.end(), value) == tags.end()) return false;
    } else if (attribute(host, key) != value) {
      return false;
    }
  }
  return true;
}

std::string describe(const ChangeWindowRule& rule) {
  std::string windows;
  for (const auto& text : rule.texts)
    windows += (windows.empty() ? "" : ", ") + text;
  return windows + " " + rule.time_zone;
}

}  // namespace

Result<ChangeGuard> ChangeGuard::parse(const json& rules) {
  ChangeGuard guard;
  if (rules.is_null()) return guard;
  if (!rules.is_array())
    return fail(Errc::InvalidConfig, "modules.devices.change_windows: expected a list of rules");
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto where = "modules.devices.change_windows[" + std::to_string(i) + "]";
    const auto& r = rules[i];
    if (!r.is_object() || !r.contains("windows") || !r["windows"].is_array() ||
        !r.value("match", json::object()).is_object()) {
      return fail(Errc::InvalidConfig,
                  where +
                      ": expected {match: {site: dc1}, windows: [\"Sat 22:00-Sun 04:00\"], "
                      "time_zone: Europe/Berlin}");
    }
    for (const auto& [key, value] : r.items()) {
      if (key != "match" && key != "windows" && key != "time_zone")
        return fail(Errc::InvalidConfig,
                    where + "." + key + ": unknown key (match, windows, time_zone)");
    }
    ChangeWindowRule rule;
    const auto match = r.value("match", json::object());
    for (const auto& [key, value] : match.items()) {
      if (!value.is_string())
        return fail(Errc::InvalidConfig, where + ".match." + key + ": expected a text");
      rule.match[key] = value.get<std::string>();
    }
    for (const auto& window : r["windows"]) {
      if (!window.is_string() || !parse_window(window.get<std::string>(), rule.spans)) {
        return fail(Errc::InvalidConfig,
                    where + ".windows: '" +
                        (window.is_string() ? window.get<std::string>() : window.dump()) +
                        "' is not a window: write 'Sat 22:00-Sun 04:00' (weekly) or "
                        "'01:00-05:00' (every day)");
      }
      rule.texts.push_back(window.get<std::string>());
    }
    rule.time_zone = r.value("time_zone", "UTC");
    try {
      rule.zone = date::locate_zone(rule.time_zone);
    } catch (const std::exception&) {
      return fail(Errc::InvalidConfig, where + ".time_zone: unknown time zone '" + rule.time_zone +
                                           "' (an IANA name such as Europe/Berlin)");
    }
    guard.rules_.push_back(std::move(rule));
  }
  return guard;
}

Result<void> ChangeGuard::check_windows(const JobSpec& spec, const std::vector<json>& hosts,
                                        std::chrono::system_clock::time_point now) const {
  if (spec.kind != JobKind::Push || spec.dry_run || rules_.empty()) return ok();
  if (!spec.override_window.empty()) return ok();  // the reason is in the job's record
  std::string closed;
  std::size_t count = 0;
  for (const auto& host : hosts) {
    bool ruled = false, open = false;
    const ChangeWindowRule* first = nullptr;
    for (const auto& rule : rules_) {
      if (!matches(rule, host)) continue;
      ruled = true;
      if (!first) first = &rule;
      const auto minute = minute_of_week(rule.zone, now);
      for (const auto& span : rule.spans)
        open = open || inside(span, minute);
    }
    if (!ruled || open) continue;
    if (++count <= 10)
      closed +=
          (closed.empty() ? "" : "; ") + host.value("name", "") + " (" + describe(*first) + ")";
  }
  if (count == 0) return ok();
  return fail(Errc::Rejected,
              std::to_string(count) + " device(s) outside their change windows: " + closed +
                  (count > 10 ? "; ..." : "") +
                  ". Nothing was pushed; push in the window, or give override_window with a "
                  "reason (nauto: --override-window REASON)");
}

Result<void> check_dangerous(const JobSpec& spec, const std::vector<json>& hosts,
                             const drivers::PlatformCatalog& catalog) {
  const bool push = spec.kind == JobKind::Push && !spec.dry_run;
  if (!push && spec.kind != JobKind::Commands) return ok();
  if (!spec.allow_dangerous.empty() || (push && !spec.approved_diff_sha256.empty())) return ok();
  const auto lines = push ? drivers::split_lines_of(spec.config) : spec.commands;
  std::set<std::string> platforms;
  for (const auto& host : hosts)
    platforms.insert(host.value("platform", ""));
  for (const auto& platform : platforms) {
    auto definition = catalog.find(platform);
    if (!definition) continue;  // the job fails on it anyway, device by device
    for (const auto& pattern : (*definition)->dangerous_commands) {
      const auto* regex = drivers::platform_regex(pattern);
      if (!regex) continue;
      for (const auto& line : lines) {
        if (!text::matches(*regex, line)) continue;
        return fail(Errc::Rejected,
                    "'" + line + "' is a dangerous command on " + platform +
                        " (its dangerous_commands: " + pattern +
                        "); nothing was sent. Give allow_dangerous with a reason (nauto: "
                        "--allow-dangerous REASON), or push it with an approval");
      }
    }
  }
  return ok();
}

}  // namespace nauto::devices
