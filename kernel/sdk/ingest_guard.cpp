#include "nauto/sdk/ingest_guard.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace nauto {

namespace {

constexpr std::array<std::string_view, 8> kSeverities = {
    "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"};

}  // namespace

std::string_view severity_name(int severity) {
  return severity >= 0 && severity < 8 ? kSeverities[static_cast<std::size_t>(severity)] : "?";
}

std::optional<int> severity_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::size_t i = 0; i < kSeverities.size(); ++i)
    if (lower == kSeverities[i]) return static_cast<int>(i);
  static constexpr std::array<std::pair<std::string_view, int>, 5> kAliases = {
      {{"emerg", 0}, {"crit", 2}, {"err", 3}, {"warn", 4}, {"informational", 6}}};
  for (const auto& [alias, severity] : kAliases)
    if (lower == alias) return severity;
  return std::nullopt;
}

nlohmann::json IngestCounters::to_json() const {
  return {{"received", received},     {"published", published},       {"malformed", malformed},
          {"rejected", rejected},     {"rate_limited", rate_limited}, {"shed", shed},
          {"unresolved", unresolved}, {"classified", classified}};
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

}  // namespace nauto
