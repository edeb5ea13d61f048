#include "nauto/base/fiber_loop.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <queue>
#include <system_error>
#include <thread>
#include <vector>

#include "nauto/base/clock.h"
#include "nauto/base/doorbell.h"
#include "nauto/base/io_wait.h"
#include "nauto/base/log.h"

#ifdef NAUTO_FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace nauto {

namespace {

// Fiber objects are kept for the loop's life and reused, so a timer or an epoll event that
// outlived its wait may still point at one: `wait_id` tells whether it is the same wait.
struct Fiber {
  ucontext_t context{};
  char* mapping = nullptr;  // guard page, then the stack
  std::size_t mapped = 0;
  std::function<void()> body;
  bool done = false;
  // The current wait, woken once: by a descriptor or by its timer, whichever comes first.
  std::uint64_t wait_id = 0;
  bool parked = false;
  void* fake_stack = nullptr;  // ASan's, while parked

  char* stack() const { return mapping + page_size(); }
  std::size_t stack_size() const { return mapped - page_size(); }
  static std::size_t page_size() {
    static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
  }
};

// What the loop knows of one descriptor number in its epoll set (an event's data is the
// number). A descriptor stays registered between waits, disarmed (EPOLLONESHOT), so the next
// wait on it re-arms it with one epoll_ctl instead of an add and a delete; a descriptor that
// was closed meanwhile has left the set by itself, and re-arming it is then an add.
struct Watch {
  Fiber* fiber = nullptr;  // the waiting fiber, while a wait is on
  std::uint64_t wait_id = 0;
  pollfd* entry = nullptr;  // in the waiting call's array
  bool registered = false;  // in the epoll set, as far as the loop knows
  bool fired = false;       // an event came for this wait (so the registration is disarmed)
};

struct Timer {
  std::int64_t when_us;
  std::uint64_t wait_id;
  Fiber* fiber;
  bool operator>(const Timer& other) const { return when_us > other.when_us; }
};

constexpr std::uint64_t kDoorbellData = ~std::uint64_t{0};

}  // namespace

class FiberLoop::Impl {
 public:
  Impl(FiberLoop& owner, std::size_t stack_bytes);
  ~Impl();

  void spawn(std::function<void()> body);
  int wait(pollfd* fds, std::size_t count, std::int64_t timeout_ms);
  void sleep(std::int64_t ms);

  static thread_local Impl* current_loop;
  static thread_local Fiber* current_fiber;

 private:
  void run();
  void start_fiber(std::function<void()> body);
  void resume(Fiber* fiber);
  void park(Fiber* fiber, std::int64_t timeout_ms);
  void wake(Fiber* fiber, std::uint64_t wait_id);
  Watch& watch(int fd);
  int arm(int fd, std::uint32_t events);
  void destroy(Fiber* fiber);
  void return_spare_pages();
  static void entry();

  FiberLoop& owner_;
  const std::size_t stack_bytes_;
  int epoll_fd_ = -1;
  Doorbell doorbell_;
  std::mutex mutex_;                             // guards incoming_ and stopping_
  std::vector<std::function<void()>> incoming_;  // spawned, not yet started
  bool stopping_ = false;
  // Loop thread only:
  std::deque<Fiber*> ready_;
  std::vector<std::unique_ptr<Fiber>> fibers_;  // every Fiber object the loop made
  std::vector<Fiber*> idle_fibers_;             // of those, the ones free for reuse
  std::vector<Watch> watches_;                  // by descriptor number
  // Timers of woken waits stay queued, and are dropped when they reach the top (run()).
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<char*> spare_stacks_;  // mappings of ended fibers, for reuse
  std::size_t warm_spares_ = 0;      // the last ones of spare_stacks_, pages still resident
  std::int64_t idle_since_us_ = 0;   // when the last fiber ended
  static constexpr std::int64_t kTrimAfterIdleUs = 1'000'000;
  std::uint64_t next_wait_id_ = 1;
  ucontext_t loop_context_{};
#ifdef NAUTO_FIBER_ASAN
  const void* loop_stack_bottom_ = nullptr;  // ASan's record of the loop thread's stack
  std::size_t loop_stack_size_ = 0;
#endif
  std::thread thread_;
};

thread_local FiberLoop::Impl* FiberLoop::Impl::current_loop = nullptr;
thread_local Fiber* FiberLoop::Impl::current_fiber = nullptr;

FiberLoop::FiberLoop(std::size_t stack_bytes) : impl_(std::make_unique<Impl>(*this, stack_bytes)) {}

FiberLoop::~FiberLoop() = default;

