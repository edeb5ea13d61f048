#pragma once
// ConcurrencyGate: decides whether one more device session may start now.
//
// Three kinds of bound apply together: the global number of sessions; keyed session limits
// ("at most 20 sessions per site", "at most 8 per AAA server": each distinct value of the
// inventory attribute has its own count); and keyed start rates ("5 per second per Meraki
// organization", a token bucket per value). A device blocked by one key does not hold up
// devices that are not subject to it: the dispatcher simply tries the next device.
// Not thread-safe: the job dispatcher thread owns it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::devices {

/// One keyed limit from modules.devices.limits.
struct SessionLimit {
  std::string key;        ///< an inventory attribute: site, platform, vars.aaa_server, ...
  int max_sessions = 0;   ///< 0: no session bound for this key
  double per_second = 0;  ///< 0: no rate bound; else device starts per second per value
  double burst = 0;       ///< token bucket size; 0 means max(1, per_second)
};

class ConcurrencyGate {
 public:
  ConcurrencyGate(int max_sessions, std::vector<SessionLimit> limits);

  const std::vector<SessionLimit>& limits() const { return limits_; }
  /// Takes a global slot plus one slot/token per keyed limit, all or nothing. `values[i]` is
  /// the device's value for limits()[i] (empty: the device is not subject to it). When a rate
  /// blocks, `wake_at_us` is lowered to when a token will be there. On refusal, `*blocking`
  /// (if given) is the index of the keyed limit that refused, or -1 for the global limit.
  bool try_acquire(const std::vector<std::string>& values, std::int64_t now_us,
                   std::int64_t& wake_at_us, int* blocking = nullptr);
  /// Gives back what try_acquire took for the same values.
  void release(const std::vector<std::string>& values);

  int in_use() const { return in_use_; }
  int max_sessions() const { return max_sessions_; }
  /// The most sessions seen at once for limits()[index] and `value` (for tests and status).
  int peak(std::size_t index, const std::string& value) const;

 private:
  struct Bucket {
    int sessions = 0;
    int peak = 0;
    double tokens = -1;  // -1: not yet initialised (full)
    std::int64_t refilled_us = 0;
  };
  void refill(const SessionLimit& limit, Bucket& bucket, std::int64_t now_us) const;

  int max_sessions_;
  int in_use_ = 0;
  std::vector<SessionLimit> limits_;
  std::vector<std::map<std::string, Bucket>> buckets_;  // per limit, per value
};

}  // namespace nauto::devices
