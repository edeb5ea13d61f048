#include "audit_forwarder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "audit_chain.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/sdk/config_reader.h"

namespace nauto::mod::audit {

using nlohmann::json;

namespace {

constexpr std::int64_t kConnectTimeoutMs = 5000;
constexpr std::size_t kBatch = 500;
constexpr const char* kSdId = "nauto-audit@32473";  // 32473: RFC 5612's example enterprise

// RFC 5424 PARAM-VALUE: '"', '\' and ']' are escaped.
std::string sd_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

// An RFC 5424 header field: printable US-ASCII without spaces, at most `max` characters.
std::string header_field(const std::string& text, std::size_t max) {
  std::string out;
  for (char c : text)
    if (c > 32 && c < 127 && out.size() < max) out += c;
  return out.empty() ? "-" : out;
}

std::string timestamp(std::int64_t time_us) {
  const std::time_t seconds = static_cast<std::time_t>(time_us / 1'000'000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>((time_us % 1'000'000 + 1'000'000) % 1'000'000));
  return text;
}

std::string local_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "-";
  return name;
}

}  // namespace

Result<std::vector<ForwardTarget>> read_forward_targets(const json& list) {
  std::vector<ForwardTarget> targets;
  if (list.is_null()) return targets;
  if (!list.is_array())
    return fail(Errc::InvalidConfig, "modules.audit.forward: must be a list of targets");
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto at = "modules.audit.forward[" + std::to_string(i) + "]";
    if (!list[i].is_object()) {
      problems.push_back(at + ": must be a map {name, address, transport}");
      continue;
    }
    ConfigReader r(list[i], at);
    ForwardTarget target;
    target.name = r.string("name", "");
    const auto address = r.string("address", "");
    target.transport = r.choice("transport", "tcp", {"tcp", "tls", "udp"});
    target.ca_file = r.string("ca_file", "");
    target.server_name = r.string("server_name", "");
    target.hostname = r.string("hostname", "");
    target.confirm_after_ms = r.duration_ms("confirm_after", target.confirm_after_ms, 100);
    if (auto finished = r.finish(); !finished) problems.push_back(finished.error().message);
    if (target.name.empty() || target.name.find_first_of(" :/") != std::string::npos)
      problems.push_back(at + ".name: required, without spaces, ':' or '/'");
    for (const auto& other : targets)
      if (other.name == target.name) problems.push_back(at + ".name: '" + target.name + "' twice");
    const auto colon = address.rfind(':');
    const auto port = colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
    if (colon == std::string::npos || port <= 0 || port > 65535) {
      problems.push_back(at + ".address: expected host:port, got '" + address + "'");
    } else {
      target.host = address.substr(0, colon);
      if (target.host.size() > 2 && target.host.front() == '[' && target.host.back() == ']')
        target.host = target.host.substr(1, target.host.size() - 2);
      target.port = port;
    }
    if (target.transport == "tls" && target.ca_file.empty())
      problems.push_back(at + ".ca_file: tls needs the CA that signed the receiver's certificate");
    targets.push_back(std::move(target));
  }
  if (auto checked = config_problems(problems); !checked) return std::move(checked).error();
  return targets;
}

std::string syslog_message(const json& record, const std::string& hostname) {
  // authpriv (10); notice for what succeeded, warning for refusals and failures.
  const auto outcome = record.value("outcome", "");
  const int severity = outcome == "ok" || outcome.empty() ? 5 : 4;
  const auto seq = record.value("seq", std::uint64_t{0});
  std::string message = "<" + std::to_string(10 * 8 + severity) + ">1 " +
                        timestamp(record.value("time_us", std::int64_t{0})) + " " +
                        header_field(hostname, 255) + " nauto - audit-" + std::to_string(seq) +
                        " [" + kSdId + " seq=\"" + std::to_string(seq) + "\"";
  for (const char* field : {"principal", "service", "target", "outcome", "hash"}) {
    const auto it = record.find(field);
    if (it != record.end() && it->is_string() && !it->get_ref<const std::string&>().empty())
      message += std::string(" ") + field + "=\"" + sd_value(it->get<std::string>()) + "\"";
  }
  message += "] " + record.dump(-1, ' ', false, json::error_handler_t::replace);
  return message;
}

