#pragma once
// A policy's compliance report from one run's device results: scores per device, per rule and
// per site, and the trend over earlier runs. A score is the passing checks in percent of those
// that passed or failed; checks that could not be made (errors) or were skipped count on their
// own and not in the score, which is -1 where nothing passed or failed.
// Pure functions; any thread.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace nauto::compliance {

/// Percent, to a tenth; -1 when pass + fail is 0.
double score_of(std::int64_t pass, std::int64_t fail);

/// `run`: the run's record (its `rules`); `devices`: its device results; `earlier`: finished
/// runs of the policy, newest first (the trend lists them oldest first, then this run).
nlohmann::json build_report(const nlohmann::json& run, const std::vector<nlohmann::json>& devices,
                            const nlohmann::json& earlier);

}  // namespace nauto::compliance
