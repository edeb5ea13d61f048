#pragma once
// CliSession: a conversation with a device's interactive CLI on an SSH shell channel. Learns
// the prompt at login, turns paging off, answers --More-- and confirmation prompts, tracks the
// mode (user, privileged, config), strips echo and terminal escapes, and reports a device's
// refusal as Rejected naming the offending line. When no prompt comes, the Timeout error says
// what was last received, which patterns were tried and which mode it believed it was in.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/deadline.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/ssh/ssh_connection.h"
#include "prompt_matcher.h"
#include "terminal_text.h"

namespace nauto::drivers::cli {

class CliSession {
 public:
  /// Opens a shell on `connection`, reads to the first prompt, learns the hostname, moves to
  /// privileged mode (enable) if the platform has one, and sends the session setup commands.
  static Result<std::unique_ptr<CliSession>> start(ssh::SshConnection& connection,
                                                   const PlatformDefinition& platform,
                                                   const DeviceTarget& target,
                                                   const Timeouts& timeouts, Deadline deadline);

  /// Runs one command in the current mode and returns its output without echo or prompt.
  /// Output lines matching the platform's error patterns make it Rejected.
  Result<std::string> command(const std::string& line, Deadline deadline, std::int64_t idle_ms);
  /// The same, without error detection (callers that look at the text themselves).
  Result<std::string> command_raw(const std::string& line, Deadline deadline, std::int64_t idle_ms);

  Result<void> enter_config(Deadline deadline);
  Result<void> exit_config(Deadline deadline);
  /// Sends config lines one at a time in config mode; stops at the first refused line
  /// ("line 3 'interfce Gi0/1' rejected: % Invalid input ...") and leaves config mode either way.
  Result<void> send_config(const std::vector<std::string>& lines, Deadline deadline,
                           std::int64_t idle_ms, bool stay_in_config = false);

  CliMode mode() const { return mode_; }
  const std::string& host() const { return prompts_.host(); }
  bool is_alive() const { return channel_ && !channel_->at_eof(); }

 private:
  CliSession(std::unique_ptr<ssh::SshChannel> channel, const PlatformDefinition& platform,
             const DeviceTarget& target, const Timeouts& timeouts);

  /// What ended a read: a prompt, or one of the extra patterns the caller was waiting for.
  struct Stop {
    bool at_prompt = false;
    std::size_t extra_index = 0;
  };
  Result<Stop> read_until(const std::vector<std::string>& extra, const std::string& after,
                          Deadline deadline, std::int64_t idle_ms);
  Result<void> learn_prompt(Deadline deadline);
  /// After a nudge: reads the extra prompt it caused (waiting at most `wait_ms`), then
  /// forgets what was read.
  Result<void> absorb_prompt(Deadline deadline, std::int64_t wait_ms);
  Result<void> enable(Deadline deadline);
  std::string take_output(const std::string& sent);
  Error timeout_error(const std::string& after, std::int64_t idle_ms, bool idle) const;
  std::optional<std::string> find_error(const std::string& output) const;

  std::unique_ptr<ssh::SshChannel> channel_;
  const PlatformDefinition& platform_;
  const DeviceTarget& target_;
  Timeouts timeouts_;
  PromptMatcher prompts_;
  TerminalText terminal_;
  CliMode mode_ = CliMode::User;
  // The platform's, compiled once per process (nauto/drivers/platform_patterns.h); null where
  // a pattern is absent (or, in a hand-built definition, does not compile).
  std::vector<const text::Regex*> error_patterns_;
  std::vector<const text::Regex*> confirmations_;  // one per platform confirmation
  const text::Regex* pager_ = nullptr;
  const text::Regex* hostname_config_ = nullptr;
};

}  // namespace nauto::drivers::cli
