// TCP syslog cannot be locked by silent connections: idle ones are closed, and with every slot
// taken the longest-silent one gives way to a sender.

#include "syslog_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "nauto/base/clock.h"

using namespace nauto;
using namespace nauto::syslog;

namespace {

struct Fixture {
  std::vector<std::string> received;
  std::unique_ptr<SyslogListener> listener;
  int port = 0;

  explicit Fixture(ListenerLimits limits) {
    auto endpoint = parse_endpoint("tcp://127.0.0.1:0");
    REQUIRE(endpoint);
    auto opened = SyslogListener::open(
        {*endpoint}, limits,
        [this](std::string_view m, const std::string&, std::int64_t) { received.emplace_back(m); });
    REQUIRE(opened);
    listener = std::move(*opened);
    const auto bound = listener->bound().front();
    port = std::stoi(bound.substr(bound.rfind(':') + 1));
  }
  // Serves the listener's events until `done` or `limit_ms` (as the module's thread would).
  bool serve_until(const std::function<bool()>& done, std::int64_t limit_ms = 3000) {
    const auto give_up = steady_us() + limit_ms * 1000;
    while (!done()) {
      if (steady_us() > give_up) return false;
      pollfd p{listener->fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) listener->on_readable();
    }
    return true;
  }
  int connect() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    return fd;
  }
};

// True once the peer closed the connection (read gives 0).
bool closed_by_peer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

}  // namespace

TEST_CASE("silent TCP connections are closed after the idle timeout", "[syslog][listener]") {
  ListenerLimits limits;
  limits.max_connections = 4;
  limits.idle_timeout_ms = 300;
  Fixture f(limits);
  std::vector<int> silent;
  for (int i = 0; i < 4; ++i)
    silent.push_back(f.connect());
  REQUIRE(f.serve_until([&] { return f.listener->open_connections() == 4; }));
  const auto started = steady_us();
  REQUIRE(f.serve_until([&] { return f.listener->open_connections() == 0; }));
  CHECK(steady_us() - started < 1'000'000);
  CHECK(f.listener->counters().connections_idle_closed == 4);
  for (const int fd : silent) {
    CHECK(closed_by_peer(fd));
    ::close(fd);
  }
  // A sender that comes afterwards is served.
  const int sender = f.connect();
  const std::string line = "<14>Nov 24 10:00:00 r1 app: after the silent ones\n";
  REQUIRE(::send(sender, line.data(), line.size(), 0) == static_cast<ssize_t>(line.size()));
  CHECK(f.serve_until([&] { return f.received.size() == 1; }));
  ::close(sender);
}

TEST_CASE("with every slot taken, the longest-silent connection gives way", "[syslog][listener]") {
  ListenerLimits limits;
  limits.max_connections = 4;
  limits.idle_timeout_ms = 60'000;
  limits.evictable_after_ms = 200;
  Fixture f(limits);
  std::vector<int> silent;
  for (int i = 0; i < 4; ++i)
    silent.push_back(f.connect());
  REQUIRE(f.serve_until([&] { return f.listener->open_connections() == 4; }));
  // Too soon: not silent long enough to give way, so the fifth is refused.
  const int early = f.connect();
  REQUIRE(f.serve_until([&] { return f.listener->counters().connections_refused == 1; }));
  ::close(early);
  ::usleep(300'000);
  const int sender = f.connect();
  const std::string line = "<14>Nov 24 10:00:00 r1 app: let in\n";
  REQUIRE(::send(sender, line.data(), line.size(), 0) == static_cast<ssize_t>(line.size()));
  CHECK(f.serve_until([&] { return f.received.size() == 1; }));
  CHECK(f.listener->counters().connections_evicted == 1);
  CHECK(f.listener->open_connections() == 4);
  ::close(sender);
  for (const int fd : silent)
    ::close(fd);
}
