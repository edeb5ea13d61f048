#pragma once
// Renderers for the show commands runbooks need, one shape per platform, matching what the
// real devices print closely enough for the ntc-templates to parse. They read a DeviceView
// only, so the same state prints consistently through the CLI, eAPI and NX-API.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "device.h"

namespace nauto::lab {

enum class Show {
  Version,
  Interfaces,
  InterfacesStatus,
  InterfacesDescription,
  IpInterfaceBrief,
  IpRoute,
  BgpSummary,
  BgpNeighbors,
  LldpNeighbors,
  Inventory,
  Clock,
};

/// Text output; `argument` narrows to one interface or BGP neighbour when not empty.
/// Returns nullopt when the argument names nothing (the caller prints the platform's error).
std::optional<std::string> render_show(Show what, const DeviceView& view,
                                       const std::string& argument);
/// Structured output as eAPI (arista_eos) or NX-API (cisco_nxos) returns it; nullopt when the
/// platform has no JSON form of the command.
std::optional<nlohmann::json> render_show_json(Show what, const DeviceView& view);

std::string render_cisco_ios(Show what, const DeviceView& view, const std::string& argument);
std::string render_arista_eos(Show what, const DeviceView& view, const std::string& argument);
std::string render_cisco_nxos(Show what, const DeviceView& view, const std::string& argument);
std::string render_juniper_junos(Show what, const DeviceView& view, const std::string& argument);

}  // namespace nauto::lab
