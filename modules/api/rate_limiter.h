#pragma once
// RateLimiter: a token bucket per key (an API token's id, a client address). A key gets
// `burst` requests at once and `per_second` after that; a request over it is refused with the
// seconds until one more would pass (Retry-After). Buckets that have filled up again are
// forgotten when the table grows past `max_keys`, so a scan from many addresses costs bounded
// memory.
//
// Thread: one at a time (the module's).

#include <cstdint>
#include <string>
#include <unordered_map>

namespace nauto::api {

class RateLimiter {
 public:
  RateLimiter(double per_second, double burst, std::size_t max_keys = 100'000);

  /// 0 when the request may pass; else the whole seconds (at least 1) to wait.
  std::int64_t admit(const std::string& key, std::int64_t now_us);
  std::size_t keys() const { return buckets_.size(); }
  std::uint64_t refused() const { return refused_; }

 private:
  struct Bucket {
    double tokens;
    std::int64_t updated_us;
  };
  void forget_full(std::int64_t now_us);

  double per_second_;
  double burst_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::uint64_t refused_ = 0;
};

}  // namespace nauto::api
