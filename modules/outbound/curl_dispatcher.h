#pragma once
// CurlDispatcher: the module's outgoing transfers (HTTP requests, SMTP mail) on one thread of
// its own, all at once through one libcurl multi handle. The module's thread submits and takes
// finished transfers; a Doorbell tells it when some are ready (it watches fd()). The thread
// sleeps in curl_multi_poll until a socket or one of libcurl's timers needs it, or a submit
// wakes it (curl_multi_wakeup): nothing polls on a timer.
// Bodies are read up to `max_body` bytes (the rest is dropped and `truncated` set).
// Thread: submit(), take() and fd() from one thread (the module's); the worker is private.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http_call.h"
#include "nauto/base/doorbell.h"

namespace nauto::outbound {

struct Transfer {
  std::uint64_t id = 0;
  enum class Kind { Http, Smtp } kind = Kind::Http;
  std::string method = "GET";
  std::string url;                   ///< http(s):// or smtp(s)://
  std::vector<std::string> headers;  ///< "Name: value"
  std::string body;                  ///< the request body, or the whole mail (RFC 5322)
  std::int64_t timeout_ms = 10'000;
  std::string ca_file;
  // SMTP
  std::string mail_from;
  std::vector<std::string> mail_to;
  std::string username, password;  ///< SMTP AUTH when set
  bool require_tls = true;         ///< smtp://: STARTTLS required (else used when offered)
};

struct Finished {
  std::uint64_t id = 0;
  Attempt attempt;
  std::int64_t elapsed_ms = 0;
};

class CurlDispatcher {
 public:
  explicit CurlDispatcher(std::size_t max_body = 1 << 20);
  ~CurlDispatcher();  ///< abandons transfers in flight
  CurlDispatcher(const CurlDispatcher&) = delete;
  CurlDispatcher& operator=(const CurlDispatcher&) = delete;

  void submit(Transfer transfer);
  int fd() const { return done_.fd(); }
  std::vector<Finished> take();
  std::size_t in_flight() const;

 private:
  struct Running;
  void work();
  void start(Transfer transfer);
  void collect();

  std::size_t max_body_;
  void* multi_ = nullptr;  // CURLM*, used by the worker (and curl_multi_wakeup from submit)
  Doorbell done_;
  mutable std::mutex mutex_;
  std::deque<Transfer> queued_;                        // guarded by mutex_
  std::vector<Finished> finished_;                     // guarded by mutex_
  std::size_t running_count_ = 0;                      // guarded by mutex_
  bool stopping_ = false;                              // guarded by mutex_
  std::map<void*, std::unique_ptr<Running>> running_;  // worker only: CURL* -> state
  std::thread worker_;
};

}  // namespace nauto::outbound
