#pragma once
// What the modules that receive from the network (syslog, webhooks, SNMP traps) count and how
// they shed a flood. Every message received ends in exactly one of: published, malformed,
// rejected (failed its authentication), rate_limited, shed (the bus queue was full). Counters
// only grow; each module's `<name>.stats` service reports them.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nauto {

struct IngestCounters {
  std::uint64_t received = 0;
  std::uint64_t published = 0;
  std::uint64_t malformed = 0;
  std::uint64_t rejected = 0;      ///< a bad signature or community
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

/// Syslog severities (RFC 5424) as every ingest module names them in events: emergency, alert,
/// critical, error, warning, notice, info, debug; "?" outside 0-7.
std::string_view severity_name(int severity);
/// The inverse, also taking the short and long forms senders use (emerg, crit, err, warn,
/// informational), in any case.
std::optional<int> severity_from_name(std::string_view name);

/// Lets a warning through at most once a second, so a flood of bad input logs samples, not a
/// line per message.
class WarningThrottle {
 public:
  /// True when the caller should log now.
  bool allow(std::int64_t now_us) {
    if (now_us - last_us_ < 1'000'000) return false;
    last_us_ = now_us;
    return true;
  }

 private:
  std::int64_t last_us_ = -1'000'000;
};

}  // namespace nauto
