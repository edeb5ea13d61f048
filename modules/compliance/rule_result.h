#pragma once
// RuleResult: what one rule found on one device - the unit a compliance run stores, reports
// and turns into compliance.violation / compliance.resolved events.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nauto::compliance {

enum class Status { Pass, Fail, Error, Skipped };
const char* status_name(Status status);

struct RuleResult {
  std::string rule;
  Status status = Status::Pass;
  std::string message;               ///< why it failed, erred or was skipped
  std::vector<std::string> lines;    ///< the offending lines, or the sections that fail
  std::vector<std::string> missing;  ///< what should be there and is not
  nlohmann::json detail;             ///< a NAPALM validate report; null otherwise

  nlohmann::json to_json() const;
};

/// At most this many lines (offending or missing) are kept per result: enough to act on, and
/// a config with a thousand offending lines does not make a result of megabytes.
inline constexpr std::size_t kLinesKept = 20;

}  // namespace nauto::compliance
