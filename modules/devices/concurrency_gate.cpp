#include "concurrency_gate.h"

#include <algorithm>

namespace nauto::devices {

ConcurrencyGate::ConcurrencyGate(int max_sessions, std::vector<SessionLimit> limits)
    : max_sessions_(std::max(1, max_sessions)),
      limits_(std::move(limits)),
      buckets_(limits_.size()) {}

void ConcurrencyGate::refill(const SessionLimit& limit, Bucket& bucket, std::int64_t now_us) const {
  const double capacity = limit.burst > 0 ? limit.burst : std::max(1.0, limit.per_second);
  if (bucket.tokens < 0) {
    bucket.tokens = capacity;
  } else {
    bucket.tokens = std::min(
        capacity,
        bucket.tokens + limit.per_second * static_cast<double>(now_us - bucket.refilled_us) / 1e6);
  }
  bucket.refilled_us = now_us;
}

bool ConcurrencyGate::try_acquire(const std::vector<std::string>& values, std::int64_t now_us,
                                  std::int64_t& wake_at_us, int* blocking) {
  if (blocking) *blocking = -1;
  if (in_use_ >= max_sessions_) return false;
  // Check every bound first, then take: all or nothing.
  for (std::size_t i = 0; i < limits_.size(); ++i) {
    if (i >= values.size() || values[i].empty()) continue;
    const auto& limit = limits_[i];
    auto& bucket = buckets_[i][values[i]];
    if (blocking) *blocking = static_cast<int>(i);
    if (limit.max_sessions > 0 && bucket.sessions >= limit.max_sessions) return false;
    if (limit.per_second > 0) {
      refill(limit, bucket, now_us);
      if (bucket.tokens < 1.0) {
        const auto wait_us =
            static_cast<std::int64_t>((1.0 - bucket.tokens) / limit.per_second * 1e6) + 1;
        wake_at_us = std::min(wake_at_us, now_us + wait_us);
        return false;
      }
    }
  }
  for (std::size_t i = 0; i < limits_.size(); ++i) {
    if (i >= values.size() || values[i].empty()) continue;
    auto& bucket = buckets_[i][values[i]];
    if (limits_[i].per_second > 0) bucket.tokens -= 1.0;
    bucket.peak = std::max(bucket.peak, ++bucket.sessions);
  }
  ++in_use_;
  return true;
}

void ConcurrencyGate::release(const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < limits_.size(); ++i) {
    if (i >= values.size() || values[i].empty()) continue;
    auto& bucket = buckets_[i][values[i]];
    if (bucket.sessions > 0) --bucket.sessions;
  }
  if (in_use_ > 0) --in_use_;
}

int ConcurrencyGate::peak(std::size_t index, const std::string& value) const {
  if (index >= buckets_.size()) return 0;
  const auto it = buckets_[index].find(value);
  return it == buckets_[index].end() ? 0 : it->second.peak;
}

}  // namespace nauto::devices
