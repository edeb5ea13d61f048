#pragma once
// CurlTransfer: runs one libcurl easy transfer so that its waits go through nauto::wait_ready.
// Off a fiber that is curl_easy_perform; on a fiber the transfer goes through a multi handle
// driven by its socket and timer callbacks, so the fiber parks while the device answers and
// the session loop serves others. Descriptors are watched one by one (no select(2) sets), so
// a process with thousands of sessions is not limited to descriptors below FD_SETSIZE.
// One transfer at a time; owned by one HttpClient (same threading rules).

#include <curl/curl.h>

#include <map>

namespace nauto::drivers::http {

class CurlTransfer {
 public:
  CurlTransfer() = default;
  ~CurlTransfer();
  CurlTransfer(const CurlTransfer&) = delete;
  CurlTransfer& operator=(const CurlTransfer&) = delete;

  /// Performs `easy` (set up by the caller) and returns its result, as curl_easy_perform.
  CURLcode perform(CURL* easy);

 private:
  CURLcode perform_parked(CURL* easy);
  static int on_socket(CURL* easy, curl_socket_t socket, int what, void* self, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);

  CURLM* multi_ = nullptr;                // made on first use on a fiber
  std::map<curl_socket_t, int> sockets_;  // socket -> CURL_POLL_IN / OUT / INOUT
  long timeout_ms_ = -1;                  // libcurl's timer; -1 = none set
};

}  // namespace nauto::drivers::http
