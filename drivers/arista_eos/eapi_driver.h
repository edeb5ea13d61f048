#pragma once
// EapiDriver: Arista EOS over eAPI (JSON-RPC 2.0 `runCmds` on /command-api).

#include "http/json_api_driver.h"

namespace nauto::drivers::arista_eos {

class EapiDriver final : public http::JsonApiDriver {
 public:
  EapiDriver(DeviceTarget target, PlatformDefinition platform)
      : JsonApiDriver(std::move(target), std::move(platform)) {}

 protected:
  Result<std::vector<http::ApiReply>> call(const std::vector<std::string>& commands,
                                           bool structured, bool config,
                                           Deadline deadline) override;

 private:
  int next_id_ = 1;
};

}  // namespace nauto::drivers::arista_eos
