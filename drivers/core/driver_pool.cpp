#include "nauto/drivers/driver_pool.h"

#include <chrono>

#include "nauto/base/clock.h"
#include "nauto/base/log.h"

namespace nauto::drivers {

DriverLease::DriverLease(DriverLease&& other) noexcept
    : pool_(other.pool_), device_(std::move(other.device_)), driver_(other.driver_) {
  other.pool_ = nullptr;
}

DriverLease::~DriverLease() {
  if (pool_) pool_->release(device_);
}

DriverPool::DriverPool(DriverFactory factory, PoolOptions options)
    : factory_(std::move(factory)), options_(options) {}

DriverPool::~DriverPool() {
  std::lock_guard lock(mutex_);
  for (auto& [name, slot] : slots_) {
    if (slot->driver) slot->driver->close();
  }
}

DriverPool::Slot& DriverPool::slot_locked(const std::string& device) {
  auto& slot = slots_[device];
  if (!slot)
    slot = std::make_unique<Slot>(options_.breaker_threshold, options_.breaker_cooldown_ms);
  return *slot;
}

Result<DriverLease> DriverPool::acquire(const DeviceTarget& target, Deadline deadline) {
  Slot* slot = nullptr;
  {
    std::unique_lock lock(mutex_);
    slot = &slot_locked(target.name);
    bool free = freed_.wait_until(
        lock, std::chrono::steady_clock::time_point(std::chrono::microseconds(deadline.at_us())),
        [&] { return !slot->leased; });
    if (!free) {
      return device_error(target, Errc::Timeout,
                          "device busy: another operation held it until the deadline");
    }
    if (auto allowed = slot->breaker.allow(target.name); !allowed)
      return std::move(allowed).error();
    slot->leased = true;
  }
  // From here on the slot is ours alone; open outside the pool lock.
  DriverLease lease(this, target.name, nullptr);
  if (!slot->driver) {
    auto made = factory_(target);
    if (!made) {
      slot->breaker.record_failure(made.error());
      return on_device(target, std::move(made).error());
    }
    slot->driver = std::move(*made);
  }
  if (!slot->driver->is_open()) {
    auto opened = with_retry<void>(
        options_.retry, deadline, [&] { return slot->driver->open(deadline); },
        [&](const Error& error, int attempt, std::int64_t delay) {
          logger("drivers.pool")
              ->info("{}: retry {} in {} ms after: {}", target.name, attempt, delay,
                     error.describe());
        });
    slot->breaker.record(opened);
    if (!opened) return std::move(opened).error();
  }
  lease.driver_ = slot->driver.get();
  return lease;
}

void DriverPool::release(const std::string& device) {
  {
    std::lock_guard lock(mutex_);
    auto& slot = slot_locked(device);
    slot.leased = false;
    slot.last_used_us = steady_us();
  }
  freed_.notify_all();
}

void DriverPool::record(const std::string& device, const Error* error) {
  std::lock_guard lock(mutex_);
  auto& slot = slot_locked(device);
  if (error) {
    slot.breaker.record_failure(*error);
  } else {
    slot.breaker.record_success();
  }
}

Result<CommandOutput> DriverPool::run(const DeviceTarget& target, const std::string& command,
                                      Deadline deadline, const CallOptions& options) {
  return with_retry<CommandOutput>(options_.retry, deadline, [&]() -> Result<CommandOutput> {
    auto lease = acquire(target, deadline);
    if (!lease) return std::move(lease).error();
    auto output = (*lease)->run(command, deadline, options);
    record(target.name, output ? nullptr : &output.error());
    if (!output && is_transient(output.error())) (*lease)->close();
    return output;
  });
}

void DriverPool::sweep() {
  std::lock_guard lock(mutex_);
  auto now = steady_us();
  for (auto& [name, slot] : slots_) {
    if (slot->leased || !slot->driver || !slot->driver->is_open()) continue;
    if (now - slot->last_used_us > options_.idle_expiry_ms * 1000) {
      slot->driver->close();
    } else if (!slot->driver->keepalive()) {
      slot->driver->close();
    }
  }
}

std::size_t DriverPool::open_sessions() const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& [name, slot] : slots_)
    count += slot->driver && slot->driver->is_open();
  return count;
}

}  // namespace nauto::drivers
