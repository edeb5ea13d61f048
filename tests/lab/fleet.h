#pragma once
// FleetSpec: what nauto-lab serves — devices, their ports, credentials, faults and the shared
// services (syslog collector, control port, Meraki-like dashboard). Built from a fleet YAML
// file or from command-line flags; validated as a whole so every mistake is reported at once.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::lab {

enum class Platform { CiscoIos, AristaEos, CiscoNxos, JuniperJunos };

std::string_view platform_name(Platform platform);
std::optional<Platform> parse_platform(std::string_view name);

/// Misbehaviour injected into one device. Zero/false/negative means "off".
struct Faults {
  int latency_ms = 0;                   ///< delay before each reply (CLI, NETCONF, HTTP)
  int64_t output_bytes_per_second = 0;  ///< throttle CLI output
  int64_t hang_after_bytes = -1;        ///< stop sending a reply after N bytes; connection stays
  int64_t drop_after_bytes = -1;        ///< disconnect after N bytes of a reply
  bool refuse_auth = false;             ///< every authentication attempt fails
  bool changed_host_key = false;        ///< present a different host key than known_hosts says
  double disconnect_probability = 0;    ///< chance per command of dropping the connection
  double garbage_probability = 0;       ///< chance per command of random bytes in the reply
  int64_t huge_config_bytes = 0;        ///< pad the running config to at least this size

  static Result<Faults> from_json(const nlohmann::json& json, const std::string& where);
  nlohmann::json to_json() const;
};

/// A neighbour on one port, as LLDP and BGP see it.
struct LinkPeer {
  std::string local_port;
  std::string remote_name;
  std::string remote_port;
  std::string local_address;   ///< our address on the link, dotted quad
  std::string remote_address;  ///< theirs
  uint64_t remote_as = 0;
  int prefix_length = 30;
};

struct DeviceSpec {
  std::string name;
  Platform platform = Platform::CiscoIos;
  int index = 0;  ///< position in the fleet; seeds addresses, serials and AS numbers
  uint16_t ssh_port = 0;
  uint16_t api_port = 0;  ///< eAPI/NX-API port, 0 when the device has no HTTP API
  int ports = 4;          ///< physical front-panel ports
  std::string site;
  std::string role;
  uint64_t local_as = 0;
  std::string loopback;  ///< Loopback0 / lo0 address
  std::vector<LinkPeer> links;
  Faults faults;
};

struct MerakiSpec {
  bool enabled = false;
  uint16_t port = 0;
  std::string api_key = "lab-meraki-key";
  int organizations = 1;
  int networks_per_org = 2;
  int devices_per_network = 5;
  double requests_per_second = 10;  ///< per organisation, like the real dashboard
};

struct SyslogSpec {
  std::string collector_host;  ///< empty: no syslog
  uint16_t collector_port = 0;
  bool rfc5424 = true;  ///< false: RFC 3164 (BSD) format
};

struct FleetSpec {
  std::string bind = "127.0.0.1";
  uint16_t base_port = 20000;
  uint16_t control_port = 0;
  std::string username = "admin";
  std::string password = "admin";
  std::string enable_secret = "enable";
  std::vector<std::string> authorized_key_files;
  uint64_t seed = 1;
  std::string state_dir;      ///< host keys, TLS certificate, inventory, known_hosts
  int64_t minute_ms = 60000;  ///< length of a "minute" for commit confirmed timers
  int workers = 2;            ///< SSH event-loop threads
  bool api_tls = true;
  SyslogSpec syslog;
  MerakiSpec meraki;
  std::vector<DeviceSpec> devices;
};

/// A group of devices in the fleet file or from --devices/--platform.
struct DeviceGroup {
  Platform platform = Platform::CiscoIos;
  int count = 1;
  std::string name_pattern;  ///< "{n}" is replaced by the fleet-wide number; default per platform
  std::string site = "lab";
  std::string role = "router";
  int ports = 4;
  bool api = true;
  Faults faults;
};

/// Parses a fleet YAML file. Errors name the key path and what was expected.
Result<FleetSpec> load_fleet_file(const std::string& path);
Result<FleetSpec> parse_fleet_yaml(const std::string& text, const std::string& origin);

/// Assigns names, ports, addresses, AS numbers and ring links to the groups' devices.
Result<void> build_devices(FleetSpec& fleet, const std::vector<DeviceGroup>& groups);

/// Interface name of physical port `port` (0-based) on a platform: GigabitEthernet0/0,
/// Ethernet1, Ethernet1/1, ge-0/0/0.
std::string port_name(Platform platform, int port);

}  // namespace nauto::lab
