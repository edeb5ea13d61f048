// The lab's commit-confirmed timers: the waiting thread sleeps until a deadline is due or a new
// one arrives, and hands over only the devices that are due.

#include "confirm_timers.h"

#include <catch2/catch.hpp>
#include <thread>

#include "device.h"

using nauto::lab::ConfirmTimers;
using nauto::lab::Device;
using nauto::lab::steady_ms;

TEST_CASE("confirm timers hand over only due devices, and wake for a new deadline", "[lab]") {
  ConfirmTimers timers;
  // Stand-ins: the timers only carry the pointers.
  auto* first = reinterpret_cast<Device*>(0x1000);
  auto* second = reinterpret_cast<Device*>(0x2000);

  auto started = steady_ms();
  CHECK(timers.wait_due(50).empty());  // nothing pending: it waits out its cap
  CHECK(steady_ms() - started >= 50);

  timers.add(steady_ms() + 60, first);
  timers.add(steady_ms() + 100'000, second);
  started = steady_ms();
  auto due = timers.wait_due(5000);
  REQUIRE(due.size() == 1);
  CHECK(due[0] == first);
  CHECK(steady_ms() - started >= 55);
  CHECK(steady_ms() - started < 2000);  // woken at the deadline, not at the cap
  CHECK(timers.pending() == 1);

  // A deadline added while the thread waits wakes it, well before its cap.
  std::thread adder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    timers.add(steady_ms(), first);
  });
  started = steady_ms();
  due = timers.wait_due(5000);
  adder.join();
  REQUIRE(due.size() == 1);
  CHECK(due[0] == first);
  CHECK(steady_ms() - started < 2000);
}
