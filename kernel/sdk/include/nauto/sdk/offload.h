#pragma once
// Offload: slow, self-contained work (reading and parsing 100,000 schedules, a large config
// archive) done on a thread of its own, its result handed back on the module's thread. The
// module's thread stays free for requests and heartbeats: a module that blocks it for longer
// than supervisor.heartbeat_timeout is restarted as hung. The result wakes the module through
// a Doorbell watched with Context::watch; nothing polls.
//
// One piece of work at a time: run() while busy() is a bug. `work` must not touch the module's
// state (it runs on another thread); `done` runs on the module's thread and may. Call stop()
// from the module's stop(): it waits for work in flight and unwatches; a result not yet
// handed over is dropped.
//
// Thread: the module's, for every member.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "nauto/base/doorbell.h"
#include "nauto/base/result.h"
#include "nauto/sdk/context.h"

namespace nauto {

template <typename T>
class Offload {
 public:
  Offload() = default;
  Offload(const Offload&) = delete;
  Offload& operator=(const Offload&) = delete;
  ~Offload() {
    if (worker_.joinable()) worker_.join();
  }

  /// Watches the doorbell; from the module's start().
  Result<void> start(Context& ctx) {
    auto watched = ctx.watch(bell_.fd(), [this] { hand_over(); });
    if (!watched) return std::move(watched).error();
    watch_ = *watched;
    return ok();
  }

  /// Starts `work` on a thread; `done` gets its result on the module's thread.
  void run(std::function<T()> work, std::function<void(T)> done) {
    if (worker_.joinable()) worker_.join();  // the previous one has handed over
    done_ = std::move(done);
    busy_ = true;
    worker_ = std::thread([this, work = std::move(work)]() mutable {
      auto result = work();
      {
        std::lock_guard lock(mutex_);
        result_.emplace(std::move(result));
      }
      bell_.ring();
    });
  }

  bool busy() const { return busy_; }

  void stop(Context& ctx) noexcept {
    if (worker_.joinable()) worker_.join();
    if (watch_) ctx.unwatch(*watch_);
    watch_.reset();
    busy_ = false;
  }

 private:
  void hand_over() {
    bell_.drain();
    std::optional<T> result;
    {
      std::lock_guard lock(mutex_);
      result.swap(result_);
    }
    if (!result) return;
    if (worker_.joinable()) worker_.join();
    busy_ = false;
    auto done = std::move(done_);
    done(std::move(*result));
  }

  Doorbell bell_;
  std::optional<Context::TimerId> watch_;
  std::thread worker_;
  std::mutex mutex_;
  std::optional<T> result_;  // guarded by mutex_
  std::function<void(T)> done_;
  bool busy_ = false;
};

}  // namespace nauto
