#pragma once
// MerakiDriver: a Meraki device through the Dashboard REST API. "Config" is the device's
// attribute object (name, tags, address, notes, lat, lng); run() takes read-only requests such as
// `GET /organizations` and answers with JSON. Pagination and 429 back-off come from HttpClient.

#include <memory>

#include "nauto/drivers/driver.h"
#include "nauto/drivers/http_client.h"
#include "nauto/drivers/platform.h"

namespace nauto::drivers::meraki {

class MerakiDriver final : public Driver {
 public:
  MerakiDriver(DeviceTarget target, PlatformDefinition platform);

  const DeviceTarget& target() const override { return target_; }
  Capabilities capabilities() const override {
    return {Capability::Diff, Capability::DryRun, Capability::Rollback,
            Capability::StructuredOutput};
  }
  Result<void> open(Deadline deadline) override;
  void close() override { client_.reset(); }
  bool is_open() const override { return client_ != nullptr; }
  Result<CommandOutput> run_checked(const std::string& command, Deadline deadline,
                                    const CallOptions& options) override;
  Result<std::string> get_config(ConfigSource source, Deadline deadline) override;
  Result<PushResult> push_checked(const ConfigPush& push, Deadline deadline) override;
  Result<void> commit(int confirm_minutes, Deadline deadline) override;
  Result<void> rollback(const RollbackTarget& target, Deadline deadline) override;
  Result<Facts> facts(Deadline deadline) override;

 private:
  http::HttpRequest request(const std::string& method, const std::string& path) const;
  Result<std::string> device_json(Deadline deadline);

  DeviceTarget target_;
  PlatformDefinition platform_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace nauto::drivers::meraki
