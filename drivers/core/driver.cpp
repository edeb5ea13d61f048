#include "nauto/drivers/driver.h"

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
