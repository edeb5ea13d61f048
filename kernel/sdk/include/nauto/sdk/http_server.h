#pragma once
// HttpServer: HTTP/1.1 and HTTPS for a module that answers browsers and scripts (the API
// module). libmicrohttpd parses HTTP on one event-loop thread of the server's own (epoll, so a
// slow client costs a file descriptor, never a thread); ADR 0014 says why libmicrohttpd, ADR
// 0018 why its TLS (GnuTLS) and not OpenSSL.
//
// A request is handed to the handler once it has been read whole. The handler answers it, then
// or later, from any thread: answer() for a whole response, or open_stream() and send() for one
// that goes on (server-sent events). Until it is answered the connection is parked
// (libmicrohttpd's suspend), costing no thread and no polling; answer() wakes the server's
// thread through an eventfd. So a module's handler can hand the request to its own thread, ask
// the bus, and answer when the reply comes.
//
// Bounded everywhere:
// - a body is read only up to max_body: a Content-Length over it is answered 413 before any of
//   it is read, and a chunked body that grows past it loses its connection;
// - at most max_connections are open, at most per_address_connections from one address (more
//   are shut down at once and counted);
// - each request's headers and body must arrive within request_timeout (ConnectionLedger), and
//   a connection idle for idle_timeout is closed, so trickling clients are cut off;
// - a stream whose reader falls more than max_stream_buffer bytes behind is ended.
//
// Thread: start(), answer(), open_stream(), send(), end_stream(), counters() and address() are
// thread-safe; the handler and on_closed run on the server's thread and must not block.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nauto/base/result.h"

namespace nauto {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: any free port (tests)
  /// Both set: HTTPS only, with this certificate chain and key (PEM).
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::size_t max_body = 1 << 20;
  std::size_t max_connections = 1024;
  std::size_t per_address_connections = 64;
  std::int64_t request_timeout_ms = 10'000;  ///< headers and body, from the connection's start
  int idle_timeout_s = 60;
  std::size_t header_memory = 32 * 1024;
  std::size_t max_stream_buffer = 1 << 20;
  /// The configuration key of max_body, named in a 413's message (modules.api.max_body).
  std::string max_body_key = "max_body";
};

/// A request read whole. `id` names the exchange in answer() and the stream calls.
struct HttpRequest {
  std::uint64_t id = 0;
  std::string method;
  std::string path;                                          ///< without the query, percent-decoded
  std::string peer;                                          ///< the client's address
  std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case
  std::vector<std::pair<std::string, std::string>> query;    ///< decoded, in order
  std::string body;

  /// The first header of that name (any case); empty when absent.
  std::string_view header(std::string_view name) const;
  /// The first query argument of that name.
  std::optional<std::string_view> query_value(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What the server's thread counted.
struct HttpServerCounters {
  std::uint64_t requests = 0;  ///< handed to the handler
  std::uint64_t status_2xx = 0, status_3xx = 0, status_4xx = 0, status_5xx = 0;
  std::uint64_t too_large = 0;    ///< 413s and chunked bodies cut at max_body
  std::uint64_t refused_413 = 0;  ///< of those, the 413s (a Content-Length over max_body)
  std::uint64_t connections = 0, refused = 0, timed_out = 0;
  std::uint64_t streams_open = 0, streams_cut = 0;  ///< cut: fell max_stream_buffer behind
};

class HttpServer {
 public:
  using Handler = std::function<void(HttpRequest request)>;
  /// An exchange handed to the handler has ended (answered and sent, or its client went away):
  /// what the module keeps for `id` can go.
  using ClosedHandler = std::function<void(std::uint64_t id)>;

  /// Binds and starts serving. Errc::System when the address cannot be bound,
  /// Errc::InvalidConfig when the TLS certificate or key cannot be used.
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options,
                                                   Handler handler, ClosedHandler on_closed = {});
  /// Stops: parked requests are answered 503, streams end, connections close.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The answer to request `id`; nothing happens when its client has gone.
  void answer(std::uint64_t id, HttpResponse response);
  /// Answers `id` with `head`'s status and headers and then, as they come, the bytes of each
  /// send(), until end_stream() or the client goes away.
  void open_stream(std::uint64_t id, HttpResponse head);
  /// False once the stream has ended: its client went away or fell behind, or end_stream().
  bool send(std::uint64_t id, std::string bytes);
  void end_stream(std::uint64_t id);

  HttpServerCounters counters() const;
  std::string address() const;  ///< host:port actually bound
  bool tls() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// %XX sequences decoded (an invalid one is kept as it is); `plus_is_space` for a query.
std::string percent_decode(std::string_view text, bool plus_is_space);

/// Checks a TLS certificate chain and key (PEM) before a server uses them: both parse, the key
/// is the certificate's, and the certificate is valid now. The message names `where`.
Result<void> check_tls_pair(const std::string& cert_pem, const std::string& key_pem,
                            const std::string& where);

}  // namespace nauto