void FiberLoop::spawn(std::function<void()> body) {
  live_.fetch_add(1, std::memory_order_relaxed);
  impl_->spawn(std::move(body));
}

FiberLoop::Impl::Impl(FiberLoop& owner, std::size_t stack_bytes)
    : owner_(owner),
      stack_bytes_((stack_bytes + Fiber::page_size() - 1) / Fiber::page_size() *
                   Fiber::page_size()) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kDoorbellData;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, doorbell_.fd(), &event) != 0) {
    ::close(epoll_fd_);
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
  thread_ = std::thread([this] { run(); });
}

FiberLoop::Impl::~Impl() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  doorbell_.ring();
  thread_.join();
  for (char* mapping : spare_stacks_)
    ::munmap(mapping, stack_bytes_ + Fiber::page_size());
  ::close(epoll_fd_);
}

void FiberLoop::Impl::spawn(std::function<void()> body) {
  {
    std::lock_guard lock(mutex_);
    incoming_.push_back(std::move(body));
  }
  doorbell_.ring();
}

void FiberLoop::Impl::run() {
  current_loop = this;
  std::vector<epoll_event> events(256);
  std::vector<std::function<void()>> starting;
  for (;;) {
    while (!ready_.empty()) {
      Fiber* fiber = ready_.front();
      ready_.pop_front();
      resume(fiber);
      if (fiber->done) destroy(fiber);
    }
    {
      std::lock_guard lock(mutex_);
      starting.swap(incoming_);
      if (starting.empty() && stopping_ && owner_.fibers() == 0) break;
    }
    for (auto& body : starting)
      start_fiber(std::move(body));
    if (!starting.empty()) {
      starting.clear();
      continue;
    }
    // A timer whose wait was woken by its descriptor is dead: it must not wake the thread.
    while (!timers_.empty() &&
           !(timers_.top().fiber->parked && timers_.top().fiber->wait_id == timers_.top().wait_id))
      timers_.pop();
    // With no fiber left, the warm spare stacks' pages go back after a quiet spell.
    const bool trimming = warm_spares_ > 0 && owner_.fibers() == 0;
    std::int64_t wake_at_us = trimming ? idle_since_us_ + kTrimAfterIdleUs : -1;
    if (!timers_.empty() && (wake_at_us < 0 || timers_.top().when_us < wake_at_us))
      wake_at_us = timers_.top().when_us;
    int timeout_ms = -1;
    if (wake_at_us >= 0) {
      const auto wait_us = wake_at_us - steady_us();
      timeout_ms = wait_us <= 0 ? 0 : static_cast<int>((wait_us + 999) / 1000);
    }
    const int n =
        ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (trimming && owner_.fibers() == 0 && steady_us() >= idle_since_us_ + kTrimAfterIdleUs)
      return_spare_pages();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kDoorbellData) {
        doorbell_.drain();
        continue;
      }
      Watch& watched = watches_[events[i].data.u64];
      watched.fired = true;  // EPOLLONESHOT: the registration is disarmed now
      if (!watched.fiber) continue;
      watched.entry->revents = static_cast<short>(events[i].events);
      wake(watched.fiber, watched.wait_id);
    }
    if (timers_.empty()) continue;
    const auto now = steady_us();
    while (!timers_.empty() && timers_.top().when_us <= now) {
      const auto timer = timers_.top();
      timers_.pop();
      wake(timer.fiber, timer.wait_id);
    }
  }
  current_loop = nullptr;
}

