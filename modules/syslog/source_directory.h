#pragma once
// SourceDirectory: which inventory device sent a message. A message names its sender twice —
// the hostname in its header and the address it came from — and either may be missing or
// shared (every nauto-lab device sends from 127.0.0.1; a NAT hides a site behind one address).
// The hostname wins when it is a device's name (or its name's first label, or its configured
// host); otherwise the source address, when exactly one device has it as its host.
// Rebuilt whole from inventory.select answers; lookups are by value, so a refresh never races a
// lookup (both run on the module's thread).

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace nauto::syslog {

class SourceDirectory {
 public:
  /// Replaces the directory with the devices in an inventory.select answer's `hosts`.
  void load(const nlohmann::json& hosts);
  /// The device name, or empty when neither the hostname nor the address identifies one.
  std::string resolve(const std::string& hostname, const std::string& address) const;
  std::size_t size() const { return devices_; }

 private:
  std::map<std::string, std::string> by_name_;     // lower-case name, short name, host
  std::map<std::string, std::string> by_address_;  // host address -> name ("" if shared)
  std::size_t devices_ = 0;
};

/// `name` made safe as one topic segment: dots and anything outside [A-Za-z0-9_-] become '_'.
std::string topic_segment(const std::string& name);

}  // namespace nauto::syslog
