#pragma once
// IngestCounters and SourceRateLimiter: what the syslog module counts and how it sheds a flood.
// Every message ends in exactly one of: published, malformed, rate_limited, shed (the bus queue
// was full). Counters only grow; `syslog.stats` reports them.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

namespace nauto::syslog {

struct IngestCounters {
  std::uint64_t received = 0;
  std::uint64_t published = 0;
  std::uint64_t malformed = 0;
  std::uint64_t rate_limited = 0;  ///< over a source's rate
  std::uint64_t shed = 0;          ///< the bus would not take it (queue full)
  std::uint64_t unresolved = 0;    ///< published with no inventory device
  std::uint64_t classified = 0;    ///< a message rule gave it a kind
  nlohmann::json to_json() const;
};

/// A token bucket per source address: `rate` messages a second, bursts of `burst`. Bounded: it
/// remembers at most `max_sources` addresses and forgets them all when that is exceeded (a
/// spoofed-source flood then costs memory once, not without limit).
class SourceRateLimiter {
 public:
  SourceRateLimiter(double rate, double burst, std::size_t max_sources = 65536)
      : rate_(rate), burst_(burst), max_sources_(max_sources) {}
  /// True when a message from `source` at `now_us` is within its rate. rate 0: no limit.
  bool admit(const std::string& source, std::int64_t now_us);

 private:
  struct Bucket {
    double tokens;
    std::int64_t updated_us;
  };
  double rate_, burst_;
  std::size_t max_sources_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace nauto::syslog