// One connection to the receiver; blocking sends on the forwarder's thread.
class AuditForwarder::Connection {
 public:
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    if (tls_) SSL_CTX_free(tls_);
    if (fd_ >= 0) ::close(fd_);
  }

  static Result<std::unique_ptr<Connection>> open(const ForwardTarget& target) {
    auto connection = std::unique_ptr<Connection>(new Connection());
    const bool udp = target.transport == "udp";
    addrinfo hints{};
    hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
    addrinfo* found = nullptr;
    const auto port = std::to_string(target.port);
    if (int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0)
      return fail(Errc::Unreachable, "cannot resolve " + target.host + ": " + gai_strerror(rc));
    std::string why = "no address";
    for (auto* a = found; a && connection->fd_ < 0; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int error = 0;
        socklen_t size = sizeof error;
        if (::poll(&p, 1, kConnectTimeoutMs) == 1 &&
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error == 0) {
          const int flags = 0;  // blocking from here on: sends wait for the receiver
          ::fcntl(fd, F_SETFL, flags);
          connection->fd_ = fd;
          break;
        }
        why = error ? std::strerror(error) : "connect timed out";
      } else {
        why = std::strerror(errno);
      }
      ::close(fd);
    }
    ::freeaddrinfo(found);
    if (connection->fd_ < 0)
      return fail(Errc::Unreachable, "cannot connect to " + target.host + ":" + port + ": " + why);
    connection->framed_ = !udp;
    if (target.transport == "tls") {
      if (auto secured = connection->start_tls(target); !secured) return std::move(secured).error();
    }
    return connection;
  }

  // Sends one message (octet-counted over a stream).
  Result<void> send(const std::string& message) {
    const auto frame = framed_ ? std::to_string(message.size()) + " " + message : message;
    std::size_t sent = 0;
    while (sent < frame.size()) {
      ssize_t n = ssl_ ? SSL_write(ssl_, frame.data() + sent, static_cast<int>(frame.size() - sent))
                       : ::send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        if (!ssl_ && n < 0 && errno == EINTR) continue;
        return fail(Errc::Unreachable, std::string("send failed: ") +
                                           (ssl_ ? "TLS write error" : std::strerror(errno)));
      }
      sent += static_cast<std::size_t>(n);
    }
    return ok();
  }

  // Whether the receiver still holds the connection open: no hang-up, error or EOF seen.
  bool alive() const {
    if (!framed_) return true;
    pollfd p{fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) < 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0;
  }

 private:
  Connection() = default;

  Result<void> start_tls(const ForwardTarget& target) {
    tls_ = SSL_CTX_new(TLS_client_method());
    if (!tls_) return fail(Errc::Library, "cannot make a TLS context");
    SSL_CTX_set_min_proto_version(tls_, TLS1_2_VERSION);
    SSL_CTX_set_verify(tls_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(tls_, target.ca_file.c_str(), nullptr) != 1)
      return fail(Errc::InvalidConfig, "cannot read the CA file " + target.ca_file);
    ssl_ = SSL_new(tls_);
    const auto& name = target.server_name.empty() ? target.host : target.server_name;
    // The certificate must name the receiver: its IP address when it is reached by one (no SNI
    // then), else its host name.
    in6_addr probe{};
    const bool by_address = ::inet_pton(AF_INET, name.c_str(), &probe) == 1 ||
                            ::inet_pton(AF_INET6, name.c_str(), &probe) == 1;
    if (by_address) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, name.c_str());
      SSL_set1_host(ssl_, name.c_str());
    }
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      const auto code = ERR_get_error();
      char text[256] = "handshake failed";
      if (code) ERR_error_string_n(code, text, sizeof text);
      return fail(Errc::Unreachable, std::string("TLS with ") + name + ": " + text);
    }
    return ok();
  }

  int fd_ = -1;
  bool framed_ = true;
  SSL_CTX* tls_ = nullptr;
  SSL* ssl_ = nullptr;
};

AuditForwarder::AuditForwarder(ForwardTarget target, store::Store& store)
    : target_(std::move(target)), store_(store) {
  if (target_.hostname.empty()) target_.hostname = local_hostname();
}

AuditForwarder::~AuditForwarder() {
  stop();
}

void AuditForwarder::start() {
  thread_ = std::thread([this] { run(); });
}

