#include "ingest_counters.h"

#include <algorithm>

namespace nauto::syslog {

nlohmann::json IngestCounters::to_json() const {
  return {{"received", received},         {"published", published}, {"malformed", malformed},
          {"rate_limited", rate_limited}, {"shed", shed},           {"unresolved", unresolved},
          {"classified", classified}};
}

bool SourceRateLimiter::admit(const std::string& source, std::int64_t now_us) {
  if (rate_ <= 0) return true;
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources_) buckets_.clear();
    it = buckets_.emplace(source, Bucket{burst_, now_us}).first;
  }
  auto& bucket = it->second;
  const double elapsed = static_cast<double>(now_us - bucket.updated_us) / 1e6;
  bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed) * rate_);
  bucket.updated_us = now_us;
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

}  // namespace nauto::syslog
