#pragma once
// NAPALM getters built from what nauto fetches, in NAPALM's shapes, for validate rules:
//   get_facts          facts (the driver's) and the interface names of get_interfaces' command:
//                      {hostname, fqdn, vendor, model, os_version, serial_number, uptime,
//                      interface_list}
//   get_interfaces     `show interfaces` parsed with TextFSM (IOS, EOS; NX-OS `show interface`):
//                      {name: {is_up, is_enabled, description, mac_address, mtu, speed,
//                      last_flapped}} - speed in Mbit/s, as NAPALM 3 gives it
//   get_bgp_neighbors  `show ip bgp summary` parsed (IOS, EOS, NX-OS): {global: {router_id,
//                      peers: {address: {local_as, remote_as, remote_id, is_up, is_enabled,
//                      description, uptime, address_family: {ipv4: {received_prefixes,
//                      accepted_prefixes, sent_prefixes}}}}}}; -1 for what the summary lacks
//   get_ntp_servers    the config's ntp server lines (every platform): {address: {}}
// A getter a platform has no command or template for is not available (NAPALM's skip).
// Pure functions; any thread.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nauto::compliance {

class ConfigView;

/// What a run fetched for one device.
struct DeviceData {
  std::string platform;
  const ConfigView* config = nullptr;            ///< null when no config was had
  std::optional<nlohmann::json> facts;           ///< the facts operation's output
  std::map<std::string, nlohmann::json> parsed;  ///< command -> its records; absent: unparsed
};

/// The show command `getter` needs on `platform`; "" when it needs none (facts, the config)
/// or the platform has none.
std::string getter_command(const std::string& getter, const std::string& platform);

/// The getter's value, or nullopt when it cannot be had for this device.
std::optional<nlohmann::json> getter_value(const std::string& getter, const DeviceData& data);

}  // namespace nauto::compliance
