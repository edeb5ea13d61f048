#pragma once
// SyslogListener: the syslog sockets — UDP and TCP, IPv4 and IPv6 — behind one epoll
// descriptor the module watches, so everything runs on the module's thread.
//
// UDP is read in batches (recvmmsg); the kernel's own drops (receive buffer full) are read from
// SO_RXQ_OVFL and counted, so a flood the host could not even queue is visible too. TCP
// connections are limited in number (`max_connections`) and each is framed by a StreamFramer
// with a bounded buffer. A connection silent for `idle_timeout_ms` is closed (a timerfd in the
// same epoll set sweeps while connections are open), and when every slot is taken, the
// connection idle the longest gives way to a new one if it has been silent for `evictable_after_ms`
// (10 s): silent connections cannot lock senders out. One call to on_readable() handles at most
// `batch_budget` messages, so a flood cannot starve the module's bus traffic; the rest waits in the
// kernel (level-triggered).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/sdk/listen_socket.h"
#include "stream_framer.h"

namespace nauto::syslog {

struct ListenerLimits {
  std::size_t max_message_bytes = 8192;
  std::size_t max_connections = 256;
  std::size_t receive_buffer_bytes = 4u << 20;
  std::size_t batch_budget = 2048;  ///< messages per on_readable()
  std::int64_t idle_timeout_ms = 300'000;
  /// With every slot taken, a connection silent this long gives way (capped at idle_timeout).
  std::int64_t evictable_after_ms = 10'000;
};

struct ListenerCounters {
  std::uint64_t udp_datagrams = 0;
  std::uint64_t tcp_messages = 0;
  std::uint64_t kernel_dropped = 0;  ///< datagrams the kernel dropped (receive buffer full)
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;      ///< over max_connections
  std::uint64_t tcp_truncated = 0;            ///< frames cut at max_message_bytes
  std::uint64_t tcp_broken = 0;               ///< connections closed for bad framing
  std::uint64_t connections_idle_closed = 0;  ///< silent for idle_timeout_ms
  std::uint64_t connections_evicted = 0;      ///< gave way to a new one when all slots were taken
};

class SyslogListener {
 public:
  /// payload, source address (no port), receive time (wall clock, microseconds).
  using Sink = std::function<void(std::string_view, const std::string&, std::int64_t)>;

  static Result<std::unique_ptr<SyslogListener>> open(const std::vector<ListenEndpoint>& endpoints,
                                                      const ListenerLimits& limits, Sink sink);
  ~SyslogListener();
  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  /// The descriptor to watch for readability.
  int fd() const { return epoll_; }
  void on_readable();
  const ListenerCounters& counters() const { return counters_; }
  std::size_t open_connections() const { return connections_.size(); }
  /// What is bound, with the ports the kernel chose for port 0.
  std::vector<std::string> bound() const;

 private:
  struct Socket {
    int fd = -1;
    ListenEndpoint endpoint;
  };
  struct Connection {
    std::string address;
    StreamFramer framer;
    std::int64_t last_active_us = 0;  // steady clock
  };
  SyslogListener(const ListenerLimits& limits, Sink sink)
      : limits_(limits), sink_(std::move(sink)) {}
  Result<void> bind(const ListenEndpoint& endpoint);
  std::size_t read_udp(int fd, std::size_t budget);
  void accept_tcp(int fd);
  std::size_t read_tcp(int fd, std::size_t budget);
  void close_connection(int fd);
  /// Closes connections silent for idle_timeout_ms; arms or disarms the sweep timer.
  void sweep_idle();
  void arm_sweep(bool on);
  bool evict_idlest();

  ListenerLimits limits_;
  Sink sink_;
  int epoll_ = -1;
  int sweep_timer_ = -1;
  bool sweep_armed_ = false;
  std::vector<Socket> sockets_;
  std::map<int, Connection> connections_;
  std::vector<char> buffers_;
  std::uint32_t last_overflow_ = 0;
  ListenerCounters counters_;
};

}  // namespace nauto::syslog
