#pragma once
// WebhookCaller: the rules' `webhook:` action — an HTTP POST of a JSON body to a URL — done on
// a thread of its own, so a slow or dead receiver never holds up rule evaluation. Calls wait
// in a bounded queue (submit() says no when it is full); each is sent with the drivers'
// HttpClient (libcurl: TLS verified, 429/5xx and refused connections retried with backoff
// within the call's deadline); results come back through an eventfd the module watches.
// A signed call carries X-Nauto-Timestamp, X-Nauto-Nonce and X-Nauto-Signature
// (nauto/sdk/webhook_signature.h), the scheme the webhook ingest module checks.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nauto/base/doorbell.h"
#include "nauto/sdk/url_parts.h"

namespace nauto::rules {

struct WebhookCall {
  std::string rule, chain, device;
  std::string url;
  std::string body;    ///< JSON text
  std::string secret;  ///< empty: unsigned
  std::int64_t timeout_ms = 10'000;
};

struct WebhookOutcome {
  WebhookCall call;  ///< the call, secret cleared
  long status = 0;   ///< the HTTP status of the last answer; 0 when none came
  int attempts = 0;
  std::string error;  ///< empty on a 2xx answer
};

class WebhookCaller {
 public:
  explicit WebhookCaller(std::size_t queue_limit = 256);
  ~WebhookCaller();  ///< finishes the call in progress; drops the queued ones
  WebhookCaller(const WebhookCaller&) = delete;
  WebhookCaller& operator=(const WebhookCaller&) = delete;

  /// False when `queue_limit` calls are already waiting.
  bool submit(WebhookCall call);
  /// Readable while outcomes wait.
  int fd() const { return done_.fd(); }
  std::vector<WebhookOutcome> take();

 private:
  void work();

  std::size_t queue_limit_;
  Doorbell done_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<WebhookCall> calls_;
  std::vector<WebhookOutcome> outcomes_;
  bool stopping_ = false;
  std::thread worker_;
};

using nauto::url_origin;  // nauto/sdk/url_parts.h

}  // namespace nauto::rules
