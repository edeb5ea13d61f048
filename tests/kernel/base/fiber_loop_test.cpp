// FiberLoop and io_wait: many waits on one thread, timeouts, sleeps, shared descriptors, and
// the same calls off a fiber.

#include "nauto/base/fiber_loop.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "nauto/base/clock.h"
#include "nauto/base/io_wait.h"
#include "support/eventually.h"
#include "support/thread_wakeups.h"

using namespace nauto;

namespace {

int thread_count() {
  int count = 0;
  if (DIR* tasks = ::opendir("/proc/self/task")) {
    while (auto* entry = ::readdir(tasks))
      if (entry->d_name[0] != '.') ++count;
    ::closedir(tasks);
  }
  return count;
}

struct Pipe {
  int read_end = -1, write_end = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    ::close(read_end);
    ::close(write_end);
  }
};

}  // namespace

TEST_CASE("a thousand fibers wait on a thousand pipes at once, on one thread", "[fiber]") {
  constexpr int kFibers = 1000;
  std::vector<std::unique_ptr<Pipe>> pipes;
  for (int i = 0; i < kFibers; ++i)
    pipes.push_back(std::make_unique<Pipe>());
  const int threads_before = thread_count();
  std::atomic<int> waiting{0}, woken{0}, on_fiber_seen{0};
  {
    FiberLoop loop;
    CHECK(thread_count() == threads_before + 1);
    for (int i = 0; i < kFibers; ++i) {
      loop.spawn([&, fd = pipes[i]->read_end] {
        if (on_fiber()) ++on_fiber_seen;
        ++waiting;
        short ready = wait_ready(fd, POLLIN, 30'000);
        char byte = 0;
        if ((ready & POLLIN) && ::read(fd, &byte, 1) == 1 && byte == 'x') ++woken;
      });
    }
    // Every fiber is parked in its wait at the same time: none has been answered yet.
    REQUIRE(test::eventually([&] { return waiting.load() == kFibers; }, 10'000));
    CHECK(loop.fibers() == static_cast<std::size_t>(kFibers));
    CHECK(woken.load() == 0);
    CHECK(thread_count() == threads_before + 1);
    for (auto& pipe : pipes)
      REQUIRE(::write(pipe->write_end, "x", 1) == 1);
    REQUIRE(test::eventually([&] { return loop.fibers() == 0; }, 10'000));
  }
  CHECK(woken.load() == kFibers);
  CHECK(on_fiber_seen.load() == kFibers);
  CHECK_FALSE(on_fiber());
}

TEST_CASE("a wait times out, and sleeping fibers sleep side by side", "[fiber]") {
  Pipe silent;
  std::atomic<std::int64_t> waited_us{0};
  std::atomic<short> revents{-1};
  const auto started = steady_us();
  {
    FiberLoop loop;
    loop.spawn([&] {
      const auto before = steady_us();
      revents = wait_ready(silent.read_end, POLLIN, 50);
      waited_us = steady_us() - before;
    });
    for (int i = 0; i < 100; ++i)
      loop.spawn([] { sleep_for_ms(100); });
  }  // the destructor waits for all of them
  const auto elapsed_us = steady_us() - started;
  CHECK(revents.load() == 0);
  CHECK(waited_us.load() >= 50'000);
  CHECK(waited_us.load() < 1'000'000);
  // 100 sleeps of 100 ms end together; one after another they would take 10 s.
  CHECK(elapsed_us >= 100'000);
  CHECK(elapsed_us < 2'000'000);
}

TEST_CASE("two fibers may wait on the same descriptor", "[fiber]") {
  Pipe shared;
  std::atomic<int> woken{0}, waiting{0};
  FiberLoop loop;
  for (int i = 0; i < 2; ++i) {
    loop.spawn([&] {
      ++waiting;
      if (wait_ready(shared.read_end, POLLIN, 10'000) & POLLIN) ++woken;
    });
  }
  REQUIRE(test::eventually([&] { return waiting.load() == 2; }, 10'000));
  REQUIRE(::write(shared.write_end, "x", 1) == 1);
  REQUIRE(test::eventually([&] { return loop.fibers() == 0; }, 10'000));
  CHECK(woken.load() == 2);
}

TEST_CASE("several descriptors in one wait report which are ready", "[fiber]") {
  Pipe quiet, busy;
  REQUIRE(::write(busy.write_end, "x", 1) == 1);
  std::atomic<int> count{-1};
  std::atomic<short> quiet_revents{-1}, busy_revents{-1};
  {
    FiberLoop loop;
    loop.spawn([&] {
      pollfd fds[2] = {{quiet.read_end, POLLIN, 0}, {busy.read_end, POLLIN, 0}};
      count = wait_ready(fds, 2, 5'000);
      quiet_revents = fds[0].revents;
      busy_revents = fds[1].revents;
    });
  }
  CHECK(count.load() == 1);
  CHECK(quiet_revents.load() == 0);
  CHECK((busy_revents.load() & POLLIN) != 0);
}

TEST_CASE("a wait its descriptor answered leaves no timer to wake the loop later", "[fiber]") {
  // 20 waits of 300 ms, each answered by its pipe within 10 ms: before, each left its timer
  // queued, and the loop thread woke when each came due, with nothing to do.
  Pipe pipe;
  std::atomic<int> answered{0};
  std::atomic<pid_t> loop_thread{0};
  FiberLoop loop;
  loop.spawn([&] {
    loop_thread = ::gettid();
    for (int i = 0; i < 20; ++i) {
      char byte = 0;
      if ((wait_ready(pipe.read_end, POLLIN, 300) & POLLIN) && ::read(pipe.read_end, &byte, 1) == 1)
        ++answered;
    }
  });
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(::write(pipe.write_end, "x", 1) == 1);
    REQUIRE(test::eventually([&] { return answered.load() == i + 1; }, 10'000));
  }
  REQUIRE(test::eventually([&] { return loop.fibers() == 0; }, 10'000));
  const auto woken_before = test::task_wakeups(loop_thread);
  // Every timer of those waits comes due in this window.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(test::task_wakeups(loop_thread) - woken_before <= 1);
}

TEST_CASE("a wait for room to write keeps the thread while there is room", "[fiber]") {
  Pipe pipe;
  std::vector<std::string> order;  // loop thread only; read after the loop ended
  std::atomic<bool> full{false};
  short first = 0, when_full = 0;
  {
    FiberLoop loop;
    loop.spawn([&] {
      loop.spawn([&] { order.push_back("other fiber"); });
      first = wait_ready(pipe.write_end, POLLOUT, 5'000);
      order.push_back("writer went on");
      // Full: now the wait parks until the reader makes room.
      const std::string block(4096, 'x');
      while (::write(pipe.write_end, block.data(), block.size()) > 0) {
      }
      order.push_back("pipe full");
      full = true;
      when_full = wait_ready(pipe.write_end, POLLOUT, 5'000);
    });
    REQUIRE(test::eventually([&] { return full.load(); }, 10'000));
    char sink[65536];
    while (::read(pipe.read_end, sink, sizeof sink) > 0) {
    }
  }
  CHECK((first & POLLOUT) != 0);
  CHECK((when_full & POLLOUT) != 0);
  // The writer did not give its turn to the other fiber until it had to wait.
  CHECK(order == std::vector<std::string>{"writer went on", "pipe full", "other fiber"});
}

TEST_CASE("a descriptor number reused for another file is watched for the new file only",
          "[fiber]") {
  // Descriptors stay in the loop's epoll set between waits. Pipe A's read end is waited on
  // (the wait times out), then closed while a duplicate keeps its file open, and the number is
  // reused by pipe B. A becoming readable must not wake a wait on B.
  auto a = std::make_unique<Pipe>();
  std::atomic<int> step{0};
  std::atomic<short> a_revents{-1}, b_revents{-1}, b_again{-1};
  int kept_a = -1;
  std::unique_ptr<Pipe> b;
  FiberLoop loop;
  loop.spawn([&] {
    a_revents = wait_ready(a->read_end, POLLIN, 20);
    const int number = a->read_end;
    kept_a = ::dup(a->read_end);
    ::close(a->read_end);
    a->read_end = -1;
    b = std::make_unique<Pipe>();  // the lowest free number: A's old one
    if (b->read_end != number) return;
    step = 1;
    if (::write(a->write_end, "a", 1) != 1) return;
    b_revents = wait_ready(b->read_end, POLLIN, 100);
    // B itself still wakes its waiter.
    if (::write(b->write_end, "b", 1) != 1) return;
    b_again = wait_ready(b->read_end, POLLIN, 5'000);
    step = 2;
  });
  REQUIRE(test::eventually([&] { return loop.fibers() == 0; }, 10'000));
  REQUIRE(step.load() == 2);
  CHECK(a_revents.load() == 0);
  CHECK(b_revents.load() == 0);
  CHECK((b_again.load() & POLLIN) != 0);
  ::close(kept_a);
}

TEST_CASE("an exception ends its fiber only; deep stacks fit", "[fiber]") {
  std::atomic<bool> after{false};
  std::atomic<int> sum{0};
  {
    FiberLoop loop;
    loop.spawn([] { throw std::runtime_error("a bug in one session"); });
    loop.spawn([&] {
      // 128 KiB of locals: what a TLS handshake or a regex engine may take.
      volatile char big[128 * 1024];
      std::memset(const_cast<char*>(big), 1, sizeof big);
      sleep_for_ms(1);
      int total = 0;
      for (std::size_t i = 0; i < sizeof big; i += 4096)
        total += big[i];
      sum = total;
    });
    loop.spawn([&] {
      sleep_for_ms(5);
      after = true;
    });
  }
  CHECK(after.load());
  CHECK(sum.load() == 32);
}

TEST_CASE("fibers spawn fibers, and stacks are reused", "[fiber]") {
  std::atomic<int> ran{0};
  {
    FiberLoop loop;
    std::function<void(int)> chain = [&](int left) {
      ++ran;
      sleep_for_ms(0);
      if (left > 0) loop.spawn([&, left] { chain(left - 1); });
    };
    loop.spawn([&] { chain(500); });
    REQUIRE(test::eventually([&] { return ran.load() == 501 && loop.fibers() == 0; }, 10'000));
  }
  CHECK(ran.load() == 501);
}

namespace {

// Whether the page holding `address` is resident (mincore).
bool resident(const void* address) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto* start = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(address) & ~(page - 1));
  unsigned char state = 0;
  REQUIRE(::mincore(start, page, &state) == 0);
  return state & 1;
}

}  // namespace

TEST_CASE("ended fibers' stacks stay warm while others run, and go back once none is left",
          "[fiber]") {
  FiberLoop loop;
  std::atomic<const char*> touched{nullptr};
  std::atomic<bool> release{false};
  // A fiber that outlives the others, as a held session does.
  loop.spawn([&] {
    while (!release.load())
      sleep_for_ms(1);
  });
  loop.spawn([&] {
    volatile char deep[64 * 1024];
    std::memset(const_cast<char*>(deep), 1, sizeof deep);
    touched = const_cast<const char*>(deep);  // 64 KiB into the stack: not the top page
  });
  REQUIRE(test::eventually([&] { return touched.load() && loop.fibers() == 1; }, 5'000));
  // Ended, but its stack is a spare the next fiber takes as it is: no page faults again.
  CHECK(resident(touched.load()));
  release = true;
  REQUIRE(test::eventually([&] { return loop.fibers() == 0; }, 5'000));
  // No fiber left for a second: the spares' pages are returned to the kernel.
  CHECK(test::eventually([&] { return !resident(touched.load()); }, 5'000));
}

TEST_CASE("off a fiber, the same calls block the thread in poll", "[fiber]") {
  CHECK_FALSE(on_fiber());
  Pipe pipe;
  const auto before = steady_us();
  CHECK(wait_ready(pipe.read_end, POLLIN, 30) == 0);
  CHECK(steady_us() - before >= 30'000);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(::write(pipe.write_end, "x", 1) == 1);
  });
  CHECK((wait_ready(pipe.read_end, POLLIN, 5'000) & POLLIN) != 0);
  writer.join();
  const auto slept = steady_us();
  sleep_for_ms(10);
  CHECK(steady_us() - slept >= 10'000);
}
