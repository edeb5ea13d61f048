#pragma once
// FiberLoop: one thread that runs many fibers — stackful coroutines that each run ordinary,
// blocking-style code (a device session: connect, log in, read to the prompt). Where a fiber
// waits for a descriptor or for time (nauto/base/io_wait.h), it parks and the thread runs
// another, so a thousand sessions waiting on the network need a few threads, not a thousand.
// Why our own, on glibc's ucontext, instead of Boost.Context: docs/adr/0015-fibers.md.
//
// Invariants:
// - A fiber runs only on the loop that spawned it, so its thread-locals are stable across waits.
// - A fiber must not park while holding a lock that another fiber on the same loop may take
//   (it would wait for a thread that is waiting for it); nauto's device path holds none.
// - Each fiber has its own stack of `stack_bytes` (only the pages it touches use memory), with
//   a guard page below it; an overflow faults instead of corrupting a neighbour.
// - Stacks of ended fibers (up to 64) are reused with their pages still resident while the loop
//   runs other fibers, and their pages go back to the kernel once it has had no fiber for a
//   second: memory is at most 64 stacks' touched pages above what the live fibers use.
// - Exceptions do not leave a fiber: one that escapes is logged as a bug and the fiber ends.
//
// Thread-safety: spawn() and fibers() from any thread. The destructor waits for every fiber to
// end by itself (callers make their fibers' waits end: cancel flags, deadlines), then stops the
// thread; it must not run on the loop's own thread.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

// Whether AddressSanitizer instruments this build (gcc says so one way, clang another).
#if defined(__SANITIZE_ADDRESS__)
#define NAUTO_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NAUTO_FIBER_ASAN 1
#endif
#endif

namespace nauto {

class FiberLoop {
 public:
#if defined(NAUTO_FIBER_ASAN)
  static constexpr std::size_t kDefaultStackBytes = 2 << 20;  // ASan's redzones grow frames
#else
  static constexpr std::size_t kDefaultStackBytes = 512 << 10;
#endif

  explicit FiberLoop(std::size_t stack_bytes = kDefaultStackBytes);
  ~FiberLoop();
  FiberLoop(const FiberLoop&) = delete;
  FiberLoop& operator=(const FiberLoop&) = delete;

  /// Starts `body` on a new fiber of this loop, soon (not inside this call).
  void spawn(std::function<void()> body);
  /// Fibers spawned and not yet ended.
  std::size_t fibers() const {
    return live_.load(std::memory_order_relaxed);
  }

  class Impl;

 private:
  std::atomic<std::size_t> live_{0};  // before impl_: the loop reads it while impl_ ends
  std::unique_ptr<Impl> impl_;
};

}  // namespace nauto
