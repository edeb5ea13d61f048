#pragma once
// MetricsServer: GET /metrics over HTTP for Prometheus, on a thread of libmicrohttpd's own
// (ADR 0014 says why libmicrohttpd). The text is the module's to make — only its thread holds
// the data — so a scrape rings a Doorbell the module watches and waits for the text rendered
// after its ring: every scrape sees the state of its own moment, and nothing is rendered while
// nobody scrapes. A module that does not answer within `render_timeout` gets the scrape a 503.
// Bounded: at most 32 connections, 10 s idle.
// Thread: start()/stop()/render_wanted()/publish() on the module's thread; the HTTP thread is
// the server's.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "nauto/base/doorbell.h"
#include "nauto/base/result.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace nauto::telemetry {

struct MetricsServerCounters {
  std::uint64_t scrapes = 0;
  std::uint64_t not_found = 0;
  std::uint64_t timed_out = 0;  ///< the module did not render in time (503)
};

class MetricsServer {
 public:
  /// Binds `listen` ("127.0.0.1:9464", "[::1]:9464"; port 0: any free one) and serves.
  /// Errc::InvalidConfig for a malformed address, Errc::System when it cannot be bound.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& listen,
                                                      std::int64_t render_timeout_ms);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// Rung when a scrape waits for a render (watch its fd, drain it, then render_wanted()).
  const Doorbell& bell() const { return bell_; }
  /// The scrape count a render now answers; pass it to publish() with the text.
  std::uint64_t render_wanted();
  void publish(std::uint64_t answers, std::string text);
  std::uint16_t port() const { return port_; }
  MetricsServerCounters counters() const;

  int on_request(MHD_Connection* connection, const char* url, const char* method);

 private:
  MetricsServer() = default;
  MHD_Daemon* daemon_ = nullptr;
  std::uint16_t port_ = 0;
  std::int64_t render_timeout_ms_ = 5000;
  Doorbell bell_;
  mutable std::mutex mutex_;
  std::condition_variable rendered_cv_;
  std::uint64_t requested_ = 0;  // scrapes that asked for a render
  std::uint64_t rendered_ = 0;   // the latest scrape a published text answers
  std::string text_;
  bool stopping_ = false;
  MetricsServerCounters counters_;
};

}  // namespace nauto::telemetry
