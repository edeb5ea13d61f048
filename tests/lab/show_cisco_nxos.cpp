#include "show_format.h"
#include "show_output.h"

namespace nauto::lab {

std::string render_cisco_nxos(Show what, const DeviceView& view, const std::string& argument) {
  std::string out;
  switch (what) {
    case Show::Version: {
      out += "Cisco Nexus Operating System (NX-OS) Software\n";
      out += "TAC support: http://www.cisco.com/tac\n";
      out += "Copyright (C) 2002-2021, Cisco and/or its affiliates.\nAll rights reserved.\n\n";
      out += "Software\n";
      out += "  BIOS: version 05.45\n";
      out += "  NXOS: version " + view.os_version + "\n";
      out += "  BIOS compile time:  03/22/2021\n";
      out += "  NXOS image file is: bootflash:///nxos.9.3.8.bin\n";
      out += "  NXOS compile time:  8/18/2021 16:00:00 [08/19/2021 05:07:37]\n\n\n";
      out += "Hardware\n";
      out += "  cisco Nexus9000 C93180YC-EX chassis\n";
      out += "  Intel(R) Xeon(R) CPU  @ 1.80GHz with 24632080 kB of memory.\n";
      out += "  Processor Board ID " + view.serial + "\n\n";
      out += "  Device name: " + view.hostname + "\n";
      out += "  bootflash:   53298520 kB\n";
      int64_t s = view.uptime_s;
      out +=
          format("Kernel uptime is %lld day(s), %lld hour(s), %lld minute(s), %lld second(s)\n\n",
                 static_cast<long long>(s / 86400), static_cast<long long>(s / 3600 % 24),
                 static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
      out += "Last reset \n  Reason: Unknown\n  System version: " + view.os_version +
             "\n  Service: \n\n";
      out += "plugin\n  Core Plugin, Ethernet Plugin\n\nActive Package(s):\n";
      break;
    }
    case Show::Interfaces:
      for (const auto& item : view.interfaces) {
        if (!argument.empty() && item.name != argument) continue;
        out += item.name + " is " + (item.oper_up ? "up" : "down") +
               (item.admin_up ? "" : " (Administratively down)") + "\n";
        out += std::string("admin state is ") + (item.admin_up ? "up" : "down") + ",\n";
        out +=
            std::string("  Hardware: ") + (item.physical ? "100/1000/10000 Ethernet" : "Loopback") +
            (item.mac.empty() ? "" : ", address: " + item.mac + " (bia " + item.mac + ")") + "\n";
        if (!item.description.empty()) out += "  Description: " + item.description + "\n";
        if (!item.address.empty()) {
          out += "  Internet Address is " + item.address + "/" +
                 std::to_string(item.prefix_length) + "\n";
        }
        out +=
            format("  MTU %d bytes, BW %d Kbit, DLY 10 usec\n", item.mtu, item.speed_mbps * 1000);
        out += "  reliability 255/255, txload 1/255, rxload 1/255\n";
        out += "  Encapsulation ARPA, medium is broadcast\n";
        if (item.physical) {
          out += "  full-duplex, 10 Gb/s, media type is 10G\n";
          out += "  Last link flapped " + cisco_age(item.last_change_s) + "\n";
          out += "  Last clearing of \"show interface\" counters never\n";
          out += "  RX\n";
          out +=
              format("    %llu unicast packets  %llu multicast packets  %llu broadcast packets\n",
                     static_cast<unsigned long long>(item.in_packets),
                     static_cast<unsigned long long>(item.multicasts),
                     static_cast<unsigned long long>(item.broadcasts));
          out += format("    %llu input packets  %llu bytes\n",
                        static_cast<unsigned long long>(item.in_packets),
                        static_cast<unsigned long long>(item.in_bytes));
          out += format("    0 runts  0 giants  %llu CRC  0 no buffer\n",
                        static_cast<unsigned long long>(item.crc));
          out += format("    %llu input error  0 short frame  0 overrun   0 underrun  0 ignored\n",
                        static_cast<unsigned long long>(item.in_errors));
          out += "  TX\n";
          out += format("    %llu output packets  %llu bytes\n",
                        static_cast<unsigned long long>(item.out_packets),
                        static_cast<unsigned long long>(item.out_bytes));
          out += "    0 output error  0 collision  0 deferred  0 late collision\n";
        }
        out += "\n";
      }
      break;
    case Show::InterfacesStatus:
    case Show::IpInterfaceBrief:
      if (what == Show::IpInterfaceBrief) {
        out += "IP Interface Status for VRF \"default\"(1)\n";
        out += "Interface            IP Address      Interface Status\n";
        for (const auto& item : view.interfaces) {
          if (item.address.empty() || item.name == "mgmt0") continue;
          out += format("%-20s %-15s protocol-%s/link-%s/admin-%s \n",
                        short_interface(item.name, true).c_str(), item.address.c_str(),
                        item.oper_up ? "up" : "down", item.oper_up ? "up" : "down",
                        item.admin_up ? "up" : "down");
        }
        break;
      }
      [[fallthrough]];
    case Show::InterfacesDescription:
      out += "\n--------------------------------------------------------------------------------\n";
      out += "Port   VRF          Status IP Address                              Speed    MTU\n";
      out += "--------------------------------------------------------------------------------\n";
      if (const auto* mgmt = view.interface("mgmt0")) {
        out += format("mgmt0  --           %-6s %-39s %-8s %d\n", mgmt->oper_up ? "up" : "down",
                      mgmt->address.empty() ? "--" : mgmt->address.c_str(), "1000", mgmt->mtu);
      }
      out += "\n--------------------------------------------------------------------------------\n";
      out += "Ethernet      VLAN    Type Mode   Status  Reason                   Speed     Port\n";
      out += "Interface                                                                    Ch #\n";
      out += "--------------------------------------------------------------------------------\n";
      for (const auto& item : view.interfaces) {
        if (!item.physical || item.name == "mgmt0") continue;
        const char* reason = item.oper_up
                                 ? "none"
                                 : (item.admin_up ? "Link not connected" : "Administratively down");
        out += format("%-13s %-7s eth  routed %-7s %-24s %9s %s\n",
                      short_interface(item.name, true).c_str(), "--", item.oper_up ? "up" : "down",
                      reason, item.oper_up ? "10G(D)" : "auto(D)", "--");
      }
      out += "\n--------------------------------------------------------------------------------\n";
      out += "Interface     Status     Description\n";
      out += "--------------------------------------------------------------------------------\n";
      for (const auto& item : view.interfaces) {
        if (item.physical) continue;
        out += format("%-13s %-10s %s\n", short_interface(item.name, true).c_str(),
                      item.oper_up ? "up" : "down",
                      item.description.empty() ? "--" : item.description.c_str());
      }
      break;
    case Show::IpRoute:
      out += "IP Route Table for VRF \"default\"\n";
      out += "'*' denotes best ucast next-hop\n'**' denotes best mcast next-hop\n";
      out +=
          "'[x/y]' denotes [preference/metric]\n'%<string>' in via output denotes VRF <string>\n\n";
      for (size_t i = 0; i < view.routes.size(); ++i) {
        const auto& route = view.routes[i];
        if (route.code == 'L') continue;
        std::string prefix = route.prefix + "/" + std::to_string(route.length);
        if (route.code == 'C') {
          out += prefix + ", ubest/mbest: 1/0, attached\n";
          std::string local;
          if (i + 1 < view.routes.size() && view.routes[i + 1].code == 'L')
            local = view.routes[i + 1].prefix;
          out += format("    *via %s, %s, [0/0], %s, direct\n",
                        local.empty() ? route.prefix.c_str() : local.c_str(),
                        short_interface(route.interface, true).c_str(),
                        cisco_age(route.age_s).c_str());
        } else if (route.code == 'S') {
          out += prefix + ", ubest/mbest: 1/0\n";
          out += format("    *via %s, [%d/%d], %s, static\n", route.next_hop.c_str(),
                        route.distance, route.metric, cisco_age(route.age_s).c_str());
        } else {
          out += prefix + ", ubest/mbest: 1/0\n";
          out += format("    *via %s, [20/0], %s, bgp-%llu, external, tag %s\n",
                        route.next_hop.c_str(), cisco_age(route.age_s).c_str(),
                        static_cast<unsigned long long>(view.local_as), "65000");
        }
      }
      break;
    case Show::BgpSummary: {
      int prefixes = 0;
      for (const auto& peer : view.peers)
        prefixes += peer.prefixes;
      out += "BGP summary information for VRF default, address family IPv4 Unicast\n";
      out += "BGP router identifier " + view.router_id + ", local AS number " +
             std::to_string(view.local_as) + "\n";
      out += format("BGP table version is 12, IPv4 Unicast config peers %zu, capable peers %zu\n",
                    view.peers.size(), view.peers.size());
      out += format("%d network entries and %d paths using %d bytes of memory\n", prefixes,
                    prefixes, prefixes * 152);
      out += "BGP attribute entries [2/328], BGP AS path entries [1/6]\n";
      out += "BGP community entries [0/0], BGP clusterlist entries [0/0]\n\n";
      out += "Neighbor        V    AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n";
      for (const auto& peer : view.peers) {
        std::string state = peer.established ? std::to_string(peer.prefixes)
                                             : (peer.admin_up ? peer.state : "Shut (Admin)");
        out += format("%-15s 4 %5llu %7llu %7llu %8d %4d %4d %-8s %s\n", peer.address.c_str(),
                      static_cast<unsigned long long>(peer.remote_as),
                      static_cast<unsigned long long>(peer.messages_in),
                      static_cast<unsigned long long>(peer.messages_out), peer.established ? 12 : 0,
                      0, 0, cisco_age(peer.up_seconds).c_str(), state.c_str());
      }
      break;
    }
    case Show::BgpNeighbors:
      for (const auto& peer : view.peers) {
        if (!argument.empty() && peer.address != argument) continue;
        out += "BGP neighbor is " + peer.address + ", remote AS " + std::to_string(peer.remote_as) +
               ", ebgp link, Peer index 1\n";
        if (!peer.description.empty()) out += "  Description: " + peer.description + "\n";
        out += "  BGP version 4, remote router ID 192.168.255.1\n";
        out += "  BGP state = " + peer.state + ", up for " + cisco_age(peer.up_seconds) + "\n";
        out += "  Last read 00:00:18, hold time = 180, keepalive interval is 60 seconds\n\n";
      }
      break;
    case Show::LldpNeighbors: {
      out +=
          "Capability codes:\n"
          "  (R) Router, (B) Bridge, (T) Telephone, (C) DOCSIS Cable Device\n"
          "  (W) WLAN Access Point, (P) Repeater, (S) Station, (O) Other\n";
      out += "Device ID            Local Intf      Hold-time  Capability  Port ID  \n";
      int count = 0;
      for (const auto& item : view.interfaces) {
        if (!item.peer || !item.oper_up) continue;
        ++count;
        out += format("%-20s %-15s %-10d %-11s %s\n", item.peer->remote_name.c_str(),
                      short_interface(item.name, true).c_str(), 120, "BR",
                      item.peer->remote_port.c_str());
      }
      out += format("\nTotal entries displayed: %d\n", count);
      break;
    }
    case Show::Inventory:
      out += "NAME: \"Chassis\",  DESCR: \"Nexus9000 C93180YC-EX chassis\"\n";
      out += "PID: " + view.model + "     ,  VID: V03 ,  SN: " + view.serial + "\n\n";
      out += "NAME: \"Slot 1\",  DESCR: \"48x10/25G + 6x40/100G Ethernet Module\"\n";
      out += "PID: " + view.model + "     ,  VID: V03 ,  SN: " + view.serial + "\n\n";
      out += "NAME: \"Power Supply 1\",  DESCR: \"Nexus9000 C93180YC-EX chassis Power Supply\"\n";
      out += "PID: NXA-PAC-650W-PE     ,  VID: V01 ,  SN: LIT" + view.serial.substr(3) + "\n\n";
      out += "NAME: \"Fan 1\",  DESCR: \"Nexus9000 C93180YC-EX chassis Fan Module\"\n";
      out += "PID: NXA-FAN-30CFM-F     ,  VID: V01 ,  SN: N/A\n\n";
      break;
    case Show::Clock:
      out += clock_text(wall_us(), "%H:%M:%S.000 UTC %a %b %d %Y") + "\nTime source is NTP\n";
      break;
  }
  return out;
}

}  // namespace nauto::lab
