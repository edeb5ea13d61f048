#include "json_api_driver.h"

#include "nauto/base/clock.h"
#include "nauto/text/regex.h"

namespace nauto::drivers::http {

JsonApiDriver::JsonApiDriver(DeviceTarget target, PlatformDefinition platform)
    : target_(std::move(target)),
      platform_(std::move(platform)),
      timeouts_(effective_timeouts(target_, platform_)),
      diff_(platform_.volatile_lines, platform_.replace_keys) {}

Capabilities JsonApiDriver::capabilities() const {
  return {Capability::Rollback, Capability::Diff, Capability::DryRun, Capability::StructuredOutput};
}

std::string JsonApiDriver::base_url() const {
  int port = target_.api_port ? target_.api_port : 443;
  return "https://" + target_.host + ":" + std::to_string(port);
}

Result<void> JsonApiDriver::open(Deadline) {
  // HTTP has no session to set up; the connection is made (and kept) by the first request.
  if (!client_) client_ = std::make_unique<HttpClient>(target_, timeouts_);
  return ok();
}

Result<CommandOutput> JsonApiDriver::run_checked(const std::string& command, Deadline deadline,
                                                 const CallOptions& options) {
  if (!client_) return device_error(target_, Errc::Unavailable, "not open (call open() first)");
  auto started = steady_us();
  auto replies = call({command}, options.structured, false, deadline);
  if (!replies) return std::move(replies).error();
  auto& reply = replies->front();
  return CommandOutput{command, std::move(reply.text), std::move(reply.json),
                       steady_us() - started};
}

Result<std::string> JsonApiDriver::get_config(ConfigSource source, Deadline deadline) {
  if (source == ConfigSource::Candidate) {
    return device_error(target_, Errc::Unsupported, platform_.name + " has no candidate config");
  }
  auto output =
      run(source == ConfigSource::Running ? platform_.show_running : platform_.show_startup,
          deadline, {});
  if (!output) return std::move(output).error();
  return drop_volatile_lines(output->text, platform_);
}

IndentedConfigAccess JsonApiDriver::indented_access(Deadline deadline) {
  IndentedConfigAccess access;
  access.read_running = [this, deadline] { return get_config(ConfigSource::Running, deadline); };
  access.apply = [this, deadline](const std::vector<std::string>& lines) -> Result<void> {
    std::vector<std::string> commands;
    for (const auto& line : lines) {
      auto begin = line.find_first_not_of(' ');
      if (begin == std::string::npos || line[begin] == '!') continue;
      commands.push_back(line);
    }
    auto replies = call(commands, false, true, deadline);
    if (!replies) return std::move(replies).error();
    return ok();
  };
  access.save = [this, deadline]() -> Result<void> {
    auto saved = call({platform_.save_config}, false, false, deadline);
    if (!saved) return std::move(saved).error();
    return ok();
  };
  return access;
}

Result<PushResult> JsonApiDriver::push_checked(const ConfigPush& push, Deadline deadline) {
  if (!client_) return device_error(target_, Errc::Unavailable, "not open (call open() first)");
  return push_indented_config(diff_, push, indented_access(deadline));
}

Result<void> JsonApiDriver::commit(int, Deadline) {
  return device_error(target_, Errc::Unsupported,
                      platform_.name + " applies config at once; there is nothing to commit");
}

Result<void> JsonApiDriver::rollback(const RollbackTarget& target, Deadline deadline) {
  if (target.snapshot.empty()) {
    return device_error(target_, Errc::Unsupported,
                        platform_.name + " rolls back to a snapshot only (no rollback ids)");
  }
  return restore_indented_snapshot(diff_, target.snapshot, indented_access(deadline));
}

Result<Facts> JsonApiDriver::facts(Deadline deadline) {
  auto replies = call({platform_.facts_command, platform_.show_running}, false, false, deadline);
  if (!replies) return std::move(replies).error();
  Facts facts;
  extract_facts((*replies)[0].text, platform_, facts);
  static const auto hostname_line =
      text::Regex::literal(R"((?m)^(?:hostname|switchname) (\S+))", text::Regex::Anchor::Anywhere);
  if (facts.hostname.empty()) {
    if (auto match = text::match_groups(hostname_line, (*replies)[1].text))
      facts.hostname = (*match)[1];
  }
  return facts;
}

}  // namespace nauto::drivers::http
