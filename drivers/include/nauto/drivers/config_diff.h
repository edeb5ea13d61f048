#pragma once
// Config diffs. unified_diff() compares any two texts line by line (Myers' algorithm) for
// people to read. ConfigDiff understands IOS-like indented configs: it compares them section by
// section, ignoring order within a section, and produces the commands that take a device from
// its current config to an intended one, or predicts the config after merging some lines.

#include <string>
#include <string_view>
#include <vector>

#include "nauto/text/regex.h"

namespace nauto::drivers {

/// `diff -u` style output with `---`/`+++` headers and @@ hunks; empty when equal.
std::string unified_diff(std::string_view before, std::string_view after,
                         const std::string& label_before, const std::string& label_after,
                         int context = 3);

/// One config line and the lines indented under it.
struct ConfigLine {
  std::string text;  ///< trimmed
  std::vector<ConfigLine> children;
};
using ConfigTree = std::vector<ConfigLine>;

/// Hierarchy-aware diff of indented configs.
class ConfigDiff {
 public:
  /// `ignore`: regexes (nauto/text/regex.h; checked when the platform was loaded, and one that
  /// does not compile is left out) of lines that are not config (comments, timestamps, `end`).
  /// `replace_keys`: regexes whose first capture is a key; a line with the same key as an
  /// existing one replaces it (`hostname X`, `description X`), so no `no` line is needed.
  /// Both are a platform's patterns, compiled once per process (platform_patterns.h): a driver,
  /// and so a ConfigDiff, is made for every device.
  ConfigDiff(const std::vector<std::string>& ignore, const std::vector<std::string>& replace_keys);

  ConfigTree parse(std::string_view text) const;
  static std::string render(const ConfigTree& tree);

  /// Commands, in config-mode syntax (sections entered by their header line, left with `exit`),
  /// that turn `current` into `intended`. Removals come first, as `no <line>`.
  std::vector<std::string> commands(const ConfigTree& current, const ConfigTree& intended) const;
  /// The config after applying `change` lines (as typed in config mode) to `current`.
  ConfigTree merge(const ConfigTree& current, const ConfigTree& change) const;
  /// The difference between two configs in their own structure, for people: a section that
  /// changed is shown by its header line with only its changed lines under it, `- ` removed,
  /// `+ ` added, `  ` a header for context, one space of indentation per level. Order within a
  /// section does not count (a config that only moved lines has no difference). Empty when equal.
  static std::string hierarchical(const ConfigTree& before, const ConfigTree& after);
  /// render(parse(text)): the config with ignored lines dropped, for diffs and snapshots.
  std::string normalize(std::string_view text) const;

 private:
  std::string key_of(const std::string& line) const;
  void diff_level(const ConfigTree& current, const ConfigTree& intended, int depth,
                  std::vector<std::string>& out) const;
  void merge_level(ConfigTree& into, const ConfigTree& change) const;

  std::vector<const text::Regex*> ignore_;
  std::vector<const text::Regex*> replace_keys_;
};

}  // namespace nauto::drivers
