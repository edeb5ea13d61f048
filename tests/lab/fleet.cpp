#include "fleet.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "ipv4.h"

namespace nauto::lab {
namespace {

std::string default_prefix(Platform platform) {
  switch (platform) {
    case Platform::CiscoIos:
      return "ios";
    case Platform::AristaEos:
      return "eos";
    case Platform::CiscoNxos:
      return "nxos";
    case Platform::JuniperJunos:
      return "junos";
  }
  return "dev";
}

// Collects every problem so one run reports them all.
struct Problems {
  std::vector<std::string> lines;
  void add(const std::string& where, const std::string& what) {
    lines.push_back(where + ": " + what);
  }
  Result<void> result(const std::string& origin) const {
    if (lines.empty()) return ok();
    std::string message = "invalid fleet file " + origin + ":";
    for (const auto& line : lines)
      message += "\n  " + line;
    return fail(Errc::InvalidConfig, message);
  }
};

nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      auto object = nlohmann::json::object();
      for (const auto& item : node)
        object[item.first.as<std::string>()] = yaml_to_json(item.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      auto array = nlohmann::json::array();
      for (const auto& item : node)
        array.push_back(yaml_to_json(item));
      return array;
    }
    case YAML::NodeType::Scalar: {
      const auto& text = node.Scalar();
      if (node.Tag() != "!") {
        if (text == "true" || text == "yes") return true;
        if (text == "false" || text == "no") return false;
        char* end = nullptr;
        long long integer = std::strtoll(text.c_str(), &end, 10);
        if (!text.empty() && *end == '\0') return integer;
        double real = std::strtod(text.c_str(), &end);
        if (!text.empty() && *end == '\0') return real;
      }
      return text;
    }
    default:
      return nullptr;
  }
}

template <typename T>
void read_number(const nlohmann::json& object, const char* key, T& out, const std::string& where,
                 Problems& problems, double min, double max) {
  if (!object.contains(key)) return;
  const auto& value = object[key];
  if (!value.is_number() || value.get<double>() < min || value.get<double>() > max) {
    std::ostringstream range;
    range << "a number from " << min << " to " << max;
    problems.add(where + "." + key, "expected " + range.str() + ", got " + value.dump());
    return;
  }
  out = value.get<T>();
}

void read_string(const nlohmann::json& object, const char* key, std::string& out,
                 const std::string& where, Problems& problems) {
  if (!object.contains(key)) return;
  if (!object[key].is_string()) {
    problems.add(where + "." + key, "expected a string, got " + object[key].dump());
    return;
  }
  out = object[key].get<std::string>();
}

void read_bool(const nlohmann::json& object, const char* key, bool& out, const std::string& where,
               Problems& problems) {
  if (!object.contains(key)) return;
  if (!object[key].is_boolean()) {
    problems.add(where + "." + key, "expected true or false, got " + object[key].dump());
    return;
  }
  out = object[key].get<bool>();
}

void check_keys(const nlohmann::json& object, const std::set<std::string>& allowed,
                const std::string& where, Problems& problems) {
  for (const auto& item : object.items()) {
    if (!allowed.contains(item.key())) {
      std::string list;
      for (const auto& key : allowed)
        list += (list.empty() ? "" : ", ") + key;
      problems.add(where + "." + item.key(), "unknown key; expected one of: " + list);
    }
  }
}

}  // namespace

std::string_view platform_name(Platform platform) {
  switch (platform) {
    case Platform::CiscoIos:
      return "cisco_ios";
    case Platform::AristaEos:
      return "arista_eos";
    case Platform::CiscoNxos:
      return "cisco_nxos";
    case Platform::JuniperJunos:
      return "juniper_junos";
  }
  return "unknown";
}

std::optional<Platform> parse_platform(std::string_view name) {
  for (auto platform :
       {Platform::CiscoIos, Platform::AristaEos, Platform::CiscoNxos, Platform::JuniperJunos}) {
    if (platform_name(platform) == name) return platform;
  }
  return std::nullopt;
}

std::string port_name(Platform platform, int port) {
  switch (platform) {
    case Platform::CiscoIos:
      return "GigabitEthernet0/" + std::to_string(port);
    case Platform::AristaEos:
      return "Ethernet" + std::to_string(port + 1);
    case Platform::CiscoNxos:
      return "Ethernet1/" + std::to_string(port + 1);
    case Platform::JuniperJunos:
      return "ge-0/0/" + std::to_string(port);
  }
  return {};
}

