#pragma once
// PromptMatcher: knows what this device's prompts look like in each mode, from the platform's
// patterns with the hostname learned at login filled in, and says which mode a line is.

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

  /// Tries the platform's host_pattern on a line; on a match remembers the host and rebuilds
  /// the per-mode patterns. Returns the host learned.
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
    std::string source;
    text::Regex regex;
  };
  const PlatformDefinition& platform_;
  // Platform patterns were checked when the platform was loaded (platform.cpp), so these
  // compile; one that did not would simply never match.
  std::optional<text::Regex> host_regex_;
  std::string host_;
  std::vector<ModePattern> patterns_;
};

/// Escapes a literal for use inside a regex (nauto/text/regex.h).
std::string regex_escape(std::string_view text);

}  // namespace nauto::drivers::cli
