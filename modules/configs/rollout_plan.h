#pragma once
// RolloutPlan: how a staged rollout splits its devices into waves and how many failures it
// tolerates (issue 27). Pure functions of the inventory records; no bus, no store.
//
// Waves, as Ansible's `serial` gives batches:
// - a canary of N devices first, a wave of its own;
// - then sizes, each a count ("5") or a percentage of all the devices ("10%", rounded up, at
//   least 1), the last size repeating until every device has a wave;
// - or, with a key (`wave_by: site`), one wave per value of that key, in the values' order
//   (a device without the key is in the wave of ""), the canary taken from the first.
// Devices are in the order of their names (ios2 before ios10), and key values likewise.
// Thread-safe: no state.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::configs {

struct WaveRules {
  std::size_t canary = 0;
  std::vector<std::string> sizes;  ///< empty: one wave of everything after the canary
  std::string wave_by;             ///< an inventory key; replaces sizes
};

using Waves = std::vector<std::vector<std::string>>;

/// The waves of `hosts` (inventory records, as inventory.select gives them).
/// Errors: Errc::InvalidArgument naming the size that is not a count or a percentage.
Result<Waves> plan_waves(const std::vector<nlohmann::json>& hosts, const WaveRules& rules);

/// The failures tolerated out of `devices`: "3" or "5%" (rounded down); one more halts.
/// Errors: Errc::InvalidArgument for anything else.
Result<std::size_t> tolerated_failures(const std::string& max_fail, std::size_t devices);

/// An inventory record's value of `key`: its field, else its variable, as text ("" if none).
std::string host_value(const nlohmann::json& host, const std::string& key);

}  // namespace nauto::configs
