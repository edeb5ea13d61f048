#include "curl_dispatcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace nauto::outbound {

struct CurlDispatcher::Running {
  Transfer transfer;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* recipients = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  std::size_t max_body = 0;
  std::size_t uploaded = 0;  // SMTP: bytes of the mail handed to libcurl
  Attempt attempt;

  ~Running() {
    if (easy) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    curl_slist_free_all(recipients);
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* self) {
    auto* r = static_cast<Running*>(self);
    const auto bytes = size * count;
    const auto room =
        r->max_body > r->attempt.body.size() ? r->max_body - r->attempt.body.size() : 0;
    r->attempt.body.append(data, std::min(room, bytes));
    if (bytes > room) r->attempt.truncated = true;
    return bytes;  // the rest is read and dropped, so the connection ends cleanly
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self) {
    auto* r = static_cast<Running*>(self);
    const std::string line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) r->attempt.headers.clear();  // a new response (after 1xx)
    const auto colon = line.find(':');
    if (colon != std::string::npos && r->attempt.headers.size() < 100) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t\r\n") + 1);
      r->attempt.headers[name] = value.substr(0, 8192);
    }
    return size * count;
  }

  static std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* self) {
    auto* r = static_cast<Running*>(self);
    const auto& mail = r->transfer.body;
    const auto n = std::min(size * count, mail.size() - r->uploaded);
    std::copy_n(mail.data() + r->uploaded, n, buffer);
    r->uploaded += n;
    return n;
  }
};

CurlDispatcher::CurlDispatcher(std::size_t max_body) : max_body_(max_body) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi_ = curl_multi_init();
  worker_ = std::thread([this] { work(); });
}

CurlDispatcher::~CurlDispatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  worker_.join();
  for (auto& [easy, running] : running_)
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), static_cast<CURL*>(easy));
  running_.clear();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void CurlDispatcher::submit(Transfer transfer) {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(std::move(transfer));
    ++running_count_;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

std::vector<Finished> CurlDispatcher::take() {
  done_.drain();
  std::lock_guard lock(mutex_);
  std::vector<Finished> out;
  out.swap(finished_);
  return out;
}

std::size_t CurlDispatcher::in_flight() const {
  std::lock_guard lock(mutex_);
  return running_count_;
}

void CurlDispatcher::work() {
  auto* multi = static_cast<CURLM*>(multi_);
  for (;;) {
    std::deque<Transfer> starting;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      starting.swap(queued_);
    }
    for (auto& transfer : starting)
      start(std::move(transfer));
    int still_running = 0;
    curl_multi_perform(multi, &still_running);
    collect();
    // Sleeps until a socket is ready, one of libcurl's own timers is due, or submit() wakes it.
    curl_multi_poll(multi, nullptr, 0, 60'000, nullptr);
  }
}

void CurlDispatcher::start(Transfer transfer) {
  auto r = std::make_unique<Running>();
  r->transfer = std::move(transfer);
  r->max_body = max_body_;
  const auto& t = r->transfer;
  CURL* easy = curl_easy_init();
  r->easy = easy;
  curl_easy_setopt(easy, CURLOPT_URL, t.url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->error);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(t.timeout_ms));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<std::int64_t>(t.timeout_ms, 10'000)));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!t.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, t.ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, r.get());
  if (t.kind == Transfer::Kind::Http) {
    // Redirects are not followed: a secret put in this request must not go to another host.
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Running::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, r.get());
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Running::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, r.get());
    for (const auto& h : t.headers)
      r->headers = curl_slist_append(r->headers, h.c_str());
    r->headers = curl_slist_append(r->headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->headers);
    if (t.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else if (t.method != "GET" || !t.body.empty()) {
      if (t.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, t.method.c_str());
      if (t.method != "GET" || !t.body.empty()) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.body.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t.body.c_str());
      }
    }
  } else {
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(
        easy, CURLOPT_USE_SSL,
        t.require_tls ? static_cast<long>(CURLUSESSL_ALL) : static_cast<long>(CURLUSESSL_TRY));
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, t.mail_from.c_str());
    for (const auto& to : t.mail_to)
      r->recipients = curl_slist_append(r->recipients, to.c_str());
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, r->recipients);
    if (!t.username.empty()) {
      curl_easy_setopt(easy, CURLOPT_USERNAME, t.username.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, t.password.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &Running::on_read);
    curl_easy_setopt(easy, CURLOPT_READDATA, r.get());
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.body.size()));
  }
  curl_multi_add_handle(static_cast<CURLM*>(multi_), easy);
  running_[easy] = std::move(r);
}

void CurlDispatcher::collect() {
  auto* multi = static_cast<CURLM*>(multi_);
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    const auto it = running_.find(easy);
    if (it == running_.end()) continue;
    auto& r = *it->second;
    Finished done;
    done.id = r.transfer.id;
    done.attempt = std::move(r.attempt);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    long request_bytes = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    curl_off_t total_us = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    done.elapsed_ms = static_cast<std::int64_t>(total_us / 1000);
    done.attempt.sent = request_bytes > 0 || r.uploaded > 0;
    if (code == CURLE_OK) {
      // An SMTP transfer that ends well was accepted (250); its codes are not HTTP's.
      done.attempt.status = r.transfer.kind == Transfer::Kind::Http ? status : 250;
    } else {
      done.attempt.tls_failure = code == CURLE_PEER_FAILED_VERIFICATION ||
                                 code == CURLE_SSL_CACERT_BADFILE ||
                                 code == CURLE_SSL_CERTPROBLEM || code == CURLE_USE_SSL_FAILED;
      done.attempt.error = r.error[0] ? std::string(r.error) : curl_easy_strerror(code);
      if (r.transfer.kind == Transfer::Kind::Smtp && status != 0)
        done.attempt.error += " (SMTP " + std::to_string(status) + ")";
    }
    curl_multi_remove_handle(multi, easy);
    running_.erase(it);
    {
      std::lock_guard lock(mutex_);
      finished_.push_back(std::move(done));
      --running_count_;
    }
    done_.ring();
  }
}

}  // namespace nauto::outbound
