#include "metrics_server.h"

#include <microhttpd.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "nauto/sdk/listen_socket.h"

namespace nauto::telemetry {

namespace {

MHD_Result access_handler(void* self, MHD_Connection* connection, const char* url,
                          const char* method, const char*, const char*, size_t* upload_size,
                          void** state) {
  // Answered at the headers: a GET has no body, and any other body is not read.
  static int seen;
  *state = &seen;
  *upload_size = 0;
  return static_cast<MetricsServer*>(self)->on_request(connection, url, method) ? MHD_YES : MHD_NO;
}

int respond(MHD_Connection* connection, unsigned status, const std::string& body,
            const char* type) {
  auto* response = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                   MHD_RESPMEM_MUST_COPY);
  if (!response) return 0;
  MHD_add_response_header(response, "Content-Type", type);
  const auto queued = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return queued == MHD_YES ? 1 : 0;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& listen,
                                                            std::int64_t render_timeout_ms) {
  auto endpoint = parse_endpoint("tcp://" + listen);
  if (!endpoint)
    return fail(Errc::InvalidConfig, "must be host:port, such as 127.0.0.1:9464",
                "modules.telemetry.listen");
  auto socket = open_listen_socket(*endpoint, 0, "modules.telemetry.listen");
  if (!socket) return std::move(socket).error();
  std::unique_ptr<MetricsServer> self(new MetricsServer());
  self->render_timeout_ms_ = render_timeout_ms;
  self->port_ = socket->endpoint.port;
  self->daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, nullptr, nullptr, &access_handler,
      self.get(),                                                     //
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(socket->fd),  //
      MHD_OPTION_CONNECTION_LIMIT, 32u,                               //
      MHD_OPTION_CONNECTION_TIMEOUT, 10u,                             //
      MHD_OPTION_END);
  if (!self->daemon_) {
    ::close(socket->fd);
    return fail(Errc::System, "libmicrohttpd could not start on " + listen,
                "modules.telemetry.listen");
  }
  return self;
}

MetricsServer::~MetricsServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  rendered_cv_.notify_all();
  if (daemon_) MHD_stop_daemon(daemon_);  // joins its thread, closes the socket
}

std::uint64_t MetricsServer::render_wanted() {
  std::lock_guard lock(mutex_);
  return requested_;
}

void MetricsServer::publish(std::uint64_t answers, std::string text) {
  {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
    rendered_ = std::max(rendered_, answers);
  }
  rendered_cv_.notify_all();
}

MetricsServerCounters MetricsServer::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

int MetricsServer::on_request(MHD_Connection* connection, const char* url, const char* method) {
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
    return respond(connection, 405, "only GET\n", "text/plain; charset=utf-8");
  if (std::strcmp(url, "/metrics") != 0) {
    {
      std::lock_guard lock(mutex_);
      ++counters_.not_found;
    }
    return respond(connection, 404, "nauto telemetry: see /metrics\n", "text/plain; charset=utf-8");
  }
  std::unique_lock lock(mutex_);
  ++counters_.scrapes;
  const auto wanted = ++requested_;
  bell_.ring();
  const bool rendered = rendered_cv_.wait_for(lock, std::chrono::milliseconds(render_timeout_ms_),
                                              [&] { return rendered_ >= wanted || stopping_; });
  if (!rendered || rendered_ < wanted) {
    ++counters_.timed_out;
    lock.unlock();
    return respond(connection, 503, "the telemetry module did not answer in time\n",
                   "text/plain; charset=utf-8");
  }
  const std::string text = text_;
  lock.unlock();
  return respond(connection, 200, text, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace nauto::telemetry
