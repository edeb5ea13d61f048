#pragma once
// Runbook parameters: what a runbook declares it takes, and the check that turns what a caller
// passed (typed JSON from the API, or k=v strings from the CLI) into typed values before the
// run starts. Every problem is reported at once, each naming the parameter and the fix.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::runbook {

enum class ParamType { String, Int, Bool, Ip, Device, Selector, List };

std::string_view param_type_name(ParamType type);

/// One declared parameter. Invariant after parse_param_specs: a default, when present, has the
/// declared type.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  bool required = false;
  nlohmann::json default_value;  ///< null: none
  std::string description;
};

/// Reads declarations: an object {name: {type, required, default, description}} (Lua) or a
/// list of {name, type, ...} (YAML). `where` prefixes errors ("bgp_check.lua: params.site").
Result<std::vector<ParamSpec>> parse_param_specs(const nlohmann::json& declared,
                                                 const std::string& where);
nlohmann::json to_json(const std::vector<ParamSpec>& specs);

/// Checks and converts `given` (an object). Strings are converted to the declared type
/// ("42" -> 42, "yes" -> true, "a,b" -> ["a", "b"]); defaults fill what is missing; unknown
/// names are errors (with the closest declared name as a hint).
Result<nlohmann::json> bind_params(const std::vector<ParamSpec>& specs, const nlohmann::json& given,
                                   const std::string& runbook);

}  // namespace nauto::runbook
