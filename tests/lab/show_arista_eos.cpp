#include "show_format.h"
#include "show_output.h"

namespace nauto::lab {

std::string render_arista_eos(Show what, const DeviceView& view, const std::string& argument) {
  std::string out;
  switch (what) {
    case Show::Version:
      out += "Arista " + view.model + "\n";
      out += "Hardware version:    11.02\n";
      out += "Serial number:       " + view.serial + "\n";
      out += "Hardware MAC address: " + view.system_mac + "\n";
      out += "System MAC address:  " + view.system_mac + "\n\n";
      out += "Software image version: " + view.os_version + "\n";
      out += "Architecture:           x86_64\n";
      out += "Internal build version: " + view.os_version + "-28837868.4283M\n";
      out += "Internal build ID:      1f0ba6b3-5d4e-4c86-9a2b-4e0f0b0c7b11\n";
      out += "Image format version:   3.0\n";
      out += "Image optimization:     Strata-4GB\n\n";
      out += "Uptime:                 " + eos_uptime(view.uptime_s) + "\n";
      out += "Total memory:           8099732 kB\n";
      out += "Free memory:            5623120 kB\n";
      break;
    case Show::Interfaces:
      for (const auto& item : view.interfaces) {
        if (!argument.empty() && item.name != argument) continue;
        std::string state =
            item.admin_up ? (item.oper_up ? "up" : "down") : "administratively down";
        out += item.name + " is " + state + ", line protocol is " +
               (item.oper_up ? "up (connected)"
                             : (item.admin_up ? "down (notconnect)" : "down (disabled)")) +
               "\n";
        out += std::string("  Hardware is ") + (item.physical ? "Ethernet" : "Loopback") +
               (item.mac.empty() ? "" : ", address is " + item.mac + " (bia " + item.mac + ")") +
               "\n";
        if (!item.description.empty()) out += "  Description: " + item.description + "\n";
        if (!item.address.empty()) {
          out += "  Internet address is " + item.address + "/" +
                 std::to_string(item.prefix_length) + "\n";
          out += "  Broadcast address is 255.255.255.255\n";
        }
        out += format("  IP MTU %d bytes%s\n", item.mtu, item.physical ? " , BW 1000000 kbit" : "");
        if (item.physical) {
          out += "  Full-duplex, 1Gb/s, auto negotiation: on, uni-link: n/a\n";
          out += "  Up " + cisco_age(item.last_change_s) + "\n";
          out += "  Loopback Mode : None\n  1 link status changes since last clear\n";
          out += "  Last clearing of \"show interface\" counters never\n";
          out += "  5 minutes input rate 1.2 kbps (0.0% with framing overhead), 2 packets/sec\n";
          out += "  5 minutes output rate 1.1 kbps (0.0% with framing overhead), 2 packets/sec\n";
          out += format("     %llu packets input, %llu bytes\n",
                        static_cast<unsigned long long>(item.in_packets),
                        static_cast<unsigned long long>(item.in_bytes));
          out += format("     Received %llu broadcasts, %llu multicast\n",
                        static_cast<unsigned long long>(item.broadcasts),
                        static_cast<unsigned long long>(item.multicasts));
          out += "     0 runts, 0 giants\n";
          out +=
              format("     %llu input errors, %llu CRC, 0 alignment, 0 symbol, 0 input discards\n",
                     static_cast<unsigned long long>(item.in_errors),
                     static_cast<unsigned long long>(item.crc));
          out += "     0 PAUSE input\n";
          out += format("     %llu packets output, %llu bytes\n",
                        static_cast<unsigned long long>(item.out_packets),
                        static_cast<unsigned long long>(item.out_bytes));
          out += "     Sent 0 broadcasts, 120 multicast\n";
          out += "     0 output errors, 0 collisions\n";
          out += "     0 late collision, 0 deferred, 0 output discards\n";
          out += "     0 PAUSE output\n";
        }
      }
      break;
    case Show::InterfacesStatus:
      out += "Port       Name                   Status       Vlan        Duplex  Speed Type\n";
      for (const auto& item : view.interfaces) {
        if (!item.physical) continue;
        out += format("%-10s %-22.22s %-12s %-11s %-7s %5s %s\n",
                      short_interface(item.name, false).c_str(), item.description.c_str(),
                      item.admin_up ? (item.oper_up ? "connected" : "notconnect") : "disabled",
                      "routed", "full", "1G", "10/100/1000");
      }
      break;
    case Show::InterfacesDescription:
      out += "Interface                      Status         Protocol           Description\n";
      for (const auto& item : view.interfaces) {
        out += format("%-30s %-14s %-18s %s\n", short_interface(item.name, false).c_str(),
                      item.admin_up ? (item.oper_up ? "up" : "down") : "admin down",
                      item.oper_up ? "up" : "down", item.description.c_str());
      }
      break;
    case Show::IpInterfaceBrief:
      out += "Interface              IP Address         Status     Protocol         MTU\n";
      for (const auto& item : view.interfaces) {
        std::string address = item.address.empty()
                                  ? "unassigned"
                                  : item.address + "/" + std::to_string(item.prefix_length);
        out += format("%-22s %-18s %-10s %-14s %5d\n", item.name.c_str(), address.c_str(),
                      item.admin_up ? (item.oper_up ? "up" : "down") : "admin down",
                      item.oper_up ? "up" : "down", item.mtu);
      }
      break;
    case Show::IpRoute:
      out +=
          "\nVRF: default\n"
          "Codes: C - connected, S - static, K - kernel, \n"
          "       O - OSPF, IA - OSPF inter area, E1 - OSPF external type 1,\n"
          "       E2 - OSPF external type 2, N1 - OSPF NSSA external type 1,\n"
          "       N2 - OSPF NSSA external type2, B - BGP, B I - iBGP, B E - eBGP,\n"
          "       R - RIP, I L1 - IS-IS level 1, I L2 - IS-IS level 2,\n"
          "       O3 - OSPFv3, A B - BGP Aggregate, A O - OSPF Summary,\n"
          "       NG - Nexthop Group Static Route, V - VXLAN Control Service,\n"
          "       DH - DHCP client installed default route, M - Martian,\n"
          "       DP - Dynamic Policy Route, L - VRF Leaked\n\n";
      {
        std::string gateway = "not set";
        for (const auto& route : view.routes) {
          if (route.length == 0) gateway = route.next_hop + " to network 0.0.0.0/0";
        }
        out += "Gateway of last resort is " + gateway + "\n\n";
      }
      for (const auto& route : view.routes) {
        if (route.code == 'L') continue;
        std::string prefix = route.prefix + "/" + std::to_string(route.length);
        if (route.code == 'C') {
          out += format(" C        %s is directly connected, %s\n", prefix.c_str(),
                        route.interface.c_str());
        } else {
          const char* code = route.code == 'B' ? "B E" : "S";
          out += format(" %-8s %s [%d/%d] via %s, %s\n", code, prefix.c_str(),
                        route.code == 'B' ? 200 : route.distance, route.metric,
                        route.next_hop.c_str(), route.interface.c_str());
        }
      }
      break;
    case Show::BgpSummary:
      out += "BGP summary information for VRF default\n";
      out += "Router identifier " + view.router_id + ", local AS number " +
             std::to_string(view.local_as) + "\n";
      out += "Neighbor Status Codes: m - Under maintenance\n";
      out +=
          "  Description              Neighbor         V AS           MsgRcvd   MsgSent  InQ OutQ  "
          "Up/Down State   PfxRcd PfxAcc\n";
      for (const auto& peer : view.peers) {
        out += format(
            "  %-24.24s %-16s 4 %-12llu %7llu %9llu %4d %4d %8s %-7s %6s %6s\n",
            peer.description.c_str(), peer.address.c_str(),
            static_cast<unsigned long long>(peer.remote_as),
            static_cast<unsigned long long>(peer.messages_in),
            static_cast<unsigned long long>(peer.messages_out), 0, 0,
            cisco_age(peer.up_seconds).c_str(),
            peer.established ? "Estab" : (peer.admin_up ? peer.state.c_str() : "Idle(Admin)"),
            peer.established ? std::to_string(peer.prefixes).c_str() : "",
            peer.established ? std::to_string(peer.prefixes).c_str() : "");
      }
      break;
    case Show::BgpNeighbors:
      for (const auto& peer : view.peers) {
        if (!argument.empty() && peer.address != argument) continue;
        out += "BGP neighbor is " + peer.address + ", remote AS " + std::to_string(peer.remote_as) +
               ", external link\n";
        if (!peer.description.empty()) out += " Description: " + peer.description + "\n";
        out += "  BGP version 4, remote router ID 192.168.255.1, VRF default\n";
        out += "  BGP state is " + peer.state +
               (peer.established ? ", up for " + cisco_age(peer.up_seconds) : "") + "\n";
        out += format("  Number of transitions to established: %d\n", peer.established ? 1 : 0);
        out += "  Last state was OpenConfirm\n\n";
      }
      break;
    case Show::LldpNeighbors: {
      out +=
          "Last table change time   : 0:10:02 ago\n"
          "Number of table inserts  : 2\n"
          "Number of table deletes  : 0\n"
          "Number of table drops    : 0\n"
          "Number of table age-outs : 0\n\n";
      out += "Port          Neighbor Device ID       Neighbor Port ID    TTL\n";
      for (const auto& item : view.interfaces) {
        if (!item.peer || !item.oper_up) continue;
        out += format("%-13s %-24s %-19s %d\n", short_interface(item.name, false).c_str(),
                      item.peer->remote_name.c_str(), item.peer->remote_port.c_str(), 120);
      }
      break;
    }
    case Show::Inventory: {
      int physical = 0;
      for (const auto& item : view.interfaces)
        physical += item.physical ? 1 : 0;
      out += "System information\n";
      out += "  Model                    Description\n";
      out += "  ------------------------ ----------------------------------------------------\n";
      out += "  " + view.model + "          48x10GBASE-T & 4xQSFP+ 1RU\n\n";
      out += "  HW Version  Serial Number  Mfg Date   Epoch\n";
      out += "  ----------- -------------- ---------- -----\n";
      out += "  11.02       " + view.serial + "    2019-03-15 01.00\n\n";
      out += "System has 2 power supply slots\n";
      out += "  Slot Model            Serial Number\n  ---- ---------------- ----------------\n";
      out += "  1    PWR-500AC-R      EEWT" + view.serial.substr(3) + "\n";
      out += "  2    PWR-500AC-R      EEWT" + view.serial.substr(3, 7) + "1\n\n";
      out += format("System has %d ports\n  Type             Count\n  ---------------- ----\n",
                    physical + 1);
      out += format("  Management       1\n  Switched         %d\n", physical);
      break;
    }
    case Show::Clock:
      out +=
          clock_text(wall_us(), "%a %b %d %H:%M:%S %Y") + "\nTimezone: UTC\nClock source: local\n";
      break;
  }
  return out;
}

}  // namespace nauto::lab
