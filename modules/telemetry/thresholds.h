#pragma once
// Thresholds over series: a condition that holds for a while crosses, and clears only past the
// other side of a hysteresis band, so a value hovering at the limit does not flap.
//   above: 80, for: 5m, clear: 70     crosses after 5 minutes above 80, clears below 70
//   below: 1000                        (clear defaults to the limit itself)
//   change_above: 50                   the value rose by more than 50 per minute between two
//   change_below: -50                  samples (a prefix count collapsing)
//   absent: 3m                         no sample for 3 minutes (checked by tick()); clears
//                                      when samples come again
// `for:` and `clear_for:` (default 0) hold a crossing or a clearing back until the condition
// lasted that long. A threshold applies to the series of its metric whose device and labels
// match (`device:` a name or "" for all; `labels:` each equal).
// Thread: one, the module's.

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nauto/base/result.h"
#include "sample_store.h"

namespace nauto::telemetry {

struct Threshold {
  enum class Kind { Above, Below, ChangeAbove, ChangeBelow, Absent };
  std::string name;
  std::string metric;
  std::string device;  ///< "" for every device
  Labels labels;
  Kind kind = Kind::Above;
  double limit = 0;
  double clear = 0;  ///< the other side of the band (above/below); set to limit if absent
  std::int64_t for_ms = 0;
  std::int64_t clear_for_ms = 0;
  std::int64_t absent_ms = 0;
  std::string severity = "warning";
};

/// A threshold's state changing for one series: what the module publishes.
struct ThresholdEvent {
  bool crossed = true;  ///< false: cleared
  const Threshold* threshold = nullptr;
  SeriesKey series;
  double value = 0;           ///< the sample that decided (absent: the last one seen)
  std::int64_t since_ms = 0;  ///< when the condition began
  std::int64_t time_ms = 0;
};

class ThresholdEngine {
 public:
  using Emit = std::function<void(const ThresholdEvent&)>;
  explicit ThresholdEngine(Emit emit) : emit_(std::move(emit)) {}

  /// Replaces the thresholds; the state of those that remain (same name) is kept.
  void configure(std::vector<Threshold> thresholds);
  /// A new sample of a series.
  void observe(const SeriesKey& series, std::int64_t time_ms, double value);
  /// Time passing: absent data, and `for:` delays on series that stopped changing.
  void tick(std::int64_t now_ms);
  /// Series crossed now, for status: (threshold, series text).
  std::vector<std::pair<std::string, SeriesKey>> firing() const;
  const std::vector<Threshold>& thresholds() const { return thresholds_; }

 private:
  struct State {
    SeriesKey series;
    bool firing = false;
    std::int64_t pending_since = 0;  ///< the condition to change state began (0: none)
    std::int64_t last_ms = 0;
    double last_value = 0;
    bool has_last = false;
    std::int64_t fired_since = 0;
  };
  void judge(const Threshold& t, State& s, std::int64_t time_ms, double value,
             std::optional<bool> condition, std::optional<bool> clear_condition);

  std::vector<Threshold> thresholds_;
  // (threshold name + '\n' + series text) -> state
  std::unordered_map<std::string, State> states_;
  Emit emit_;
};

/// A number of the module's config: a number, or the text of one (nauto.yaml keeps 0.5 as text).
std::optional<double> config_number(const nlohmann::json& value);

/// The `thresholds:` list of the module's config. Errc::InvalidConfig naming the entry/key.
Result<std::vector<Threshold>> parse_thresholds(const nlohmann::json& list);

}  // namespace nauto::telemetry
