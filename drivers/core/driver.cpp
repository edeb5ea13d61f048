#include "nauto/drivers/driver.h"

#include <cstdio>

#include "nauto/text/control_characters.h"

namespace nauto::drivers {

std::string Capabilities::describe() const {
  static constexpr std::pair<Capability, const char*> kNames[] = {
      {Capability::Commit, "commit"},
      {Capability::Rollback, "rollback"},
      {Capability::Diff, "diff"},
      {Capability::DryRun, "dry-run"},
      {Capability::CandidateConfig, "candidate-config"},
      {Capability::ConfirmedCommit, "confirmed-commit"},
      {Capability::StructuredOutput, "structured-output"},
  };
  std::string out;
  for (const auto& [flag, name] : kNames) {
    if (has(flag)) out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out.empty() ? "none" : out;
}

namespace {

std::string describe_control(unsigned char c) {
  switch (c) {
    case '\n':
      return "a line feed (\\n)";
    case '\r':
      return "a carriage return (\\r)";
    case '\t':
      return "a tab (\\t)";
    case 0x1b:
      return "an escape (\\x1b)";
    default: {
      char text[32];
      std::snprintf(text, sizeof text, "control character \\x%02x", c);
      return text;
    }
  }
}

}  // namespace

Result<void> check_command(std::string_view command) {
  for (std::size_t i = 0; i < command.size(); ++i) {
    const auto c = static_cast<unsigned char>(command[i]);
    if (text::is_control_character(c)) {
      return fail(Errc::InvalidArgument,
                  "the command contains " + describe_control(c) + " at byte " +
                      std::to_string(i + 1) +
                      ": one command is one line (give several commands as a list)");
    }
  }
  return ok();
}

Result<void> check_config_lines(std::string_view text) {
  std::size_t line = 1, column = 0;
  for (std::size_t i = 0; i < text.size(); ++i, ++column) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      column = 0;
      continue;
    }
    if (text::is_control_character(c) && c != '\t') {
      return fail(Errc::InvalidArgument,
                  "config line " + std::to_string(line) + " contains " + describe_control(c) +
                      " at column " + std::to_string(column + 1) +
                      (c == '\r' ? " (Windows line ends? convert them)" : ""));
    }
  }
  return ok();
}

Result<CommandOutput> Driver::run(const std::string& command, Deadline deadline,
                                  const CallOptions& options) {
  if (auto checked = check_command(command); !checked)
    return on_device(target(), std::move(checked).error());
  return run_checked(command, deadline, options);
}

Result<PushResult> Driver::push_config(const ConfigPush& push, Deadline deadline) {
  if (auto checked = check_config_lines(push.text); !checked)
    return on_device(target(), std::move(checked).error());
  return push_checked(push, deadline);
}

Error device_error(const DeviceTarget& target, Errc code, std::string message) {
  return Error{code, std::move(message), target.name};
}

Error on_device(const DeviceTarget& target, Error error) {
  if (error.where.empty()) {
    error.where = target.name;
  } else if (error.where.rfind(target.name, 0) != 0) {
    error.where = target.name + ": " + error.where;
  }
  return error;
}

}  // namespace nauto::drivers
