#pragma once
// DeviceDirectory: which inventory device sent a message, for the modules that receive from the
// network (syslog, webhooks, SNMP traps). A message names its sender twice — a hostname it
// carries and the address it came from — and either may be missing or shared (every nauto-lab
// device sends from 127.0.0.1; a NAT hides a site behind one address). The hostname wins when
// it is a device's name (or its name's first label, or its configured host); otherwise the
// source address, when exactly one device has it as its host. A claimed hostname is only as
// good as its sender: callers pass it only from trusted senders (syslog relays listed in
// trust_hostname_from, signed webhooks) and an empty one otherwise.
// Rebuilt whole from inventory.select answers (refresh()); lookups and refreshes both run on
// the module's thread, so they never race.

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace nauto {

class Context;

class DeviceDirectory {
 public:
  /// Replaces the directory with the devices in an inventory.select answer's `hosts`.
  void load(const nlohmann::json& hosts);
  /// The device name, or empty when neither the hostname nor the address identifies one.
  std::string resolve(const std::string& hostname, const std::string& address) const;
  /// True when `name` is an inventory device's exact name.
  bool contains(const std::string& name) const;
  std::size_t size() const { return devices_; }

  /// Asks the inventory for every device and loads the answer; while the directory is empty
  /// and the inventory does not answer (start-up), asks again every 500 ms. The owner outlives
  /// the request (modules are stopped after their Context's requests are dropped).
  void refresh(Context& ctx);
  /// refresh() now and every `period`: what a module calls once from start().
  void keep_current(Context& ctx, std::chrono::milliseconds period);
  /// After a message from no known device: refresh, but at most every 5 s (a device imported
  /// since the last periodic refresh is found without a refresh per message).
  void refresh_after_miss(Context& ctx, std::int64_t now_us);

 private:
  std::map<std::string, std::string> by_name_;     // lower-case name, short name, host
  std::map<std::string, std::string> by_address_;  // host address -> name ("" if shared)
  std::size_t devices_ = 0;
  bool refreshing_ = false;
  std::int64_t last_miss_refresh_us_ = 0;
};

/// `name` made safe as one topic segment: dots and anything outside [A-Za-z0-9_-] become '_'.
std::string topic_segment(const std::string& name);

/// The event topic for a message from `device` (empty: unknown sender):
/// `device.<name>.<kind>` or `device._unknown.<kind>`.
std::string device_event_topic(const std::string& device, const std::string& kind);

}  // namespace nauto
