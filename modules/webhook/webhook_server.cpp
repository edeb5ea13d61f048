#include "webhook_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "nauto/base/clock.h"
#include "nauto/sdk/listen_socket.h"

namespace nauto::webhook {

/// One request being read: what its headers said and the body so far.
struct WebhookServer::Request {
  std::string hook;
  std::string peer;
  std::string timestamp, nonce, signature;
  std::string body;
};

namespace {

std::string error_body(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

std::string header(MHD_Connection* connection, const char* name) {
  const char* value = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
  return value ? std::string(value) : std::string();
}

int connection_fd(MHD_Connection* connection) {
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  return info ? info->connect_fd : -1;
}

std::string peer_of(MHD_Connection* connection) {
  const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr) return "";
  sockaddr_storage address{};
  const auto length =
      info->client_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  std::memcpy(&address, info->client_addr, length);
  return address_text(address);
}

MHD_Result access_handler(void* self, MHD_Connection* connection, const char* url,
                          const char* method, const char*, const char* upload,
                          std::size_t* upload_size, void** state) {
  return static_cast<WebhookServer*>(self)->on_request(connection, url, method, upload, upload_size,
                                                       state)
             ? MHD_YES
             : MHD_NO;
}

void request_completed(void* self, MHD_Connection* connection, void** state,
                       MHD_RequestTerminationCode) {
  static_cast<WebhookServer*>(self)->on_completed(connection, state);
}

void connection_notified(void* self, MHD_Connection* connection, void**,
                         MHD_ConnectionNotificationCode code) {
  static_cast<WebhookServer*>(self)->on_connection(connection,
                                                   code == MHD_CONNECTION_NOTIFY_STARTED);
}

}  // namespace

WebhookServer::WebhookServer(const ServerOptions& options, const std::vector<std::string>& hooks)
    : options_(options),
      started_s_(now_us() / 1'000'000),
      ledger_(options.per_address_connections, options.request_timeout_ms * 1000),
      replay_(options.replay_window_s, options.max_nonces, started_s_) {
  for (const auto& hook : hooks)
    secrets_[hook] = "";
}

Result<std::unique_ptr<WebhookServer>> WebhookServer::start(const ServerOptions& options,
                                                            const std::vector<std::string>& hooks) {
  std::unique_ptr<WebhookServer> self(new WebhookServer(options, hooks));
  auto cannot_listen = [&](const std::string& why) {
    return fail(Errc::System, "cannot listen on " + options.host + ":" +
                                  std::to_string(options.port) + ": " + why);
  };
  ListenEndpoint endpoint{true, options.host, options.port};
  auto listening = open_listen_socket(endpoint, 0, "modules.webhook.listen");
  if (!listening) return cannot_listen(listening.error().message);
  self->port_ = listening->endpoint.port;
  // External event loop (MHD_USE_EPOLL without a thread of its own): libmicrohttpd runs only
  // inside loop(), on one thread, so the ledger's file descriptors cannot be closed under it.
  self->daemon_ =
      MHD_start_daemon(MHD_USE_EPOLL, 0, nullptr, nullptr, &access_handler, self.get(),   //
                       MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(listening->fd),  //
                       MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(options.max_connections),
                       MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(options.idle_timeout_s),
                       MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.header_memory,       //
                       MHD_OPTION_NOTIFY_COMPLETED, &request_completed, self.get(),     //
                       MHD_OPTION_NOTIFY_CONNECTION, &connection_notified, self.get(),  //
                       MHD_OPTION_END);
  if (!self->daemon_) {
    ::close(listening->fd);
    return cannot_listen("libmicrohttpd would not start");
  }
  self->loop_thread_ = std::thread([raw = self.get()] { raw->loop(); });
  return self;
}

WebhookServer::~WebhookServer() {
  if (loop_thread_.joinable()) {
    stop_.ring();
    loop_thread_.join();
  }
  if (daemon_) MHD_stop_daemon(daemon_);  // closes the listening socket and every connection
}

void WebhookServer::loop() {
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  const auto* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
  epoll_event watch{};
  watch.events = EPOLLIN;
  watch.data.fd = info->epoll_fd;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, info->epoll_fd, &watch);
  watch.data.fd = stop_.fd();
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, stop_.fd(), &watch);
  for (;;) {
    // Sleep until libmicrohttpd has work, its next idle timeout, or the next request deadline.
    int timeout_ms = -1;
    if (MHD_UNSIGNED_LONG_LONG mhd_ms = 0; MHD_get_timeout(daemon_, &mhd_ms) == MHD_YES)
      timeout_ms = static_cast<int>(std::min<MHD_UNSIGNED_LONG_LONG>(mhd_ms, 60'000));
    if (const auto deadline = ledger_.next_deadline_us(); deadline >= 0) {
      const auto until = std::max<std::int64_t>(0, (deadline - steady_us() + 999) / 1000);
      if (timeout_ms < 0 || until < timeout_ms) timeout_ms = static_cast<int>(until);
    }
    epoll_event ready[2];
    const int count = ::epoll_wait(epoll, ready, 2, timeout_ms);
    bool stopping = false;
    for (int i = 0; i < count; ++i)
      stopping = stopping || ready[i].data.fd == stop_.fd();
    if (stopping) break;
    MHD_run(daemon_);
    if (const auto cut = ledger_.cut_overdue(steady_us()); cut > 0) {
      std::lock_guard lock(mutex_);
      counters_.timed_out += cut;
    }
  }
  ::close(epoll);
}

void WebhookServer::on_connection(MHD_Connection* connection, bool opened) {
  const int fd = connection_fd(connection);
  if (!opened) {
    ledger_.close(fd);
    return;
  }
  const bool allowed = ledger_.open(fd, peer_of(connection), steady_us());
  std::lock_guard lock(mutex_);
  ++counters_.connections;
  if (!allowed) ++counters_.refused;
}

void WebhookServer::on_completed(MHD_Connection* connection, void** state) {
  delete static_cast<Request*>(*state);
  *state = nullptr;
  ledger_.request_done(connection_fd(connection), steady_us());
}

int WebhookServer::on_request(MHD_Connection* connection, const char* url, const char* method,
                              const char* upload, std::size_t* upload_size, void** state) {
  if (*state == nullptr) {  // the headers are in; nothing of the body has been read
    if (std::strcmp(method, "POST") != 0)
      return respond(connection, 405, error_body("only POST /hooks/<hook> is served"));
    const std::string_view path(url);
    const std::string_view prefix = "/hooks/";
    std::string hook;
    if (path.starts_with(prefix) && path.size() > prefix.size() &&
        path.find('/', prefix.size()) == std::string_view::npos)
      hook = path.substr(prefix.size());
    bool known = false;
    {
      std::lock_guard lock(mutex_);
      known = secrets_.contains(hook);
    }
    if (!known)
      return respond(connection, 404,
                     error_body("no hook '" + std::string(path.substr(0, 60)) +
                                "': the configured hooks are POST /hooks/<name> for each name "
                                "under modules.webhook.hooks"));
    const auto length = header(connection, "Content-Length");
    std::uint64_t declared = 0;
    if (!length.empty()) {
      auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), declared);
      if (error != std::errc() || declared > options_.max_body)
        return respond(connection, 413,
                       error_body("the body is over " + std::to_string(options_.max_body) +
                                  " bytes (modules.webhook.max_body)"));
    }
    auto request = std::make_unique<Request>();
    request->hook = std::move(hook);
    request->peer = peer_of(connection);
    request->timestamp = header(connection, "X-Nauto-Timestamp");
    request->nonce = header(connection, "X-Nauto-Nonce");
    request->signature = header(connection, "X-Nauto-Signature");
    request->body.reserve(declared);
    *state = request.release();
    return 1;
  }
  auto& request = *static_cast<Request*>(*state);
  if (*upload_size != 0) {
    // libmicrohttpd cannot answer while it hands over body data, so a chunked body that grows
    // past the cap loses its connection instead of a 413: nothing past the cap is read.
    if (request.body.size() + *upload_size > options_.max_body) {
      std::lock_guard lock(mutex_);
      ++counters_.too_large;
      return 0;
    }
    request.body.append(upload, *upload_size);
    *upload_size = 0;
    return 1;
  }
  int status = 500;
  std::string reply;
  answer(request, status, reply);
  return respond(connection, status, reply);
}

