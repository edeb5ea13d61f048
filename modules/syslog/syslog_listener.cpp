#include "syslog_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nauto/base/clock.h"

namespace nauto::syslog {

namespace {

constexpr std::size_t kBatch = 64;

std::string address_text(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return text;
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
  if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
    inet_ntop(AF_INET, &v6.sin6_addr.s6_addr[12], text, sizeof text);
    return text;
  }
  inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
  return text;
}

Error system_error(const std::string& what, const std::string& where) {
  return Error{Errc::System, what + ": " + std::strerror(errno), where};
}

}  // namespace

std::string ListenEndpoint::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tcp ? "tcp://" : "udp://") + (v6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

Result<ListenEndpoint> parse_endpoint(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return fail(Errc::InvalidConfig,
                "'" + text + "': " + why +
                    " (expected udp://ADDRESS:PORT or tcp://ADDRESS:PORT, e.g. udp://0.0.0.0:514, "
                    "tcp://[::1]:6514)");
  };
  ListenEndpoint endpoint;
  std::string rest;
  if (text.rfind("udp://", 0) == 0) {
    rest = text.substr(6);
  } else if (text.rfind("tcp://", 0) == 0) {
    endpoint.tcp = true;
    rest = text.substr(6);
  } else {
    return bad("unknown scheme");
  }
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return bad("an IPv6 address goes in brackets, then :PORT");
    endpoint.host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) return bad("no port");
    endpoint.host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (endpoint.host.find(':') != std::string::npos)
      return bad("an IPv6 address goes in brackets");
  }
  in6_addr probe{};
  if (inet_pton(AF_INET, endpoint.host.c_str(), &probe) != 1 &&
      inet_pton(AF_INET6, endpoint.host.c_str(), &probe) != 1) {
    return bad("'" + endpoint.host + "' is not an IPv4 or IPv6 address");
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return bad("port must be 0..65535");
  }
  endpoint.port = static_cast<std::uint16_t>(std::stoi(port));
  return endpoint;
}

Result<std::unique_ptr<SyslogListener>> SyslogListener::open(
    const std::vector<ListenEndpoint>& endpoints, const ListenerLimits& limits, Sink sink) {
  std::unique_ptr<SyslogListener> listener(new SyslogListener(limits, std::move(sink)));
  listener->epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (listener->epoll_ < 0) return system_error("epoll_create1", "syslog");
  listener->buffers_.resize(kBatch * (limits.max_message_bytes + 1));
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
  if (epoll_ >= 0) ::close(epoll_);
}

Result<void> SyslogListener::bind(const ListenEndpoint& endpoint) {
  const auto where = "modules.syslog.listen " + endpoint.text();
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_INET;
  if (endpoint.host.find(':') != std::string::npos) {
    family = AF_INET6;
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(endpoint.port);
    inet_pton(AF_INET6, endpoint.host.c_str(), &v6.sin6_addr);
    length = sizeof v6;
  } else {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(endpoint.port);
    inet_pton(AF_INET, endpoint.host.c_str(), &v4.sin_addr);
    length = sizeof v4;
  }
  const int type = (endpoint.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  const int fd = ::socket(family, type, 0);
  if (fd < 0) return system_error("socket", where);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (!endpoint.tcp) {
    ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    const int size = static_cast<int>(limits_.receive_buffer_bytes);
    // As root the configured size holds regardless of net.core.rmem_max.
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    auto error = system_error("bind", where);
    ::close(fd);
    return error;
  }
  if (endpoint.tcp && ::listen(fd, 128) != 0) {
    auto error = system_error("listen", where);
    ::close(fd);
    return error;
  }
  Socket socket{fd, endpoint};
  sockaddr_storage actual{};
  socklen_t actual_length = sizeof actual;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &actual_length) == 0) {
    socket.endpoint.port =
        ntohs(actual.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(actual).sin_port
                                          : reinterpret_cast<sockaddr_in6&>(actual).sin6_port);
  }
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
    if (connections_.size() >= limits_.max_connections) {
      ++counters_.connections_refused;
      ::close(fd);
      continue;
    }
    ++counters_.connections_accepted;
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.fd = fd;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
    connections_.emplace(
        fd, Connection{address_text(address), StreamFramer(limits_.max_message_bytes)});
  }
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
}

}  // namespace nauto::syslog
