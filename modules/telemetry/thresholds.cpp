#include "thresholds.h"

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "nauto/sdk/config_reader.h"

namespace nauto::telemetry {

namespace {

bool applies(const Threshold& t, const SeriesKey& s) {
  if (s.metric != t.metric) return false;
  if (!t.device.empty() && s.device != t.device) return false;
  for (const auto& [k, v] : t.labels) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

std::string state_key(const Threshold& t, const SeriesKey& s) {
  return t.name + '\n' + s.text();
}

}  // namespace

std::optional<double> config_number(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  // nauto.yaml's reader keeps 0.5 as the text "0.5" (only whole numbers become numbers).
  const auto& text = value.get_ref<const std::string&>();
  char* end = nullptr;
  const double parsed = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(parsed))
    return std::nullopt;
  return parsed;
}

void ThresholdEngine::configure(std::vector<Threshold> thresholds) {
  thresholds_ = std::move(thresholds);
  std::unordered_map<std::string, bool> names;
  for (const auto& t : thresholds_)
    names[t.name] = true;
  std::erase_if(states_, [&](const auto& entry) {
    return !names.count(entry.first.substr(0, entry.first.find('\n')));
  });
}

void ThresholdEngine::judge(const Threshold& t, State& s, std::int64_t time_ms, double value,
                            std::optional<bool> condition, std::optional<bool> clear_condition) {
  // Firing: wait for the clear condition to last clear_for; otherwise: the condition for `for`.
  const bool wanted = s.firing ? clear_condition.value_or(false) : condition.value_or(false);
  if (!wanted) {
    s.pending_since = 0;
    return;
  }
  if (!s.pending_since) s.pending_since = time_ms;
  const auto needed = s.firing ? t.clear_for_ms : t.for_ms;
  if (time_ms - s.pending_since < needed) return;
  ThresholdEvent e;
  e.crossed = !s.firing;
  e.threshold = &t;
  e.series = s.series;
  e.value = value;
  e.since_ms = s.pending_since;
  e.time_ms = time_ms;
  s.firing = !s.firing;
  s.fired_since = s.firing ? s.pending_since : 0;
  s.pending_since = 0;
  emit_(e);
}

void ThresholdEngine::observe(const SeriesKey& series, std::int64_t time_ms, double value) {
  for (const auto& t : thresholds_) {
    if (!applies(t, series)) continue;
    auto [it, inserted] = states_.try_emplace(state_key(t, series));
    State& s = it->second;
    if (inserted) s.series = series;
    std::optional<bool> condition, clear_condition;
    switch (t.kind) {
      case Threshold::Kind::Above:
        condition = value > t.limit;
        clear_condition = value < t.clear;
        break;
      case Threshold::Kind::Below:
        condition = value < t.limit;
        clear_condition = value > t.clear;
        break;
      case Threshold::Kind::ChangeAbove:
      case Threshold::Kind::ChangeBelow:
        if (s.has_last && time_ms > s.last_ms) {
          const double per_minute = (value - s.last_value) * 60000.0 / (time_ms - s.last_ms);
          const bool up = t.kind == Threshold::Kind::ChangeAbove;
          condition = up ? per_minute > t.limit : per_minute < t.limit;
          clear_condition = up ? per_minute <= t.clear : per_minute >= t.clear;
        }
        break;
      case Threshold::Kind::Absent:
        // Data came: an absence ends.
        clear_condition = true;
        condition = false;
        break;
    }
    s.last_ms = time_ms;
    s.last_value = value;
    s.has_last = true;
    judge(t, s, time_ms, value, condition, clear_condition);
  }
}

void ThresholdEngine::tick(std::int64_t now_ms) {
  for (auto& [key, s] : states_) {
    const auto name = key.substr(0, key.find('\n'));
    for (const auto& t : thresholds_) {
      if (t.name != name) continue;
      if (t.kind == Threshold::Kind::Absent) {
        if (!s.firing && s.has_last && now_ms - s.last_ms >= t.absent_ms) {
          // The condition began when the series went quiet.
          s.pending_since = s.last_ms;
          judge(t, s, now_ms, s.last_value, true, std::nullopt);
        }
      } else if (s.pending_since && s.has_last) {
        // A `for:` that elapses while the series sends the same value it did.
        const bool firing = s.firing;
        judge(t, s, now_ms, s.last_value, firing ? std::nullopt : std::optional<bool>(true),
              firing ? std::optional<bool>(true) : std::nullopt);
      }
    }
  }
}

std::vector<std::pair<std::string, SeriesKey>> ThresholdEngine::firing() const {
  std::vector<std::pair<std::string, SeriesKey>> out;
  for (const auto& [key, s] : states_) {
    if (s.firing) out.emplace_back(key.substr(0, key.find('\n')), s.series);
  }
  return out;
}

Result<std::vector<Threshold>> parse_thresholds(const nlohmann::json& list) {
  std::vector<Threshold> out;
  if (list.is_null()) return out;
  if (!list.is_array())
    return fail(Errc::InvalidConfig, "must be a list", "modules.telemetry.thresholds");
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto where = "modules.telemetry.thresholds[" + std::to_string(i) + "]";
    if (!list[i].is_object()) {
      problems.push_back(where + ": must be a map");
      continue;
    }
    const auto& entry = list[i];
    ConfigReader r(entry, where);
    Threshold t;
    t.name = r.string("name", "");
    t.metric = r.string("metric", "");
    t.device = r.string("device", "");
    t.severity = r.choice("severity", "warning", {"info", "warning", "critical"});
    t.for_ms = r.duration_ms("for", 0, 0);
    t.clear_for_ms = r.duration_ms("clear_for", 0, 0);
    const auto absent_ms = r.duration_ms("absent", 0, 0);
    auto labels = r.section("labels");
    int kinds = 0;
    std::optional<double> clear;
    for (const auto& [key, kind] :
         {std::pair{"above", Threshold::Kind::Above}, std::pair{"below", Threshold::Kind::Below},
          std::pair{"change_above", Threshold::Kind::ChangeAbove},
          std::pair{"change_below", Threshold::Kind::ChangeBelow}}) {
      r.allow(key);
      if (!entry.contains(key)) continue;
      ++kinds;
      const auto limit = config_number(entry[key]);
      if (!limit) {
        problems.push_back(where + "." + key + ": must be a number");
        continue;
      }
      t.kind = kind;
      t.limit = *limit;
    }
    r.allow("clear");
    if (entry.contains("clear")) {
      if (auto level = config_number(entry["clear"])) {
        clear = *level;
      } else {
        problems.push_back(where + ".clear: must be a number");
      }
    }
    if (absent_ms > 0) {
      ++kinds;
      t.kind = Threshold::Kind::Absent;
      t.absent_ms = absent_ms;
    }
    if (auto done = r.finish(); !done) problems.push_back(done.error().message);
    if (t.name.empty()) problems.push_back(where + ".name: is required");
    if (t.metric.empty()) problems.push_back(where + ".metric: is required");
    if (kinds != 1)
      problems.push_back(where +
                         ": needs exactly one of above, below, change_above, change_below, absent");
    if (labels.is_object()) {
      for (const auto& [k, v] : labels.items()) {
        if (v.is_string()) {
          t.labels[k] = v.get<std::string>();
        } else {
          problems.push_back(where + ".labels." + k + ": must be a string");
        }
      }
    } else if (!labels.is_null()) {
      problems.push_back(where + ".labels: must be a map");
    }
    t.clear = clear.value_or(t.limit);
    const bool band_ok = t.kind == Threshold::Kind::Above || t.kind == Threshold::Kind::ChangeAbove
                             ? t.clear <= t.limit
                             : t.clear >= t.limit;
    if (t.kind != Threshold::Kind::Absent && !band_ok)
      problems.push_back(where + ".clear: must be on the other side of the limit (hysteresis)");
    for (const auto& other : out) {
      if (other.name == t.name && !t.name.empty())
        problems.push_back(where + ".name: '" + t.name + "' is used twice");
    }
    out.push_back(std::move(t));
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message, "modules.telemetry.thresholds");
  }
  return out;
}

}  // namespace nauto::telemetry
