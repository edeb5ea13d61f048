#pragma once
// ConnectionLedger: an HTTP server's open connections (the webhook's, the API's) — from which
// address, and by when the request being read must be complete. It enforces the two limits
// libmicrohttpd's own options do not: connections per sender address, counted so a refusal shows in
// the stats, and a deadline on each whole request (headers and body), which an idle timeout cannot
// give because a sender trickling one byte at a time is never idle.
//
// The deadline runs from the connection's start, and again from the end of each request on a
// kept-alive connection. A connection past it, or over its address's limit, is shut down
// (shutdown(2)): the server's event loop then sees the end of input and closes it.
//
// Thread: the server's event-loop thread only — the one that runs libmicrohttpd, so a file
// descriptor listed here is still open (the server removes it in libmicrohttpd's close
// notification, which runs on that thread before the descriptor is closed or reused).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace nauto {

class ConnectionLedger {
 public:
  ConnectionLedger(std::size_t per_address, std::int64_t request_timeout_us)
      : per_address_(per_address), request_timeout_us_(request_timeout_us) {}

  /// A new connection. False when its address already has `per_address` open: it has been
  /// shut down and stays listed (uncounted) until close().
  bool open(int fd, const std::string& address, std::int64_t now_us);
  /// The request on `fd` has been read whole: no deadline while it is answered (an answer
  /// that waits on other work, a stream of events), until request_done().
  void request_read(int fd);
  /// A request on `fd` was answered: the next one has a full deadline.
  void request_done(int fd, std::int64_t now_us);
  void close(int fd);

  /// Shuts down each connection whose deadline has passed; returns how many.
  std::size_t cut_overdue(std::int64_t now_us);
  /// When the next deadline falls; -1 when no connection has one.
  std::int64_t next_deadline_us() const;
  std::size_t open_connections() const { return connections_.size(); }

 private:
  struct Connection {
    std::string address;
    std::int64_t deadline_us = 0;  ///< 0: none (refused, already cut, or being answered)
    bool counted = false;          ///< counts against its address's limit
    bool cut = false;              ///< refused or cut: never given a deadline again
  };
  std::size_t per_address_;
  std::int64_t request_timeout_us_;
  std::map<int, Connection> connections_;
  std::map<std::string, std::size_t> per_address_open_;
};

}  // namespace nauto
