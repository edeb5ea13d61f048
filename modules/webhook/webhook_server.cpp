#include "webhook_server.h"

#include <nlohmann/json.hpp>

#include "nauto/base/clock.h"

namespace nauto::webhook {

/// One request read whole: what its headers said, and its body.
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

}  // namespace

WebhookServer::WebhookServer(const ServerOptions& options, const std::vector<std::string>& hooks)
    : options_(options),
      started_s_(now_us() / 1'000'000),
      replay_(options.replay_window_s, options.max_nonces, started_s_) {
  for (const auto& hook : hooks)
    secrets_[hook] = "";
}

Result<std::unique_ptr<WebhookServer>> WebhookServer::start(const ServerOptions& options,
                                                            const std::vector<std::string>& hooks) {
  std::unique_ptr<WebhookServer> self(new WebhookServer(options, hooks));
  HttpServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.max_body = options.max_body;
  http.max_connections = options.max_connections;
  http.per_address_connections = options.per_address_connections;
  http.request_timeout_ms = options.request_timeout_ms;
  http.idle_timeout_s = options.idle_timeout_s;
  http.header_memory = options.header_memory;
  http.max_body_key = "modules.webhook.max_body";
  auto server = HttpServer::start(
      http, [raw = self.get()](HttpRequest request) { raw->handle(std::move(request)); });
  if (!server) return std::move(server).error();
  self->http_ = std::move(*server);
  return self;
}

WebhookServer::~WebhookServer() = default;  // http_ stops first: its thread calls handle()

void WebhookServer::handle(HttpRequest request) {
  const auto id = request.id;
  if (request.method != "POST")
    return http_->answer(id, respond(405, error_body("only POST /hooks/<hook> is served")));
  const std::string_view path(request.path);
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
    return http_->answer(
        id, respond(404, error_body("no hook '" + std::string(path.substr(0, 60)) +
                                    "': the configured hooks are POST /hooks/<name> for each "
                                    "name under modules.webhook.hooks")));
  Request parsed{std::move(hook),
                 std::move(request.peer),
                 std::string(request.header("x-nauto-timestamp")),
                 std::string(request.header("x-nauto-nonce")),
                 std::string(request.header("x-nauto-signature")),
                 std::move(request.body)};
  int status = 500;
  std::string reply;
  answer(parsed, status, reply);
  http_->answer(id, respond(status, reply));
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

HttpResponse WebhookServer::respond(int status, const std::string& reply) {
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
  HttpResponse response{status, reply, "application/json", {}};
  if (status == 429 || status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
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
  // What the HTTP server refused before a request was read whole (a Content-Length over
  // max_body is answered 413; a chunked body over it loses its connection), and its
  // connections; the rest the handler counted.
  const auto http = http_->counters();
  std::lock_guard lock(mutex_);
  auto c = counters_;
  c.requests += http.refused_413;
  c.too_large = http.too_large;
  c.connections = http.connections;
  c.refused = http.refused;
  c.timed_out = http.timed_out;
  return c;
}

std::string WebhookServer::address() const {
  return http_->address();
}

}  // namespace nauto::webhook
