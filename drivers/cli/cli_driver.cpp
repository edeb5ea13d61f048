#include "cli_driver.h"

#include "nauto/base/clock.h"
#include "nauto/drivers/retry.h"

namespace nauto::drivers::cli {

CliDriver::CliDriver(DeviceTarget target, PlatformDefinition platform)
    : target_(std::move(target)),
      platform_(std::move(platform)),
      timeouts_(effective_timeouts(target_, platform_)),
      diff_(platform_.volatile_lines, platform_.replace_keys) {}

CliDriver::~CliDriver() {
  close();
}

Capabilities CliDriver::capabilities() const {
  if (has_commit()) {
    return {Capability::Commit, Capability::Rollback,        Capability::Diff,
            Capability::DryRun, Capability::CandidateConfig, Capability::ConfirmedCommit};
  }
  if (platform_.config_enter.empty()) return {};
  return {Capability::Rollback, Capability::Diff, Capability::DryRun};
}

Result<void> CliDriver::open(Deadline deadline) {
  close();
  auto connection = ssh::SshConnection::open(target_, timeouts_.connect_ms, deadline);
  if (!connection) return std::move(connection).error();
  auto session = CliSession::start(**connection, platform_, target_, timeouts_, deadline);
  if (!session) return std::move(session).error();
  connection_ = std::move(*connection);
  session_ = std::move(*session);
  return ok();
}

void CliDriver::close() {
  session_.reset();
  connection_.reset();
}

bool CliDriver::is_open() const {
  return session_ && session_->is_alive() && connection_->is_connected();
}

bool CliDriver::keepalive() {
  if (!is_open()) return false;
  return connection_->keepalive();
}

Result<CliSession*> CliDriver::session() {
  if (!is_open()) {
    return device_error(target_, Errc::Unavailable, "no open session (call open() first)");
  }
  return session_.get();
}

template <typename T>
Result<T> CliDriver::checked(Result<T> result) {
  if (!result && is_transient(result.error())) close();
  return result;
}

Result<CommandOutput> CliDriver::run_checked(const std::string& command, Deadline deadline,
                                             const CallOptions& options) {
  if (options.structured) {
    return device_error(target_, Errc::Unsupported,
                        platform_.name +
                            " over the SSH CLI gives text only; use the API transport "
                            "for structured output");
  }
  auto cli = session();
  if (!cli) return std::move(cli).error();
  auto started = steady_us();
  if (auto left = (*cli)->exit_config(deadline); !left)
    return checked<CommandOutput>(std::move(left).error());
  auto text = (*cli)->command(command, deadline, options.idle_ms.value_or(timeouts_.idle_ms));
  if (!text) return checked<CommandOutput>(std::move(text).error());
  return CommandOutput{command, std::move(*text), {}, steady_us() - started};
}

Result<std::string> CliDriver::get_config(ConfigSource source, Deadline deadline) {
  std::string command;
  if (source == ConfigSource::Running) command = platform_.show_running;
  if (source == ConfigSource::Startup) command = platform_.show_startup;
  if (command.empty()) {
    return device_error(target_, Errc::Unsupported,
                        platform_.name + " has no " +
                            (source == ConfigSource::Startup ? "startup" : "candidate") +
                            " config to read over the CLI");
  }
  auto output = run(command, deadline, {});
  if (!output) return std::move(output).error();
  return drop_volatile_lines(output->text, platform_);
}

Result<PushResult> CliDriver::push_checked(const ConfigPush& push, Deadline deadline) {
  if (platform_.config_enter.empty()) {
    return device_error(target_, Errc::Unsupported, platform_.name + " has no config mode");
  }
  return has_commit() ? push_candidate(push, deadline) : push_indented(push, deadline);
}

IndentedConfigAccess CliDriver::indented_access(Deadline deadline) {
  IndentedConfigAccess access;
  access.read_running = [this, deadline] { return get_config(ConfigSource::Running, deadline); };
  access.apply = [this, deadline](const std::vector<std::string>& lines) -> Result<void> {
    auto cli = session();
    if (!cli) return std::move(cli).error();
    return checked<void>((*cli)->send_config(lines, deadline, timeouts_.idle_ms));
  };
  if (!platform_.save_config.empty()) {
    access.save = [this, deadline]() -> Result<void> {
      auto saved = run(platform_.save_config, deadline, {});
      if (!saved) return std::move(saved).error();
      return ok();
    };
  }
  return access;
}

Result<PushResult> CliDriver::push_indented(const ConfigPush& push, Deadline deadline) {
  return push_indented_config(diff_, push, indented_access(deadline));
}

Result<void> CliDriver::commit_in_config(int confirm_minutes, Deadline deadline) {
  auto cli = session();
  if (!cli) return std::move(cli).error();
  std::string line = platform_.config_commit;
  if (confirm_minutes > 0) line += " confirmed " + std::to_string(confirm_minutes);
  auto output = (*cli)->command(line, deadline, timeouts_.idle_ms);
  if (!output) return checked<void>(std::move(output).error());
  return ok();
}

Result<PushResult> CliDriver::push_candidate(const ConfigPush& push, Deadline deadline) {
  auto cli = session();
  if (!cli) return std::move(cli).error();
  PushResult result;
  auto before = get_config(ConfigSource::Running, deadline);
  if (!before) return std::move(before).error();
  result.snapshot = *before;
  result.commands = split_lines_of(push.text);
  if (push.mode == PushMode::Replace) {
    result.commands.insert(result.commands.begin(), "delete");
    // `delete` at the top asks for confirmation on Junos; answered by the platform data.
  }
  auto abandon = [&](Error error) -> Error {
    (void)(*cli)->command_raw("rollback 0", deadline, timeouts_.idle_ms);
    (void)(*cli)->exit_config(deadline);
    return error;
  };
  if (auto sent = (*cli)->send_config(result.commands, deadline, timeouts_.idle_ms, true); !sent) {
    if ((*cli)->mode() == CliMode::Config) return abandon(std::move(sent).error());
    return checked<PushResult>(std::move(sent).error());
  }
  auto compare = (*cli)->command(platform_.show_candidate_diff, deadline, timeouts_.idle_ms);
  if (!compare) return abandon(std::move(compare).error());
  result.diff = *compare;
  // `show | compare` ends with the [edit] banner of the prompt; keep only the diff itself.
  if (auto at = result.diff.rfind("[edit]");
      at != std::string::npos && at + 6 >= result.diff.size()) {
    result.diff.erase(at);
  }
  while (!result.diff.empty() && (result.diff.back() == '\n' || result.diff.back() == ' ')) {
    result.diff.pop_back();
  }
  result.changed = !result.diff.empty();
  if (push.dry_run || !push.commit || !result.changed) {
    if (push.dry_run || !result.changed) {
      (void)(*cli)->command_raw("rollback 0", deadline, timeouts_.idle_ms);
      if (auto left = (*cli)->exit_config(deadline); !left) return std::move(left).error();
    }
    return result;
  }
  if (auto committed = commit_in_config(push.confirm_minutes, deadline); !committed) {
    return abandon(std::move(committed).error());
  }
  if (auto left = (*cli)->exit_config(deadline); !left) return std::move(left).error();
  return result;
}

Result<void> CliDriver::commit(int confirm_minutes, Deadline deadline) {
  if (!has_commit()) {
    return device_error(target_, Errc::Unsupported,
                        platform_.name + " applies config at once; there is nothing to commit");
  }
  auto cli = session();
  if (!cli) return std::move(cli).error();
  if (auto entered = (*cli)->enter_config(deadline); !entered)
    return checked<void>(std::move(entered).error());
  if (auto committed = commit_in_config(confirm_minutes, deadline); !committed) return committed;
  return (*cli)->exit_config(deadline);
}

Result<void> CliDriver::rollback(const RollbackTarget& target, Deadline deadline) {
  if (target.rollback_id) {
    if (platform_.rollback_command.empty()) {
      return device_error(target_, Errc::Unsupported,
                          platform_.name + " has no numbered rollback; roll back to a snapshot");
    }
    auto cli = session();
    if (!cli) return std::move(cli).error();
    std::string line = platform_.rollback_command;
    line.replace(line.find("{id}"), 4, std::to_string(*target.rollback_id));
    if (auto sent = (*cli)->send_config({line}, deadline, timeouts_.idle_ms, true); !sent)
      return sent;
    if (auto committed = commit_in_config(0, deadline); !committed) return committed;
    return (*cli)->exit_config(deadline);
  }
  if (target.snapshot.empty()) {
    return device_error(target_, Errc::InvalidArgument,
                        "rollback needs a snapshot or a rollback id");
  }
  if (has_commit()) {
    ConfigPush push{target.snapshot, PushMode::Replace};
    auto pushed = push_candidate(push, deadline);
    if (!pushed) return std::move(pushed).error();
    return ok();
  }
  return restore_indented_snapshot(diff_, target.snapshot, indented_access(deadline));
}

Result<Facts> CliDriver::facts(Deadline deadline) {
  Facts facts;
  auto cli = session();
  if (!cli) return std::move(cli).error();
  facts.hostname = (*cli)->host();
  if (auto at = facts.hostname.find('@'); at != std::string::npos) facts.hostname.erase(0, at + 1);
  if (!platform_.facts_command.empty()) {
    auto output = run(platform_.facts_command, deadline, {});
    if (!output) return std::move(output).error();
    extract_facts(output->text, platform_, facts);
  }
  facts.vendor = platform_.vendor;
  return facts;
}

}  // namespace nauto::drivers::cli
