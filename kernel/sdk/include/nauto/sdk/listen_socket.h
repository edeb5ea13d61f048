#pragma once
// Listening sockets for the modules that receive from the network (syslog, SNMP traps): the
// endpoint form they share in configuration ("udp://0.0.0.0:514", "tcp://[::1]:6514") and the
// socket options they need (non-blocking, IPv6-only for "::", SO_RXQ_OVFL so the kernel's own
// UDP drops are counted, a forced receive buffer).

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "nauto/base/result.h"

namespace nauto {

struct ListenEndpoint {
  bool tcp = false;
  std::string host;  ///< literal address: 127.0.0.1, ::1, 0.0.0.0, ::
  std::uint16_t port = 0;
  std::string text() const;
};

/// Parses "udp://127.0.0.1:5514", "tcp://[::1]:5514". Errors say the expected form.
Result<ListenEndpoint> parse_endpoint(const std::string& text);

/// A bound socket (listening, for TCP) and the endpoint with the port actually bound (port 0
/// asks for any free one). The caller owns and closes `fd`.
struct ListenSocket {
  int fd = -1;
  ListenEndpoint endpoint;
};

/// Opens, binds and (TCP) listens. `where` names the configuration key in errors.
Result<ListenSocket> open_listen_socket(const ListenEndpoint& endpoint,
                                        std::size_t receive_buffer_bytes, const std::string& where);

/// A peer's address as text, without the port; an IPv4-mapped IPv6 address as plain IPv4.
std::string address_text(const sockaddr_storage& address);

}  // namespace nauto
