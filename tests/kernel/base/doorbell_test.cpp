#include "nauto/base/doorbell.h"

#include <poll.h>

#include <catch2/catch.hpp>
#include <thread>

using nauto::Doorbell;

namespace {
bool readable(const Doorbell& bell, int wait_ms) {
  pollfd p{bell.fd(), POLLIN, 0};
  return ::poll(&p, 1, wait_ms) == 1 && (p.revents & POLLIN);
}
}  // namespace

TEST_CASE("a Doorbell wakes its owner from another thread; rings collapse until drained",
          "[base]") {
  Doorbell bell;
  CHECK_FALSE(readable(bell, 0));
  std::thread ringer([&] {
    for (int i = 0; i < 1000; ++i)
      bell.ring();
  });
  CHECK(readable(bell, 5'000));
  ringer.join();
  bell.drain();  // a thousand rings, one drain
  CHECK_FALSE(readable(bell, 0));
  bell.ring();
  CHECK(readable(bell, 0));
}

TEST_CASE("a moved Doorbell keeps its fd; the moved-from one owns none", "[base]") {
  Doorbell first;
  const int fd = first.fd();
  Doorbell second(std::move(first));
  CHECK(second.fd() == fd);
  CHECK(first.fd() == -1);  // NOLINT(bugprone-use-after-move): the documented moved-from state
  second.ring();
  CHECK(readable(second, 0));
}
