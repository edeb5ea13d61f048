#include "rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace nauto::api {

RateLimiter::RateLimiter(double per_second, double burst, std::size_t max_keys)
    : per_second_(per_second), burst_(std::max(burst, 1.0)), max_keys_(max_keys) {}

std::int64_t RateLimiter::admit(const std::string& key, std::int64_t now_us) {
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now_us});
  auto& bucket = it->second;
  if (!fresh) {
    const double elapsed_s = static_cast<double>(now_us - bucket.updated_us) / 1e6;
    bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed_s) * per_second_);
    bucket.updated_us = now_us;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    if (fresh && buckets_.size() > max_keys_) forget_full(now_us);
    return 0;
  }
  ++refused_;
  const double wait_s = per_second_ > 0 ? (1.0 - bucket.tokens) / per_second_ : 3600.0;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait_s)));
}

void RateLimiter::forget_full(std::int64_t now_us) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double elapsed_s = static_cast<double>(now_us - it->second.updated_us) / 1e6;
    if (it->second.tokens + elapsed_s * per_second_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace nauto::api
