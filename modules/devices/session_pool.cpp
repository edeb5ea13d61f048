#include "session_pool.h"

#include "nauto/base/clock.h"

namespace nauto::devices {

namespace {
// Closing a session can block on the network: never under the pool's lock.
void close_all(std::vector<std::unique_ptr<drivers::Driver>>& sessions) {
  for (auto& session : sessions) {
    if (session) session->close();
  }
}
}  // namespace

SessionPool::~SessionPool() {
  for (auto& [device, held] : devices_) {
    if (held.session) held.session->close();
  }
}

void SessionPool::hold(const std::string& device, const std::string& holder, std::int64_t idle_ms) {
  std::lock_guard lock(mutex_);
  auto& held = devices_[device];
  held.holders[holder] = idle_ms;
  held.last_used_us = now_us();
}

void SessionPool::drop_unheld(std::vector<std::unique_ptr<drivers::Driver>>& closing) {
  for (auto it = devices_.begin(); it != devices_.end();) {
    if (!it->second.holders.empty()) {
      ++it;
      continue;
    }
    closing.push_back(std::move(it->second.session));
    it = devices_.erase(it);
  }
}

std::size_t SessionPool::release(const std::string& holder, const std::string& device) {
  std::vector<std::unique_ptr<drivers::Driver>> closing;
  std::size_t ended = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, held] : devices_) {
      if (!device.empty() && name != device) continue;
      ended += held.holders.erase(holder);
    }
    drop_unheld(closing);
  }
  close_all(closing);
  return ended;
}

std::unique_ptr<drivers::Driver> SessionPool::borrow(const std::string& device) {
  std::lock_guard lock(mutex_);
  const auto it = devices_.find(device);
  if (it == devices_.end()) return nullptr;
  it->second.last_used_us = now_us();
  return std::move(it->second.session);
}

void SessionPool::give_back(const std::string& device, std::unique_ptr<drivers::Driver> driver) {
  if (!driver) return;
  {
    std::lock_guard lock(mutex_);
    const auto it = devices_.find(device);
    if (it != devices_.end() && !it->second.session && driver->is_open()) {
      it->second.session = std::move(driver);
      it->second.last_used_us = now_us();
      return;
    }
  }
  driver->close();
}

void SessionPool::expire() {
  std::vector<std::unique_ptr<drivers::Driver>> closing;
  {
    std::lock_guard lock(mutex_);
    const auto now = now_us();
    for (auto& [name, held] : devices_) {
      const auto idle_ms = (now - held.last_used_us) / 1000;
      std::erase_if(held.holders,
                    [idle_ms](const auto& holder) { return idle_ms > holder.second; });
    }
    drop_unheld(closing);
  }
  close_all(closing);
}

nlohmann::json SessionPool::list() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  const auto now = now_us();
  for (const auto& [name, held] : devices_) {
    nlohmann::json holders = nlohmann::json::array();
    for (const auto& [holder, idle] : held.holders)
      holders.push_back(holder);
    out.push_back({{"device", name},
                   {"holders", holders},
                   {"open", held.session != nullptr},
                   {"idle_ms", (now - held.last_used_us) / 1000}});
  }
  return out;
}

}  // namespace nauto::devices
