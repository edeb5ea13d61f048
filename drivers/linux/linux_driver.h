#pragma once
// LinuxDriver: a host reached over SSH exec channels, one per command — no prompts to learn,
// and the exit status says whether a command worked (non-zero is Rejected, with its stderr).

#include <memory>

#include "nauto/drivers/driver.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/ssh/ssh_connection.h"

namespace nauto::drivers::linux_host {

class LinuxDriver final : public Driver {
 public:
  LinuxDriver(DeviceTarget target, PlatformDefinition platform);

  const DeviceTarget& target() const override { return target_; }
  Capabilities capabilities() const override { return {}; }
  Result<void> open(Deadline deadline) override;
  void close() override { connection_.reset(); }
  bool is_open() const override { return connection_ && connection_->is_connected(); }
  bool keepalive() override { return is_open() && connection_->keepalive(); }
  Result<CommandOutput> run_checked(const std::string& command, Deadline deadline,
                                    const CallOptions& options) override;
  Result<std::string> get_config(ConfigSource source, Deadline deadline) override;
  Result<PushResult> push_checked(const ConfigPush& push, Deadline deadline) override;
  Result<void> commit(int confirm_minutes, Deadline deadline) override;
  Result<void> rollback(const RollbackTarget& target, Deadline deadline) override;
  Result<Facts> facts(Deadline deadline) override;

 private:
  DeviceTarget target_;
  PlatformDefinition platform_;
  Timeouts timeouts_;
  std::unique_ptr<ssh::SshConnection> connection_;
};

}  // namespace nauto::drivers::linux_host
