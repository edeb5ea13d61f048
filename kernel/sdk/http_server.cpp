#include "nauto/sdk/http_server.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "nauto/base/clock.h"
#include "nauto/base/doorbell.h"
#include "nauto/sdk/connection_ledger.h"
#include "nauto/sdk/listen_socket.h"

namespace nauto {

namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string text) {
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
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

using Pairs = std::vector<std::pair<std::string, std::string>>;

MHD_Result collect_pair(void* out, MHD_ValueKind kind, const char* key, const char* value) {
  auto& pairs = *static_cast<Pairs*>(out);
  if (pairs.size() >= 256) return MHD_NO;  // the connection's memory limit bounds them anyway
  std::string name = key ? key : "";
  std::string text = value ? value : "";
  if (kind == MHD_HEADER_KIND) name = lower(std::move(name));
  if (kind == MHD_GET_ARGUMENT_KIND) {
    name = percent_decode(name, true);
    text = percent_decode(text, true);
  }
  pairs.emplace_back(std::move(name), std::move(text));
  return MHD_YES;
}

// libmicrohttpd's own unescaping is turned off (the path keeps its %2F, so a segment may hold a
// '/'); query arguments are decoded in collect_pair, path segments by whoever splits them.
std::size_t keep_escaped(void*, MHD_Connection*, char* text) {
  return std::strlen(text);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string openssl_error() {
  const auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unreadable";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (same_name(key, name)) return value;
  return {};
}

std::optional<std::string_view> HttpRequest::query_value(std::string_view name) const {
  for (const auto& [key, value] : query)
    if (key == name) return std::string_view(value);
  return std::nullopt;
}

// A response that goes on: the bytes not yet taken by libmicrohttpd, and whether its
// connection is parked waiting for more. The server's thread only; shared with the response
// object, which libmicrohttpd may keep after the exchange has ended.
struct Stream {
  MHD_Connection* connection = nullptr;
  std::string buffer;
  bool ended = false;      // no more bytes will come: finish once the buffer is sent
  bool cut = false;        // end now, with an error
  bool suspended = false;  // parked in the reader for want of bytes
  bool gone = false;       // the exchange has ended
};

// One request from its headers to its end. The server's thread only.
struct Exchange {
  enum class State { Reading, Waiting, Ready, Sent };
  std::uint64_t id = 0;
  MHD_Connection* connection = nullptr;
  int fd = -1;
  State state = State::Reading;
  bool suspended = false;  // parked waiting for the handler's answer
  bool handed = false;     // given to the handler: on_closed is owed
  HttpRequest request;
  HttpResponse response;  // Ready: what to send
  std::shared_ptr<Stream> stream;
};

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  ClosedHandler on_closed;
  MHD_Daemon* daemon = nullptr;
  std::thread loop_thread;
  Doorbell stop;
  Doorbell posted_bell;
  std::uint16_t port = 0;
  bool stopping = false;

  // The server's thread's own.
  ConnectionLedger ledger;
  std::map<std::uint64_t, Exchange*> exchanges;
  std::uint64_t last_id = 0;

  // What other threads asked; applied on the server's thread.
  struct Posted {
    enum class Kind { Answer, OpenStream, Send, End } kind;
    std::uint64_t id;
    HttpResponse response;
    std::string bytes;
  };
  mutable std::mutex mutex;  // guards posted, live_streams and counters
  std::vector<Posted> posted;
  std::set<std::uint64_t> live_streams;
  HttpServerCounters counters;

  explicit Impl(const HttpServerOptions& opts)
      : options(opts), ledger(opts.per_address_connections, opts.request_timeout_ms * 1000) {}

  // The bell rings only when the queue was empty: the loop takes everything queued at once, so
  // one wake-up serves a burst (an event fanned out to many streams).
  void post(Posted item) {
    bool was_empty = false;
    {
      std::lock_guard lock(mutex);
      was_empty = posted.empty();
      posted.push_back(std::move(item));
    }
    if (was_empty) posted_bell.ring();
  }

  void loop() {
    const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    const auto* info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    epoll_event watch{};
    watch.events = EPOLLIN;
    for (int fd : {info->epoll_fd, stop.fd(), posted_bell.fd()}) {
      watch.data.fd = fd;
      ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &watch);
    }
    for (;;) {
      // Sleep until libmicrohttpd has work, an answer is posted, its next idle timeout, or the
      // next request deadline.
      int timeout_ms = -1;
      if (MHD_UNSIGNED_LONG_LONG mhd_ms = 0; MHD_get_timeout(daemon, &mhd_ms) == MHD_YES)
        timeout_ms = static_cast<int>(std::min<MHD_UNSIGNED_LONG_LONG>(mhd_ms, 60'000));
      if (const auto deadline = ledger.next_deadline_us(); deadline >= 0) {
        const auto until = std::max<std::int64_t>(0, (deadline - steady_us() + 999) / 1000);
        if (timeout_ms < 0 || until < timeout_ms) timeout_ms = static_cast<int>(until);
      }
      epoll_event ready[3];
      const int count = ::epoll_wait(epoll, ready, 3, timeout_ms);
      bool stopping_now = false;
      for (int i = 0; i < count; ++i)
        stopping_now = stopping_now || ready[i].data.fd == stop.fd();
      if (stopping_now) break;
      apply_posted();
      MHD_run(daemon);
      if (const auto cut = ledger.cut_overdue(steady_us()); cut > 0) {
        std::lock_guard lock(mutex);
        counters.timed_out += cut;
      }
    }
    ::close(epoll);
  }

  void resume(Exchange& exchange) {
    if (!exchange.suspended) return;
    exchange.suspended = false;
    MHD_resume_connection(exchange.connection);
  }

  void resume(Stream& stream) {
    if (!stream.suspended || stream.gone) return;
    stream.suspended = false;
    MHD_resume_connection(stream.connection);
  }

  void apply_posted() {
    posted_bell.drain();
    std::vector<Posted> items;
    {
      std::lock_guard lock(mutex);
      items.swap(posted);
    }
    for (auto& item : items) {
      auto found = exchanges.find(item.id);
      if (found == exchanges.end()) continue;  // its client went away
      auto& exchange = *found->second;
      switch (item.kind) {
        case Posted::Kind::Answer:
        case Posted::Kind::OpenStream:
          if (exchange.state != Exchange::State::Waiting) break;  // answered already
          exchange.response = std::move(item.response);
          exchange.state = Exchange::State::Ready;
          if (item.kind == Posted::Kind::OpenStream) {
            exchange.stream = std::make_shared<Stream>();
            exchange.stream->connection = exchange.connection;
          }
          resume(exchange);
          break;
        case Posted::Kind::Send:
          if (!exchange.stream || exchange.stream->ended) break;
          if (exchange.stream->buffer.size() + item.bytes.size() > options.max_stream_buffer) {
            cut(exchange);
            break;
          }
          exchange.stream->buffer += item.bytes;
          resume(*exchange.stream);
          break;
        case Posted::Kind::End:
          if (!exchange.stream) break;
          exchange.stream->ended = true;
          resume(*exchange.stream);
          forget_stream(exchange.id);
          break;
      }
    }
  }

  void forget_stream(std::uint64_t id) {
    std::lock_guard lock(mutex);
    live_streams.erase(id);
  }

  // A reader too far behind: its stream ends with an error, which closes the connection.
  void cut(Exchange& exchange) {
    exchange.stream->ended = exchange.stream->cut = true;
    exchange.stream->buffer.clear();
    resume(*exchange.stream);
    std::lock_guard lock(mutex);
    live_streams.erase(exchange.id);
    ++counters.streams_cut;
  }

  void count_status(int status) {
    std::lock_guard lock(mutex);
    auto& c = counters;
    if (status < 300) {
      ++c.status_2xx;
    } else if (status < 400) {
      ++c.status_3xx;
    } else if (status < 500) {
      ++c.status_4xx;
    } else {
      ++c.status_5xx;
    }
    if (status == 413) {
      ++c.too_large;
      ++c.refused_413;
    }
  }

  static ssize_t read_stream(void* cls, std::uint64_t, char* out, std::size_t max) {
    auto& stream = **static_cast<std::shared_ptr<Stream>*>(cls);
    if (stream.cut) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (!stream.buffer.empty()) {
      const auto n = std::min(max, stream.buffer.size());
      std::memcpy(out, stream.buffer.data(), n);
      stream.buffer.erase(0, n);
      return static_cast<ssize_t>(n);
    }
    if (stream.ended) return MHD_CONTENT_READER_END_OF_STREAM;
    // Nothing to send: park the connection until send() or end_stream() wakes it.
    stream.suspended = true;
    MHD_suspend_connection(stream.connection);
    return 0;
  }

  static void free_stream(void* cls) { delete static_cast<std::shared_ptr<Stream>*>(cls); }

  MHD_Result queue(MHD_Connection* connection, const HttpResponse& answer,
                   const std::shared_ptr<Stream>& stream) {
    MHD_Response* response = nullptr;
    if (stream) {
      response =
          MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, &read_stream,
                                            new std::shared_ptr<Stream>(stream), &free_stream);
    } else {
      response = MHD_create_response_from_buffer(
          answer.body.size(), const_cast<char*>(answer.body.data()), MHD_RESPMEM_MUST_COPY);
    }
    if (!response) return MHD_NO;
    if (!answer.content_type.empty())
      MHD_add_response_header(response, "Content-Type", answer.content_type.c_str());
    for (const auto& [name, value] : answer.headers)
      MHD_add_response_header(response, name.c_str(), value.c_str());
    const auto queued =
        MHD_queue_response(connection, static_cast<unsigned>(answer.status), response);
    MHD_destroy_response(response);
    count_status(answer.status);
    if (stream) {
      std::lock_guard lock(mutex);
      ++counters.streams_open;
    }
    return queued;
  }

  MHD_Result on_request(MHD_Connection* connection, const char* url, const char* method,
                        const char* upload, std::size_t* upload_size, void** state) {
    if (*state == nullptr) {  // the headers are in; nothing of the body has been read
      auto exchange = std::make_unique<Exchange>();
      exchange->id = ++last_id;
      exchange->connection = connection;
      exchange->fd = connection_fd(connection);
      auto& request = exchange->request;
      request.id = exchange->id;
      request.method = method;
      request.path = url;
      request.peer = peer_of(connection);
      MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect_pair, &request.headers);
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collect_pair, &request.query);
      const auto length = request.header("content-length");
      std::uint64_t declared = 0;
      if (!length.empty()) {
        auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), declared);
        if (error != std::errc() || declared > options.max_body) {
          exchange->state = Exchange::State::Sent;
          *state = exchange.release();
          return queue(connection,
                       HttpResponse{413,
                                    R"({"error":{"code":"too_large","message":"the body is over )" +
                                        std::to_string(options.max_body) + " bytes (" +
                                        options.max_body_key + ")\"}}",
                                    "application/json",
                                    {}},
                       nullptr);
        }
      }
      request.body.reserve(declared);
      exchanges[exchange->id] = exchange.get();
      *state = exchange.release();
      return MHD_YES;
    }
    auto& exchange = *static_cast<Exchange*>(*state);
    if (*upload_size != 0) {
      // libmicrohttpd cannot answer while it hands over body data, so a chunked body that grows
      // past the cap loses its connection instead of a 413: nothing past the cap is read.
      if (exchange.state != Exchange::State::Reading ||
          exchange.request.body.size() + *upload_size > options.max_body) {
        std::lock_guard lock(mutex);
        ++counters.too_large;
        return MHD_NO;
      }
      exchange.request.body.append(upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    switch (exchange.state) {
      case Exchange::State::Reading: {
        exchange.state = Exchange::State::Waiting;
        exchange.handed = true;
        ledger.request_read(exchange.fd);
        {
          std::lock_guard lock(mutex);
          ++counters.requests;
        }
        handler(std::move(exchange.request));
        apply_posted();  // an answer given at once is sent at once
        if (exchange.state == Exchange::State::Ready) return send_ready(exchange);
        exchange.suspended = true;
        MHD_suspend_connection(connection);
        return MHD_YES;
      }
      case Exchange::State::Ready:
        return send_ready(exchange);
      case Exchange::State::Waiting:
        exchange.suspended = true;
        MHD_suspend_connection(connection);
        return MHD_YES;
      case Exchange::State::Sent:
        return MHD_YES;
    }
    return MHD_YES;
  }

  MHD_Result send_ready(Exchange& exchange) {
    exchange.state = Exchange::State::Sent;
    if (exchange.stream) {
      std::lock_guard lock(mutex);
      if (!exchange.stream->ended) live_streams.insert(exchange.id);
    }
    return queue(exchange.connection, exchange.response, exchange.stream);
  }

  void on_completed(MHD_Connection* connection, void** state) {
    auto* exchange = static_cast<Exchange*>(*state);
    *state = nullptr;
    ledger.request_done(connection_fd(connection), steady_us());
    if (!exchange) return;
    exchanges.erase(exchange->id);
    if (exchange->stream) {
      exchange->stream->gone = true;
      forget_stream(exchange->id);
    }
    if (exchange->handed && on_closed && !stopping) on_closed(exchange->id);
    delete exchange;
  }

  void on_connection(MHD_Connection* connection, bool opened) {
    const int fd = connection_fd(connection);
    if (!opened) {
      ledger.close(fd);
      return;
    }
    const bool allowed = ledger.open(fd, peer_of(connection), steady_us());
    std::lock_guard lock(mutex);
    ++counters.connections;
    if (!allowed) ++counters.refused;
  }

  // After the loop has stopped: parked requests get a 503 and streams end, so libmicrohttpd
  // may be stopped with no connection suspended.
  void release_parked() {
    stopping = true;
    for (auto& [id, exchange] : exchanges) {
      if (exchange->state == Exchange::State::Waiting) {
        exchange->response =
            HttpResponse{503,
                         R"({"error":{"code":"unavailable","message":"the server is stopping"}})",
                         "application/json",
                         {}};
        exchange->state = Exchange::State::Ready;
      }
      resume(*exchange);
      if (exchange->stream) {
        exchange->stream->ended = true;
        resume(*exchange->stream);
      }
    }
  }
};

