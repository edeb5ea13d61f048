#include "device.h"

#include <algorithm>
#include <chrono>

#include "confirm_timers.h"
#include "device_events.h"
#include "ipv4.h"

namespace nauto::lab {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

// "10.0.0.1 255.255.255.252" or "10.0.0.1/30" -> (address, length)
std::pair<std::string, int> parse_address(const std::vector<std::string>& words, size_t at) {
  if (at >= words.size()) return {};
  const auto& first = words[at];
  auto slash = first.find('/');
  if (slash != std::string::npos) {
    return {first.substr(0, slash), std::atoi(first.c_str() + slash + 1)};
  }
  if (at + 1 < words.size()) return {first, mask_to_prefix(words[at + 1])};
  return {first, 32};
}

std::string mac_for(uint64_t seed, int index, int port) {
  uint64_t value = mix(seed, static_cast<uint64_t>(index) * 131 + static_cast<uint64_t>(port));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "5254.%02x%02x.%02x%02x",
                static_cast<unsigned>(index >> 8) & 255, static_cast<unsigned>(index) & 255,
                static_cast<unsigned>(value >> 8) & 255, static_cast<unsigned>(port) & 255);
  return buffer;
}

}  // namespace

uint64_t mix(uint64_t seed, uint64_t salt) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + salt + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const InterfaceView* DeviceView::interface(std::string_view name) const {
  for (const auto& item : interfaces) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

Device::Device(DeviceSpec spec, const FleetSpec& fleet, EventSink* sink, int64_t lab_start_us)
    : spec_(std::move(spec)), fleet_(fleet), sink_(sink) {
  // Devices have been up for a while: between 1 and 400 days, the same for the same seed.
  int64_t days = 1 + static_cast<int64_t>(mix(fleet.seed, spec_.index * 7 + 1) % 400);
  boot_us_ = lab_start_us - days * 86400LL * 1000000LL -
             static_cast<int64_t>(mix(fleet.seed, spec_.index) % 86400) * 1000000LL;
  state_.faults = spec_.faults;
  build_initial_config();
  state_.config_changed_us = lab_start_us;
  state_.config_changed_by = fleet.username;
  (void)take_changes_locked();  // first look: remember states, report nothing
  initial_ = state_;
}

void Device::build_initial_config() {
  const auto& s = spec_;
  auto link_on = [&](const std::string& port) -> const LinkPeer* {
    for (const auto& link : s.links) {
      if (link.local_port == port) return &link;
    }
    return nullptr;
  };
  if (s.platform == Platform::JuniperJunos) {
    std::string text = "set system host-name " + s.name + "\n" + "set system login user " +
                       fleet_.username + " class super-user\n" +
                       "set system services ssh\nset system services netconf ssh\n";
    for (int p = 0; p < s.ports; ++p) {
      auto name = port_name(s.platform, p);
      if (const auto* link = link_on(name)) {
        text += "set interfaces " + name + " description \"to " + link->remote_name + " " +
                link->remote_port + "\"\n";
        text += "set interfaces " + name + " unit 0 family inet address " + link->local_address +
                "/" + std::to_string(link->prefix_length) + "\n";
      } else {
        text += "set interfaces " + name + " disable\n";
      }
    }
    text += "set interfaces lo0 unit 0 family inet address " + s.loopback + "/32\n";
    text += "set routing-options router-id " + s.loopback + "\n";
    text += "set routing-options autonomous-system " + std::to_string(s.local_as) + "\n";
    text += "set protocols bgp group EBGP type external\n";
    for (const auto& link : s.links) {
      text += "set protocols bgp group EBGP neighbor " + link.remote_address + " description " +
              link.remote_name + "\n";
      text += "set protocols bgp group EBGP neighbor " + link.remote_address + " peer-as " +
              std::to_string(link.remote_as) + "\n";
    }
    text += "set protocols lldp interface all\n";
    state_.committed = JunosConfig::parse_set_lines(text);
    state_.candidate = state_.committed;
    return;
  }
  const bool ios = s.platform == Platform::CiscoIos;
  const bool eos = s.platform == Platform::AristaEos;
  const bool nxos = s.platform == Platform::CiscoNxos;
  auto address = [&](const std::string& ip, int length) {
    return ios ? "ip address " + ip + " " + prefix_to_mask(length)
               : "ip address " + ip + "/" + std::to_string(length);
  };
  auto& config = state_.running;
  if (ios) {
    config.set({}, "version 15.7");
    config.set({}, "service timestamps debug datetime msec");
    config.set({}, "service timestamps log datetime msec");
    config.set({}, "no service password-encryption");
  }
  if (nxos) {
    config.set({}, "version 9.3(8) Bios:version 05.45");
    config.set({}, "feature bgp");
    config.set({}, "feature lldp");
  }
  if (eos) config.set({}, "no aaa root");
  config.set({}, "hostname " + s.name);
  if (ios) {
    config.set({}, "enable secret 9 $9$lab$" + std::to_string(mix(fleet_.seed, 99) % 100000000));
    config.set({}, "no aaa new-model");
    config.set({}, "ip domain name lab.example");
    config.set({}, "username " + fleet_.username + " privilege 15 secret 9 $9$lab$" +
                       std::to_string(mix(fleet_.seed, 98) % 100000000));
  } else if (eos) {
    config.set({}, "username " + fleet_.username +
                       " privilege 15 role network-admin secret sha512 $6$lab$" +
                       std::to_string(mix(fleet_.seed, 98) % 100000000));
    config.set({}, "spanning-tree mode mstp");
  } else {
    config.set({}, "username " + fleet_.username + " password 5 $5$lab$" +
                       std::to_string(mix(fleet_.seed, 98) % 100000000) + " role network-admin");
  }
  std::string loopback = ios ? "Loopback0" : (eos ? "Loopback0" : "loopback0");
  config.set({"interface " + loopback}, address(s.loopback, 32));
  for (int p = 0; p < s.ports; ++p) {
    auto name = port_name(s.platform, p);
    ConfigPath path{"interface " + name};
    config.ensure(path);
    if (const auto* link = link_on(name)) {
      config.set(path, "description to " + link->remote_name + " " + link->remote_port);
      if (!ios) config.set(path, "no switchport");
      config.set(path, address(link->local_address, link->prefix_length));
    } else {
      if (ios) config.set(path, "no ip address");
      config.set(path, "shutdown");
    }
  }
  if (eos) {
    config.ensure({"interface Management1"});
    config.set({}, "ip routing");
  }
  if (nxos) config.ensure({"interface mgmt0"});
  ConfigPath bgp{"router bgp " + std::to_string(s.local_as)};
  config.set(bgp, (ios ? "bgp router-id " : "router-id ") + s.loopback);
  if (ios) config.set(bgp, "bgp log-neighbor-changes");
  for (const auto& link : s.links) {
    if (nxos) {
      ConfigPath neighbor = bgp;
      neighbor.push_back("neighbor " + link.remote_address);
      config.set(neighbor, "remote-as " + std::to_string(link.remote_as));
      config.set(neighbor, "description " + link.remote_name);
      neighbor.push_back("address-family ipv4 unicast");
      config.ensure(neighbor);
    } else {
      config.set(
          bgp, "neighbor " + link.remote_address + " remote-as " + std::to_string(link.remote_as));
      config.set(bgp, "neighbor " + link.remote_address + " description " + link.remote_name);
    }
  }
  if (ios) {
    config.set({"line vty 0 4"}, "login local");
    config.set({"line vty 0 4"}, "transport input ssh");
    config.set({}, "banner motd ^CAuthorized access only. nauto-lab device " + s.name + "^C");
  }
  state_.startup = state_.running;
}

std::string Device::hostname_locked(const DeviceState& state) const {
  if (spec_.platform == Platform::JuniperJunos) {
    auto name = state.committed.value_at({"system"}, "host-name");
    return name.empty() ? spec_.name : name;
  }
  for (const auto& node : *state.running.children({})) {
    if (starts_with(node.line, "hostname ")) return node.line.substr(9);
  }
  return spec_.name;
}

DeviceView Device::view() const {
  std::lock_guard lock(mutex_);
  return view_of(state_);
}

DeviceView Device::view_locked(const DeviceState& state) const {
  return view_of(state);
}

DeviceView Device::view_of(const DeviceState& state) const {
  DeviceView view;
  const auto& s = spec_;
  const int64_t now = wall_us();
  view.hostname = hostname_locked(state);
  view.platform = s.platform;
  view.uptime_s = (now - boot_us_) / 1000000;
  char serial[32];
  uint64_t r = mix(fleet_.seed, static_cast<uint64_t>(s.index) + 1000);
  switch (s.platform) {
    case Platform::CiscoIos:
      view.model = "CISCO3945-CHASSIS";
      view.os_version = "15.7(3)M8";
      std::snprintf(serial, sizeof serial, "FTX%04u%04u", static_cast<unsigned>(r % 10000),
                    static_cast<unsigned>((r >> 16) % 10000));
      break;
    case Platform::AristaEos:
      view.model = "DCS-7050TX-64-R";
      view.os_version = "4.28.3M";
      std::snprintf(serial, sizeof serial, "JPE%08u", static_cast<unsigned>(r % 100000000));
      break;
    case Platform::CiscoNxos:
      view.model = "N9K-C93180YC-EX";
      view.os_version = "9.3(8)";
      std::snprintf(serial, sizeof serial, "FDO%08u", static_cast<unsigned>(r % 100000000));
      break;
    case Platform::JuniperJunos:
      view.model = "mx204";
      view.os_version = "21.4R3-S3.4";
      std::snprintf(serial, sizeof serial, "JN%010llX",
                    static_cast<unsigned long long>(r % 0xFFFFFFFFFFull));
      break;
  }
  view.serial = serial;
  view.system_mac = mac_for(fleet_.seed, s.index, 255);
  view.local_as = s.local_as;
  view.last_change_by = state.config_changed_by;
  view.last_change_time_us = state.config_changed_us;
  auto since = [&](const std::string& key) {
    auto it = state.since_us.find(key);
    return it == state.since_us.end() ? view.uptime_s : (now - it->second) / 1000000;
  };
  auto peer_on = [&](const std::string& port) -> const LinkPeer* {
    for (const auto& link : s.links) {
      if (link.local_port == port) return &link;
    }
    return nullptr;
  };
  auto add_interface = [&](InterfaceView item) {
    item.if_index = static_cast<int>(view.interfaces.size()) + 1;
    bool loopback = starts_with(item.name, "Loopback") || starts_with(item.name, "loopback") ||
                    item.name == "lo0";
    item.physical = !loopback && item.name != "Management1" && item.name != "mgmt0";
    item.peer = peer_on(item.name);
    if (loopback) {
      item.oper_up = item.admin_up;
      item.mtu = 65535;
    } else {
      bool cabled = item.peer != nullptr || !item.physical;
      item.oper_up = item.admin_up && cabled && !state.links_down.contains(item.name);
    }
    if (item.mac.empty()) item.mac = loopback ? "" : mac_for(fleet_.seed, s.index, item.if_index);
    item.speed_mbps = s.platform == Platform::CiscoNxos ? 10000 : 1000;
    item.last_change_s = since("if:" + item.name);
    if (item.oper_up) {
      uint64_t rate =
          5 + mix(fleet_.seed, static_cast<uint64_t>(s.index * 64 + item.if_index)) % 200;
      uint64_t seconds = static_cast<uint64_t>(std::max<int64_t>(view.uptime_s, 1));
      item.in_packets = seconds * rate;
      item.out_packets = seconds * rate * 9 / 10;
      item.in_bytes = item.in_packets * 412;
      item.out_bytes = item.out_packets * 389;
      item.broadcasts = seconds / 30;
      item.multicasts = seconds / 2;
    }
    view.interfaces.push_back(std::move(item));
  };
  if (s.platform == Platform::JuniperJunos) {
    const auto& config = state.committed;
    std::set<std::string> seen;
    auto from_config = [&](const std::string& name) {
      InterfaceView item;
      item.name = name;
      if (const auto* node = config.find({"interfaces", name})) {
        for (const auto& child : node->children) {
          if (child.kind == JunosNode::Kind::Value && child.name == "description") {
            item.description = child.value;
          } else if (child.name == "disable") {
            item.admin_up = false;
          } else if (child.kind == JunosNode::Kind::Value && child.name == "mtu") {
            item.mtu = std::atoi(child.value.c_str());
          }
        }
        if (const auto* inet = config.find({"interfaces", name, "unit 0", "family", "inet"})) {
          for (const auto& child : inet->children) {
            if (child.kind == JunosNode::Kind::Keyed && child.name == "address") {
              auto parsed = parse_address({child.value}, 0);
              item.address = parsed.first;
              item.prefix_length = parsed.second;
              break;
            }
          }
        }
      }
      add_interface(std::move(item));
      seen.insert(name);
    };
    for (int p = 0; p < s.ports; ++p)
      from_config(port_name(s.platform, p));
    if (const auto* interfaces = config.find({"interfaces"})) {
      for (const auto& node : interfaces->children) {
        if (!seen.contains(node.name)) from_config(node.name);
      }
    }
    view.router_id = config.value_at({"routing-options"}, "router-id");
    auto as_text = config.value_at({"routing-options"}, "autonomous-system");
    if (!as_text.empty()) view.local_as = std::strtoull(as_text.c_str(), nullptr, 10);
    if (const auto* bgp = config.find({"protocols", "bgp"})) {
      for (const auto& group : bgp->children) {
        if (group.kind != JunosNode::Kind::Keyed || group.name != "group") continue;
        std::string group_as;
        bool group_disabled = false;
        for (const auto& child : group.children) {
          if (child.kind == JunosNode::Kind::Value && child.name == "peer-as")
            group_as = child.value;
          if (child.name == "disable") group_disabled = true;
        }
        for (const auto& neighbor : group.children) {
          if (neighbor.kind != JunosNode::Kind::Keyed || neighbor.name != "neighbor") continue;
          BgpPeerView peer;
          peer.address = neighbor.value;
          std::string peer_as = group_as;
          peer.admin_up = !group_disabled;
          for (const auto& child : neighbor.children) {
            if (child.kind == JunosNode::Kind::Value && child.name == "peer-as")
              peer_as = child.value;
            if (child.kind == JunosNode::Kind::Value && child.name == "description") {
              peer.description = child.value;
            }
            if (child.name == "disable") peer.admin_up = false;
          }
          peer.remote_as = std::strtoull(peer_as.c_str(), nullptr, 10);
          view.peers.push_back(std::move(peer));
        }
      }
    }
    if (const auto* statics = config.find({"routing-options", "static"})) {
      for (const auto& route : statics->children) {
        if (route.kind != JunosNode::Kind::Keyed || route.name != "route") continue;
        RouteView item;
        auto parsed = parse_address({route.value}, 0);
        item.prefix = parsed.first;
        item.length = parsed.second;
        item.code = 'S';
        item.distance = 5;
        for (const auto& child : route.children) {
          if (child.name == "next-hop") item.next_hop = child.value;
        }
        view.routes.push_back(std::move(item));
      }
    }
  } else {
    const auto& top = *state.running.children({});
    for (const auto& node : top) {
      if (starts_with(node.line, "interface ")) {
        InterfaceView item;
        item.name = node.line.substr(10);
        for (const auto& child : node.children) {
          auto words = split_words(child.line);
          if (words.empty()) continue;
          if (words[0] == "description") item.description = child.line.substr(12);
          if (words[0] == "shutdown") item.admin_up = false;
          if (words[0] == "mtu" && words.size() > 1) item.mtu = std::atoi(words[1].c_str());
          if (words.size() >= 3 && words[0] == "ip" && words[1] == "address") {
            auto parsed = parse_address(words, 2);
            item.address = parsed.first;
            item.prefix_length = parsed.second;
          }
        }
        add_interface(std::move(item));
      } else if (starts_with(node.line, "router bgp ")) {
        view.local_as = std::strtoull(node.line.c_str() + 11, nullptr, 10);
        std::map<std::string, BgpPeerView> peers;
        std::vector<std::string> order;
        auto peer = [&](const std::string& address) -> BgpPeerView& {
          if (!peers.contains(address)) order.push_back(address);
          auto& item = peers[address];
          item.address = address;
          return item;
        };
        for (const auto& child : node.children) {
          auto words = split_words(child.line);
          if (words.size() >= 2 && (words[0] == "router-id" || words[0] == "bgp") &&
              (words[0] == "router-id" || words[1] == "router-id")) {
            view.router_id = words.back();
          }
          if (words.size() >= 3 && words[0] == "neighbor") {
            auto& item = peer(words[1]);
            if (words[2] == "remote-as" && words.size() > 3) {
              item.remote_as = std::strtoull(words[3].c_str(), nullptr, 10);
            }
            if (words[2] == "shutdown") item.admin_up = false;
            if (words[2] == "description") item.description = join_words(words, 3);
          } else if (words.size() == 2 && words[0] == "neighbor") {
            auto& item = peer(words[1]);  // NX-OS: neighbor section
            for (const auto& setting : child.children) {
              auto sw = split_words(setting.line);
              if (sw.size() >= 2 && sw[0] == "remote-as") {
                item.remote_as = std::strtoull(sw[1].c_str(), nullptr, 10);
              }
              if (!sw.empty() && sw[0] == "shutdown") item.admin_up = false;
              if (sw.size() >= 2 && sw[0] == "description") item.description = join_words(sw, 1);
            }
          }
        }
        for (const auto& address : order)
          view.peers.push_back(peers[address]);
      } else if (starts_with(node.line, "ip route ")) {
        auto words = split_words(node.line);
        RouteView item;
        item.code = 'S';
        item.distance = 1;
        if (words.size() >= 4 && words[2].find('/') != std::string::npos) {
          auto parsed = parse_address(words, 2);
          item.prefix = parsed.first;
          item.length = parsed.second;
          item.next_hop = words[3];
        } else if (words.size() >= 5) {
          item.prefix = words[2];
          item.length = mask_to_prefix(words[3]);
          item.next_hop = words[4];
        } else {
          continue;
        }
        view.routes.push_back(std::move(item));
      }
    }
  }
  if (view.router_id.empty()) view.router_id = s.loopback;
  // Routing: connected and local routes of up interfaces; statics whose next hop is reachable;
  // BGP routes from established peers.
  std::vector<RouteView> routes;
  auto connected_via = [&](const std::string& address) -> const InterfaceView* {
    uint32_t target = parse_ipv4(address);
    for (const auto& item : view.interfaces) {
      if (item.address.empty() || !item.oper_up) continue;
      uint32_t mask = mask_of(item.prefix_length);
      if ((parse_ipv4(item.address) & mask) == (target & mask)) return &item;
    }
    return nullptr;
  };
  for (const auto& item : view.interfaces) {
    if (item.address.empty() || !item.oper_up) continue;
    uint32_t mask = mask_of(item.prefix_length);
    RouteView route;
    route.prefix = format_ipv4(parse_ipv4(item.address) & mask);
    route.length = item.prefix_length;
    route.code = 'C';
    route.interface = item.name;
    route.age_s = item.last_change_s;
    routes.push_back(route);
    if (item.prefix_length < 32) {
      route.prefix = item.address;
      route.length = 32;
      route.code = 'L';
      routes.push_back(route);
    }
  }
  for (auto& route : view.routes) {
    if (const auto* via = connected_via(route.next_hop)) {
      route.interface = via->name;
      route.age_s = via->last_change_s;
      routes.push_back(route);
    }
  }
  for (auto& peer : view.peers) {
    const LinkPeer* link = nullptr;
    for (const auto& candidate : s.links) {
      if (candidate.remote_address == peer.address) link = &candidate;
    }
    bool reachable = connected_via(peer.address) != nullptr;
    bool as_matches = link != nullptr && link->remote_as == peer.remote_as;
    peer.established =
        peer.admin_up && reachable && as_matches && !state.peers_down.contains(peer.address);
    peer.state = peer.established ? "Established"
                                  : (peer.admin_up ? (reachable ? "Active" : "Idle") : "Idle");
    peer.up_seconds = since("bgp:" + peer.address);
    if (peer.established) {
      peer.prefixes = 2;
      peer.messages_in = 12 + static_cast<uint64_t>(peer.up_seconds) / 60;
      peer.messages_out = 11 + static_cast<uint64_t>(peer.up_seconds) / 60;
      uint32_t hash = static_cast<uint32_t>(mix(7, parse_ipv4(peer.address)) & 0xff);
      for (int i = 0; i < 2; ++i) {
        RouteView route;
        route.prefix =
            format_ipv4((172u << 24) | ((16u + static_cast<uint32_t>(i)) << 16) | (hash << 8));
        route.length = 24;
        route.code = 'B';
        route.next_hop = peer.address;
        if (const auto* via = connected_via(peer.address)) route.interface = via->name;
        route.distance = 20;
        route.age_s = peer.up_seconds;
        routes.push_back(route);
      }
    }
  }
  std::stable_sort(routes.begin(), routes.end(), [](const RouteView& a, const RouteView& b) {
    return std::make_pair(parse_ipv4(a.prefix), a.length) <
           std::make_pair(parse_ipv4(b.prefix), b.length);
  });
  view.routes = std::move(routes);
  return view;
}

std::vector<DeviceEvent> Device::take_changes_locked() {
  auto current = view_of(state_);
  std::vector<DeviceEvent> events;
  const bool first_look = state_.last_seen.empty();
  const int64_t now = wall_us();
  std::map<std::string, std::string> seen;
  for (const auto& item : current.interfaces) {
    std::string key = "if:" + item.name;
    std::string value = item.oper_up ? "up" : (item.admin_up ? "down" : "admin-down");
    seen[key] = value;
    auto it = state_.last_seen.find(key);
    if (first_look || it == state_.last_seen.end() || it->second == value) continue;
    state_.since_us[key] = now;
    for (auto& event : interface_events(current, item, it->second))
      events.push_back(event);
  }
  for (const auto& peer : current.peers) {
    std::string key = "bgp:" + peer.address;
    std::string value = peer.established ? "Established" : peer.state;
    seen[key] = value;
    auto it = state_.last_seen.find(key);
    bool was_up = it != state_.last_seen.end() && it->second == "Established";
    if (first_look || was_up == peer.established) continue;
    if (it == state_.last_seen.end() && !peer.established) continue;
    state_.since_us[key] = now;
    events.push_back(bgp_event(current, peer, was_up));
  }
  state_.last_seen = std::move(seen);
  return events;
}

void Device::publish(const std::vector<DeviceEvent>& events) {
  if (sink_ == nullptr || events.empty()) return;
  std::string hostname = read([&](const DeviceState& state) { return hostname_locked(state); });
  for (const auto& event : events)
    sink_->emit(spec_, hostname, event);
}

void Device::record_command(std::string channel, std::string text) {
  std::lock_guard lock(mutex_);
  state_.commands.push_back(CommandRecord{wall_us(), std::move(channel), std::move(text)});
  while (state_.commands.size() > 2000)
    state_.commands.pop_front();
}

void Device::command_done(const std::string& channel, int64_t began_us, int64_t done_us) {
  std::lock_guard lock(mutex_);
  for (auto it = state_.commands.rbegin(); it != state_.commands.rend() && it->time_us >= began_us;
       ++it) {
    if (it->channel == channel && it->done_us == 0) {
      it->done_us = done_us;
      return;
    }
  }
}

void Device::config_changed(const std::string& user, const std::string& peer) {
  std::string hostname;
  {
    std::lock_guard lock(mutex_);
    state_.config_changed_us = wall_us();
    state_.config_changed_by = user;
    hostname = hostname_locked(state_);
  }
  if (sink_ != nullptr) sink_->emit(spec_, hostname, config_event(spec_.platform, user, peer));
}

void DeviceState::remember(const JunosConfig& config) {
  history.push_front(config);
  if (history.size() > 49) history.pop_back();
}

void DeviceState::commit_candidate(std::optional<int64_t> confirm_deadline_steady_ms) {
  auto previous = committed;
  if (!(candidate == committed)) remember(committed);
  committed = candidate;
  if (confirm_deadline_steady_ms) {
    auto base = confirm ? confirm->previous : previous;
    confirm = PendingConfirm{*confirm_deadline_steady_ms, std::move(base)};
  } else {
    confirm.reset();
  }
}

bool DeviceState::candidate_locked_by_other(const std::string& session) const {
  return !candidate_lock.empty() && candidate_lock != session;
}

bool DeviceState::take_candidate_lock(const std::string& session) {
  if (candidate_locked_by_other(session)) return false;
  candidate_lock = session;
  return true;
}

bool DeviceState::release_candidate_lock(const std::string& session) {
  if (candidate_lock != session) return false;
  candidate_lock.clear();
  return true;
}

void Device::commit_candidate(std::optional<int64_t> confirm_deadline_steady_ms) {
  mutate([&](DeviceState& state) { state.commit_candidate(confirm_deadline_steady_ms); });
  if (confirm_deadline_steady_ms && confirm_timers_)
    confirm_timers_->add(*confirm_deadline_steady_ms, this);
}

void Device::expire_confirmed_commit(int64_t now_steady_ms) {
  bool rolled_back = mutate([&](DeviceState& state) {
    if (!state.confirm || state.confirm->deadline_steady_ms > now_steady_ms) return false;
    state.remember(state.committed);
    state.committed = state.confirm->previous;
    state.candidate = state.committed;
    state.confirm.reset();
    return true;
  });
  if (rolled_back) config_changed("root", "commit confirmed timeout");
}

void Device::reset() {
  mutate([&](DeviceState& state) {
    auto last_seen = state.last_seen;
    auto since = state.since_us;
    state = initial_;
    state.last_seen = last_seen;
    state.since_us = since;
  });
}

Faults Device::faults() const {
  std::lock_guard lock(mutex_);
  return state_.faults;
}

void Device::set_faults(const Faults& faults) {
  std::lock_guard lock(mutex_);
  state_.faults = faults;
}

std::string Device::running_config_text() const {
  std::lock_guard lock(mutex_);
  return running_config_text_locked(state_);
}

std::optional<std::string> Device::canonical_interface(std::string_view typed) const {
  struct Kind {
    std::string_view full;
    bool creatable;
  };
  static const std::vector<Kind> kIos{{"GigabitEthernet", false},
                                      {"Loopback", true},
                                      {"Vlan", true},
                                      {"Port-channel", true},
                                      {"Tunnel", true}};
  static const std::vector<Kind> kEos{{"Ethernet", false},
                                      {"Management", false},
                                      {"Loopback", true},
                                      {"Vlan", true},
                                      {"Port-Channel", true}};
  static const std::vector<Kind> kNxos{{"Ethernet", false},
                                       {"mgmt", false},
                                       {"loopback", true},
                                       {"Vlan", true},
                                       {"port-channel", true}};
  static const std::vector<Kind> kJunos{
      {"ge-", false}, {"lo", true}, {"fxp", false}, {"ae", true}, {"irb", true}};
  const auto& kinds = spec_.platform == Platform::CiscoIos    ? kIos
                      : spec_.platform == Platform::AristaEos ? kEos
                      : spec_.platform == Platform::CiscoNxos ? kNxos
                                                              : kJunos;
  std::string text;
  for (char c : typed) {
    if (c != ' ') text += c;
  }
  size_t split = 0;
  while (split < text.size() && !std::isdigit(static_cast<unsigned char>(text[split])))
    ++split;
  if (spec_.platform == Platform::JuniperJunos)
    split = text.rfind('-') == std::string::npos ? split : 3;
  std::string letters = text.substr(0, split);
  std::string numbers = text.substr(split);
  if (letters.empty() || numbers.empty()) return std::nullopt;
  for (const auto& kind : kinds) {
    if (letters.size() > kind.full.size()) continue;
    bool match = true;
    for (size_t i = 0; i < letters.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(letters[i])) !=
          std::tolower(static_cast<unsigned char>(kind.full[i]))) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    std::string name = std::string(kind.full) + numbers;
    if (kind.creatable) return name;
    if (name == "Management1" || name == "mgmt0" || name == "fxp0") return name;
    for (int p = 0; p < spec_.ports; ++p) {
      if (port_name(spec_.platform, p) == name) return name;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace nauto::lab
