#pragma once
// WebhookServer: the HTTP side of the webhook module. cpp-httplib serves POST /hooks/<hook> on
// a few threads of its own; each request is checked there (size, signature, JSON — so a flood
// of bad requests costs the module's thread nothing) and a good one is handed to the module's
// thread through a bounded queue whose eventfd the module watches (Context::watch).
//
// Bounded everywhere: bodies over max_body are refused (413) before they are read whole; at
// most `threads` requests are worked on and `threads * 4` connections wait for a thread —
// beyond that the accepting thread serves the connection itself, so it stops accepting and the
// kernel's listen backlog pushes back; a full hand-off queue answers 503 with Retry-After.
// Nothing is queued without limit and every refusal is counted.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nauto/base/result.h"
#include "webhook_request.h"

namespace httplib {
class Server;
}

namespace nauto::webhook {

/// A signed, parsed request waiting for the module's thread.
struct Delivery {
  std::string hook;
  std::string peer;  ///< the sender's address
  std::int64_t received_us = 0;
  WebhookEvent event;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8089;  ///< 0: any free port (tests)
  std::size_t max_body = 65536;
  std::size_t threads = 2;
  std::size_t queue = 4096;  ///< deliveries waiting for the module's thread
  int read_timeout_s = 5;
};

/// What the HTTP threads counted. Each request ends in exactly one of accepted, rejected
/// (signature), malformed (body), too_large, unknown_hook, not_ready (no secret yet) or shed.
struct ServerCounters {
  std::uint64_t requests = 0, accepted = 0, rejected = 0, malformed = 0, too_large = 0,
                unknown_hook = 0, not_ready = 0, shed = 0;
};

class WebhookServer {
 public:
  /// Binds and starts serving `hooks` (names; their secrets come later by set_secret()).
  /// Errc::System when the address cannot be bound.
  static Result<std::unique_ptr<WebhookServer>> start(const ServerOptions& options,
                                                      const std::vector<std::string>& hooks);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  /// Thread-safe. Until a hook has its secret, its requests are answered 503.
  void set_secret(const std::string& hook, std::string secret);
  /// Readable while deliveries wait; take() drains it.
  int fd() const { return event_fd_; }
  std::vector<Delivery> take();
  /// Requests are counted when their answer has been sent, a moment after the sender has it.
  ServerCounters counters() const;
  std::string address() const;  ///< host:port actually bound

 private:
  WebhookServer(const ServerOptions& options, const std::vector<std::string>& hooks);
  void handle(const std::string& hook, const std::string& body, const std::string& signature,
              const std::string& peer, int& status, std::string& reply);

  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  int event_fd_ = -1;
  std::uint16_t port_ = 0;

  mutable std::mutex mutex_;                    // guards everything below
  std::map<std::string, std::string> secrets_;  // hook -> secret ("" until resolved)
  std::deque<Delivery> queue_;
  ServerCounters counters_;
};

}  // namespace nauto::webhook
