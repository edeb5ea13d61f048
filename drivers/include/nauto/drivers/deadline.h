#pragma once
// Deadline: the point in monotonic time by which an operation must finish. Every driver
// operation takes one; nested steps take the earlier of their own budget and the caller's.
// A deadline may also carry a cancellation flag: once it is raised the deadline counts as
// passed, so every wait that honours deadlines (they all wake at least every 200 ms) stops.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

#include "nauto/base/clock.h"

namespace nauto::drivers {

/// An absolute monotonic instant. Invariant: never changes after construction; copies are cheap.
class Deadline {
 public:
  /// A deadline `ms` milliseconds from now.
  static Deadline after_ms(std::int64_t ms) { return Deadline(steady_us() + ms * 1000); }
  /// A deadline that never passes (for tests and for callers that truly have none).
  static Deadline never() { return Deadline(INT64_MAX / 2); }

  using CancelFlag = std::shared_ptr<const std::atomic<bool>>;

  /// This deadline, also passed as soon as `*flag` becomes true.
  Deadline cancellable(CancelFlag flag) const {
    Deadline copy = *this;
    copy.cancel_ = std::move(flag);
    return copy;
  }
  bool cancelled() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }

  std::int64_t at_us() const { return at_us_; }
  bool expired() const { return cancelled() || steady_us() >= at_us_; }
  /// Milliseconds left, never negative; 0 once cancelled.
  std::int64_t remaining_ms() const {
    if (cancelled()) return 0;
    return std::max<std::int64_t>(0, (at_us_ - steady_us()) / 1000);
  }
  /// The earlier of this deadline and `ms` from now: how a layer adds its own budget.
  /// The cancellation flag is kept.
  Deadline capped_ms(std::int64_t ms) const {
    Deadline capped = *this;
    capped.at_us_ = std::min(at_us_, steady_us() + ms * 1000);
    return capped;
  }

  friend bool operator<(const Deadline& a, const Deadline& b) { return a.at_us_ < b.at_us_; }

 private:
  explicit Deadline(std::int64_t at_us) : at_us_(at_us) {}
  std::int64_t at_us_;
  CancelFlag cancel_;
};

}  // namespace nauto::drivers
