#include "syslog_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "nauto/base/clock.h"

namespace nauto::syslog {

namespace {

constexpr std::size_t kBatch = 64;

Error system_error(const std::string& what, const std::string& where) {
  return Error{Errc::System, what + ": " + std::strerror(errno), where};
}

}  // namespace

Result<std::unique_ptr<SyslogListener>> SyslogListener::open(
    const std::vector<ListenEndpoint>& endpoints, const ListenerLimits& limits, Sink sink) {
  std::unique_ptr<SyslogListener> listener(new SyslogListener(limits, std::move(sink)));
  listener->epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (listener->epoll_ < 0) return system_error("epoll_create1", "syslog");
  listener->buffers_.resize(kBatch * (limits.max_message_bytes + 1));
  listener->sweep_timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (listener->sweep_timer_ < 0) return system_error("timerfd_create", "syslog");
  epoll_event timer_event{};
  timer_event.events = EPOLLIN;
  timer_event.data.fd = listener->sweep_timer_;
  ::epoll_ctl(listener->epoll_, EPOLL_CTL_ADD, listener->sweep_timer_, &timer_event);
  for (const auto& endpoint : endpoints) {
    if (auto bound = listener->bind(endpoint); !bound) return std::move(bound).error();
  }
  return listener;
}

SyslogListener::~SyslogListener() {
  for (const auto& [fd, connection] : connections_)
    ::close(fd);
  for (const auto& socket : sockets_)
    ::close(socket.fd);
  if (sweep_timer_ >= 0) ::close(sweep_timer_);
  if (epoll_ >= 0) ::close(epoll_);
}

Result<void> SyslogListener::bind(const ListenEndpoint& endpoint) {
  const auto where = "modules.syslog.listen " + endpoint.text();
  auto opened = open_listen_socket(endpoint, limits_.receive_buffer_bytes, where);
  if (!opened) return std::move(opened).error();
  const int fd = opened->fd;
  Socket socket{fd, opened->endpoint};
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
  sockets_.push_back(socket);
  return ok();
}

std::vector<std::string> SyslogListener::bound() const {
  std::vector<std::string> out;
  for (const auto& socket : sockets_)
    out.push_back(socket.endpoint.text());
  return out;
}

void SyslogListener::on_readable() {
  epoll_event events[64];
  const int ready = ::epoll_wait(epoll_, events, 64, 0);
  std::size_t budget = limits_.batch_budget;
  for (int i = 0; i < ready && budget > 0; ++i) {
    const int fd = events[i].data.fd;
    if (fd == sweep_timer_) {
      sweep_idle();
      continue;
    }
    const Socket* socket = nullptr;
    for (const auto& s : sockets_) {
      if (s.fd == fd) socket = &s;
    }
    if (socket && !socket->endpoint.tcp) {
      budget -= read_udp(fd, budget);
    } else if (socket) {
      accept_tcp(fd);
    } else {
      budget -= read_tcp(fd, budget);
    }
  }
}

std::size_t SyslogListener::read_udp(int fd, std::size_t budget) {
  const std::size_t slot = limits_.max_message_bytes + 1;
  mmsghdr messages[kBatch];
  iovec vectors[kBatch];
  sockaddr_storage addresses[kBatch];
  alignas(cmsghdr) char controls[kBatch][CMSG_SPACE(sizeof(std::uint32_t))];
  std::size_t handled = 0;
  while (handled < budget) {
    const auto want = std::min(kBatch, budget - handled);
    for (std::size_t i = 0; i < want; ++i) {
      vectors[i] = {buffers_.data() + i * slot, slot};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = &addresses[i];
      messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
      messages[i].msg_hdr.msg_control = controls[i];
      messages[i].msg_hdr.msg_controllen = sizeof controls[i];
    }
    const int got = ::recvmmsg(fd, messages, static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (got <= 0) break;
    const auto now = now_us();
    for (int i = 0; i < got; ++i) {
      auto& header = messages[i].msg_hdr;
      for (auto* c = CMSG_FIRSTHDR(&header); c; c = CMSG_NXTHDR(&header, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          std::uint32_t overflow = 0;
          std::memcpy(&overflow, CMSG_DATA(c), sizeof overflow);
          counters_.kernel_dropped += overflow - last_overflow_;
          last_overflow_ = overflow;
        }
      }
      // A datagram longer than the buffer arrives cut (MSG_TRUNC); it is still one message.
      const auto size = std::min<std::size_t>(messages[i].msg_len, slot - 1);
      ++counters_.udp_datagrams;
      sink_(std::string_view(buffers_.data() + static_cast<std::size_t>(i) * slot, size),
            address_text(addresses[i]), now);
    }
    handled += static_cast<std::size_t>(got);
    if (static_cast<std::size_t>(got) < want) break;
  }
  return handled;
}

void SyslogListener::accept_tcp(int listen_fd) {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= limits_.max_connections && !evict_idlest()) {
      ++counters_.connections_refused;
      ::close(fd);
      continue;
    }
    ++counters_.connections_accepted;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.fd = fd;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
    connections_.emplace(fd, Connection{address_text(address),
                                        StreamFramer(limits_.max_message_bytes), steady_us()});
    arm_sweep(true);
  }
}

