#include "junos_driver.h"

#include "nauto/base/clock.h"
#include "nauto/drivers/config_diff.h"
#include "nauto/drivers/retry.h"

namespace nauto::drivers::juniper_junos {

JunosDriver::JunosDriver(DeviceTarget target, PlatformDefinition platform)
    : target_(std::move(target)),
      platform_(std::move(platform)),
      timeouts_(effective_timeouts(target_, platform_)) {}

JunosDriver::~JunosDriver() {
  close();
}

Result<void> JunosDriver::open(Deadline deadline) {
  close();
  auto connection = ssh::SshConnection::open(target_, timeouts_.connect_ms, deadline);
  if (!connection) return std::move(connection).error();
  auto session = netconf::NetconfSession::start(**connection, target_, timeouts_, deadline);
  if (!session) return std::move(session).error();
  connection_ = std::move(*connection);
  netconf_ = std::move(*session);
  return ok();
}

void JunosDriver::close() {
  if (netconf_ && netconf_->is_alive() && connection_->is_connected()) {
    netconf_->close(Deadline::after_ms(2000));
  }
  cli_.reset();
  netconf_.reset();
  connection_.reset();
}

bool JunosDriver::is_open() const {
  return netconf_ && netconf_->is_alive() && connection_->is_connected();
}

Result<cli::CliSession*> JunosDriver::cli(Deadline deadline) {
  if (!is_open())
    return device_error(target_, Errc::Unavailable, "no open session (call open() first)");
  if (!cli_ || !cli_->is_alive()) {
    auto session = cli::CliSession::start(*connection_, platform_, target_, timeouts_, deadline);
    if (!session) return std::move(session).error();
    cli_ = std::move(*session);
  }
  return cli_.get();
}

Result<std::string> JunosDriver::rpc(const std::string& operation, Deadline deadline) {
  if (!is_open())
    return device_error(target_, Errc::Unavailable, "no open session (call open() first)");
  auto reply = netconf_->rpc(operation, deadline);
  if (!reply && is_transient(reply.error())) close();
  return reply;
}

Result<CommandOutput> JunosDriver::run_checked(const std::string& command, Deadline deadline,
                                               const CallOptions& options) {
  if (options.structured) {
    return device_error(target_, Errc::Unsupported,
                        "structured Junos output (| display json) is not implemented yet");
  }
  auto session = cli(deadline);
  if (!session) return std::move(session).error();
  auto started = steady_us();
  auto text = (*session)->command(command, deadline, options.idle_ms.value_or(timeouts_.idle_ms));
  if (!text) {
    if (is_transient(text.error())) close();
    return std::move(text).error();
  }
  return CommandOutput{command, std::move(*text), {}, steady_us() - started};
}

Result<std::string> JunosDriver::get_config(ConfigSource source, Deadline deadline) {
  if (source == ConfigSource::Startup) {
    return device_error(target_, Errc::Unsupported,
                        "Junos has no startup config; the committed config is what boots");
  }
  std::string datastore = source == ConfigSource::Candidate ? "candidate" : "running";
  auto reply = rpc("<get-config><source><" + datastore + "/></source></get-config>", deadline);
  if (!reply) return std::move(reply).error();
  auto data = netconf::reply_data(*reply, "configuration");
  if (!data) return on_device(target_, std::move(data).error());
  return data;
}

Result<void> JunosDriver::commit_rpc(int confirm_minutes, Deadline deadline) {
  std::string operation = "<commit/>";
  if (confirm_minutes > 0) {
    operation = "<commit><confirmed/><confirm-timeout>" + std::to_string(confirm_minutes * 60) +
                "</confirm-timeout></commit>";
  }
  auto reply = rpc(operation, deadline);
  if (!reply) return std::move(reply).error();
  return ok();
}

Result<PushResult> JunosDriver::push_checked(const ConfigPush& push, Deadline deadline) {
  if (push.text.find("<configuration") == std::string::npos) {
    return device_error(target_, Errc::InvalidArgument,
                        "Junos config over NETCONF is XML: wrap it in <configuration>…"
                        "</configuration> (or use transport: ssh_cli for set commands)");
  }
  auto before = get_config(ConfigSource::Running, deadline);
  if (!before) return std::move(before).error();
  PushResult result;
  result.snapshot = *before;
  result.commands = {push.text};
  if (auto locked = rpc("<lock><target><candidate/></target></lock>", deadline); !locked) {
    return std::move(locked).error();
  }
  // From here on, every exit discards our candidate changes and releases the lock.
  auto release = [&](bool discard) {
    if (discard) (void)rpc("<discard-changes/>", deadline.capped_ms(5000));
    (void)rpc("<unlock><target><candidate/></target></unlock>", deadline.capped_ms(5000));
  };
  std::string edit = "<edit-config><target><candidate/></target><default-operation>" +
                     std::string(push.mode == PushMode::Replace ? "replace" : "merge") +
                     "</default-operation><config>" + push.text + "</config></edit-config>";
  if (auto edited = rpc(edit, deadline); !edited) {
    release(true);
    return std::move(edited).error();
  }
  if (auto valid = rpc("<validate><source><candidate/></source></validate>", deadline); !valid) {
    release(true);
    return std::move(valid).error();
  }
  auto candidate = get_config(ConfigSource::Candidate, deadline);
  if (!candidate) {
    release(true);
    return std::move(candidate).error();
  }
  result.before = *before;
  result.after = *candidate;
  result.diff = unified_diff(*before, *candidate, "running", "candidate");
  result.changed = !result.diff.empty();
  if (push.dry_run || !push.commit || !result.changed) {
    release(push.dry_run || !result.changed);
    return result;
  }
  if (auto committed = commit_rpc(push.confirm_minutes, deadline); !committed) {
    release(true);
    return std::move(committed).error();
  }
  release(false);
  return result;
}

Result<void> JunosDriver::commit(int confirm_minutes, Deadline deadline) {
  return commit_rpc(confirm_minutes, deadline);
}

Result<void> JunosDriver::rollback(const RollbackTarget& target, Deadline deadline) {
  if (target.rollback_id) {
    // The lab and older Junos lack <load-configuration rollback="N"/> over plain NETCONF; the
    // CLI's `rollback N` + `commit` works everywhere.
    auto session = cli(deadline);
    if (!session) return std::move(session).error();
    std::string line = "rollback " + std::to_string(*target.rollback_id);
    if (auto sent =
            (*session)->send_config({line, platform_.config_commit}, deadline, timeouts_.idle_ms);
        !sent) {
      return sent;
    }
    return ok();
  }
  if (target.snapshot.empty()) {
    return device_error(target_, Errc::InvalidArgument,
                        "rollback needs a snapshot or a rollback id");
  }
  ConfigPush push;
  push.text = target.snapshot;
  push.mode = PushMode::Replace;
  auto pushed = push_config(push, deadline);
  if (!pushed) return std::move(pushed).error();
  return ok();
}

Result<Facts> JunosDriver::facts(Deadline deadline) {
  auto output = run(platform_.facts_command, deadline, {});
  if (!output) return std::move(output).error();
  Facts facts;
  extract_facts(output->text, platform_, facts);
  return facts;
}

}  // namespace nauto::drivers::juniper_junos
