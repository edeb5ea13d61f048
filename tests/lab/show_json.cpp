// Structured output for eAPI (arista_eos) and NX-API (cisco_nxos), shaped like the real APIs'
// JSON for the same commands.
#include "show_format.h"
#include "show_output.h"

namespace nauto::lab {
namespace {

nlohmann::json eos_json(Show what, const DeviceView& view) {
  using nlohmann::json;
  switch (what) {
    case Show::Version:
      return {{"modelName", view.model},
              {"internalVersion", view.os_version + "-28837868.4283M"},
              {"systemMacAddress", view.system_mac},
              {"serialNumber", view.serial},
              {"version", view.os_version},
              {"architecture", "x86_64"},
              {"hardwareRevision", "11.02"},
              {"uptime", static_cast<double>(view.uptime_s)},
              {"memTotal", 8099732},
              {"memFree", 5623120},
              {"hostname", view.hostname}};
    case Show::InterfacesStatus: {
      json statuses = json::object();
      for (const auto& item : view.interfaces) {
        if (!item.physical) continue;
        statuses[item.name] = {
            {"description", item.description},
            {"linkStatus",
             item.admin_up ? (item.oper_up ? "connected" : "notconnect") : "disabled"},
            {"vlanInformation", {{"interfaceMode", "routed"}}},
            {"bandwidth", 1000000000},
            {"duplex", "duplexFull"}};
      }
      return {{"interfaceStatuses", statuses}};
    }
    case Show::Interfaces:
    case Show::IpInterfaceBrief: {
      json interfaces = json::object();
      for (const auto& item : view.interfaces) {
        json entry = {{"name", item.name},
                      {"description", item.description},
                      {"lineProtocolStatus", item.oper_up ? "up" : "down"},
                      {"interfaceStatus",
                       item.admin_up ? (item.oper_up ? "connected" : "notconnect") : "disabled"},
                      {"mtu", item.mtu},
                      {"interfaceAddress",
                       {{"primaryIp",
                         {{"address", item.address.empty() ? "0.0.0.0" : item.address},
                          {"maskLen", item.prefix_length}}}}}};
        if (what == Show::Interfaces) {
          entry["physicalAddress"] = item.mac;
          entry["interfaceCounters"] = {{"inUcastPkts", item.in_packets},
                                        {"outUcastPkts", item.out_packets},
                                        {"inOctets", item.in_bytes},
                                        {"outOctets", item.out_bytes},
                                        {"totalInErrors", item.in_errors}};
        }
        interfaces[item.name] = entry;
      }
      return {{"interfaces", interfaces}};
    }
    case Show::BgpSummary: {
      json peers = json::object();
      for (const auto& peer : view.peers) {
        peers[peer.address] = {
            {"description", peer.description},
            {"asn", std::to_string(peer.remote_as)},
            {"peerState", peer.established ? "Established" : (peer.admin_up ? peer.state : "Idle")},
            {"prefixReceived", peer.prefixes},
            {"prefixAccepted", peer.prefixes},
            {"msgReceived", peer.messages_in},
            {"msgSent", peer.messages_out},
            {"upDownTime", static_cast<double>(wall_us_from_uptime(peer.up_seconds)) / 1e6},
            {"version", 4},
            {"inMsgQueue", 0},
            {"outMsgQueue", 0}};
      }
      return {{"vrfs",
               {{"default",
                 {{"routerId", view.router_id},
                  {"asn", std::to_string(view.local_as)},
                  {"peers", peers},
                  {"vrf", "default"}}}}}};
    }
    case Show::LldpNeighbors: {
      json neighbors = json::array();
      for (const auto& item : view.interfaces) {
        if (!item.peer || !item.oper_up) continue;
        neighbors.push_back({{"port", item.name},
                             {"neighborDevice", item.peer->remote_name},
                             {"neighborPort", item.peer->remote_port},
                             {"ttl", 120}});
      }
      return {{"lldpNeighbors", neighbors}, {"tablesInserts", neighbors.size()}};
    }
    case Show::IpRoute: {
      json routes = json::object();
      for (const auto& route : view.routes) {
        if (route.code == 'L') continue;
        json via = route.code == 'C'
                       ? json{{"interface", route.interface}}
                       : json{{"nexthopAddr", route.next_hop}, {"interface", route.interface}};
        routes[route.prefix + "/" + std::to_string(route.length)] = {
            {"routeType", route.code == 'C'   ? "connected"
                          : route.code == 'S' ? "static"
                                              : "eBGP"},
            {"vias", json::array({via})},
            {"directlyConnected", route.code == 'C'}};
      }
      return {{"vrfs", {{"default", {{"routes", routes}}}}}};
    }
    default:
      return nullptr;
  }
}

nlohmann::json nxos_json(Show what, const DeviceView& view) {
  using nlohmann::json;
  switch (what) {
    case Show::Version:
      return {{"bios_ver_str", "05.45"},
              {"kickstart_ver_str", view.os_version},
              {"nxos_ver_str", view.os_version},
              {"sys_ver_str", view.os_version},
              {"chassis_id", "Nexus9000 C93180YC-EX chassis"},
              {"host_name", view.hostname},
              {"proc_board_id", view.serial},
              {"kern_uptm_days", view.uptime_s / 86400},
              {"kern_uptm_hrs", view.uptime_s / 3600 % 24},
              {"kern_uptm_mins", view.uptime_s / 60 % 60},
              {"kern_uptm_secs", view.uptime_s % 60},
              {"memory", 24632080},
              {"mem_type", "kB"}};
    case Show::InterfacesStatus:
    case Show::InterfacesDescription:
    case Show::Interfaces: {
      json rows = json::array();
      for (const auto& item : view.interfaces) {
        rows.push_back({{"interface", item.name},
                        {"state", item.oper_up ? "up" : "down"},
                        {"admin_state", item.admin_up ? "up" : "down"},
                        {"desc", item.description},
                        {"eth_mtu", std::to_string(item.mtu)},
                        {"eth_hw_addr", item.mac},
                        {"eth_inpkts", item.in_packets},
                        {"eth_outpkts", item.out_packets},
                        {"eth_inbytes", item.in_bytes},
                        {"eth_outbytes", item.out_bytes}});
      }
      return {{"TABLE_interface", {{"ROW_interface", rows}}}};
    }
    case Show::IpInterfaceBrief: {
      json rows = json::array();
      for (const auto& item : view.interfaces) {
        if (item.address.empty()) continue;
        rows.push_back({{"intf-name", item.name},
                        {"prefix", item.address},
                        {"proto-state", item.oper_up ? "up" : "down"},
                        {"link-state", item.oper_up ? "up" : "down"},
                        {"admin-state", item.admin_up ? "up" : "down"}});
      }
      return {{"TABLE_intf", {{"ROW_intf", rows}}}};
    }
    case Show::BgpSummary: {
      json rows = json::array();
      for (const auto& peer : view.peers) {
        rows.push_back({{"neighborid", peer.address},
                        {"neighborversion", 4},
                        {"msgrecvd", peer.messages_in},
                        {"msgsent", peer.messages_out},
                        {"neighboras", std::to_string(peer.remote_as)},
                        {"state", peer.established ? "Established"
                                                   : (peer.admin_up ? peer.state : "Shut (Admin)")},
                        {"prefixreceived", peer.prefixes},
                        {"time", cisco_age(peer.up_seconds)}});
      }
      return {{"TABLE_vrf",
               {{"ROW_vrf",
                 {{"vrf-name-out", "default"},
                  {"vrf-router-id", view.router_id},
                  {"vrf-local-as", std::to_string(view.local_as)},
                  {"TABLE_af",
                   {{"ROW_af",
                     {{"af-id", 1},
                      {"TABLE_saf",
                       {{"ROW_saf",
                         {{"safi", 1},
                          {"af-name", "IPv4 Unicast"},
                          {"TABLE_neighbor", {{"ROW_neighbor", rows}}}}}}}}}}}}}}}};
    }
    case Show::LldpNeighbors: {
      json rows = json::array();
      for (const auto& item : view.interfaces) {
        if (!item.peer || !item.oper_up) continue;
        rows.push_back({{"chassis_id", item.peer->remote_name},
                        {"l_port_id", item.name},
                        {"hold_time", 120},
                        {"capability", "BR"},
                        {"port_id", item.peer->remote_port}});
      }
      return {{"TABLE_nbor", {{"ROW_nbor", rows}}}, {"neigh_count", rows.size()}};
    }
    default:
      return nullptr;
  }
}

}  // namespace

std::optional<nlohmann::json> render_show_json(Show what, const DeviceView& view) {
  nlohmann::json out;
  if (view.platform == Platform::AristaEos) out = eos_json(what, view);
  if (view.platform == Platform::CiscoNxos) out = nxos_json(what, view);
  if (out.is_null()) return std::nullopt;
  return out;
}

}  // namespace nauto::lab
