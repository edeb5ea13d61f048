#pragma once
// Driver: the one interface every device driver implements, whatever the transport. Callers
// check capabilities() before asking for commit, rollback, candidate config or structured output;
// an operation a driver lacks returns Errc::Unsupported, never a silent no-op.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/deadline.h"
#include "nauto/drivers/device_target.h"

namespace nauto::drivers {

/// What a driver can do beyond running commands and reading config.
enum class Capability : std::uint32_t {
  Commit = 1u << 0,            ///< changes take effect only on commit()
  Rollback = 1u << 1,          ///< rollback() to a snapshot or platform rollback id
  Diff = 1u << 2,              ///< push_config can tell what would change
  DryRun = 1u << 3,            ///< push_config with dry_run changes nothing
  CandidateConfig = 1u << 4,   ///< a candidate datastore can be read and discarded
  ConfirmedCommit = 1u << 5,   ///< commit with a confirm timeout that reverts on its own
  StructuredOutput = 1u << 6,  ///< run() can return JSON from the device itself
};

/// A set of Capability flags.
class Capabilities {
 public:
  constexpr Capabilities() = default;
  constexpr Capabilities(std::initializer_list<Capability> flags) {
    for (auto flag : flags)
      bits_ |= static_cast<std::uint32_t>(flag);
  }
  constexpr bool has(Capability flag) const { return bits_ & static_cast<std::uint32_t>(flag); }
  /// Names of the flags held, for `nauto` output and error messages ("commit, rollback").
  std::string describe() const;

 private:
  std::uint32_t bits_ = 0;
};

enum class ConfigSource { Running, Startup, Candidate };
enum class PushMode {
  Merge,    ///< apply the given lines on top of what is there
  Replace,  ///< make the device's config equal the given text (the driver computes the edit)
};

/// Per-call overrides; unset fields take the device's timeouts.
struct CallOptions {
  std::optional<std::int64_t> idle_ms;
  bool structured = false;  ///< ask the device for JSON (needs StructuredOutput)
};

/// What one command produced. `text` has echo, prompt, paging and terminal escapes removed.
struct CommandOutput {
  std::string command;
  std::string text;
  std::string json;  ///< set when structured output was asked for and given
  std::int64_t elapsed_us = 0;
};

/// A config change to push.
struct ConfigPush {
  std::string text;  ///< config lines (CLI syntax), Junos set commands, or a JSON body (REST)
  PushMode mode = PushMode::Merge;
  bool dry_run = false;  ///< compute and return the diff; change nothing
  /// Platforms with commit: commit in the same call (with a confirm timeout if > 0).
  bool commit = true;
  int confirm_minutes = 0;
  bool save = false;  ///< CLI platforms: copy running to startup afterwards
};

/// What a push did, or would do when dry_run.
struct PushResult {
  std::string diff;                   ///< unified diff of running before vs after (or intended)
  std::vector<std::string> commands;  ///< the lines sent (or that would be sent)
  std::string snapshot;               ///< running config before the change, for rollback()
  /// The two configs `diff` compares, normalized as diffed (empty when the driver diffs on the
  /// device, as Junos' `show | compare`): a caller that must not show secrets redacts both and
  /// diffs again.
  std::string before, after;
  bool changed = false;
};

/// Where rollback() goes back to: a snapshot taken by push_config, or a platform rollback id.
struct RollbackTarget {
  std::string snapshot;            ///< a running config to restore
  std::optional<int> rollback_id;  ///< Junos `rollback N`
};

/// Who the device says it is.
struct Facts {
  std::string hostname;
  std::string vendor;
  std::string model;
  std::string os_version;
  std::string serial;
  std::string uptime;
};

/// The contract. One Driver serves one device; it is not thread-safe (the pool hands it to one
/// caller at a time). open() may be called again after close() or after a dropped connection.
/// run() and push_config() check their text before any driver sees it (check_command,
/// check_config_lines): a command or config line with a control character in it could be a
/// second line sent to the device (an event field carrying "\nreload"), so it is refused.
class Driver {
 public:
  virtual ~Driver() = default;
  virtual const DeviceTarget& target() const = 0;
  virtual Capabilities capabilities() const = 0;

  virtual Result<void> open(Deadline deadline) = 0;
  virtual void close() = 0;
  /// True while a session is open and was not seen to drop.
  virtual bool is_open() const = 0;
  /// Sends a cheap probe on an idle session (SSH ignore message, NETCONF nothing) so NAT and
  /// firewalls keep it; returns false when the session turned out dead.
  virtual bool keepalive() { return is_open(); }

  /// Errors: InvalidArgument for a command with a control character (check_command).
  Result<CommandOutput> run(const std::string& command, Deadline deadline,
                            const CallOptions& options = {});
  virtual Result<std::string> get_config(ConfigSource source, Deadline deadline) = 0;
  /// Errors: InvalidArgument for a config line with a control character (check_config_lines).
  Result<PushResult> push_config(const ConfigPush& push, Deadline deadline);
  /// Commits a candidate (platforms with Commit); confirm_minutes > 0 asks for a confirmed commit.
  virtual Result<void> commit(int confirm_minutes, Deadline deadline) = 0;
  virtual Result<void> rollback(const RollbackTarget& target, Deadline deadline) = 0;
  virtual Result<Facts> facts(Deadline deadline) = 0;

 protected:
  /// What each driver implements, called with text that passed the checks.
  virtual Result<CommandOutput> run_checked(const std::string& command, Deadline deadline,
                                            const CallOptions& options) = 0;
  virtual Result<PushResult> push_checked(const ConfigPush& push, Deadline deadline) = 0;
};

/// A command is one line: any control character (below 0x20, or DEL) is refused, tab included
/// (a tab asks a CLI to complete the word). Errors: InvalidArgument naming the character.
Result<void> check_command(std::string_view command);
/// Config text is lines separated by "\n"; within a line, only tab among control characters
/// (indentation in JSON bodies and Junos text). "\r" is refused too: CRLF text is converted
/// before it is pushed, not sent as a line end the device may read as Enter.
Result<void> check_config_lines(std::string_view text);

/// An error that names the device: "r1: <message>", with `where` = device name.
Error device_error(const DeviceTarget& target, Errc code, std::string message);
/// The same error, with the device name put in front if it is not there yet.
Error on_device(const DeviceTarget& target, Error error);

}  // namespace nauto::drivers
