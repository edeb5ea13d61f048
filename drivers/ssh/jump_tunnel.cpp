#include "jump_tunnel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace nauto::drivers::ssh {

Result<std::unique_ptr<JumpTunnel>> JumpTunnel::start(std::unique_ptr<SshChannel> forward) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return fail(Errc::System,
                std::string("socketpair for the jump tunnel: ") + std::strerror(errno));
  }
  return std::unique_ptr<JumpTunnel>(new JumpTunnel(std::move(forward), fds[0], fds[1]));
}

JumpTunnel::JumpTunnel(std::unique_ptr<SshChannel> forward, int session_fd, int pump_fd)
    : forward_(std::move(forward)), session_fd_(session_fd), pump_fd_(pump_fd) {
  thread_ = std::thread([this] { pump(); });
}

JumpTunnel::~JumpTunnel() {
  stop_ = true;
  ::shutdown(pump_fd_, SHUT_RDWR);  // wakes the pump's wait at once
  if (thread_.joinable()) thread_.join();
  forward_->close();
  ::close(pump_fd_);
}

void JumpTunnel::pump() {
  std::string from_channel;
  char buffer[16384];
  while (!stop_) {
    // Channel -> socket: what the channel holds now.
    from_channel.clear();
    auto got = forward_->read_some(from_channel, 0);
    if (!got) break;
    std::size_t sent = 0;
    while (sent < from_channel.size()) {
      ssize_t n =
          ::send(pump_fd_, from_channel.data() + sent, from_channel.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
    // Socket -> channel: what the socket holds now.
    bool moved = *got > 0;
    for (;;) {
      ssize_t n = ::recv(pump_fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0) return;  // the onward session closed its end
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return;
      }
      if (!forward_->write(std::string_view(buffer, static_cast<std::size_t>(n)))) return;
      moved = true;
    }
    // Nothing moved: sleep until either side has something (no polling on a timer; the
    // 1 s bound only re-checks stop_, which the destructor also signals by shutting the socket).
    if (!moved) forward_->wait_with(pump_fd_, 1000);
  }
}

}  // namespace nauto::drivers::ssh