void FiberLoop::Impl::start_fiber(std::function<void()> body) {
  Fiber* fiber;
  if (!idle_fibers_.empty()) {
    fiber = idle_fibers_.back();
    idle_fibers_.pop_back();
    fiber->done = false;
  } else {
    fiber = fibers_.emplace_back(std::make_unique<Fiber>()).get();
  }
  fiber->body = std::move(body);
  fiber->mapped = stack_bytes_ + Fiber::page_size();
  if (!spare_stacks_.empty()) {
    fiber->mapping = spare_stacks_.back();
    spare_stacks_.pop_back();
    if (warm_spares_ > 0) --warm_spares_;
  } else {
    void* mapping = ::mmap(nullptr, fiber->mapped, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    fiber->mapping = static_cast<char*>(mapping);
    ::mprotect(fiber->mapping, Fiber::page_size(), PROT_NONE);  // the guard page
  }
  ::getcontext(&fiber->context);
  fiber->context.uc_stack.ss_sp = fiber->stack();
  fiber->context.uc_stack.ss_size = fiber->stack_size();
  fiber->context.uc_link = nullptr;
  ::makecontext(&fiber->context, &Impl::entry, 0);
  ready_.push_back(fiber);
}

void FiberLoop::Impl::destroy(Fiber* fiber) {
  constexpr std::size_t kSpareStacks = 64;
  if (spare_stacks_.size() < kSpareStacks) {
    // Kept warm for the next fiber: its touched pages stay resident until the loop has had no
    // fiber for kTrimAfterIdleUs (run()). Returning them at every fiber's end cost a TLB
    // shootdown across the process's CPUs each time and a page fault per page on reuse: on a
    // paravirtualized VM, 5-7% of a fleet job's session threads; and a loop empties now and
    // then in the middle of a job, so not at once either.
    spare_stacks_.push_back(fiber->mapping);
    ++warm_spares_;
  } else {
    ::munmap(fiber->mapping, fiber->mapped);
  }
  fiber->mapping = nullptr;
  idle_fibers_.push_back(fiber);
  if (owner_.live_.fetch_sub(1, std::memory_order_relaxed) == 1) idle_since_us_ = steady_us();
}

void FiberLoop::Impl::return_spare_pages() {
  // The most recently ended spares are the warm ones (start_fiber takes from the back).
  const std::size_t size = stack_bytes_;
  for (std::size_t i = spare_stacks_.size() - std::min(warm_spares_, spare_stacks_.size());
       i < spare_stacks_.size(); ++i)
    ::madvise(spare_stacks_[i] + Fiber::page_size(), size, MADV_DONTNEED);
  warm_spares_ = 0;
}

void FiberLoop::Impl::resume(Fiber* fiber) {
  current_fiber = fiber;
#ifdef NAUTO_FIBER_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, fiber->stack(), fiber->stack_size());
#endif
  ::swapcontext(&loop_context_, &fiber->context);
#ifdef NAUTO_FIBER_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  current_fiber = nullptr;
}

void FiberLoop::Impl::entry() {
  Impl* loop = current_loop;
  Fiber* fiber = current_fiber;
#ifdef NAUTO_FIBER_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &loop->loop_stack_bottom_, &loop->loop_stack_size_);
#endif
  try {
    fiber->body();
  } catch (const std::exception& error) {
    logger("base.fiber")->error("a fiber ended by exception (a bug): {}", error.what());
  } catch (...) {
    logger("base.fiber")->error("a fiber ended by an unknown exception (a bug)");
  }
  fiber->body = nullptr;  // its captures end here, on the fiber's own stack
  fiber->done = true;
#ifdef NAUTO_FIBER_ASAN
  __sanitizer_start_switch_fiber(nullptr, loop->loop_stack_bottom_, loop->loop_stack_size_);
#endif
  ::setcontext(&loop->loop_context_);
}

void FiberLoop::Impl::park(Fiber* fiber, std::int64_t timeout_ms) {
  fiber->parked = true;
  if (timeout_ms >= 0) timers_.push({steady_us() + timeout_ms * 1000, fiber->wait_id, fiber});
#ifdef NAUTO_FIBER_ASAN
  __sanitizer_start_switch_fiber(&fiber->fake_stack, loop_stack_bottom_, loop_stack_size_);
#endif
  ::swapcontext(&fiber->context, &loop_context_);
#ifdef NAUTO_FIBER_ASAN
  __sanitizer_finish_switch_fiber(fiber->fake_stack, &loop_stack_bottom_, &loop_stack_size_);
#endif
}

void FiberLoop::Impl::wake(Fiber* fiber, std::uint64_t wait_id) {
  if (!fiber->parked || fiber->wait_id != wait_id) return;  // already woken, or a later wait
  fiber->parked = false;
  ready_.push_back(fiber);
}

Watch& FiberLoop::Impl::watch(int fd) {
  if (static_cast<std::size_t>(fd) >= watches_.size()) watches_.resize(fd + 64);
  return watches_[fd];
}

// Registers `fd` for `events`, once (EPOLLONESHOT); 0, or -1 with errno.
int FiberLoop::Impl::arm(int fd, std::uint32_t events) {
  Watch& watched = watch(fd);
  epoll_event event{};
  event.events = events | EPOLLONESHOT;
  event.data.u64 = static_cast<std::uint64_t>(fd);
  // The loop's idea of the set can be out of date: a descriptor closed meanwhile left it.
  int rc = ::epoll_ctl(epoll_fd_, watched.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
  if (rc != 0 && (errno == ENOENT || errno == EEXIST)) {
    rc = ::epoll_ctl(epoll_fd_, errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event);
  }
  watched.registered = rc == 0;
  watched.fired = false;
  return rc;
}

int FiberLoop::Impl::wait(pollfd* fds, std::size_t count, std::int64_t timeout_ms) {
  // Room to write is nearly always there already: one look costs a system call, a park
  // costs an epoll_ctl, an epoll_wait and two context switches.
  bool wants_room = false;
  for (std::size_t i = 0; i < count; ++i)
    wants_room |= fds[i].fd >= 0 && (fds[i].events & POLLOUT);
  if (wants_room) {
    const int n = ::poll(fds, count, 0);
    if (n > 0) return n;
  }
  Fiber* fiber = current_fiber;
  fiber->wait_id = next_wait_id_++;
  // The descriptors this wait registered; most waits have one. When another wait of this loop
  // is on the caller's descriptor, a duplicate (epoll takes the same file under a second number).
  struct Armed {
    int fd;
    bool duplicate;
  };
  constexpr std::size_t kInline = 4;
  Armed inline_armed[kInline];
  std::vector<Armed> more_armed;
  Armed* armed = inline_armed;
  if (count > kInline) {
    more_armed.resize(count);
    armed = more_armed.data();
  }
  std::size_t armed_count = 0;
  int ready_now = 0;
  for (std::size_t i = 0; i < count; ++i) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) continue;
    int fd = fds[i].fd;
    const bool duplicate = watch(fd).fiber != nullptr;
    if (duplicate) fd = ::dup(fd);
    const int rc = fd < 0 ? -1 : arm(fd, static_cast<std::uint32_t>(fds[i].events));
    if (rc != 0) {
      // A descriptor epoll cannot watch (a regular file) is always ready, as poll(2) says.
      const int error = errno;
      if (duplicate && fd >= 0) {
        watches_[fd] = Watch{};
        ::close(fd);
      }
      fds[i].revents =
          static_cast<short>(error == EPERM ? (fds[i].events & (POLLIN | POLLOUT)) : POLLNVAL);
      ++ready_now;
      continue;
    }
    Watch& watched = watches_[fd];
    watched.fiber = fiber;
    watched.wait_id = fiber->wait_id;
    watched.entry = &fds[i];
    armed[armed_count++] = {fd, duplicate};
  }
  if (ready_now == 0) park(fiber, timeout_ms);
  for (std::size_t i = 0; i < armed_count; ++i) {
    Watch& watched = watches_[armed[i].fd];
    if (armed[i].duplicate) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, armed[i].fd, nullptr);
      ::close(armed[i].fd);
      watched = Watch{};
      continue;
    }
    watched.fiber = nullptr;
    watched.entry = nullptr;
    if (!watched.fired) {
      // Still armed (the wait timed out, or another of its descriptors woke it): disarmed, so
      // a later event cannot wake whoever waits on this number next for a file since closed.
      epoll_event event{};
      event.data.u64 = static_cast<std::uint64_t>(armed[i].fd);
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, armed[i].fd, &event) != 0)
        watched.registered = false;
    }
  }
  int ready = 0;
  for (std::size_t i = 0; i < count; ++i)
    if (fds[i].revents) ++ready;
  return ready;
}

