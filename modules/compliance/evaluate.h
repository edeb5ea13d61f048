#pragma once
// Evaluation of a policy's rules on one device, from what a run fetched for it: its config
// (archived or live), and in live runs the show commands and facts its rules need.
// A rule that needs the device is skipped in a run from the archive; one whose input could not
// be had (no archived config, a command that failed) is an error, not a failure.
// Thread: any, with the thread's own Matcher.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config_checks.h"
#include "getters.h"
#include "policy.h"
#include "rule_result.h"

namespace nauto::compliance {

/// What a device's rules need fetched from it in a live run.
struct DeviceNeeds {
  std::set<std::string> commands;  ///< show commands (records checks and getters)
  bool facts = false;
};
DeviceNeeds needs_of(const std::vector<const Rule*>& rules, const std::string& platform);

struct DeviceInput {
  std::string device;
  std::string site;
  bool live = false;
  std::optional<ConfigView> config;
  std::string config_error;                           ///< why there is no config
  DeviceData data;                                    ///< data.config is set from `config`
  std::map<std::string, std::string> command_errors;  ///< command -> why it has no records
  std::string device_error;  ///< a live run's call that failed: validate rules cannot be made
};

std::vector<RuleResult> evaluate(const std::vector<const Rule*>& rules, const DeviceInput& input,
                                 text::Matcher& matcher);

}  // namespace nauto::compliance
