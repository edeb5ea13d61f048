#pragma once
// CounterTracker: per-interval rates from SNMP counters, and a total that only goes up.
//   - A Counter32 lower than last time wrapped: the delta is taken modulo 2^32.
//   - A Counter64 lower than last time was reset (it does not wrap in practice): no rate.
//   - A discontinuity — the agent restarted (its sysUpTime went back) or the counter's
//     discontinuity marker (ifCounterDiscontinuityTime) changed — starts again: no rate for
//     that interval, and nothing added to the total.
// The total starts at the first value seen and adds every delta, so it stays monotonic across
// wraps and resets (what a Prometheus counter must be).
// Thread: one, the module's.

#include <cstdint>
#include <string>
#include <unordered_map>

namespace nauto::telemetry {

struct CounterReading {
  std::uint64_t count = 0;
  int bits = 64;                    ///< 32 or 64
  std::uint64_t discontinuity = 0;  ///< the agent's marker for this counter
  std::int64_t time_us = 0;         ///< when it was read
  bool agent_restarted = false;     ///< sysUpTime went back since the last poll
};

struct CounterRate {
  bool valid = false;  ///< false for the first reading and after a discontinuity
  double per_second = 0;
  std::uint64_t delta = 0;
  bool wrapped = false;
  bool discontinuity = false;
  double total = 0;
};

class CounterTracker {
 public:
  CounterRate update(const std::string& series, const CounterReading& reading);
  /// Forgets series last read before `time_us` (interfaces removed, devices gone).
  void forget_before(std::int64_t time_us);
  std::size_t size() const { return last_.size(); }
  std::uint64_t wraps() const { return wraps_; }
  std::uint64_t discontinuities() const { return discontinuities_; }

 private:
  struct Last {
    std::uint64_t count = 0;
    std::uint64_t discontinuity = 0;
    std::int64_t time_us = 0;
    double total = 0;
  };
  std::unordered_map<std::string, Last> last_;
  std::uint64_t wraps_ = 0;
  std::uint64_t discontinuities_ = 0;
};

}  // namespace nauto::telemetry