Result<Faults> Faults::from_json(const nlohmann::json& json, const std::string& where) {
  Faults faults;
  Problems problems;
  if (!json.is_object()) return fail(Errc::InvalidConfig, "expected a mapping of faults", where);
  check_keys(json,
             {"latency_ms", "output_bytes_per_second", "hang_after_bytes", "drop_after_bytes",
              "refuse_auth", "changed_host_key", "disconnect_probability", "garbage_probability",
              "huge_config_bytes"},
             where, problems);
  read_number(json, "latency_ms", faults.latency_ms, where, problems, 0, 600000);
  read_number(json, "output_bytes_per_second", faults.output_bytes_per_second, where, problems, 0,
              1e12);
  read_number(json, "hang_after_bytes", faults.hang_after_bytes, where, problems, -1, 1e12);
  read_number(json, "drop_after_bytes", faults.drop_after_bytes, where, problems, -1, 1e12);
  read_bool(json, "refuse_auth", faults.refuse_auth, where, problems);
  read_bool(json, "changed_host_key", faults.changed_host_key, where, problems);
  read_number(json, "disconnect_probability", faults.disconnect_probability, where, problems, 0, 1);
  read_number(json, "garbage_probability", faults.garbage_probability, where, problems, 0, 1);
  read_number(json, "huge_config_bytes", faults.huge_config_bytes, where, problems, 0, 1e10);
  auto result = problems.result("faults");
  if (!result) return fail(Errc::InvalidConfig, result.error().message, where);
  return faults;
}

nlohmann::json Faults::to_json() const {
  return {{"latency_ms", latency_ms},
          {"output_bytes_per_second", output_bytes_per_second},
          {"hang_after_bytes", hang_after_bytes},
          {"drop_after_bytes", drop_after_bytes},
          {"refuse_auth", refuse_auth},
          {"changed_host_key", changed_host_key},
          {"disconnect_probability", disconnect_probability},
          {"garbage_probability", garbage_probability},
          {"huge_config_bytes", huge_config_bytes}};
}

Result<FleetSpec> load_fleet_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(Errc::NotFound, "cannot read fleet file " + path +
                                    " (check the path, or use --devices N --platform P instead)");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_fleet_yaml(text.str(), path);
}

