#include "linux_driver.h"

#include "nauto/base/clock.h"
#include "nauto/drivers/retry.h"

namespace nauto::drivers::linux_host {

LinuxDriver::LinuxDriver(DeviceTarget target, PlatformDefinition platform)
    : target_(std::move(target)),
      platform_(std::move(platform)),
      timeouts_(effective_timeouts(target_, platform_)) {}

Result<void> LinuxDriver::open(Deadline deadline) {
  auto connection = ssh::SshConnection::open(target_, timeouts_.connect_ms, deadline);
  if (!connection) return std::move(connection).error();
  connection_ = std::move(*connection);
  return ok();
}

Result<CommandOutput> LinuxDriver::run_checked(const std::string& command, Deadline deadline,
                                               const CallOptions& options) {
  if (options.structured) {
    return device_error(target_, Errc::Unsupported, "linux commands give text; parse it instead");
  }
  if (!is_open())
    return device_error(target_, Errc::Unavailable, "no open session (call open() first)");
  auto started = steady_us();
  auto output = connection_->exec(command, options.idle_ms.value_or(timeouts_.idle_ms), deadline);
  if (!output) {
    if (is_transient(output.error())) close();
    return std::move(output).error();
  }
  if (output->exit_status != 0) {
    auto err = output->err.empty() ? output->out : output->err;
    while (!err.empty() && err.back() == '\n')
      err.pop_back();
    return device_error(target_, Errc::Rejected,
                        "'" + command + "' exited with status " +
                            std::to_string(output->exit_status) + (err.empty() ? "" : ": " + err));
  }
  return CommandOutput{command, std::move(output->out), {}, steady_us() - started};
}

Result<std::string> LinuxDriver::get_config(ConfigSource, Deadline) {
  return device_error(target_, Errc::Unsupported,
                      "a Linux host has no device config; read the files you manage with run()");
}

Result<PushResult> LinuxDriver::push_checked(const ConfigPush&, Deadline) {
  return device_error(target_, Errc::Unsupported,
                      "a Linux host has no config mode; change it with run() commands");
}

Result<void> LinuxDriver::commit(int, Deadline) {
  return device_error(target_, Errc::Unsupported, "a Linux host has nothing to commit");
}

Result<void> LinuxDriver::rollback(const RollbackTarget&, Deadline) {
  return device_error(target_, Errc::Unsupported, "a Linux host has no config rollback");
}

Result<Facts> LinuxDriver::facts(Deadline deadline) {
  auto output = run(platform_.facts_command, deadline, {});
  if (!output) return std::move(output).error();
  Facts facts;
  extract_facts(output->text, platform_, facts);
  return facts;
}

}  // namespace nauto::drivers::linux_host