void WebhookServer::answer(const Request& request, int& status, std::string& reply) {
  std::string secret;
  {
    std::lock_guard lock(mutex_);
    if (auto it = secrets_.find(request.hook); it != secrets_.end()) secret = it->second;
  }
  if (secret.empty()) {
    status = 503;
    reply =
        error_body("hook '" + request.hook + "' has no secret yet (is the vault module running?)");
    return;
  }
  auto timestamp = check_signature(
      secret, SignedRequest{request.timestamp, request.nonce, request.signature, request.body});
  if (!timestamp) {
    status = 401;
    reply = error_body(timestamp.error().message);
    return;
  }
  auto event = parse_webhook_event(request.body);
  if (!event) {
    status = 400;
    reply = error_body(event.error().message);
    return;
  }
  const std::string kind = event->kind;
  {
    std::lock_guard lock(mutex_);
    // Room first, then the nonce: a request refused for want of room may be sent again as is.
    if (queue_.size() >= options_.queue) {
      status = 429;
      reply = error_body("too many events waiting (" + std::to_string(options_.queue) +
                         "); retry later");
      return;
    }
    if (auto fresh = replay_.admit(request.hook, request.nonce, *timestamp, now_us() / 1'000'000);
        !fresh) {
      if (fresh.error().code == Errc::Unauthenticated) {
        ++counters_.replayed;
        status = 401;
      } else {
        status = 429;
      }
      reply = error_body(fresh.error().message);
      return;
    }
    queue_.push_back(Delivery{request.hook, request.peer, now_us(), std::move(*event)});
  }
  waiting_.ring();
  status = 202;
  reply = nlohmann::json{{"accepted", true}, {"kind", kind}}.dump();
}

