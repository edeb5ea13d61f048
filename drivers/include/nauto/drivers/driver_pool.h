#pragma once
// DriverPool: keeps one open driver (session) per device across operations, hands it to one
// caller at a time (which is also the per-device write lock), expires idle sessions, probes
// idle ones with keepalives, opens sessions with retry and backoff, and keeps a circuit breaker
// per device. A command on a reused session costs a fraction of a new handshake.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "nauto/drivers/circuit_breaker.h"
#include "nauto/drivers/driver.h"
#include "nauto/drivers/retry.h"

namespace nauto::drivers {

/// Makes a (closed) driver for a target; see drivers/make_driver.h for the standard one.
using DriverFactory = std::function<Result<std::unique_ptr<Driver>>(const DeviceTarget&)>;

struct PoolOptions {
  std::int64_t idle_expiry_ms = 300'000;  ///< close sessions unused this long
  RetryPolicy retry;
  int breaker_threshold = 5;
  std::int64_t breaker_cooldown_ms = 30'000;
};

class DriverPool;

/// Exclusive use of one device's driver. Returned to the pool on destruction; a lease whose
/// session failed is closed rather than reused.
class DriverLease {
 public:
  DriverLease(DriverLease&& other) noexcept;
  DriverLease& operator=(DriverLease&&) = delete;
  ~DriverLease();
  Driver& operator*() { return *driver_; }
  Driver* operator->() { return driver_; }

 private:
  friend class DriverPool;
  DriverLease(DriverPool* pool, std::string device, Driver* driver)
      : pool_(pool), device_(std::move(device)), driver_(driver) {}
  DriverPool* pool_;
  std::string device_;
  Driver* driver_;
};

class DriverPool {
 public:
  explicit DriverPool(DriverFactory factory, PoolOptions options = {});
  ~DriverPool();

  /// Waits (until the deadline) for the device to be free, then returns its driver, opened.
  /// Fails fast with Unavailable while the device's circuit is open.
  Result<DriverLease> acquire(const DeviceTarget& target, Deadline deadline);
  /// acquire + run, reconnecting once (with backoff) when the session had dropped: commands
  /// are read-only, so a retry is safe. Config pushes never go through this.
  Result<CommandOutput> run(const DeviceTarget& target, const std::string& command,
                            Deadline deadline, const CallOptions& options = {});
  /// Closes expired sessions and sends keepalives on the rest. Call every few seconds.
  void sweep();
  /// Records a failure or success seen by a caller that used a lease directly.
  void record(const std::string& device, const Error* error);
  std::size_t open_sessions() const;

 private:
  friend class DriverLease;
  struct Slot {
    std::unique_ptr<Driver> driver;
    bool leased = false;
    std::int64_t last_used_us = 0;
    CircuitBreaker breaker;
    Slot(int threshold, std::int64_t cooldown) : breaker(threshold, cooldown) {}
  };
  void release(const std::string& device);
  Slot& slot_locked(const std::string& device);

  DriverFactory factory_;
  PoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

}  // namespace nauto::drivers
