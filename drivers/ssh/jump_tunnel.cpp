#include "jump_tunnel.h"

#include <poll.h>
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
  if (thread_.joinable()) thread_.join();
  forward_->close();
  ::close(pump_fd_);
}

void JumpTunnel::pump() {
  std::string from_channel;
  char buffer[16384];
  while (!stop_) {
    // Channel -> socket: short waits so socket traffic and stop requests are seen promptly.
    from_channel.clear();
    auto got = forward_->read_some(from_channel, 5);
    if (!got) break;
    std::size_t sent = 0;
    while (sent < from_channel.size()) {
      ssize_t n =
          ::send(pump_fd_, from_channel.data() + sent, from_channel.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<std::size_t>(n);
    }
    // Socket -> channel.
    pollfd descriptor{pump_fd_, POLLIN, 0};
    while (::poll(&descriptor, 1, 0) > 0) {
      if (descriptor.revents & (POLLHUP | POLLERR)) return;
      ssize_t n = ::recv(pump_fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      if (!forward_->write(std::string_view(buffer, static_cast<std::size_t>(n)))) return;
    }
  }
}

}  // namespace nauto::drivers::ssh
