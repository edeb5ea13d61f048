#include "nauto/drivers/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>

#include "curl_transfer.h"
#include "nauto/drivers/driver.h"

namespace nauto::drivers::http {
namespace {

std::once_flag g_curl_init;

size_t collect_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t collect_header(char* data, size_t size, size_t count, void* user) {
  std::string line(data, size * count);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    auto begin = value.find_first_not_of(" \t");
    auto end = value.find_last_not_of(" \t\r\n");
    value = begin == std::string::npos ? "" : value.substr(begin, end - begin + 1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * count;
}

Errc classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_ABORTED_BY_CALLBACK:  // only abort_when_cancelled aborts: the deadline is gone
      return Errc::Timeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return Errc::Untrusted;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
      return Errc::Unreachable;
    default:
      return Errc::Library;
  }
}

}  // namespace

HttpClient::HttpClient(const DeviceTarget& target, Timeouts timeouts, RetryPolicy retry)
    : target_(target),
      timeouts_(timeouts),
      retry_(retry),
      transfer_(std::make_unique<CurlTransfer>()) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

namespace {
int abort_when_cancelled(void* deadline, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const Deadline*>(deadline)->cancelled() ? 1 : 0;
}
}  // namespace

Result<HttpResponse> HttpClient::send_once(const HttpRequest& request, Deadline deadline) {
  auto* curl = static_cast<CURL*>(curl_);
  if (!curl) return device_error(target_, Errc::ResourceExhausted, "curl_easy_init failed");
  ++attempts_;
  curl_easy_reset(curl);  // keeps the connection cache; clears the last request's options
  HttpResponse response;
  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(timeouts_.connect_ms, deadline.remaining_ms() + 1)));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::min(timeouts_.total_ms, deadline.remaining_ms() + 1)));
  // Idle: fewer than 1 byte/s for the idle period aborts, however long the total allows.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   std::max(1L, static_cast<long>(timeouts_.idle_ms / 1000)));
  // A cancelled deadline (nauto job cancel) aborts the transfer at libcurl's next progress tick.
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &deadline);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_when_cancelled);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collect_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  const auto& tls = target_.tls;
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2L : 0L);
  if (!tls.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
  std::string pin = tls.pin_sha256.empty() ? "" : "sha256//" + tls.pin_sha256;
  if (!pin.empty()) curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, pin.c_str());
  if (request.basic_auth) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, target_.credentials.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, target_.credentials.password.c_str());
  }
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers)
    headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  CURLcode code = transfer_->perform(curl);
  curl_slist_free_all(headers);
  // The URL is safe to show: credentials travel in headers, never in our URLs.
  std::string what = request.method + " " + request.url;
  if (code != CURLE_OK) {
    return device_error(target_, classify(code),
                        what + ": " + (error_text[0] ? error_text : curl_easy_strerror(code)));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (response.status >= 200 && response.status < 300) return response;
  std::string excerpt = response.body.substr(0, 200);
  std::string message = what + " answered HTTP " + std::to_string(response.status) +
                        (excerpt.empty() ? "" : ": " + excerpt);
  if (response.status == 401 || response.status == 403) {
    return device_error(target_, Errc::Unauthenticated, message);
  }
  if (response.status == 429) {
    auto after = response.headers.find("retry-after");
    retry_after_ms_ =
        after == response.headers.end() ? 0 : std::atoll(after->second.c_str()) * 1000;
  }
  if (response.status == 429 || response.status >= 500) {
    return device_error(target_, response.status == 429 ? Errc::Overloaded : Errc::Unreachable,
                        message);
  }
  if (response.status == 404) return device_error(target_, Errc::NotFound, message);
  return device_error(target_, Errc::Rejected, message);
}

Result<HttpResponse> HttpClient::send(const HttpRequest& request, Deadline deadline) {
  for (int attempt = 1;; ++attempt) {
    auto response = send_once(request, deadline);
    if (response) return response;
    const auto& error = response.error();
    bool retryable = is_transient(error) || error.code == Errc::Overloaded;
    if (!retryable || attempt >= retry_.max_attempts) return response;
    std::int64_t delay = backoff_delay_ms(retry_, attempt);
    if (error.code == Errc::Overloaded) {
      // The server says when (Retry-After, seconds); never sooner than that.
      delay = std::max(delay, retry_after_ms_);
    }
    if (deadline.remaining_ms() <= delay) return response;
    sleep_within(delay, deadline);
    if (deadline.expired()) return response;
  }
}

Result<std::string> HttpClient::get_all_pages(HttpRequest request, Deadline deadline) {
  auto all = nlohmann::json::array();
  for (int page = 0; page < 10'000; ++page) {
    auto response = send(request, deadline);
    if (!response) return std::move(response).error();
    auto body = nlohmann::json::parse(response->body, nullptr, false);
    if (!body.is_array()) {
      return device_error(target_, Errc::Malformed,
                          "GET " + request.url + " did not return a JSON array");
    }
    for (auto& item : body)
      all.push_back(std::move(item));
    auto link = response->headers.find("link");
    std::string next = link == response->headers.end() ? "" : next_link(link->second);
    if (next.empty()) return all.dump();
    request.url = next;
  }
  return device_error(target_, Errc::ResourceExhausted, "more than 10000 pages; stopped");
}

std::string next_link(const std::string& header) {
  // <url>; rel=next, <url>; rel="first"
  std::size_t at = 0;
  while (at < header.size()) {
    auto open = header.find('<', at);
    if (open == std::string::npos) break;
    auto close = header.find('>', open);
    if (close == std::string::npos) break;
    auto end = header.find(',', close);
    std::string params =
        header.substr(close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
    if (params.find("rel=next") != std::string::npos ||
        params.find("rel=\"next\"") != std::string::npos) {
      return header.substr(open + 1, close - open - 1);
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

}  // namespace nauto::drivers::http
