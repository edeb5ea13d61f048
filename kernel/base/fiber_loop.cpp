#include "nauto/base/fiber_loop.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <queue>
#include <system_error>
#include <thread>
#include <unordered_map>
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

struct Fiber {
  ucontext_t context{};
  char* mapping = nullptr;  // guard page, then the stack
  std::size_t mapped = 0;
  std::function<void()> body;
  bool done = false;
  // The current wait, woken once: by a descriptor or by its timer, whichever comes first.
  std::uint64_t wait_id = 0;
  void* fake_stack = nullptr;  // ASan's, while parked

  char* stack() const { return mapping + page_size(); }
  std::size_t stack_size() const { return mapped - page_size(); }
  static std::size_t page_size() {
    static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
  }
};

// One descriptor of a parked fiber's wait, registered with the loop's epoll (its data points
// here); owned by the waiting call, and unregistered before that call returns.
struct Registration {
  std::uint64_t wait_id;
  pollfd* entry;
  int fd;  // as registered (a duplicate when the caller's descriptor was already registered)
};

struct Timer {
  std::int64_t when_us;
  std::uint64_t wait_id;
  bool operator>(const Timer& other) const { return when_us > other.when_us; }
};

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
  void wake(std::uint64_t wait_id);
  void destroy(Fiber* fiber);
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
  std::unordered_map<std::uint64_t, Fiber*> parked_;  // by wait id; a woken wait leaves
  // Timers of woken waits stay queued, and are dropped when they reach the top (run()).
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::vector<char*> spare_stacks_;  // mappings of ended fibers, for reuse
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
  event.data.ptr = nullptr;  // the doorbell
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
    while (!timers_.empty() && !parked_.contains(timers_.top().wait_id))
      timers_.pop();
    int timeout_ms = -1;
    if (!timers_.empty()) {
      const auto wait_us = timers_.top().when_us - steady_us();
      timeout_ms = wait_us <= 0 ? 0 : static_cast<int>((wait_us + 999) / 1000);
    }
    const int n =
        ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      auto* registration = static_cast<Registration*>(events[i].data.ptr);
      if (!registration) {
        doorbell_.drain();
        continue;
      }
      registration->entry->revents = static_cast<short>(events[i].events);
      wake(registration->wait_id);
    }
    const auto now = steady_us();
    while (!timers_.empty() && timers_.top().when_us <= now) {
      const auto timer = timers_.top();
      timers_.pop();
      wake(timer.wait_id);
    }
  }
  current_loop = nullptr;
}

void FiberLoop::Impl::start_fiber(std::function<void()> body) {
  auto* fiber = new Fiber;
  fiber->body = std::move(body);
  fiber->mapped = stack_bytes_ + Fiber::page_size();
  if (!spare_stacks_.empty()) {
    fiber->mapping = spare_stacks_.back();
    spare_stacks_.pop_back();
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
    // The pages it touched go back to the kernel; the mapping stays for the next fiber.
    ::madvise(fiber->stack(), fiber->stack_size(), MADV_DONTNEED);
    spare_stacks_.push_back(fiber->mapping);
  } else {
    ::munmap(fiber->mapping, fiber->mapped);
  }
  delete fiber;
  owner_.live_.fetch_sub(1, std::memory_order_relaxed);
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
  parked_.emplace(fiber->wait_id, fiber);
  if (timeout_ms >= 0) timers_.push({steady_us() + timeout_ms * 1000, fiber->wait_id});
#ifdef NAUTO_FIBER_ASAN
  __sanitizer_start_switch_fiber(&fiber->fake_stack, loop_stack_bottom_, loop_stack_size_);
#endif
  ::swapcontext(&fiber->context, &loop_context_);
#ifdef NAUTO_FIBER_ASAN
  __sanitizer_finish_switch_fiber(fiber->fake_stack, &loop_stack_bottom_, &loop_stack_size_);
#endif
}

void FiberLoop::Impl::wake(std::uint64_t wait_id) {
  const auto found = parked_.find(wait_id);
  if (found == parked_.end()) return;  // already woken
  Fiber* fiber = found->second;
  parked_.erase(found);
  ready_.push_back(fiber);
}

int FiberLoop::Impl::wait(pollfd* fds, std::size_t count, std::int64_t timeout_ms) {
  // Room to write is nearly always there already: one look costs a system call, a park
  // costs two epoll_ctl, an epoll_wait and two context switches.
  bool wants_room = false;
  for (std::size_t i = 0; i < count; ++i)
    wants_room |= fds[i].fd >= 0 && (fds[i].events & POLLOUT);
  if (wants_room) {
    const int n = ::poll(fds, count, 0);
    if (n > 0) return n;
  }
  Fiber* fiber = current_fiber;
  fiber->wait_id = next_wait_id_++;
  std::vector<Registration> registrations;
  registrations.reserve(count);
  int ready_now = 0;
  for (std::size_t i = 0; i < count; ++i) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) continue;
    registrations.push_back({fiber->wait_id, &fds[i], fds[i].fd});
    auto& registration = registrations.back();
    epoll_event event{};
    event.events = static_cast<std::uint32_t>(fds[i].events) | EPOLLONESHOT;
    event.data.ptr = &registration;
    int rc = ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, registration.fd, &event);
    if (rc != 0 && errno == EEXIST) {
      // Another wait of this loop has the same descriptor: epoll takes a duplicate.
      registration.fd = ::dup(fds[i].fd);
      rc =
          registration.fd < 0 ? -1 : ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, registration.fd, &event);
    }
    if (rc != 0) {
      // A descriptor epoll cannot watch (a regular file) is always ready, as poll(2) says.
      if (registration.fd != fds[i].fd && registration.fd >= 0) ::close(registration.fd);
      registrations.pop_back();
      fds[i].revents =
          static_cast<short>(errno == EPERM ? (fds[i].events & (POLLIN | POLLOUT)) : POLLNVAL);
      ++ready_now;
    }
  }
  if (ready_now == 0) park(fiber, timeout_ms);
  int ready = 0;
  for (auto& registration : registrations) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, registration.fd, nullptr);
    if (registration.fd != registration.entry->fd) ::close(registration.fd);
  }
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
