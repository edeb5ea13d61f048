#include "curl_transfer.h"

#include <algorithm>
#include <vector>

#include "nauto/base/io_wait.h"

namespace nauto::drivers::http {

CurlTransfer::~CurlTransfer() {
  if (multi_) curl_multi_cleanup(multi_);
}

CURLcode CurlTransfer::perform(CURL* easy) {
  return on_fiber() ? perform_parked(easy) : curl_easy_perform(easy);
}

int CurlTransfer::on_socket(CURL*, curl_socket_t socket, int what, void* self, void*) {
  auto& sockets = static_cast<CurlTransfer*>(self)->sockets_;
  if (what == CURL_POLL_REMOVE) {
    sockets.erase(socket);
  } else {
    sockets[socket] = what;
  }
  return 0;
}

int CurlTransfer::on_timer(CURLM*, long timeout_ms, void* self) {
  static_cast<CurlTransfer*>(self)->timeout_ms_ = timeout_ms;
  return 0;
}

CURLcode CurlTransfer::perform_parked(CURL* easy) {
  if (!multi_) {
    multi_ = curl_multi_init();
    if (!multi_) return CURLE_OUT_OF_MEMORY;
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlTransfer::on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlTransfer::on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }
  if (curl_multi_add_handle(multi_, easy) != CURLM_OK) return CURLE_FAILED_INIT;
  CURLcode result = CURLE_OK;
  bool finished = false;
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  std::vector<pollfd> fds;
  for (;;) {
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
      if (message->msg == CURLMSG_DONE && message->easy_handle == easy) {
        result = message->data.result;
        finished = true;
      }
    }
    if (finished || running == 0) break;
    fds.clear();
    for (const auto& [socket, what] : sockets_) {
      short events = 0;
      if (what & CURL_POLL_IN) events |= POLLIN;
      if (what & CURL_POLL_OUT) events |= POLLOUT;
      fds.push_back({socket, events, 0});
    }
    // libcurl's timer bounds the wait; without one, a second at most (its own timeouts,
    // including the cancel check in the progress callback, run from the timer).
    const std::int64_t wait_ms = timeout_ms_ < 0 ? 1000 : std::min<long>(timeout_ms_, 1000);
    const int ready = wait_ready(fds.data(), fds.size(), wait_ms);
    if (ready == 0) {
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      continue;
    }
    for (const auto& entry : fds) {
      if (!entry.revents) continue;
      int mask = 0;
      if (entry.revents & POLLIN) mask |= CURL_CSELECT_IN;
      if (entry.revents & POLLOUT) mask |= CURL_CSELECT_OUT;
      if (entry.revents & (POLLERR | POLLHUP | POLLNVAL)) mask |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_, entry.fd, mask, &running);
    }
  }
  curl_multi_remove_handle(multi_, easy);
  return finished ? result : CURLE_RECV_ERROR;
}

}  // namespace nauto::drivers::http
