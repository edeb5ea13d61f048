#pragma once
// PromptMatcher: knows what this device's prompts look like in each mode, from the platform's
// patterns and the hostname learned at login, and says which mode a line is. The patterns are
// compiled once per platform with the host as a capture (nauto/drivers/platform_patterns.h);
// a line is a prompt when one matches and its host is this device's.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/platform.h"
#include "nauto/text/regex.h"

namespace nauto::drivers::cli {

enum class CliMode { User, Privileged, Config };
std::string_view mode_name(CliMode mode);

class PromptMatcher {
 public:
  explicit PromptMatcher(const PlatformDefinition& platform);

  /// Tries the platform's host_pattern on a line; on a match remembers the host. Returns the
  /// host learned.
  std::optional<std::string> learn(std::string_view line);
  /// Sets the host directly (after a `hostname X` config line).
  void set_host(const std::string& host);
  const std::string& host() const { return host_; }

  /// The mode whose prompt `line` is, if it is one.
  std::optional<CliMode> match(std::string_view line) const;
  /// "privileged '^r1#\s*$', config '^r1\(config[^)]*\)#\s*$'", for timeout errors.
  std::string describe() const;

 private:
  struct ModePattern {
    CliMode mode;
    const std::string* source;  // the platform's, with {host}
    const text::Regex* regex;   // with the host as a capture
    std::uint32_t host_group;   // 0: the pattern names no host
  };
  const PlatformDefinition& platform_;
  // Platform patterns were checked when the platform was loaded (platform.cpp), so these
  // compile; one that did not would simply never match.
  const text::Regex* host_regex_ = nullptr;
  std::string host_;
  std::vector<ModePattern> patterns_;
};

/// Escapes a literal for use inside a regex (nauto/text/regex.h).
std::string regex_escape(std::string_view text);

}  // namespace nauto::drivers::cli
