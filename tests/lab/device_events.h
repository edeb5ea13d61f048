#pragma once
// The syslog messages each platform sends on interface, BGP and configuration changes,
// worded as the real devices word them (%LINEPROTO-5-UPDOWN, %BGP-5-ADJCHANGE,
// SNMP_TRAP_LINK_DOWN, BGP_NEIGHBOR_STATE_CHANGED, UI_COMMIT ...).

#include <vector>

#include "device.h"

namespace nauto::lab {

/// Events for an interface whose state changed from `previous` ("up", "down", "admin-down").
std::vector<DeviceEvent> interface_events(const DeviceView& view, const InterfaceView& item,
                                          const std::string& previous);
DeviceEvent bgp_event(const DeviceView& view, const BgpPeerView& peer, bool was_established);
DeviceEvent config_event(Platform platform, const std::string& user, const std::string& peer);

}  // namespace nauto::lab
