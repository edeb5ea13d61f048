#include "ipv4.h"
#include "show_format.h"
#include "show_output.h"

namespace nauto::lab {
namespace {

std::string colon_mac(const std::string& cisco_mac) {
  std::string hex;
  for (char c : cisco_mac) {
    if (c != '.') hex += c;
  }
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (!out.empty()) out += ':';
    out += hex.substr(i, 2);
  }
  return out;
}

}  // namespace

std::string render_juniper_junos(Show what, const DeviceView& view, const std::string& argument) {
  std::string out;
  switch (what) {
    case Show::Version:
      out += "Hostname: " + view.hostname + "\n";
      out += "Model: " + view.model + "\n";
      out += "Junos: " + view.os_version + "\n";
      out += "JUNOS OS Kernel 64-bit  [20220822.7b0b1e6_builder_stable_12]\n";
      out += "JUNOS OS libs [20220822.7b0b1e6_builder_stable_12]\n";
      out += "JUNOS OS runtime [20220822.7b0b1e6_builder_stable_12]\n";
      out += "JUNOS Packet Forwarding Engine Support (MX Common) [" + view.os_version + "]\n";
      out += "JUNOS Routing Software Suite [" + view.os_version + "]\n";
      break;
    case Show::Interfaces:
      for (const auto& item : view.interfaces) {
        if (!argument.empty() && item.name != argument) continue;
        out += "Physical interface: " + item.name + ", " +
               (item.admin_up ? "Enabled" : "Disabled") + ", Physical link is " +
               (item.oper_up ? "Up" : "Down") + "\n";
        out += format("  Interface index: %d, SNMP ifIndex: %d\n", 100 + item.if_index,
                      500 + item.if_index);
        if (!item.description.empty()) out += "  Description: " + item.description + "\n";
        out += format(
            "  Link-level type: Ethernet, MTU: %d, MRU: 1522, Speed: %dmbps, BPDU Error: None,\n",
            item.mtu == 1500 ? 1514 : item.mtu, item.speed_mbps);
        out += "  Device flags   : Present Running\n";
        out += "  Interface flags: SNMP-Traps Internal: 0x4000\n";
        if (!item.mac.empty()) {
          out += "  Current address: " + colon_mac(item.mac) +
                 ", Hardware address: " + colon_mac(item.mac) + "\n";
        }
        out += "  Last flapped   : " +
               clock_text(wall_us_from_uptime(item.last_change_s), "%Y-%m-%d %H:%M:%S UTC") + " (" +
               junos_age(item.last_change_s) + " ago)\n";
        out += format("  Input rate     : %llu bps (%llu pps)\n",
                      static_cast<unsigned long long>(item.oper_up ? item.in_bytes % 9000 : 0),
                      static_cast<unsigned long long>(item.oper_up ? 2 : 0));
        out += format("  Output rate    : %llu bps (%llu pps)\n",
                      static_cast<unsigned long long>(item.oper_up ? item.out_bytes % 9000 : 0),
                      static_cast<unsigned long long>(item.oper_up ? 2 : 0));
        out += "  Active alarms  : None\n  Active defects : None\n\n";
        if (!item.address.empty()) {
          out += format("  Logical interface %s.0 (Index %d) (SNMP ifIndex %d)\n",
                        item.name.c_str(), 300 + item.if_index, 600 + item.if_index);
          out += "    Flags: Up SNMP-Traps 0x4004000 Encapsulation: ENET2\n";
          out += format("    Input packets : %llu\n",
                        static_cast<unsigned long long>(item.in_packets));
          out += format("    Output packets: %llu\n",
                        static_cast<unsigned long long>(item.out_packets));
          out += "    Protocol inet, MTU: 1500\n";
          out += "      Flags: Sendbcast-pkt-to-re\n";
          out += "      Addresses, Flags: Is-Preferred Is-Primary\n";
          uint32_t mask = mask_of(item.prefix_length);
          uint32_t network = parse_ipv4(item.address) & mask;
          out += "        Destination: " + format_ipv4(network) + "/" +
                 std::to_string(item.prefix_length) + ", Local: " + item.address +
                 ", Broadcast: " + format_ipv4(network | ~mask) + "\n\n";
        }
      }
      break;
    case Show::IpInterfaceBrief:
    case Show::InterfacesStatus:
      out += "Interface               Admin Link Proto    Local                 Remote\n";
      for (const auto& item : view.interfaces) {
        const char* admin = item.admin_up ? "up" : "down";
        const char* link = item.oper_up ? "up" : "down";
        out += format("%-23s %-5s %-4s\n", item.name.c_str(), admin, link);
        if (!item.address.empty()) {
          std::string local = item.address + "/" + std::to_string(item.prefix_length);
          out += format("%-23s %-5s %-4s %-8s %s\n", (item.name + ".0").c_str(), admin, link,
                        "inet", local.c_str());
        }
      }
      break;
    case Show::InterfacesDescription:
      out += "Interface       Admin Link Description\n";
      for (const auto& item : view.interfaces) {
        if (item.description.empty()) continue;
        out += format("%-15s %-5s %-4s %s\n", item.name.c_str(), item.admin_up ? "up" : "down",
                      item.oper_up ? "up" : "down", item.description.c_str());
      }
      break;
    case Show::IpRoute: {
      size_t active = view.routes.size();
      out += format("\ninet.0: %zu destinations, %zu routes (%zu active, 0 holddown, 0 hidden)\n",
                    active, active, active);
      out += "+ = Active Route, - = Last Active, * = Both\n\n";
      for (const auto& route : view.routes) {
        std::string prefix = route.prefix + "/" + std::to_string(route.length);
        const char* protocol = route.code == 'C'   ? "Direct"
                               : route.code == 'L' ? "Local"
                               : route.code == 'S' ? "Static"
                                                   : "BGP";
        int preference = route.code == 'C' || route.code == 'L' ? 0 : route.code == 'S' ? 5 : 170;
        out += format("%-18s *[%s/%d] %s\n", prefix.c_str(), protocol, preference,
                      junos_age(route.age_s).c_str());
        if (route.code == 'B' || route.code == 'S') {
          std::string via = route.interface.empty() ? "" : route.interface + ".0";
          out +=
              format("                    >  to %s via %s\n", route.next_hop.c_str(), via.c_str());
        } else if (route.code == 'C') {
          out += format("                    >  via %s.0\n", route.interface.c_str());
        } else {
          out += "                       Local via " + route.interface + ".0\n";
        }
      }
      break;
    }
    case Show::BgpSummary: {
      int down = 0;
      for (const auto& peer : view.peers)
        down += peer.established ? 0 : 1;
      out += "Threading mode: BGP I/O\n";
      out += format("Groups: 1 Peers: %zu Down peers: %d\n", view.peers.size(), down);
      out +=
          "Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn "
          "State|#Active/Received/Accepted/Damped...\n";
      for (const auto& peer : view.peers) {
        out += format("%-18s %12llu %10llu %10llu %7d %7d %11s %s\n", peer.address.c_str(),
                      static_cast<unsigned long long>(peer.remote_as),
                      static_cast<unsigned long long>(peer.messages_in),
                      static_cast<unsigned long long>(peer.messages_out), 0,
                      peer.established ? 0 : 1, junos_age(peer.up_seconds).c_str(),
                      peer.established ? "Establ" : peer.state.c_str());
        if (peer.established)
          out += format("  inet.0: %d/%d/%d/0\n", peer.prefixes, peer.prefixes, peer.prefixes);
      }
      break;
    }
    case Show::BgpNeighbors:
      for (const auto& peer : view.peers) {
        if (!argument.empty() && peer.address != argument) continue;
        out += format("Peer: %s+179 AS %llu Local: (unknown)+51234 AS %llu\n", peer.address.c_str(),
                      static_cast<unsigned long long>(peer.remote_as),
                      static_cast<unsigned long long>(view.local_as));
        if (!peer.description.empty()) out += "  Description: " + peer.description + "\n";
        out += "  Group: EBGP         Routing-Instance: master\n";
        out += "  Type: External    State: " + peer.state + "    Flags: <Sync>\n";
        out += "  Last State: OpenConfirm   Last Event: RecvKeepAlive\n";
        out += format("  Active prefixes:              %d\n\n", peer.prefixes);
      }
      break;
    case Show::LldpNeighbors:
      out +=
          "Local Interface    Parent Interface    Chassis Id          Port info          System "
          "Name\n";
      for (const auto& item : view.interfaces) {
        if (!item.peer || !item.oper_up) continue;
        out += format("%-18s %-19s %-19s %-18s %s\n", item.name.c_str(), "-",
                      colon_mac(item.mac).c_str(), item.peer->remote_port.c_str(),
                      item.peer->remote_name.c_str());
      }
      break;
    case Show::Inventory:
      out += "Hardware inventory:\n";
      out += "Item             Version  Part number  Serial number     Description\n";
      out +=
          format("Chassis                                %-17s %s\n", view.serial.c_str(), "MX204");
      out += "Midplane         REV 27   750-070866   ACRA" + view.serial.substr(2, 4) +
             "          MX204\n";
      out += "PEM 0            Rev 04   740-069994   1GA2" + view.serial.substr(2, 6) +
             "    DC 650W PSU\n";
      out += "Routing Engine 0          BUILTIN      BUILTIN           RE-S-1600x8\n";
      out += "FPC 0                     BUILTIN      BUILTIN           MPC-BUILTIN\n";
      out += "  PIC 0                   BUILTIN      BUILTIN           4XQSFP28 PIC\n";
      out += "Fan Tray 0       REV 04   711-066073   ACRC" + view.serial.substr(2, 4) +
             "          Fan Module\n";
      break;
    case Show::Clock:
      out += "Current time: " + clock_text(wall_us(), "%Y-%m-%d %H:%M:%S UTC") + "\n";
      out += "System booted: " +
             clock_text(wall_us_from_uptime(view.uptime_s), "%Y-%m-%d %H:%M:%S UTC") + " (" +
             junos_age(view.uptime_s) + " ago)\n";
      break;
  }
  return out;
}

std::optional<std::string> render_show(Show what, const DeviceView& view,
                                       const std::string& argument) {
  // An interface or a BGP peer names what to show; `show ip route bgp` names a protocol.
  if (!argument.empty() && what != Show::IpRoute) {
    bool found = false;
    for (const auto& item : view.interfaces)
      found = found || item.name == argument;
    for (const auto& peer : view.peers)
      found = found || peer.address == argument;
    if (!found) return std::nullopt;
  }
  switch (view.platform) {
    case Platform::CiscoIos:
      return render_cisco_ios(what, view, argument);
    case Platform::AristaEos:
      return render_arista_eos(what, view, argument);
    case Platform::CiscoNxos:
      return render_cisco_nxos(what, view, argument);
    case Platform::JuniperJunos:
      return render_juniper_junos(what, view, argument);
  }
  return std::nullopt;
}

}  // namespace nauto::lab
