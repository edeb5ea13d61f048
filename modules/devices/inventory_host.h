#pragma once
// What the job engine reads from an inventory host record (inventory.select's answer): a
// device's values for keyed limits and pools, and the DeviceTarget its drivers connect with.
// The control node and its workers build targets the same way.
//
// Thread: any (pure functions).

#include <nlohmann/json.hpp>
#include <string>

#include "nauto/base/result.h"
#include "nauto/drivers/device_target.h"

namespace nauto::devices {

/// A host record's value for `key`: a top-level field or a variable (`vars.<key>` or `<key>`);
/// empty when it has none.
std::string host_attribute(const nlohmann::json& host, const std::string& key);

/// The target for `host` with the secrets of its credential from `credentials` (vault.resolve's
/// answer: name -> {username, password, ...}).
Result<drivers::DeviceTarget> target_of(const nlohmann::json& host,
                                        const nlohmann::json& credentials);

}  // namespace nauto::devices
