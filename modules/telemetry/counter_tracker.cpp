#include "counter_tracker.h"

namespace nauto::telemetry {

CounterRate CounterTracker::update(const std::string& series, const CounterReading& r) {
  CounterRate out;
  auto [it, first] = last_.try_emplace(series);
  Last& last = it->second;
  if (first) {
    last = {r.count, r.discontinuity, r.time_us, static_cast<double>(r.count)};
    out.total = last.total;
    return out;
  }
  const bool went_back = r.count < last.count;
  const bool reset = r.agent_restarted || r.discontinuity != last.discontinuity ||
                     (went_back && r.bits == 64) || r.time_us <= last.time_us;
  if (reset) {
    ++discontinuities_;
    out.discontinuity = true;
  } else {
    if (went_back) {  // a Counter32 that passed 2^32 - 1
      out.delta = (r.count + (std::uint64_t{1} << 32)) - last.count;
      out.wrapped = true;
      ++wraps_;
    } else {
      out.delta = r.count - last.count;
    }
    out.valid = true;
    out.per_second =
        static_cast<double>(out.delta) * 1e6 / static_cast<double>(r.time_us - last.time_us);
    last.total += static_cast<double>(out.delta);
  }
  last.count = r.count;
  last.discontinuity = r.discontinuity;
  last.time_us = r.time_us;
  out.total = last.total;
  return out;
}

void CounterTracker::forget_before(std::int64_t time_us) {
  std::erase_if(last_, [&](const auto& entry) { return entry.second.time_us < time_us; });
}

}  // namespace nauto::telemetry