int WebhookServer::respond(MHD_Connection* connection, int status, const std::string& reply) {
  {
    std::lock_guard lock(mutex_);
    auto& c = counters_;
    ++c.requests;
    switch (status) {
      case 202:
        ++c.accepted;
        break;
      case 401:
        ++c.rejected;
        break;
      case 404:
        ++c.unknown_hook;
        break;
      case 413:
        ++c.too_large;
        break;
      case 429:
        ++c.shed;
        break;
      case 503:
        ++c.not_ready;
        break;
      default:  // 400, 405
        ++c.malformed;
        break;
    }
  }
  auto* response = MHD_create_response_from_buffer(reply.size(), const_cast<char*>(reply.data()),
                                                   MHD_RESPMEM_MUST_COPY);
  if (!response) return 0;
  MHD_add_response_header(response, "Content-Type", "application/json");
  if (status == 429 || status == 503) MHD_add_response_header(response, "Retry-After", "1");
  const auto queued = MHD_queue_response(connection, static_cast<unsigned>(status), response);
  MHD_destroy_response(response);
  return queued == MHD_YES ? 1 : 0;
}

void WebhookServer::set_secret(const std::string& hook, std::string secret) {
  std::lock_guard lock(mutex_);
  secrets_[hook] = std::move(secret);
}

std::vector<Delivery> WebhookServer::take() {
  waiting_.drain();
  std::lock_guard lock(mutex_);
  std::vector<Delivery> out(std::make_move_iterator(queue_.begin()),
                            std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

ServerCounters WebhookServer::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::string WebhookServer::address() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return (v6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(port_);
}

}  // namespace nauto::webhook