void FiberLoop::Impl::sleep(std::int64_t ms) {
  Fiber* fiber = current_fiber;
  fiber->wait_id = next_wait_id_++;
  park(fiber, std::max<std::int64_t>(ms, 0));
}

// ---- io_wait.h ----

bool on_fiber() noexcept {
  return FiberLoop::Impl::current_fiber != nullptr;
}

int wait_ready(pollfd* fds, std::size_t count, std::int64_t timeout_ms) noexcept {
  if (timeout_ms != 0 && on_fiber()) {
    return FiberLoop::Impl::current_loop->wait(fds, count, timeout_ms);
  }
  const int timeout = timeout_ms < 0            ? -1
                      : timeout_ms > 0x7fffffff ? 0x7fffffff
                                                : static_cast<int>(timeout_ms);
  for (;;) {
    const int n = ::poll(fds, count, timeout);
    if (n >= 0) return n;
    if (errno != EINTR) {
      for (std::size_t i = 0; i < count; ++i)
        fds[i].revents = POLLERR;
      return static_cast<int>(count);
    }
  }
}

short wait_ready(int fd, short events, std::int64_t timeout_ms) noexcept {
  pollfd entry{fd, events, 0};
  wait_ready(&entry, 1, timeout_ms);
  return entry.revents;
}

void sleep_for_ms(std::int64_t ms) noexcept {
  if (on_fiber()) {
    FiberLoop::Impl::current_loop->sleep(ms);
  } else if (ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

}  // namespace nauto
