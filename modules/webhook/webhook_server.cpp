#include "webhook_server.h"

#include <httplib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>

#include "nauto/base/clock.h"

namespace nauto::webhook {

namespace {

// httplib's ThreadPool queues connections without limit; this one keeps at most `capacity`
// waiting and otherwise runs the connection on the accepting thread, which stops accepting
// while it does (the listen backlog then pushes back on senders).
class BoundedTaskQueue final : public httplib::TaskQueue {
 public:
  BoundedTaskQueue(std::size_t threads, std::size_t capacity) : capacity_(capacity) {
    for (std::size_t i = 0; i < threads; ++i)
      workers_.emplace_back([this] { work(); });
  }
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mutex_);
      if (jobs_.size() < capacity_) {
        jobs_.push_back(std::move(fn));
        ready_.notify_one();
        return;
      }
    }
    fn();
  }
  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers_)
      worker.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and every accepted connection served
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

std::string error_body(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

}  // namespace

WebhookServer::WebhookServer(const ServerOptions& options, const std::vector<std::string>& hooks)
    : options_(options), server_(std::make_unique<httplib::Server>()) {
  for (const auto& hook : hooks)
    secrets_[hook] = "";
}

Result<std::unique_ptr<WebhookServer>> WebhookServer::start(const ServerOptions& options,
                                                            const std::vector<std::string>& hooks) {
  std::unique_ptr<WebhookServer> self(new WebhookServer(options, hooks));
  self->event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (self->event_fd_ < 0)
    return fail(Errc::System, std::string("eventfd: ") + std::strerror(errno));
  auto& server = *self->server_;
  const std::size_t threads = options.threads;
  server.new_task_queue = [threads] { return new BoundedTaskQueue(threads, threads * 4); };
  server.set_payload_max_length(options.max_body);
  server.set_read_timeout(options.read_timeout_s, 0);
  server.set_write_timeout(options.read_timeout_s, 0);
  server.set_keep_alive_max_count(100);
  WebhookServer* raw = self.get();
  server.Post(R"(/hooks/([^/]+))", [raw](const httplib::Request& request,
                                         httplib::Response& response) {
    std::string reply;
    int status = 500;
    auto signature = request.get_header_value("X-Nauto-Signature");
    if (signature.empty()) signature = request.get_header_value("X-Hub-Signature-256");
    raw->handle(request.matches[1], request.body, signature, request.remote_addr, status, reply);
    response.status = status;
    if (status == 429 || status == 503) response.set_header("Retry-After", "1");
    response.set_content(reply, "application/json");
  });
  // Every answer — ours and httplib's own (404 for other paths, 413 for a body over the limit)
  // — passes here once, so this is where requests are counted.
  server.set_logger([raw](const httplib::Request&, const httplib::Response& response) {
    std::lock_guard lock(raw->mutex_);
    auto& c = raw->counters_;
    ++c.requests;
    switch (response.status) {
      case 202:
        ++c.accepted;
        break;
      case 400:
        ++c.malformed;
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
      default:
        ++c.malformed;
        break;
    }
  });
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
  } else if (!server.bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port <= 0)
    return fail(Errc::System, "cannot listen on " + options.host + ":" +
                                  std::to_string(options.port) +
                                  " (in use, or not an address of this host)");
  self->port_ = static_cast<std::uint16_t>(port);
  self->listener_ = std::thread([raw] { raw->server_->listen_after_bind(); });
  return self;
}

WebhookServer::~WebhookServer() {
  server_->stop();
  if (listener_.joinable()) listener_.join();
  if (event_fd_ >= 0) ::close(event_fd_);
}

void WebhookServer::handle(const std::string& hook, const std::string& body,
                           const std::string& signature, const std::string& peer, int& status,
                           std::string& reply) {
  std::string secret;
  {
    std::lock_guard lock(mutex_);
    auto it = secrets_.find(hook);
    if (it == secrets_.end()) {
      status = 404;
      reply = error_body("no hook '" + hook.substr(0, 60) +
                         "': the configured hooks are POST /hooks/<name> for each name under "
                         "modules.webhook.hooks");
      return;
    }
    secret = it->second;
  }
  if (secret.empty()) {
    status = 503;
    reply = error_body("hook '" + hook + "' has no secret yet (is the vault module running?)");
    return;
  }
  if (auto signed_ok = check_signature(secret, body, signature); !signed_ok) {
    status = 401;
    reply = error_body(signed_ok.error().message);
    return;
  }
  auto event = parse_webhook_event(body);
  if (!event) {
    status = 400;
    reply = error_body(event.error().message);
    return;
  }
  const std::string kind = event->kind;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue) {
      status = 429;
      reply = error_body("too many events waiting (" + std::to_string(options_.queue) +
                         "); retry later");
      return;
    }
    queue_.push_back(Delivery{hook, peer, now_us(), std::move(*event)});
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(event_fd_, &one, sizeof one);
  status = 202;
  reply = nlohmann::json{{"accepted", true}, {"kind", kind}}.dump();
}

void WebhookServer::set_secret(const std::string& hook, std::string secret) {
  std::lock_guard lock(mutex_);
  secrets_[hook] = std::move(secret);
}

std::vector<Delivery> WebhookServer::take() {
  std::uint64_t pending = 0;
  [[maybe_unused]] auto read = ::read(event_fd_, &pending, sizeof pending);
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
