#pragma once
// JunosConfig: a Junos configuration hierarchy. One tree serves the three ways Junos shows
// configuration: curly-brace text (`show configuration`), `set` commands (`| display set`) and
// XML (NETCONF <configuration>), and the CLI's `set`/`delete` and NETCONF edit-config edit it.
// There is no schema: a small keyword table says which statements take a key (`unit 0`,
// `neighbor 10.0.0.2`) and which hold a single value (`description`, `peer-as`).

#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"

namespace pugi {
class xml_node;
}

namespace nauto::lab {

/// One statement. Container: `interfaces { ... }` or a flag such as `disable;`.
/// Keyed: `unit 0 { ... }`, one of a list. Value: `description "x";`, at most one per parent.
struct JunosNode {
  enum class Kind { Container, Keyed, Value };
  Kind kind = Kind::Container;
  std::string name;
  std::string value;  ///< the key (Keyed) or the value (Value)
  std::vector<JunosNode> children;

  bool same_statement(const JunosNode& other) const;
  bool operator==(const JunosNode& other) const = default;
};

class JunosConfig {
 public:
  /// Applies `set <words>` under `edit_path`. Fails (with the Junos wording) on an unknown
  /// top-level statement or a keyword missing its value.
  Result<void> set(const std::vector<std::string>& edit_path,
                   const std::vector<std::string>& words);
  /// Applies `delete <words>`; fails with "statement not found" when nothing matches.
  Result<void> erase(const std::vector<std::string>& edit_path,
                     const std::vector<std::string>& words);

  /// Curly-brace text of the subtree at `path` (whole tree when empty).
  std::string render_text(const std::vector<std::string>& path = {}) const;
  /// `set ...` lines, one per leaf.
  std::string render_set() const;
  /// Appends <configuration> children to `parent`.
  void render_xml(pugi::xml_node parent) const;
  /// Merges a NETCONF <configuration> element; honours operation="delete|replace|create"
  /// (and Junos' delete="delete"). `replace_all` replaces the whole tree (default-operation).
  Result<void> merge_xml(const pugi::xml_node& configuration, bool replace_all);

  /// Junos `show | compare` output from `before` to this; empty when equal.
  std::string compare_to(const JunosConfig& before) const;

  const std::vector<JunosNode>& top() const { return top_; }
  /// The node at a path of statement labels ("interfaces", "ge-0/0/0", "unit 0"), or nullptr.
  const JunosNode* find(const std::vector<std::string>& labels) const;
  /// The value of a Value statement at labels + name, or "" when absent.
  std::string value_at(const std::vector<std::string>& labels, std::string_view name) const;

  static JunosConfig parse_set_lines(std::string_view text);
  bool operator==(const JunosConfig& other) const = default;

 private:
  Result<std::vector<JunosNode>> to_chain(const std::vector<std::string>& words) const;
  std::vector<JunosNode> top_;
};

/// Splits a Junos command line into words, keeping "quoted strings" as one word (unquoted).
std::vector<std::string> junos_words(std::string_view line);
/// The label of a node as used in paths and [edit ...] headers: "unit 0", "ge-0/0/0".
std::string junos_label(const JunosNode& node);

}  // namespace nauto::lab