Result<FleetSpec> parse_fleet_yaml(const std::string& text, const std::string& origin) {
  nlohmann::json root;
  try {
    root = yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig, "fleet file " + origin + " is not valid YAML: line " +
                                         std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.is_object())
    return fail(Errc::InvalidConfig, "fleet file " + origin + " must be a mapping");
  FleetSpec fleet;
  Problems problems;
  check_keys(root,
             {"bind", "base_port", "control_port", "credentials", "seed", "state_dir", "minute_ms",
              "workers", "api_tls", "syslog", "meraki", "groups", "devices"},
             "fleet", problems);
  read_string(root, "bind", fleet.bind, "fleet", problems);
  read_number(root, "base_port", fleet.base_port, "fleet", problems, 1024, 60000);
  read_number(root, "control_port", fleet.control_port, "fleet", problems, 0, 65535);
  read_number(root, "seed", fleet.seed, "fleet", problems, 0, 1e15);
  read_string(root, "state_dir", fleet.state_dir, "fleet", problems);
  read_number(root, "minute_ms", fleet.minute_ms, "fleet", problems, 10, 3600000);
  read_number(root, "workers", fleet.workers, "fleet", problems, 1, 64);
  read_bool(root, "api_tls", fleet.api_tls, "fleet", problems);
  if (root.contains("credentials")) {
    const auto& creds = root["credentials"];
    check_keys(creds, {"username", "password", "enable_secret", "authorized_keys"},
               "fleet.credentials", problems);
    read_string(creds, "username", fleet.username, "fleet.credentials", problems);
    read_string(creds, "password", fleet.password, "fleet.credentials", problems);
    read_string(creds, "enable_secret", fleet.enable_secret, "fleet.credentials", problems);
    if (creds.contains("authorized_keys")) {
      if (!creds["authorized_keys"].is_array()) {
        problems.add("fleet.credentials.authorized_keys", "expected a list of public key files");
      } else {
        for (const auto& file : creds["authorized_keys"]) {
          if (file.is_string()) fleet.authorized_key_files.push_back(file.get<std::string>());
        }
      }
    }
  }
  if (root.contains("syslog")) {
    const auto& syslog = root["syslog"];
    check_keys(syslog, {"collector", "format"}, "fleet.syslog", problems);
    std::string collector, format = "rfc5424";
    read_string(syslog, "collector", collector, "fleet.syslog", problems);
    read_string(syslog, "format", format, "fleet.syslog", problems);
    auto colon = collector.rfind(':');
    if (!collector.empty()) {
      int port = colon == std::string::npos ? 0 : std::atoi(collector.c_str() + colon + 1);
      if (colon == std::string::npos || port <= 0 || port > 65535) {
        problems.add("fleet.syslog.collector", "expected HOST:PORT such as 127.0.0.1:5514");
      } else {
        fleet.syslog.collector_host = collector.substr(0, colon);
        fleet.syslog.collector_port = static_cast<uint16_t>(port);
      }
    }
    if (format != "rfc5424" && format != "rfc3164") {
      problems.add("fleet.syslog.format", "expected rfc5424 or rfc3164, got " + format);
    }
    fleet.syslog.rfc5424 = format == "rfc5424";
  }
  if (root.contains("meraki")) {
    const auto& meraki = root["meraki"];
    fleet.meraki.enabled = true;
    check_keys(meraki,
               {"enabled", "api_key", "organizations", "networks_per_org", "devices_per_network",
                "requests_per_second"},
               "fleet.meraki", problems);
    read_bool(meraki, "enabled", fleet.meraki.enabled, "fleet.meraki", problems);
    read_string(meraki, "api_key", fleet.meraki.api_key, "fleet.meraki", problems);
    read_number(meraki, "organizations", fleet.meraki.organizations, "fleet.meraki", problems, 1,
                100);
    read_number(meraki, "networks_per_org", fleet.meraki.networks_per_org, "fleet.meraki", problems,
                0, 1000);
    read_number(meraki, "devices_per_network", fleet.meraki.devices_per_network, "fleet.meraki",
                problems, 0, 10000);
    read_number(meraki, "requests_per_second", fleet.meraki.requests_per_second, "fleet.meraki",
                problems, 0.1, 100000);
  }
  std::vector<DeviceGroup> groups;
  if (root.contains("groups")) {
    if (!root["groups"].is_array()) problems.add("fleet.groups", "expected a list of groups");
    int i = 0;
    for (const auto& item : root["groups"]) {
      std::string where = "fleet.groups[" + std::to_string(i++) + "]";
      DeviceGroup group;
      check_keys(item, {"platform", "count", "name", "site", "role", "ports", "api", "faults"},
                 where, problems);
      std::string platform;
      read_string(item, "platform", platform, where, problems);
      auto parsed = parse_platform(platform);
      if (!parsed) {
        problems.add(
            where + ".platform",
            "expected cisco_ios, arista_eos, cisco_nxos or juniper_junos, got '" + platform + "'");
      } else {
        group.platform = *parsed;
      }
      read_number(item, "count", group.count, where, problems, 0, 20000);
      read_string(item, "name", group.name_pattern, where, problems);
      read_string(item, "site", group.site, where, problems);
      read_string(item, "role", group.role, where, problems);
      read_number(item, "ports", group.ports, where, problems, 2, 64);
      read_bool(item, "api", group.api, where, problems);
      if (item.contains("faults")) {
        auto faults = Faults::from_json(item["faults"], where + ".faults");
        if (!faults) {
          problems.add(where + ".faults", faults.error().message);
        } else {
          group.faults = *faults;
        }
      }
      groups.push_back(group);
    }
  }
  auto checked = problems.result(origin);
  if (!checked) return checked.error();
  auto built = build_devices(fleet, groups);
  if (!built) return built.error();
  if (root.contains("devices")) {
    for (const auto& item : root["devices"].items()) {
      std::string where = "fleet.devices." + item.key();
      auto it = std::find_if(fleet.devices.begin(), fleet.devices.end(),
                             [&](const DeviceSpec& d) { return d.name == item.key(); });
      if (it == fleet.devices.end()) {
        problems.add(where, "no device of that name in the groups");
        continue;
      }
      check_keys(item.value(), {"faults", "site", "role"}, where, problems);
      read_string(item.value(), "site", it->site, where, problems);
      read_string(item.value(), "role", it->role, where, problems);
      if (item.value().contains("faults")) {
        auto faults = Faults::from_json(item.value()["faults"], where + ".faults");
        if (!faults) {
          problems.add(where + ".faults", faults.error().message);
        } else {
          it->faults = *faults;
        }
      }
    }
  }
  checked = problems.result(origin);
  if (!checked) return checked.error();
  return fleet;
}

