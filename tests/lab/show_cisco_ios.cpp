#include <map>

#include "show_format.h"
#include "show_output.h"

namespace nauto::lab {
namespace {

std::string ios_interface(const InterfaceView& item) {
  std::string out;
  std::string state = item.admin_up ? (item.oper_up ? "up" : "down") : "administratively down";
  out +=
      item.name + " is " + state + ", line protocol is " + (item.oper_up ? "up" : "down") + " \n";
  if (item.physical) {
    out += "  Hardware is iGbE, address is " + item.mac + " (bia " + item.mac + ")\n";
  } else {
    out += "  Hardware is Loopback\n";
  }
  if (!item.description.empty()) out += "  Description: " + item.description + "\n";
  if (!item.address.empty()) {
    out +=
        "  Internet address is " + item.address + "/" + std::to_string(item.prefix_length) + "\n";
  }
  out += format("  MTU %d bytes, BW %d Kbit/sec, DLY %d usec, \n", item.mtu,
                item.physical ? item.speed_mbps * 1000 : 8000000, item.physical ? 10 : 5000);
  out += "     reliability 255/255, txload 1/255, rxload 1/255\n";
  out += std::string("  Encapsulation ") + (item.physical ? "ARPA" : "LOOPBACK") +
         ", loopback not set\n";
  out += "  Keepalive set (10 sec)\n";
  if (item.physical) {
    out += "  Full Duplex, 1Gbps, media type is RJ45\n";
    out += "  output flow-control is unsupported, input flow-control is unsupported\n";
    out += "  ARP type: ARPA, ARP Timeout 04:00:00\n";
  }
  out += "  Last input 00:00:00, output 00:00:00, output hang never\n";
  out += "  Last clearing of \"show interface\" counters never\n";
  out += "  Input queue: 0/75/0/0 (size/max/drops/flushes); Total output drops: 0\n";
  out += "  Queueing strategy: fifo\n";
  out += "  Output queue: 0/40 (size/max)\n";
  uint64_t in_rate = item.oper_up ? item.in_bytes % 9000 + 1000 : 0;
  uint64_t out_rate = item.oper_up ? item.out_bytes % 9000 + 1000 : 0;
  out += format("  5 minute input rate %llu bits/sec, %llu packets/sec\n",
                static_cast<unsigned long long>(in_rate),
                static_cast<unsigned long long>(in_rate / 800));
  out += format("  5 minute output rate %llu bits/sec, %llu packets/sec\n",
                static_cast<unsigned long long>(out_rate),
                static_cast<unsigned long long>(out_rate / 800));
  out += format("     %llu packets input, %llu bytes, 0 no buffer\n",
                static_cast<unsigned long long>(item.in_packets),
                static_cast<unsigned long long>(item.in_bytes));
  out += format("     Received %llu broadcasts (%llu IP multicasts)\n",
                static_cast<unsigned long long>(item.broadcasts),
                static_cast<unsigned long long>(item.multicasts));
  out += "     0 runts, 0 giants, 0 throttles \n";
  out += format("     %llu input errors, %llu CRC, 0 frame, 0 overrun, 0 ignored\n",
                static_cast<unsigned long long>(item.in_errors),
                static_cast<unsigned long long>(item.crc));
  out += "     0 watchdog, 0 multicast, 0 pause input\n";
  out += format("     %llu packets output, %llu bytes, 0 underruns\n",
                static_cast<unsigned long long>(item.out_packets),
                static_cast<unsigned long long>(item.out_bytes));
  out += "     0 output errors, 0 collisions, 1 interface resets\n";
  out += "     0 unknown protocol drops\n";
  out += "     0 babbles, 0 late collision, 0 deferred\n";
  out += "     0 lost carrier, 0 no carrier, 0 pause output\n";
  out += "     0 output buffer failures, 0 output buffers swapped out\n";
  return out;
}

std::string ios_bgp_neighbor(const DeviceView& view, const BgpPeerView& peer) {
  std::string out;
  out += "BGP neighbor is " + peer.address + ",  remote AS " + std::to_string(peer.remote_as) +
         ", external link\n";
  if (!peer.description.empty()) out += " Description: " + peer.description + "\n";
  out += "  BGP version 4, remote router ID " +
         std::string(peer.established ? "192.168.255.1" : "0.0.0.0") + "\n";
  out += "  BGP state = " + peer.state +
         (peer.established ? ", up for " + cisco_age(peer.up_seconds) : "") + "\n";
  if (!peer.admin_up) out += "  Administratively shut down\n";
  out +=
      "  Last read 00:00:12, last write 00:00:27, hold time is 180, keepalive interval is 60 "
      "seconds\n";
  out += "  Message statistics:\n    InQ depth is 0\n    OutQ depth is 0\n";
  out += "                         Sent       Rcvd\n";
  out +=
      format("    Opens:                  1          1\n    Keepalives:        %6llu     %6llu\n",
             static_cast<unsigned long long>(peer.messages_out),
             static_cast<unsigned long long>(peer.messages_in));
  out += format("    Total:             %6llu     %6llu\n",
                static_cast<unsigned long long>(peer.messages_out + 1),
                static_cast<unsigned long long>(peer.messages_in + 1));
  out += "  Default minimum time between advertisement runs is 30 seconds\n\n";
  out += " For address family: IPv4 Unicast\n";
  out += "  Session: " + peer.address + "\n";
  out += format("  BGP table version 12, neighbor version 12/0\n");
  out += format("    Prefixes Current: %d\n", peer.prefixes);
  out += format("  Connections established %d; dropped %d\n", peer.established ? 1 : 0,
                peer.established ? 0 : 1);
  if (peer.established) {
    out += "  Last reset never\n";
    std::string local;
    for (const auto& item : view.interfaces) {
      if (!item.address.empty() && item.peer && item.peer->remote_address == peer.address) {
        local = item.address;
      }
    }
    out += "Local host: " + local + ", Local port: 179\n";
    out += "Foreign host: " + peer.address + ", Foreign port: 31245\n";
  } else {
    out += "  Last reset 00:00:05, due to Peer closed the session\n";
    out += "  No active TCP connection\n";
  }
  out += "\n";
  return out;
}

}  // namespace

std::string render_cisco_ios(Show what, const DeviceView& view, const std::string& argument) {
  std::string out;
  switch (what) {
    case Show::Version: {
      out += "Cisco IOS Software, C3900 Software (C3900-UNIVERSALK9-M), Version " +
             view.os_version + ", RELEASE SOFTWARE (fc1)\n";
      out += "Technical Support: http://www.cisco.com/techsupport\n";
      out += "Copyright (c) 1986-2021 by Cisco Systems, Inc.\n";
      out += "Compiled Fri 05-Mar-21 14:58 by prod_rel_team\n\n";
      out += "ROM: System Bootstrap, Version 15.0(1r)M16, RELEASE SOFTWARE (fc1)\n\n";
      out += view.hostname + " uptime is " + ios_uptime(view.uptime_s) + "\n";
      std::string boot = clock_text(wall_us_from_uptime(view.uptime_s), "%H:%M:%S UTC %a %b %d %Y");
      out += "System returned to ROM by reload at " + boot + "\n";
      out += "System restarted at " + boot + "\n";
      out += "System image file is \"flash0:c3900-universalk9-mz.SPA.157-3.M8.bin\"\n";
      out += "Last reload type: Normal Reload\nLast reload reason: Reload Command\n\n\n";
      out += "cisco " + view.model +
             " (C3900-SPE150/K9) processor (revision 1.0) with 1011712K/36864K bytes of memory.\n";
      out += "Processor board ID " + view.serial + "\n";
      int physical = 0;
      for (const auto& item : view.interfaces)
        physical += item.physical ? 1 : 0;
      out += std::to_string(physical) + " Gigabit Ethernet interfaces\n";
      out += "DRAM configuration is 72 bits wide with parity enabled.\n";
      out += "255K bytes of non-volatile configuration memory.\n";
      out += "2000880K bytes of ATA System CompactFlash 0 (Read/Write)\n\n";
      out += "Configuration register is 0x2102\n";
      break;
    }
    case Show::Interfaces:
      for (const auto& item : view.interfaces) {
        if (argument.empty() || item.name == argument) out += ios_interface(item);
      }
      break;
    case Show::InterfacesDescription:
      out += "Interface                      Status         Protocol Description\n";
      for (const auto& item : view.interfaces) {
        out += format("%-30s %-14s %-8s %s\n", short_interface(item.name, false).c_str(),
                      item.admin_up ? (item.oper_up ? "up" : "down") : "admin down",
                      item.oper_up ? "up" : "down", item.description.c_str());
      }
      break;
    case Show::InterfacesStatus:
      out += "\nPort      Name               Status       Vlan       Duplex  Speed Type \n";
      for (const auto& item : view.interfaces) {
        if (!item.physical) continue;
        out += format("%-9s %-18.18s %-12s %-10s %7s %6s %s\n",
                      short_interface(item.name, false).c_str(), item.description.c_str(),
                      item.admin_up ? (item.oper_up ? "connected" : "notconnect") : "disabled",
                      "routed", "a-full", "a-1000", "10/100/1000BaseTX");
      }
      break;
    case Show::IpInterfaceBrief:
      out +=
          "Interface                  IP-Address      OK? Method Status                Protocol\n";
      for (const auto& item : view.interfaces) {
        out += format("%-26s %-15s YES %-6s %-21s %s\n", item.name.c_str(),
                      item.address.empty() ? "unassigned" : item.address.c_str(),
                      item.address.empty() ? "unset" : "NVRAM",
                      item.admin_up ? (item.oper_up ? "up" : "down") : "administratively down",
                      item.oper_up ? "up" : "down");
      }
      break;
    case Show::IpRoute: {
      out +=
          "Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP\n"
          "       D - EIGRP, EX - EIGRP external, O - OSPF, IA - OSPF inter area \n"
          "       N1 - OSPF NSSA external type 1, N2 - OSPF NSSA external type 2\n"
          "       E1 - OSPF external type 1, E2 - OSPF external type 2\n"
          "       i - IS-IS, su - IS-IS summary, L1 - IS-IS level-1, L2 - IS-IS level-2\n"
          "       ia - IS-IS inter area, * - candidate default, U - per-user static route\n"
          "       o - ODR, P - periodic downloaded static route, H - NHRP, l - LISP\n"
          "       a - application route\n"
          "       + - replicated route, % - next hop override, p - overrides from PfR\n\n";
      std::string gateway = "not set";
      for (const auto& route : view.routes) {
        if (route.length == 0) gateway = route.next_hop + " to network 0.0.0.0";
      }
      out += "Gateway of last resort is " + gateway + "\n\n";
      // "show ip route bgp": the routes of that protocol only (connected includes local).
      const std::string wanted = argument == "bgp"         ? "B"
                                 : argument == "connected" ? "CL"
                                 : argument == "static"    ? "S"
                                 : argument == "ospf"      ? "O"
                                                           : "";
      for (const auto& route : view.routes) {
        if (!wanted.empty() && wanted.find(route.code) == std::string::npos) continue;
        std::string code(1, route.code);
        if (route.length == 0) code += "*";
        std::string prefix = route.prefix + "/" + std::to_string(route.length);
        if (route.code == 'C' || route.code == 'L') {
          out += format("%-8s %s is directly connected, %s\n", code.c_str(), prefix.c_str(),
                        route.interface.c_str());
        } else if (route.code == 'S') {
          out += format("%-8s %s [%d/%d] via %s\n", code.c_str(), prefix.c_str(), route.distance,
                        route.metric, route.next_hop.c_str());
        } else {
          out +=
              format("%-8s %s [%d/%d] via %s, %s\n", code.c_str(), prefix.c_str(), route.distance,
                     route.metric, route.next_hop.c_str(), cisco_age(route.age_s).c_str());
        }
      }
      break;
    }
    case Show::BgpSummary: {
      int prefixes = 0;
      for (const auto& peer : view.peers)
        prefixes += peer.prefixes;
      out += "BGP router identifier " + view.router_id + ", local AS number " +
             std::to_string(view.local_as) + "\n";
      out += "BGP table version is 12, main routing table version 12\n";
      out += format("%d network entries using %d bytes of memory\n", prefixes, prefixes * 144);
      out += format("%d path entries using %d bytes of memory\n", prefixes, prefixes * 84);
      out += "2/2 BGP path/bestpath attribute entries using 576 bytes of memory\n";
      out += "BGP using 2048 total bytes of memory\n";
      out += "BGP activity 4/0 prefixes, 4/0 paths, scan interval 60 secs\n\n";
      out +=
          "Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  "
          "State/PfxRcd\n";
      for (const auto& peer : view.peers) {
        std::string state = peer.established ? std::to_string(peer.prefixes)
                                             : (peer.admin_up ? peer.state : "Idle (Admin)");
        out += format("%-15s 4 %12llu %7llu %7llu %8d %4d %4d %-8s %12s\n", peer.address.c_str(),
                      static_cast<unsigned long long>(peer.remote_as),
                      static_cast<unsigned long long>(peer.messages_in),
                      static_cast<unsigned long long>(peer.messages_out), peer.established ? 12 : 0,
                      0, 0, peer.established ? cisco_age(peer.up_seconds).c_str() : "never",
                      state.c_str());
      }
      break;
    }
    case Show::BgpNeighbors:
      for (const auto& peer : view.peers) {
        if (argument.empty() || peer.address == argument) out += ios_bgp_neighbor(view, peer);
      }
      break;
    case Show::LldpNeighbors: {
      out +=
          "Capability codes:\n"
          "    (R) Router, (B) Bridge, (T) Telephone, (C) DOCSIS Cable Device\n"
          "    (W) WLAN Access Point, (P) Repeater, (S) Station, (O) Other\n\n";
      out += "Device ID           Local Intf     Hold-time  Capability      Port ID\n";
      int count = 0;
      for (const auto& item : view.interfaces) {
        if (!item.peer || !item.oper_up) continue;
        ++count;
        out += format("%-19.19s %-14s %-10d %-15s %s\n", item.peer->remote_name.c_str(),
                      short_interface(item.name, false).c_str(), 120, "R",
                      item.peer->remote_port.c_str());
      }
      out += format("\nTotal entries displayed: %d\n", count);
      break;
    }
    case Show::Inventory:
      out += "NAME: \"CISCO3945-CHASSIS\", DESCR: \"CISCO3945-CHASSIS chassis, Hw Serial#: " +
             view.serial + ", Hw Revision: 1.0\"\n";
      out += "PID: CISCO3945-CHASSIS , VID: V05 , SN: " + view.serial + "\n\n";
      out += "NAME: \"C3900 AC Power Supply 1\", DESCR: \"C3900 AC Power Supply 1\"\n";
      out += "PID: PWR-3900-AC       , VID: V03 , SN: QCS" + view.serial.substr(3) + "\n\n";
      out += "NAME: \"module 0\", DESCR: \"C3900-SPE150/K9 Service Performance Engine 150\"\n";
      out += "PID: C3900-SPE150/K9   , VID: V06 , SN: FOC" + view.serial.substr(3) + "\n\n";
      break;
    case Show::Clock:
      out += clock_text(wall_us(), "*%H:%M:%S.000 UTC %a %b %d %Y") + "\n";
      break;
  }
  return out;
}

}  // namespace nauto::lab
