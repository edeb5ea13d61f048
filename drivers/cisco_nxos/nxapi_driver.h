#pragma once
// NxapiDriver: Cisco NX-OS over NX-API (the `ins_api` JSON form on /ins).

#include "http/json_api_driver.h"

namespace nauto::drivers::cisco_nxos {

class NxapiDriver final : public http::JsonApiDriver {
 public:
  NxapiDriver(DeviceTarget target, PlatformDefinition platform)
      : JsonApiDriver(std::move(target), std::move(platform)) {}

 protected:
  Result<std::vector<http::ApiReply>> call(const std::vector<std::string>& commands,
                                           bool structured, bool config,
                                           Deadline deadline) override;
};

}  // namespace nauto::drivers::cisco_nxos
