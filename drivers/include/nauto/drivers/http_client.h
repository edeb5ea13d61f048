#pragma once
// HttpClient: HTTPS requests for the API drivers (eAPI, NX-API, Meraki) on libcurl. One client
// per device keeps its connection alive across requests. TLS verification is on unless the
// target turns it off; a CA bundle and a public-key pin can be given. 429 (honouring
// Retry-After) and 5xx answers, refused and reset connections are retried with backoff within
// the deadline; 401/403 are Unauthenticated and never retried.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/drivers/deadline.h"
#include "nauto/drivers/device_target.h"
#include "nauto/drivers/retry.h"

namespace nauto::drivers::http {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  ///< "Name: value"
  std::string body;
  bool basic_auth = false;  ///< send the target's username and password
};

class CurlTransfer;

class HttpClient {
 public:
  HttpClient(const DeviceTarget& target, Timeouts timeouts, RetryPolicy retry = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends with retries. Non-2xx answers that are not retried come back as errors naming the
  /// status and the start of the body.
  Result<HttpResponse> send(const HttpRequest& request, Deadline deadline);
  /// GETs a JSON array and every page after it (RFC 8288 Link rel=next), concatenated.
  Result<std::string> get_all_pages(HttpRequest request, Deadline deadline);
  /// Requests made, retries included (for tests and stats).
  int attempts() const { return attempts_; }

 private:
  Result<HttpResponse> send_once(const HttpRequest& request, Deadline deadline);

  const DeviceTarget& target_;
  Timeouts timeouts_;
  RetryPolicy retry_;
  void* curl_ = nullptr;                    ///< CURL*, kept for connection reuse
  std::unique_ptr<CurlTransfer> transfer_;  ///< waits that park a fiber (curl_transfer.h)
  int attempts_ = 0;
  std::int64_t retry_after_ms_ = 0;  ///< from the last 429's Retry-After
};

/// The URL of rel="next" in a Link header, or empty.
std::string next_link(const std::string& link_header);

}  // namespace nauto::drivers::http
