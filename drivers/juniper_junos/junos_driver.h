#pragma once
// JunosDriver: Juniper Junos with config over NETCONF (candidate, lock, edit-config, validate,
// commit and confirmed commit, discard) and operational commands over the SSH CLI, both on one
// SSH connection. Config text is Junos XML (<configuration>…</configuration>).

#include <memory>

#include "cli/cli_session.h"
#include "nauto/drivers/driver.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/ssh/ssh_connection.h"
#include "netconf/netconf_session.h"

namespace nauto::drivers::juniper_junos {

class JunosDriver final : public Driver {
 public:
  JunosDriver(DeviceTarget target, PlatformDefinition platform);
  ~JunosDriver() override;

  const DeviceTarget& target() const override { return target_; }
  Capabilities capabilities() const override {
    return {Capability::Commit, Capability::Rollback,        Capability::Diff,
            Capability::DryRun, Capability::CandidateConfig, Capability::ConfirmedCommit};
  }
  Result<void> open(Deadline deadline) override;
  void close() override;
  bool is_open() const override;
  bool keepalive() override { return is_open() && connection_->keepalive(); }
  Result<CommandOutput> run_checked(const std::string& command, Deadline deadline,
                                    const CallOptions& options) override;
  Result<std::string> get_config(ConfigSource source, Deadline deadline) override;
  Result<PushResult> push_checked(const ConfigPush& push, Deadline deadline) override;
  Result<void> commit(int confirm_minutes, Deadline deadline) override;
  Result<void> rollback(const RollbackTarget& target, Deadline deadline) override;
  Result<Facts> facts(Deadline deadline) override;

 private:
  Result<cli::CliSession*> cli(Deadline deadline);
  Result<std::string> rpc(const std::string& operation, Deadline deadline);
  Result<void> commit_rpc(int confirm_minutes, Deadline deadline);

  DeviceTarget target_;
  PlatformDefinition platform_;
  Timeouts timeouts_;
  std::unique_ptr<ssh::SshConnection> connection_;
  std::unique_ptr<netconf::NetconfSession> netconf_;
  std::unique_ptr<cli::CliSession> cli_;
};

}  // namespace nauto::drivers::juniper_junos
