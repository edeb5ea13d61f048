#pragma once
// JumpTunnel: carries one SSH connection through a direct-tcpip channel on a jump host.
// libssh 0.10 has no ProxyJump, so the onward session is given one end of a socketpair
// (SSH_OPTIONS_FD) and a thread copies bytes between the other end and the forwarded channel,
// sleeping until either side has some (SshChannel::wait_with).
// Invariant: the thread is the only user of the jump connection while the tunnel lives.

#include <atomic>
#include <memory>
#include <thread>

#include "nauto/base/result.h"
#include "nauto/drivers/ssh/ssh_connection.h"

namespace nauto::drivers::ssh {

class JumpTunnel {
 public:
  static Result<std::unique_ptr<JumpTunnel>> start(std::unique_ptr<SshChannel> forward);
  ~JumpTunnel();
  JumpTunnel(const JumpTunnel&) = delete;
  JumpTunnel& operator=(const JumpTunnel&) = delete;

  /// The end the onward libssh session uses; libssh closes it when that session ends.
  int session_fd() const { return session_fd_; }

 private:
  JumpTunnel(std::unique_ptr<SshChannel> forward, int session_fd, int pump_fd);
  void pump();

  std::unique_ptr<SshChannel> forward_;
  int session_fd_;
  int pump_fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace nauto::drivers::ssh
