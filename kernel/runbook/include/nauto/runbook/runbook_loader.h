#pragma once
// Loading a runbook's Lua text into a sandbox: the prelude first, then the runbook, which
// returns runbook{name = ..., description = ..., params = {...}, run = function(params) end}.
// Used by Run (to execute) and by describe_runbook (to list, show and validate without
// running anything).

#include <nlohmann/json.hpp>
#include <string>

#include "nauto/base/result.h"
#include "nauto/runbook/params.h"

struct lua_State;

namespace nauto::runbook {

/// Inside a protected call: loads the prelude and the runbook and leaves the runbook's table on
/// the stack. Raises a Lua error (with a sentence saying what a runbook must return).
void push_runbook_table(lua_State* L, const std::string& source, const std::string& chunk_name);

/// What a runbook says about itself.
struct RunbookDescription {
  std::string name;
  std::string description;
  std::string version;  ///< metadata a runbook may carry (YAML: version, author); kept, shown
  std::string author;
  std::vector<ParamSpec> params;
};

/// Loads the runbook in a scratch sandbox (small limits, no effects possible) and reads its
/// name, description and params. Errors: InvalidArgument with Lua's position or the problem.
Result<RunbookDescription> describe_runbook(const std::string& source,
                                            const std::string& chunk_name);

}  // namespace nauto::runbook
