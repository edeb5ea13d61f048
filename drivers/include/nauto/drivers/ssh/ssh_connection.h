#pragma once
// SshConnection: one authenticated libssh client session to one device — connect with a
// deadline, host-key policy, password / public-key / keyboard-interactive auth, optional jump
// host — and the channels drivers open on it (exec, interactive shell, subsystem). Written once
// and shared by every SSH-based driver (CLI, NETCONF, Linux exec).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/deadline.h"
#include "nauto/drivers/device_target.h"

struct ssh_session_struct;
struct ssh_channel_struct;

namespace nauto::drivers::ssh {

class JumpTunnel;

/// One channel (shell, exec or subsystem). Reads honour an idle timeout that restarts whenever
/// bytes arrive, and the caller's deadline. Owned by the caller; must not outlive its connection.
class SshChannel {
 public:
  SshChannel(ssh_channel_struct* channel, const DeviceTarget* target);
  ~SshChannel();
  SshChannel(const SshChannel&) = delete;
  SshChannel& operator=(const SshChannel&) = delete;

  /// Sends all of `bytes`. Errors: Unreachable (dropped), Timeout (the device took nothing for
  /// its idle timeout).
  Result<void> write(std::string_view bytes);
  /// Appends what arrives first within `wait_ms` (0 = only what is there now) to `out`.
  /// Returns the byte count (0 = the wait ended with nothing new); Unreachable when the
  /// channel closed or dropped.
  Result<std::size_t> read_some(std::string& out, std::int64_t wait_ms, bool from_stderr = false);
  /// Waits up to `wait_ms` until the channel's connection can move (data to read, or queued
  /// output to flush) or `other_fd` is readable; returns whether `other_fd` is. For pumps that
  /// serve a channel and a socket at once (the jump tunnel).
  bool wait_with(int other_fd, std::int64_t wait_ms);
  bool at_eof() const;
  /// Exit status of an exec channel that ended, waiting for it until `deadline`; -1 if the
  /// server sent none.
  int exit_status(const Deadline& deadline);
  void close();

 private:
  ssh_channel_struct* channel_;
  const DeviceTarget* target_;
};

/// What an exec channel produced.
struct ExecOutput {
  std::string out;
  std::string err;
  int exit_status = -1;
};

/// Terminal geometry asked for on shell channels: wide, so devices never wrap long lines.
struct PtySize {
  int columns = 511;
  int rows = 24;
};

/// An authenticated session. Not thread-safe: one user at a time (the pool guarantees it).
/// Non-blocking underneath: each wait parks the calling fiber, or blocks the calling thread
/// (nauto/base/io_wait.h), so the same session serves both.
class SshConnection {
 public:
  /// Connects, checks the host key under the target's policy and authenticates, all within
  /// `deadline` and the connect timeout. Errors: Unreachable (refused, reset), Timeout,
  /// Untrusted (host key), Unauthenticated (every method refused) — each naming the device.
  static Result<std::unique_ptr<SshConnection>> open(const DeviceTarget& target,
                                                     std::int64_t connect_timeout_ms,
                                                     Deadline deadline);
  ~SshConnection();
  SshConnection(const SshConnection&) = delete;
  SshConnection& operator=(const SshConnection&) = delete;

  /// Channels, set up within `deadline` (Timeout after it; Rejected when the device refuses).
  Result<std::unique_ptr<SshChannel>> open_shell(const PtySize& size, const Deadline& deadline);
  Result<std::unique_ptr<SshChannel>> open_subsystem(const std::string& name,
                                                     const Deadline& deadline);
  Result<std::unique_ptr<SshChannel>> open_exec(const std::string& command,
                                                const Deadline& deadline);
  /// Runs one command on an exec channel and collects stdout, stderr and exit status.
  Result<ExecOutput> exec(const std::string& command, std::int64_t idle_ms, Deadline deadline);
  /// Opens a direct-tcpip channel (for a jump host's onward hop).
  Result<std::unique_ptr<SshChannel>> open_forward(const std::string& host, int port,
                                                   const Deadline& deadline);

  bool is_connected() const;
  /// Sends an SSH ignore message; false when the connection is gone.
  bool keepalive();
  const DeviceTarget& target() const { return target_; }
  ssh_session_struct* raw() { return session_; }

 private:
  SshConnection(ssh_session_struct* session, DeviceTarget target);
  Result<void> authenticate(const Credentials& credentials, const Deadline& deadline);
  Result<void> verify_host_key();
  /// One step of setting up a channel (the open call, then each request), retried while
  /// libssh answers SSH_AGAIN; `refused` says what the device refused.
  struct ChannelStep {
    std::function<int(ssh_channel_struct*)> call;
    std::string refused;
  };
  Result<std::unique_ptr<SshChannel>> open_channel(const Deadline& deadline,
                                                   const std::vector<ChannelStep>& steps);

  ssh_session_struct* session_;
  DeviceTarget target_;
  std::unique_ptr<SshConnection> jump_;  ///< the hop we tunnel through, if any
  std::unique_ptr<JumpTunnel> tunnel_;
};

}  // namespace nauto::drivers::ssh