Result<void> build_devices(FleetSpec& fleet, const std::vector<DeviceGroup>& groups) {
  if (fleet.bind != "127.0.0.1" && fleet.bind != "::1" && fleet.bind != "localhost") {
    return fail(Errc::InvalidConfig,
                "nauto-lab serves loopback only; bind must be 127.0.0.1, got " + fleet.bind,
                "bind");
  }
  int total = 0;
  int api_count = 0;
  for (const auto& group : groups)
    total += group.count;
  if (total == 0) {
    return fail(Errc::InvalidConfig,
                "the fleet has no devices; add a group (platform, count) or pass --devices N");
  }
  std::set<std::string> names;
  fleet.devices.clear();
  int number = 0;
  for (const auto& group : groups) {
    for (int i = 0; i < group.count; ++i) {
      ++number;
      DeviceSpec device;
      std::string pattern =
          group.name_pattern.empty() ? default_prefix(group.platform) + "{n}" : group.name_pattern;
      auto at = pattern.find("{n}");
      device.name = at == std::string::npos
                        ? pattern + std::to_string(i + 1)
                        : pattern.substr(0, at) + std::to_string(number) + pattern.substr(at + 3);
      if (!names.insert(device.name).second) {
        return fail(Errc::InvalidConfig, "two devices are named " + device.name +
                                             "; give each group a distinct name pattern with {n}");
      }
      device.platform = group.platform;
      device.index = number - 1;
      device.ports = group.ports;
      device.site = group.site;
      device.role = group.role;
      device.faults = group.faults;
      bool has_api = group.api && (group.platform == Platform::AristaEos ||
                                   group.platform == Platform::CiscoNxos);
      device.api_port = has_api ? 1 : 0;  // numbered below once the SSH range is known
      if (has_api) ++api_count;
      fleet.devices.push_back(std::move(device));
    }
  }
  // Ports: control, dashboard, then one SSH port per device, then API ports.
  long last = static_cast<long>(fleet.base_port) + 2 + total + api_count;
  if (last > 65535) {
    return fail(Errc::InvalidConfig, "base_port " + std::to_string(fleet.base_port) +
                                         " leaves no room for " + std::to_string(total) +
                                         " devices; lower it");
  }
  if (fleet.control_port == 0) fleet.control_port = fleet.base_port;
  if (fleet.meraki.enabled && fleet.meraki.port == 0) {
    fleet.meraki.port = static_cast<uint16_t>(fleet.base_port + 1);
  }
  uint16_t next_api = static_cast<uint16_t>(fleet.base_port + 2 + total);
  auto asn = [](int k) -> uint64_t {
    return k < 500 ? 65001u + static_cast<uint64_t>(k) : 4200000000ull + static_cast<uint64_t>(k);
  };
  for (auto& device : fleet.devices) {
    int k = device.index;
    device.ssh_port = static_cast<uint16_t>(fleet.base_port + 2 + k);
    if (device.api_port != 0) device.api_port = next_api++;
    device.local_as = asn(k);
    device.loopback =
        format_ipv4((192u << 24) | (168u << 16) | (static_cast<uint32_t>(k + 1) & 0xffff));
    // Ring: port 0 faces the next device, port 1 the previous one. Link k joins k and k+1.
    int n = total;
    auto link_base = [](int link) { return (10u << 24) | (static_cast<uint32_t>(link) * 4u); };
    LinkPeer up;
    up.local_port = port_name(device.platform, 0);
    up.local_address = format_ipv4(link_base(k) + 1);
    up.remote_address = format_ipv4(link_base(k) + 2);
    if (n == 1) {
      up.remote_name = "upstream";
      up.remote_port = "Ethernet1";
      up.remote_as = 64999;
    } else {
      const auto& next = fleet.devices[static_cast<size_t>((k + 1) % n)];
      up.remote_name = next.name;
      up.remote_port = port_name(next.platform, 1);
      up.remote_as = asn((k + 1) % n);
    }
    if (n != 2 || k == 0) device.links.push_back(up);
    if (n > 2 || (n == 2 && k == 1)) {
      int previous_index = (k + n - 1) % n;
      const auto& previous = fleet.devices[static_cast<size_t>(previous_index)];
      LinkPeer down;
      down.local_port = port_name(device.platform, 1);
      down.local_address = format_ipv4(link_base(previous_index) + 2);
      down.remote_address = format_ipv4(link_base(previous_index) + 1);
      down.remote_name = previous.name;
      down.remote_port = port_name(previous.platform, 0);
      down.remote_as = asn(previous_index);
      device.links.push_back(down);
    }
  }
  return ok();
}

}  // namespace nauto::lab
