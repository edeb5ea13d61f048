#pragma once
// Config checks (must_match, must_not_match, must_contain_lines), on the whole config or within
// sections. A ConfigView is one device's config prepared once for every rule of a run: its
// lines, its sections (the driver's hierarchical parser, ConfigDiff::parse) and its kind of
// text for PCRE2.
//
// A pattern is searched in the whole text at once (PCRE2 with multiline anchors, which skips
// from line start to line start) and each hit is confirmed on its line alone, so a rule costs
// one scan of the config and `\s` never joins two lines.
//
// Thread: a ConfigView is immutable once built; check_config needs the calling thread's own
// Matcher.

#include <string>
#include <string_view>
#include <vector>

#include "nauto/drivers/config_diff.h"
#include "nauto/text/regex.h"
#include "policy.h"
#include "rule_result.h"

namespace nauto::compliance {

class ConfigView {
 public:
  /// `parser`: the device platform's (volatile lines and replace keys do not matter here).
  ConfigView(std::string text, const drivers::ConfigDiff& parser);

  const std::string& text() const { return text_; }
  text::Matcher::Subject kind() const { return kind_; }
  /// The lines as written (no line ends).
  const std::vector<std::string_view>& lines() const { return lines_; }
  /// The lines trimmed of surrounding blanks.
  const std::vector<std::string_view>& trimmed() const { return trimmed_; }
  const drivers::ConfigTree& tree() const { return tree_; }

 private:
  std::string text_;
  text::Matcher::Subject kind_;
  std::vector<std::string_view> lines_, trimmed_;
  drivers::ConfigTree tree_;
};

/// Checks one config rule (MustMatch, MustNotMatch, MustContainLines).
RuleResult check_config(const Rule& rule, const ConfigView& config, text::Matcher& matcher);

}  // namespace nauto::compliance