namespace {

MHD_Result access_handler(void* self, MHD_Connection* connection, const char* url,
                          const char* method, const char*, const char* upload,
                          std::size_t* upload_size, void** state) {
  return static_cast<HttpServer::Impl*>(self)->on_request(connection, url, method, upload,
                                                          upload_size, state);
}

void request_completed(void* self, MHD_Connection* connection, void** state,
                       MHD_RequestTerminationCode) {
  static_cast<HttpServer::Impl*>(self)->on_completed(connection, state);
}

void connection_notified(void* self, MHD_Connection* connection, void**,
                         MHD_ConnectionNotificationCode code) {
  static_cast<HttpServer::Impl*>(self)->on_connection(connection,
                                                      code == MHD_CONNECTION_NOTIFY_STARTED);
}

}  // namespace

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options,
                                                      Handler handler, ClosedHandler on_closed) {
  auto impl = std::make_unique<Impl>(options);
  impl->handler = std::move(handler);
  impl->on_closed = std::move(on_closed);
  const bool tls = !options.tls_cert_pem.empty() || !options.tls_key_pem.empty();
  if (tls) {
    if (auto usable = check_tls_pair(options.tls_cert_pem, options.tls_key_pem, "TLS"); !usable)
      return std::move(usable).error();
  }
  auto cannot_listen = [&](const std::string& why) {
    return fail(Errc::System, "cannot listen on " + options.host + ":" +
                                  std::to_string(options.port) + ": " + why);
  };
  ListenEndpoint endpoint{true, options.host, options.port};
  auto listening = open_listen_socket(endpoint, 0, "listen");
  if (!listening) return cannot_listen(listening.error().message);
  impl->port = listening->endpoint.port;
  // External event loop (MHD_USE_EPOLL without a thread of its own): libmicrohttpd runs only
  // inside loop(), on one thread, so the ledger's descriptors cannot be closed under it and
  // every suspend and resume happens there.
  auto start_daemon = [&](unsigned flags, auto... tls_options) {
    return MHD_start_daemon(
        flags, 0, nullptr, nullptr, &access_handler, impl.get(), tls_options...,
        MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(listening->fd),  //
        MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(options.max_connections),
        MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(options.idle_timeout_s),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, options.header_memory,       //
        MHD_OPTION_NOTIFY_COMPLETED, &request_completed, impl.get(),     //
        MHD_OPTION_NOTIFY_CONNECTION, &connection_notified, impl.get(),  //
        MHD_OPTION_UNESCAPE_CALLBACK, &keep_escaped, nullptr,            //
        MHD_OPTION_END);
  };
  const unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  impl->daemon = tls ? start_daemon(flags | MHD_USE_TLS, MHD_OPTION_HTTPS_MEM_CERT,
                                    options.tls_cert_pem.c_str(), MHD_OPTION_HTTPS_MEM_KEY,
                                    options.tls_key_pem.c_str(), MHD_OPTION_HTTPS_PRIORITIES,
                                    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2")
                     : start_daemon(flags);
  if (!impl->daemon) {
    ::close(listening->fd);
    return cannot_listen(tls ? "libmicrohttpd would not start with this certificate and key"
                             : "libmicrohttpd would not start");
  }
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  server->impl_->loop_thread = std::thread([raw = server->impl_.get()] { raw->loop(); });
  return server;
}

HttpServer::~HttpServer() {
  if (impl_->loop_thread.joinable()) {
    impl_->stop.ring();
    impl_->loop_thread.join();
  }
  if (impl_->daemon) {
    impl_->release_parked();
    MHD_run(impl_->daemon);
    MHD_stop_daemon(impl_->daemon);  // closes the listening socket and every connection
  }
}

void HttpServer::answer(std::uint64_t id, HttpResponse response) {
  impl_->post({Impl::Posted::Kind::Answer, id, std::move(response), {}});
}

void HttpServer::open_stream(std::uint64_t id, HttpResponse head) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->live_streams.insert(id);
  }
  impl_->post({Impl::Posted::Kind::OpenStream, id, std::move(head), {}});
}

