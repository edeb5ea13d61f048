#pragma once
// The devices a run or a gate check covers, and which rules apply to each: inventory.select of
// the target, then of every distinct rule scope (a rule's `scope:` selector), all answered on
// the module's thread. Thread: the module's.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/sdk/context.h"
#include "policy.h"

namespace nauto::compliance {

struct Selection {
  std::vector<nlohmann::json> hosts;                     ///< inventory records
  std::map<std::string, std::set<std::string>> members;  ///< scope -> the names it picks
  bool applies(const Rule& rule, const std::string& device) const;
};

/// Selects `target`, then each scope in `scopes` ("all" needs no request); `done` gets the
/// selection, or the first error (a scope's error names the scope).
void select_with_scopes(Context& ctx, const std::string& target, std::set<std::string> scopes,
                        std::function<void(Result<Selection>)> done);

/// The scopes of `rules` other than "all".
std::set<std::string> scopes_of(const std::vector<Rule>& rules);

}  // namespace nauto::compliance
