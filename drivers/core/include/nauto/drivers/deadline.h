#pragma once
// Deadline: the point in monotonic time by which an operation must finish. Every driver
// operation takes one; nested steps take the earlier of their own budget and the caller's.

#include <algorithm>
#include <cstdint>

#include "nauto/base/clock.h"

namespace nauto::drivers {

/// An absolute monotonic instant. Invariant: never changes after construction; copies are cheap.
class Deadline {
 public:
  /// A deadline `ms` milliseconds from now.
  static Deadline after_ms(std::int64_t ms) { return Deadline(steady_us() + ms * 1000); }
  /// A deadline that never passes (for tests and for callers that truly have none).
  static Deadline never() { return Deadline(INT64_MAX / 2); }

  std::int64_t at_us() const { return at_us_; }
  bool expired() const { return steady_us() >= at_us_; }
  /// Milliseconds left, never negative.
  std::int64_t remaining_ms() const {
    return std::max<std::int64_t>(0, (at_us_ - steady_us()) / 1000);
  }
  /// The earlier of this deadline and `ms` from now: how a layer adds its own budget.
  Deadline capped_ms(std::int64_t ms) const { return std::min(*this, after_ms(ms)); }

  friend bool operator<(const Deadline& a, const Deadline& b) { return a.at_us_ < b.at_us_; }

 private:
  explicit Deadline(std::int64_t at_us) : at_us_(at_us) {}
  std::int64_t at_us_;
};

}  // namespace nauto::drivers