bool HttpServer::send(std::uint64_t id, std::string bytes) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->live_streams.contains(id)) return false;
  }
  impl_->post({Impl::Posted::Kind::Send, id, {}, std::move(bytes)});
  return true;
}

void HttpServer::end_stream(std::uint64_t id) {
  impl_->post({Impl::Posted::Kind::End, id, {}, {}});
}

HttpServerCounters HttpServer::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

std::string HttpServer::address() const {
  const bool v6 = impl_->options.host.find(':') != std::string::npos;
  return (v6 ? "[" + impl_->options.host + "]" : impl_->options.host) + ":" +
         std::to_string(impl_->port);
}

bool HttpServer::tls() const {
  return !impl_->options.tls_cert_pem.empty();
}

Result<void> check_tls_pair(const std::string& cert_pem, const std::string& key_pem,
                            const std::string& where) {
  if (cert_pem.empty() || key_pem.empty())
    return fail(Errc::InvalidConfig, where + ": give both a certificate and its key");
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert)
    return fail(Errc::InvalidConfig,
                where + ": the certificate is not PEM X.509 (" + openssl_error() + ")");
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  // No passphrase callback: an encrypted key fails here instead of prompting.
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(
          key_bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr),
      &EVP_PKEY_free);
  if (!key)
    return fail(Errc::InvalidConfig, where + ": the key is not an unencrypted PEM private key (" +
                                         openssl_error() + ")");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::InvalidConfig, where + ": the key is not the certificate's");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0)
    return fail(Errc::InvalidConfig, where + ": the certificate has expired");
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) >= 0)
    return fail(Errc::InvalidConfig, where + ": the certificate is not valid yet");
  return ok();
}

}  // namespace nauto
