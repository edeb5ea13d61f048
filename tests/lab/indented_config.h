#pragma once
// IndentedConfig: the configuration of an IOS-like device (cisco_ios, arista_eos, cisco_nxos)
// as a tree of lines, the way those platforms print it: a line, then the lines indented
// under it. Config-mode commands edit the tree; `show running-config` prints it.
// Invariant: lines are stored without indentation or trailing spaces; no two siblings are equal.

#include <string>
#include <string_view>
#include <vector>

namespace nauto::lab {

/// One configuration line and the lines under it (`interface X` and its settings).
struct ConfigNode {
  std::string line;
  std::vector<ConfigNode> children;
};

/// A path of section lines from the top, e.g. {"router bgp 65001", "address-family ipv4"}.
using ConfigPath = std::vector<std::string>;

class IndentedConfig {
 public:
  /// Parses indented text; '!' comment lines, blank lines and "end" are skipped.
  static IndentedConfig parse(std::string_view text);

  /// The body as the platform prints it: `indent` spaces per level, '!' after each section
  /// when `bang_separators` (IOS/EOS style).
  std::string render(int indent, bool bang_separators) const;

  /// Children of the section at `path`, or nullptr when the path does not exist.
  const std::vector<ConfigNode>* children(const ConfigPath& path) const;
  const ConfigNode* find(const ConfigPath& path) const;

  /// Creates the section at `path` (and its parents) if missing.
  void ensure(const ConfigPath& path);

  /// Sets `line` under `path`: a line whose key (see key_of) matches is replaced, so
  /// `description b` replaces `description a`; an equal line is kept once.
  void set(const ConfigPath& path, const std::string& line);

  /// `no <line>` under `path`: removes lines equal to `line` or starting with `line + " "`,
  /// and lines with the same key (so `no ip address` drops `ip address 10.0.0.1 ...`).
  /// Returns how many lines were removed.
  int unset(const ConfigPath& path, std::string_view line);

  /// The part of a line that identifies the setting, for replace-on-set.
  static std::string key_of(std::string_view line);

  bool operator==(const IndentedConfig& other) const;

 private:
  std::vector<ConfigNode>* mutable_children(const ConfigPath& path);
  std::vector<ConfigNode> top_;
};

/// Splits on whitespace.
std::vector<std::string> split_words(std::string_view text);
/// Joins words with single spaces.
std::string join_words(const std::vector<std::string>& words, size_t from = 0);

}  // namespace nauto::lab
