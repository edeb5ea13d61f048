#include "device_events.h"

namespace nauto::lab {

std::vector<DeviceEvent> interface_events(const DeviceView& view, const InterfaceView& item,
                                          const std::string& previous) {
  std::vector<DeviceEvent> events;
  const bool up = item.oper_up;
  const std::string state = up ? "up" : "down";
  switch (view.platform) {
    case Platform::CiscoIos:
    case Platform::AristaEos: {
      std::string app = view.platform == Platform::AristaEos ? "Ebra" : "";
      if (!item.admin_up) {
        events.push_back({5, app, "%LINK-5-CHANGED",
                          "Interface " + item.name + ", changed state to administratively down"});
      } else if (previous == "admin-down" || item.physical) {
        events.push_back(
            {3, app, "%LINK-3-UPDOWN", "Interface " + item.name + ", changed state to " + state});
      }
      events.push_back({5, app, "%LINEPROTO-5-UPDOWN",
                        "Line protocol on Interface " + item.name + ", changed state to " + state});
      break;
    }
    case Platform::CiscoNxos:
      if (up) {
        events.push_back(
            {5, "", "%ETHPORT-5-IF_UP", "Interface " + item.name + " is up in mode routed"});
      } else if (!item.admin_up) {
        events.push_back({5, "", "%ETHPORT-5-IF_DOWN_ADMIN_DOWN",
                          "Interface " + item.name + " is down (Administratively down)"});
      } else {
        events.push_back({5, "", "%ETHPORT-5-IF_DOWN_LINK_FAILURE",
                          "Interface " + item.name + " is down (Link failure)"});
      }
      break;
    case Platform::JuniperJunos: {
      std::string admin = item.admin_up ? "up(1)" : "down(2)";
      std::string oper = up ? "up(1)" : "down(2)";
      events.push_back({up ? 6 : 4, "mib2d", up ? "SNMP_TRAP_LINK_UP" : "SNMP_TRAP_LINK_DOWN",
                        "ifIndex " + std::to_string(500 + item.if_index) + ", ifAdminStatus " +
                            admin + ", ifOperStatus " + oper + ", ifName " + item.name});
      break;
    }
  }
  return events;
}

DeviceEvent bgp_event(const DeviceView& view, const BgpPeerView& peer, bool was_established) {
  const std::string as = std::to_string(peer.remote_as);
  const std::string reason = peer.admin_up ? "Interface flap" : "Admin. shutdown";
  switch (view.platform) {
    case Platform::CiscoIos:
      return {5, "", "%BGP-5-ADJCHANGE",
              "neighbor " + peer.address + (peer.established ? " Up " : " Down " + reason)};
    case Platform::AristaEos:
      return {5, "Bgp", "%BGP-5-ADJCHANGE",
              "peer " + peer.address + " (VRF default AS " + as + ") old state " +
                  (was_established ? "Established" : "OpenConfirm") + " event " +
                  (peer.established ? "RecvKeepAlive" : "Stop") + " new state " +
                  (peer.established ? "Established" : "Idle")};
    case Platform::CiscoNxos:
      return {5, "", "%BGP-5-ADJCHANGE",
              "bgp-" + std::to_string(view.local_as) + " [4127] (default) neighbor " +
                  peer.address + (peer.established ? " Up" : " Down - " + reason)};
    case Platform::JuniperJunos:
      return {4, "rpd", "BGP_NEIGHBOR_STATE_CHANGED",
              "BGP peer " + peer.address + " (External AS " + as + ") changed state from " +
                  (was_established ? "Established to Idle (event Stop)"
                                   : "OpenConfirm to Established (event RecvKeepAlive)") +
                  " (instance master)"};
  }
  return {};
}

DeviceEvent config_event(Platform platform, const std::string& user, const std::string& peer) {
  switch (platform) {
    case Platform::CiscoIos:
      return {5, "", "%SYS-5-CONFIG_I",
              "Configured from console by " + user + " on vty0 (" + peer + ")"};
    case Platform::AristaEos:
      return {5, "ConfigAgent", "%SYS-5-CONFIG_I",
              "Configured from console by " + user + " on vty3 (" + peer + ")"};
    case Platform::CiscoNxos:
      return {5, "", "%VSHD-5-VSHD_SYSLOG_CONFIG_I",
              "Configured from vty by " + user + " on " + peer + "@pts/0"};
    case Platform::JuniperJunos:
      return {5, "mgd", "UI_COMMIT",
              "User '" + user + "' requested 'commit' operation (comment: none)"};
  }
  return {};
}

}  // namespace nauto::lab