void AuditForwarder::notify() {
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void AuditForwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

json AuditForwarder::stats() const {
  std::lock_guard lock(mutex_);
  return json{{"name", target_.name},
              {"address", target_.host + ":" + std::to_string(target_.port)},
              {"transport", target_.transport},
              {"connected", connected_.load()},
              {"sent", sent_.load()},
              {"cursor", cursor_.load()},
              {"connects", connects_.load()},
              {"failures", failures_.load()},
              {"last_error", last_error_}};
}

// Sleeps until notified, stopped or `timeout_ms` (-1: no timeout) passed.
void AuditForwarder::wait(std::int64_t timeout_ms) {
  std::unique_lock lock(mutex_);
  auto woken = [this] { return stopping_ || notified_; };
  if (timeout_ms < 0) {
    wake_.wait(lock, woken);
  } else {
    wake_.wait_for(lock, std::chrono::milliseconds(timeout_ms), woken);
  }
  notified_ = false;
}

Result<std::uint64_t> AuditForwarder::read_cursor() const {
  auto stored = store_.get(kMetaTable, "forward:" + target_.name);
  if (!stored) return std::move(stored).error();
  if (!*stored) return std::uint64_t{0};
  auto document = bus::from_body(**stored);
  if (!document || !document->is_object()) return std::uint64_t{0};
  return document->value("seq", std::uint64_t{0});
}

Result<void> AuditForwarder::write_cursor(std::uint64_t seq) {
  store::WriteBatch batch;
  batch.put(kMetaTable, "forward:" + target_.name,
            bus::to_body(json{{"seq", seq}, {"time_us", now_us()}}));
  auto written = store_.write(std::move(batch)).wait();
  if (written) cursor_ = seq;
  return written;
}

void AuditForwarder::run() {
  // A write to a receiver that went away raises SIGPIPE in the writing thread (TLS writes
  // cannot ask for MSG_NOSIGNAL): blocked here, the write fails with EPIPE instead.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  auto log = logger("mod.audit");
  auto cursor = read_cursor();
  if (!cursor) {
    log->error("audit forwarding to {}: cannot read its cursor: {}", target_.name,
               cursor.error().describe());
    return;
  }
  cursor_ = *cursor;
  std::unique_ptr<Connection> connection;
  std::uint64_t next = *cursor + 1;                                // the next record to send
  std::deque<std::pair<std::uint64_t, std::int64_t>> unconfirmed;  // seq, when sent
  std::int64_t backoff_ms = 0;
  const bool acknowledged_by_time = target_.transport != "udp";
  auto drop = [&](const std::string& why) {
    ++failures_;
    {
      std::lock_guard lock(mutex_);
      last_error_ = why;
    }
    if (connected_)
      log->warn("audit forwarding to {}: {}; resending from record {}", target_.name, why,
                cursor_.load() + 1);
    connection.reset();
    connected_ = false;
    next = cursor_ + 1;  // what was sent but not confirmed goes again
    unconfirmed.clear();
  };
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    if (!connection) {
      auto opened = Connection::open(target_);
      if (!opened) {
        drop(opened.error().message);
        backoff_ms = std::clamp<std::int64_t>(backoff_ms * 2, 500, target_.max_backoff_ms);
        wait(backoff_ms);
        continue;
      }
      connection = std::move(*opened);
      connected_ = true;
      ++connects_;
      backoff_ms = 0;
      log->info("audit forwarding to {} ({}) connected; from record {}", target_.name,
                target_.transport, next);
    }
    // Confirm what was sent long enough ago on a connection still open.
    const auto now = steady_us();
    if (!connection->alive()) {
      drop("the receiver closed the connection");
      continue;
    }
    std::uint64_t confirmed = 0;
    while (!unconfirmed.empty() &&
           now - unconfirmed.front().second >= target_.confirm_after_ms * 1000) {
      confirmed = unconfirmed.front().first;
      unconfirmed.pop_front();
    }
    if (confirmed) {
      if (auto written = write_cursor(confirmed); !written)
        log->error("audit forwarding to {}: cannot store its cursor: {}", target_.name,
                   written.error().describe());
    }
    store::ScanOptions scan;
    scan.from = seq_key(next);
    scan.limit = kBatch;
    auto page = store_.scan(kRecordsTable, scan);
    if (!page) {
      log->error("audit forwarding to {}: {}", target_.name, page.error().describe());
      wait(1000);
      continue;
    }
    bool failed = false;
    for (const auto& [key, value] : *page) {
      auto stored = read_record(value);
      if (!stored) {
        log->error("audit forwarding to {}: record {} is unreadable; skipped", target_.name,
                   seq_of_key(key).value_or(0));
      } else {
        stored->record["hash"] = hex(stored->hash);
        if (auto sent = connection->send(syslog_message(stored->record, target_.hostname)); !sent) {
          drop(sent.error().message);
          failed = true;
          break;
        }
        ++sent_;
      }
      next = seq_of_key(key).value_or(next) + 1;
      if (acknowledged_by_time) {
        unconfirmed.emplace_back(next - 1, steady_us());
      }
    }
    if (failed) continue;
    if (!acknowledged_by_time && !page->empty()) (void)write_cursor(next - 1);
    if (page->size() == kBatch) continue;
    // Caught up: sleep until new records, or until the oldest unconfirmed is due.
    wait(unconfirmed.empty() ? -1
                             : std::max<std::int64_t>(
                                   1, target_.confirm_after_ms -
                                          (steady_us() - unconfirmed.front().second) / 1000 + 1));
  }
  connected_ = false;
}

}  // namespace nauto::mod::audit
