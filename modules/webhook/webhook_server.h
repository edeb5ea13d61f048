#pragma once
// WebhookServer: the HTTP side of the webhook module, on the sdk's HttpServer (libmicrohttpd
// on one event-loop thread of its own: a slow sender costs a file descriptor, never a thread).
// Each request is checked on that thread — size, signature, freshness and nonce, JSON — and
// answered at once, so a flood of bad requests costs the module's thread nothing; a good one is
// handed to the module's thread through a bounded queue whose eventfd the module watches
// (Context::watch). ADR 0014 says why libmicrohttpd and not cpp-httplib.
//
// Bounded everywhere:
// - a body is read only up to max_body: a Content-Length over it is answered 413 before any of
//   the body is read, and a chunked body that grows past it has its connection closed;
// - at most max_connections are open, at most per_address_connections from one address (more
//   are shut down at once and counted);
// - each whole request — headers and body — must arrive within request_timeout, and a
//   connection idle for idle_timeout is closed, so trickling senders are cut off;
// - headers are limited by the connection's memory (header_memory);
// - a full hand-off queue answers 429 with Retry-After.
// Nothing is queued without limit and every refusal is counted.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nauto/base/doorbell.h"
#include "nauto/base/result.h"
#include "nauto/sdk/http_server.h"
#include "replay_guard.h"
#include "webhook_request.h"

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
  std::size_t queue = 4096;  ///< deliveries waiting for the module's thread
  std::size_t max_connections = 256;
  std::size_t per_address_connections = 16;
  std::int64_t request_timeout_ms = 10'000;  ///< headers and body, from the connection's start
  int idle_timeout_s = 5;
  std::size_t header_memory = 32 * 1024;
  std::int64_t replay_window_s = 300;  ///< how far X-Nauto-Timestamp may be from now
  std::size_t max_nonces = 100'000;    ///< requests remembered within one replay window
};

/// What the HTTP thread counted. Each request answered ends in exactly one of accepted,
/// rejected (signature, stale or replayed), malformed (body or method), too_large,
/// unknown_hook, not_ready (no secret yet) or shed; connections cut before an answer are
/// counted as too_large (a chunked body over the cap), refused (over the per-address limit)
/// or timed_out (past the request deadline).
struct ServerCounters {
  std::uint64_t requests = 0, accepted = 0, rejected = 0, replayed = 0, malformed = 0,
                too_large = 0, unknown_hook = 0, not_ready = 0, shed = 0;
  std::uint64_t connections = 0, refused = 0, timed_out = 0;
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
  int fd() const { return waiting_.fd(); }
  std::vector<Delivery> take();
  /// Thread-safe. A request is counted before its answer is sent.
  ServerCounters counters() const;
  std::string address() const;  ///< host:port actually bound

 private:
  struct Request;
  WebhookServer(const ServerOptions& options, const std::vector<std::string>& hooks);
  // The HTTP thread: each request read whole, answered there.
  void handle(HttpRequest request);
  void answer(const Request& request, int& status, std::string& reply);
  HttpResponse respond(int status, const std::string& reply);

  ServerOptions options_;
  std::unique_ptr<HttpServer> http_;
  Doorbell waiting_;  // deliveries waiting
  std::int64_t started_s_ = 0;

  // The HTTP thread's own.
  ReplayGuard replay_;

  mutable std::mutex mutex_;                    // guards everything below
  std::map<std::string, std::string> secrets_;  // hook -> secret ("" until resolved)
  std::deque<Delivery> queue_;
  ServerCounters counters_;
};

}  // namespace nauto::webhook
