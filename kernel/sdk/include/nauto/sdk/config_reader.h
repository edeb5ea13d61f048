#pragma once
// ConfigReader reads one section of nauto.yaml (already converted to JSON) with typed getters
// that fall back to defaults, collects every problem with its full key path and the expected
// form, and rejects unknown keys. Used by the kernel config and by every module's validate().
//
//   ConfigReader r(cfg, "modules.journal");
//   auto max_age = r.duration_ms("max_age", 7 * 86400 * 1000);
//   if (auto done = r.finish(); !done) return done;
//
// Not thread-safe; cheap to create.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto {

class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& section, std::string path);

  std::string string(const std::string& key, const std::string& fallback);
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  bool boolean(const std::string& key, bool fallback);
  /// "250ms", "30s", "15m", "2h", "7d", or a bare integer of milliseconds.
  std::int64_t duration_ms(const std::string& key, std::int64_t fallback_ms, std::int64_t min_ms);
  /// "512KiB", "64MiB", "1GiB", or a bare integer of bytes.
  std::uint64_t size_bytes(const std::string& key, std::uint64_t fallback, std::uint64_t min);
  /// One of `choices`.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices);
  std::vector<std::string> strings(const std::string& key);
  /// A list of literal IPv4/IPv6 addresses, each in the form address_text() gives a peer
  /// (IPv6 compressed lower-case, IPv4-mapped as plain IPv4), so a set lookup of a peer works.
  std::set<std::string> addresses(const std::string& key);
  /// The raw value of a nested section (object), marked known; null if absent.
  nlohmann::json section(const std::string& key);
  /// Marks keys as handled elsewhere (no unknown-key error).
  void allow(const std::string& key);

  /// All problems found, one per line, or success. Unknown keys are reported here.
  Result<void> finish() const;

 private:
  const nlohmann::json* lookup(const std::string& key);
  template <typename T, typename Parse>
  T quantity(const std::string& key, T fallback, T min, Parse parse, const char* expected,
             const std::string& min_text);
  void problem(const std::string& key, const std::string& expected, const nlohmann::json& got);

  nlohmann::json section_;  // a copy: readers are short-lived and sections small
  std::string path_;
  std::set<std::string> known_;
  std::vector<std::string> problems_;
};

/// ok() when `problems` is empty; else Errc::InvalidConfig with each problem on a line of its
/// own: how a reader of several sections reports all it found at once.
Result<void> config_problems(const std::vector<std::string>& problems);

/// Parses "30s"-style durations; exposed for the CLI and tests.
Result<std::int64_t> parse_duration_ms(const std::string& text);
/// Parses "64MiB"-style sizes.
Result<std::uint64_t> parse_size_bytes(const std::string& text);

}  // namespace nauto