bool SyslogListener::evict_idlest() {
  auto idlest = connections_.end();
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (idlest == connections_.end() || it->second.last_active_us < idlest->second.last_active_us)
      idlest = it;
  }
  if (idlest == connections_.end() ||
      steady_us() - idlest->second.last_active_us <
          std::min(limits_.evictable_after_ms, limits_.idle_timeout_ms) * 1000) {
    return false;
  }
  ++counters_.connections_evicted;
  close_connection(idlest->first);
  return true;
}

void SyslogListener::sweep_idle() {
  std::uint64_t expirations = 0;
  (void)!::read(sweep_timer_, &expirations, sizeof expirations);
  const auto oldest_allowed = steady_us() - limits_.idle_timeout_ms * 1000;
  std::vector<int> idle;
  for (const auto& [fd, connection] : connections_) {
    if (connection.last_active_us < oldest_allowed) idle.push_back(fd);
  }
  for (const int fd : idle) {
    ++counters_.connections_idle_closed;
    close_connection(fd);
  }
}

// The sweep runs only while there are connections: a quarter of the idle timeout apart, so a
// silent connection goes within 1.25 timeouts.
void SyslogListener::arm_sweep(bool on) {
  if (on == sweep_armed_) return;
  sweep_armed_ = on;
  const auto period_us =
      std::clamp<std::int64_t>(limits_.idle_timeout_ms * 250, 50'000, 30'000'000);
  itimerspec spec{};
  if (on) {
    spec.it_interval.tv_sec = period_us / 1'000'000;
    spec.it_interval.tv_nsec = (period_us % 1'000'000) * 1000;
    spec.it_value = spec.it_interval;
  }
  ::timerfd_settime(sweep_timer_, 0, &spec, nullptr);
}

std::size_t SyslogListener::read_tcp(int fd, std::size_t budget) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return 0;
  auto& connection = it->second;
  char chunk[65536];
  std::size_t handled = 0;
  const auto received = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
  if (received == 0 || (received < 0 && errno != EAGAIN && errno != EINTR)) {
    close_connection(fd);
    return 0;
  }
  if (received < 0) return 0;
  const auto now = now_us();
  connection.last_active_us = steady_us();
  const auto truncated_before = connection.framer.truncated();
  const bool intact = connection.framer.feed(
      std::string_view(chunk, static_cast<std::size_t>(received)), [&](std::string_view frame) {
        ++handled;
        ++counters_.tcp_messages;
        sink_(frame, connection.address, now);
      });
  counters_.tcp_truncated += connection.framer.truncated() - truncated_before;
  if (!intact) {
    ++counters_.tcp_broken;
    close_connection(fd);
  }
  (void)budget;
  return std::min(handled, budget);
}

void SyslogListener::close_connection(int fd) {
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  connections_.erase(fd);
  if (connections_.empty()) arm_sweep(false);
}

}  // namespace nauto::syslog
