#include "redis_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "nauto/base/clock.h"

namespace nauto::devices {

namespace {

std::string openssl_error() {
  const auto code = ERR_get_error();
  if (!code) return "TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

// Waits until `fd` is ready for `events` or the deadline passes.
Result<void> wait_for(int fd, short events, std::int64_t deadline_us, const std::string& where) {
  for (;;) {
    const auto left_ms = (deadline_us - steady_us() + 999) / 1000;
    if (left_ms <= 0) return fail(Errc::Timeout, "no answer from Redis in time", where);
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left_ms, 1 << 30)));
    if (n > 0) return ok();
    if (n < 0 && errno != EINTR)
      return fail(Errc::System, std::string("poll: ") + std::strerror(errno), where);
  }
}

RedisReply convert(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      out.elements.reserve(reply->elements);
      for (std::size_t i = 0; i < reply->elements; ++i)
        out.elements.push_back(convert(reply->element[i]));
      break;
    default:
      out.type = RedisReply::Type::Nil;
  }
  return out;
}

// OpenSSL writes with write(2), so a TLS write to a connection Redis closed raises SIGPIPE,
// whose default action ends the process (plain sockets use MSG_NOSIGNAL). The thread that owns
// the connection blocks it once; the write then fails with EPIPE, as it should.
void block_sigpipe_on_this_thread() {
  thread_local bool blocked = false;
  if (blocked) return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  blocked = true;
}

std::string encode(const std::vector<std::string>& args) {
  std::vector<const char*> pointers;
  std::vector<std::size_t> lengths;
  for (const auto& arg : args) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* command = nullptr;
  const int length = redisFormatCommandArgv(&command, static_cast<int>(args.size()),
                                            pointers.data(), lengths.data());
  if (length < 0 || !command) return {};
  std::string bytes(command, static_cast<std::size_t>(length));
  redisFreeCommand(command);
  return bytes;
}

}  // namespace

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  RedisEndpoint endpoint;
  const auto scheme_end = url.find("://");
  const auto scheme = scheme_end == std::string_view::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "redis" && scheme != "rediss")
    return fail(Errc::InvalidArgument, "a Redis URL is redis://host[:port][/db] or rediss://...");
  endpoint.tls = scheme == "rediss";
  endpoint.port = 6379;
  auto rest = url.substr(scheme_end + 3);
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const auto db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [end, error] = std::from_chars(db.data(), db.data() + db.size(), endpoint.database);
      if (error != std::errc() || end != db.data() + db.size() || endpoint.database < 0)
        return fail(Errc::InvalidArgument, "a Redis URL's database is a number: /0 ... /15");
    }
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const auto user = authority.substr(0, at);
    if (user.find(':') != std::string_view::npos)
      return fail(Errc::InvalidArgument,
                  "a password does not belong in the Redis URL: keep it in the vault (credential)");
    endpoint.username = std::string(user);
    authority = authority.substr(at + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(Errc::InvalidArgument, "bad IPv6 address");
    endpoint.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    endpoint.host = std::string(authority.substr(0, colon));
    port = authority.substr(colon + 1);
  } else {
    endpoint.host = std::string(authority);
  }
  if (endpoint.host.empty()) return fail(Errc::InvalidArgument, "a Redis URL needs a host");
  if (!port.empty()) {
    auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
    if (error != std::errc() || end != port.data() + port.size() || endpoint.port < 1 ||
        endpoint.port > 65535)
      return fail(Errc::InvalidArgument, "a Redis URL's port is 1..65535");
  }
  return endpoint;
}

std::string describe(const RedisEndpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return std::string(e.tls ? "rediss://" : "redis://") +
         (e.username.empty() ? "" : e.username + "@") + (v6 ? "[" + e.host + "]" : e.host) + ":" +
         std::to_string(e.port) + "/" + std::to_string(e.database);
}

// A connected socket, with TLS over it when asked.
struct RedisConnection::Transport {
  int fd = -1;
  SSL_CTX* tls_context = nullptr;
  SSL* tls = nullptr;
  std::vector<char> buffer = std::vector<char>(65536);  // what read_some fills

  ~Transport() {
    if (tls) SSL_free(tls);
    if (tls_context) SSL_CTX_free(tls_context);
    if (fd >= 0) ::close(fd);
  }

