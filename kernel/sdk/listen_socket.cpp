#include "nauto/sdk/listen_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nauto {

namespace {

Error system_error(const std::string& what, const std::string& where) {
  return Error{Errc::System, what + ": " + std::strerror(errno), where};
}

}  // namespace

namespace {

// Dotted quad by hand: ingest formats the sender of every datagram, and inet_ntop's sprintf
// was a visible share of that under a flood.
std::string ipv4_text(const unsigned char* octets) {
  char text[16];
  char* out = text;
  for (int i = 0; i < 4; ++i) {
    if (i) *out++ = '.';
    const unsigned value = octets[i];
    if (value >= 100) *out++ = static_cast<char>('0' + value / 100);
    if (value >= 10) *out++ = static_cast<char>('0' + value / 10 % 10);
    *out++ = static_cast<char>('0' + value % 10);
  }
  return std::string(text, out);
}

}  // namespace

std::string address_text(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    return ipv4_text(reinterpret_cast<const unsigned char*>(&v4.sin_addr));
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
  if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) return ipv4_text(&v6.sin6_addr.s6_addr[12]);
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
  return text;
}

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

Result<ListenSocket> open_listen_socket(const ListenEndpoint& endpoint,
                                        std::size_t receive_buffer_bytes,
                                        const std::string& where) {
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
    const int size = static_cast<int>(receive_buffer_bytes);
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
  ListenSocket socket{fd, endpoint};
  sockaddr_storage actual{};
  socklen_t actual_length = sizeof actual;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &actual_length) == 0) {
    socket.endpoint.port =
        ntohs(actual.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(actual).sin_port
                                          : reinterpret_cast<sockaddr_in6&>(actual).sin6_port);
  }
  return socket;
}

}  // namespace nauto
