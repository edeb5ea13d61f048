#pragma once
// Selector: the one way to name a set of devices, on the CLI, in jobs, runbooks and rules.
//
//   r1,r2                    names (a bare word is a name; globs allowed: leaf-*)
//   name=r1,r2               any of the listed values
//   tag=core  group=dc1      membership of a list attribute
//   site=dc1 and role=leaf   variables by name (or vars.site)
//   platform!=cisco_ios      not equal
//   not tag=lab or (site=dc2 and role=spine)
//   all                      every host
// Precedence: not, then and, then or; parentheses group. Values may be globs (*, ?, [a-z]).
// Keys are checked when the selector is parsed, so `sit=dc1` is an error, not an empty set.

#include <memory>
#include <string>
#include <vector>

#include "inventory.h"
#include "nauto/base/result.h"

namespace nauto::inventory {

class Selector {
 public:
  /// Parses `text`. Errors say where in the text and what was expected.
  /// `variables`: the variable names the inventory uses; with it, keys that are neither
  /// built in nor one of them are errors. nullptr skips the check.
  static Result<Selector> parse(const std::string& text,
                                const std::vector<std::string>* variables = nullptr);

  bool matches(const Host& host) const;
  const std::string& text() const { return text_; }

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;  // immutable, shared by copies
};

/// The variable names used anywhere in the inventory, for Selector::parse's check.
std::vector<std::string> variable_names(const Inventory& inventory);

/// Hosts matching `selector`, in inventory order.
std::vector<const Host*> select(const Inventory& inventory, const Selector& selector);

}  // namespace nauto::inventory