  Result<void> connect(const RedisEndpoint& e, std::int64_t deadline_us, const std::string& where) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const auto port = std::to_string(e.port);
    if (const int rc = ::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &found); rc != 0)
      return fail(Errc::Unreachable, std::string("cannot resolve the host: ") + gai_strerror(rc),
                  where);
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
    std::string last = "no address";
    for (auto* a = found; a; a = a->ai_next) {
      fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) return handshake(e, deadline_us, where);
      if (errno == EINPROGRESS) {
        if (auto ready = wait_for(fd, POLLOUT, deadline_us, where); !ready) return ready;
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error == 0) return handshake(e, deadline_us, where);
        last = std::strerror(error);
      } else {
        last = std::strerror(errno);
      }
      ::close(fd);
      fd = -1;
    }
    return fail(Errc::Unreachable, "cannot connect: " + last, where);
  }

  Result<void> handshake(const RedisEndpoint& e, std::int64_t deadline_us,
                         const std::string& where) {
    if (!e.tls) return ok();
    tls_context = SSL_CTX_new(TLS_client_method());
    if (!tls_context) return fail(Errc::Library, openssl_error(), where);
    SSL_CTX_set_min_proto_version(tls_context, TLS1_2_VERSION);
    SSL_CTX_set_verify(tls_context, SSL_VERIFY_PEER, nullptr);
    const bool cas = e.ca_file.empty() ? SSL_CTX_set_default_verify_paths(tls_context) == 1
                                       : SSL_CTX_load_verify_locations(
                                             tls_context, e.ca_file.c_str(), nullptr) == 1;
    if (!cas) return fail(Errc::InvalidConfig, "cannot load the CA " + e.ca_file, where);
    if (!e.cert_file.empty() &&
        (SSL_CTX_use_certificate_chain_file(tls_context, e.cert_file.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(tls_context,
                                     (e.key_file.empty() ? e.cert_file : e.key_file).c_str(),
                                     SSL_FILETYPE_PEM) != 1))
      return fail(Errc::InvalidConfig, "cannot load the client certificate " + e.cert_file, where);
    block_sigpipe_on_this_thread();  // the handshake writes too
    tls = SSL_new(tls_context);
    if (!tls) return fail(Errc::Library, openssl_error(), where);
    SSL_set_fd(tls, fd);
    in6_addr any{};
    const bool literal = ::inet_pton(AF_INET, e.host.c_str(), &any) == 1 ||
                         ::inet_pton(AF_INET6, e.host.c_str(), &any) == 1;
    if (literal) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls), e.host.c_str());
    } else {
      SSL_set_tlsext_host_name(tls, e.host.c_str());
      SSL_set1_host(tls, e.host.c_str());
    }
    for (;;) {
      const int rc = SSL_connect(tls);
      if (rc == 1) return ok();
      const int error = SSL_get_error(tls, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        auto ready =
            wait_for(fd, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_us, where);
        if (!ready) return ready;
        continue;
      }
      const long verified = SSL_get_verify_result(tls);
      if (verified != X509_V_OK)
        return fail(Errc::Untrusted,
                    std::string("the server's certificate did not verify: ") +
                        X509_verify_cert_error_string(verified),
                    where);
      return fail(Errc::Untrusted, "TLS handshake failed: " + openssl_error(), where);
    }
  }

  // Bytes written, 0 when it would block, -1 on an error.
  long write_some(const char* data, std::size_t size, short& wait_events) {
    if (!tls) {
      const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        wait_events = POLLOUT;
        return 0;
      }
      return n;
    }
    block_sigpipe_on_this_thread();
    return tls_result(SSL_write(tls, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30))),
                      wait_events);
  }

  // Bytes read, 0 when it would block, -1 on an error or end of stream.
  long read_some(char* data, std::size_t size, short& wait_events) {
    if (!tls) {
      const auto n = ::recv(fd, data, size, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        wait_events = POLLIN;
        return 0;
      }
      return n > 0 ? n : -1;
    }
    block_sigpipe_on_this_thread();  // a read may write (alerts, key updates)
    return tls_result(SSL_read(tls, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30))),
                      wait_events);
  }

  // SSL_read's or SSL_write's return as read_some/write_some's: bytes, 0 with what to wait for
  // (either may need the socket readable or writable), or -1.
  long tls_result(int n, short& wait_events) const {
    if (n > 0) return n;
    const int error = SSL_get_error(tls, n);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return -1;
    wait_events = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    return 0;
  }
};

Result<std::unique_ptr<RedisConnection>> RedisConnection::open(const RedisEndpoint& endpoint,
                                                               std::int64_t timeout_ms) {
  const auto deadline = steady_us() + timeout_ms * 1000;
  const auto where = describe(endpoint);
  auto transport = std::make_unique<Transport>();
  if (auto connected = transport->connect(endpoint, deadline, where); !connected)
    return std::move(connected).error();
  std::unique_ptr<RedisConnection> connection(new RedisConnection(std::move(transport), where));
  std::vector<std::vector<std::string>> setup;
  if (!endpoint.password.empty()) {
    if (endpoint.username.empty())
      setup.push_back({"AUTH", endpoint.password});
    else
      setup.push_back({"AUTH", endpoint.username, endpoint.password});
  }
  if (endpoint.database != 0) setup.push_back({"SELECT", std::to_string(endpoint.database)});
  setup.push_back({"PING"});
  auto replies =
      connection->pipeline(setup, std::max<std::int64_t>(1, (deadline - steady_us()) / 1000));
  if (!replies) return std::move(replies).error();
  for (const auto& reply : *replies) {
    if (!reply.is_error()) continue;
    const bool auth = reply.text.rfind("WRONGPASS", 0) == 0 || reply.text.rfind("NOAUTH", 0) == 0 ||
                      reply.text.find("AUTH") != std::string::npos;
    // The reply never holds the password; it names the problem ("WRONGPASS invalid username-...").
    return fail(auth ? Errc::Unauthenticated : Errc::Rejected, reply.text, where);
  }
  return connection;
}

