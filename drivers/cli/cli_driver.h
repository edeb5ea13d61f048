#pragma once
// CliDriver: the Driver for every interactive-CLI platform (cisco_ios, arista_eos, cisco_nxos,
// frr, generic_ssh, and juniper_junos over ssh_cli). All platform differences come from the
// PlatformDefinition; the config behaviour follows its syntax: indented configs apply at once
// (changes computed with ConfigDiff, rollback by pushing a snapshot back), set-line configs go
// through a candidate and commit.

#include <memory>

#include "cli_session.h"
#include "nauto/drivers/config_diff.h"
#include "nauto/drivers/driver.h"
#include "nauto/drivers/indented_push.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/ssh/ssh_connection.h"

namespace nauto::drivers::cli {

class CliDriver final : public Driver {
 public:
  CliDriver(DeviceTarget target, PlatformDefinition platform);
  ~CliDriver() override;

  const DeviceTarget& target() const override { return target_; }
  Capabilities capabilities() const override;
  Result<void> open(Deadline deadline) override;
  void close() override;
  bool is_open() const override;
  bool keepalive() override;
  Result<CommandOutput> run_checked(const std::string& command, Deadline deadline,
                                    const CallOptions& options) override;
  Result<std::string> get_config(ConfigSource source, Deadline deadline) override;
  Result<PushResult> push_checked(const ConfigPush& push, Deadline deadline) override;
  Result<void> commit(int confirm_minutes, Deadline deadline) override;
  Result<void> rollback(const RollbackTarget& target, Deadline deadline) override;
  Result<Facts> facts(Deadline deadline) override;

 private:
  bool has_commit() const { return !platform_.config_commit.empty(); }
  Result<CliSession*> session();
  /// Forgets a session whose state is unknown after a transport fault.
  template <typename T>
  Result<T> checked(Result<T> result);
  IndentedConfigAccess indented_access(Deadline deadline);
  Result<PushResult> push_indented(const ConfigPush& push, Deadline deadline);
  Result<PushResult> push_candidate(const ConfigPush& push, Deadline deadline);
  Result<void> commit_in_config(int confirm_minutes, Deadline deadline);

  DeviceTarget target_;
  PlatformDefinition platform_;
  Timeouts timeouts_;
  ConfigDiff diff_;
  std::unique_ptr<ssh::SshConnection> connection_;
  std::unique_ptr<CliSession> session_;
};

}  // namespace nauto::drivers::cli
