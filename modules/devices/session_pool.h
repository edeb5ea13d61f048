#pragma once
// SessionPool: device sessions kept open between calls for someone who asked (the shell's
// `:connect r1`), so a person poking at a device does not log in for every command. A holder
// holds a device; while any holder does, the session a read-only call (commands, config,
// facts) opened is handed back here instead of being closed, and the next call borrows it.
// Pushes always open their own session. A holder that stays silent longer than its idle
// timeout (a shell that died) lets go by itself; a session nobody holds is closed.
// Thread-safe: workers borrow and give back, the module thread holds, releases and expires.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "nauto/drivers/driver.h"

namespace nauto::devices {

class SessionPool {
 public:
  /// `holder` keeps `device`'s session open until release or `idle_ms` without a call.
  void hold(const std::string& device, const std::string& holder, std::int64_t idle_ms);
  /// Lets go of every device `holder` holds (or only `device`, when given); sessions nobody
  /// holds any more are closed. Returns how many holds ended.
  std::size_t release(const std::string& holder, const std::string& device = "");
  /// The open session kept for `device`, taken out for one call; nullptr when none is kept (or
  /// another call has it).
  std::unique_ptr<drivers::Driver> borrow(const std::string& device);
  /// After a call: kept when the device is still held and the session is open, else closed.
  void give_back(const std::string& device, std::unique_ptr<drivers::Driver> driver);
  /// Ends holds idle past their timeout. Call it now and then.
  void expire();
  /// [{device, holders, open, idle_ms}]
  nlohmann::json list() const;
  ~SessionPool();

 private:
  struct Held {
    std::map<std::string, std::int64_t> holders;  // holder -> idle timeout (ms)
    std::unique_ptr<drivers::Driver> session;     // open and not in use, or null
    std::int64_t last_used_us = 0;
  };
  /// Removes devices nobody holds; their sessions go to `closing`.
  void drop_unheld(std::vector<std::unique_ptr<drivers::Driver>>& closing);

  mutable std::mutex mutex_;
  std::map<std::string, Held> devices_;
};

}  // namespace nauto::devices