RedisConnection::RedisConnection(std::unique_ptr<Transport> transport, std::string where)
    : transport_(std::move(transport)), where_(std::move(where)), reader_(redisReaderCreate()) {
  // Stream batches can be large; keep the reader's buffer instead of shrinking it each reply.
  static_cast<redisReader*>(reader_)->maxbuf = 0;
}

RedisConnection::~RedisConnection() {
  if (reader_) redisReaderFree(static_cast<redisReader*>(reader_));
}

Result<void> RedisConnection::send(const std::string& bytes, std::int64_t deadline_us) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    short wait_events = 0;
    const auto n = transport_->write_some(bytes.data() + sent, bytes.size() - sent, wait_events);
    if (n < 0) {
      broken_ = true;
      return fail(Errc::Unreachable, "the connection to Redis broke", where_);
    }
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (auto ready = wait_for(transport_->fd, wait_events, deadline_us, where_); !ready) {
      broken_ = true;
      return ready;
    }
  }
  return ok();
}

Result<RedisReply> RedisConnection::receive(std::int64_t deadline_us) {
  auto* reader = static_cast<redisReader*>(reader_);
  for (;;) {
    void* parsed = nullptr;
    if (redisReaderGetReply(reader, &parsed) != REDIS_OK) {
      broken_ = true;
      return fail(Errc::Malformed, std::string("Redis protocol error: ") + reader->errstr, where_);
    }
    if (parsed) {
      auto reply = convert(static_cast<redisReply*>(parsed));
      freeReplyObject(parsed);
      return reply;
    }
    auto& buffer = transport_->buffer;
    short wait_events = 0;
    const auto n = transport_->read_some(buffer.data(), buffer.size(), wait_events);
    if (n < 0) {
      broken_ = true;
      return fail(Errc::Unreachable, "the connection to Redis was closed", where_);
    }
    if (n > 0) {
      redisReaderFeed(reader, buffer.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (auto ready = wait_for(transport_->fd, wait_events, deadline_us, where_); !ready) {
      broken_ = true;
      return std::move(ready).error();
    }
  }
}

Result<RedisReply> RedisConnection::command(const std::vector<std::string>& args,
                                            std::int64_t timeout_ms) {
  auto replies = pipeline({args}, timeout_ms);
  if (!replies) return std::move(replies).error();
  auto& reply = replies->front();
  if (reply.is_error()) return fail(Errc::Rejected, reply.text, where_);
  return std::move(reply);
}

Result<std::vector<RedisReply>> RedisConnection::pipeline(
    const std::vector<std::vector<std::string>>& commands, std::int64_t timeout_ms) {
  if (broken_) return fail(Errc::Unreachable, "the connection to Redis broke earlier", where_);
  const auto deadline = steady_us() + timeout_ms * 1000;
  std::string bytes;
  for (const auto& args : commands)
    bytes += encode(args);
  if (auto sent = send(bytes, deadline); !sent) return std::move(sent).error();
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto reply = receive(deadline);
    if (!reply) return std::move(reply).error();
    replies.push_back(std::move(*reply));
  }
  return replies;
}

std::string StreamEntry::field(std::string_view name) const {
  for (const auto& [key, value] : fields)
    if (key == name) return value;
  return {};
}

std::vector<StreamEntry> stream_entries(const RedisReply& entries) {
  std::vector<StreamEntry> out;
  if (entries.type != RedisReply::Type::Array) return out;
  for (const auto& entry : entries.elements) {
    if (entry.type != RedisReply::Type::Array || entry.elements.size() < 2) continue;
    const auto& body = entry.elements[1];
    if (body.type != RedisReply::Type::Array) continue;  // deleted since it was delivered
    StreamEntry e;
    e.id = entry.elements[0].text;
    for (std::size_t i = 0; i + 1 < body.elements.size(); i += 2)
      e.fields.emplace_back(body.elements[i].text, body.elements[i + 1].text);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<StreamEntry> read_group_entries(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::Array || reply.elements.empty()) return {};
  const auto& stream = reply.elements[0];
  if (stream.type != RedisReply::Type::Array || stream.elements.size() < 2) return {};
  return stream_entries(stream.elements[1]);
}

Result<void> ensure_group(RedisConnection& connection, const std::string& key,
                          const std::string& group, std::int64_t timeout_ms) {
  auto created = connection.command({"XGROUP", "CREATE", key, group, "0", "MKSTREAM"}, timeout_ms);
  if (!created && created.error().message.rfind("BUSYGROUP", 0) != 0)
    return std::move(created).error();
  return ok();
}

}  // namespace nauto::devices
