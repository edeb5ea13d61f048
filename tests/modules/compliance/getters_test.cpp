// NAPALM getters built from TextFSM records, facts and configs (issue 28).
#include "getters.h"

#include <catch2/catch.hpp>

#include "config_checks.h"

using namespace nauto::compliance;
using nlohmann::json;

TEST_CASE("get_interfaces from show interfaces records, in NAPALM's shape") {
  DeviceData data;
  data.platform = "cisco_ios";
  data.parsed["show interfaces"] = json::parse(R"([
    {"interface": "GigabitEthernet0/1", "link_status": "up", "protocol_status": "up",
     "description": "uplink", "mac_address": "aabb.cc00.0100", "mtu": "1500", "bandwidth": "1000000 Kbit"},
    {"interface": "GigabitEthernet0/2", "link_status": "administratively down", "protocol_status": "down",
     "description": "", "mac_address": "aabb.cc00.0200", "mtu": "9000", "bandwidth": "10 Gbit"}])");
  auto value = getter_value("get_interfaces", data);
  REQUIRE(value);
  const auto& up = (*value)["GigabitEthernet0/1"];
  CHECK(up["is_up"] == true);
  CHECK(up["is_enabled"] == true);
  CHECK(up["mac_address"] == "AA:BB:CC:00:01:00");
  CHECK(up["mtu"] == 1500);
  CHECK(up["speed"] == 1000.0);
  const auto& down = (*value)["GigabitEthernet0/2"];
  CHECK(down["is_enabled"] == false);
  CHECK(down["speed"] == 10000.0);
  data.platform = "juniper_junos";
  CHECK_FALSE(getter_value("get_interfaces", data));  // no command known: NAPALM's skip
}

TEST_CASE("get_facts from the driver's facts, with the interface list and uptime in seconds") {
  DeviceData data;
  data.platform = "cisco_ios";
  data.facts = json{{"hostname", "r1"},    {"vendor", "Cisco"},
                    {"model", "CSR1000V"}, {"os_version", "17.3.1"},
                    {"serial", "9ABCDEF"}, {"uptime", "1 week, 2 days, 3 hours, 4 minutes"}};
  data.parsed["show interfaces"] = json::parse(R"([{"interface": "Gi1"}, {"interface": "Gi2"}])");
  auto facts = getter_value("get_facts", data);
  REQUIRE(facts);
  CHECK((*facts)["serial_number"] == "9ABCDEF");
  CHECK((*facts)["uptime"] == 604800.0 + 2 * 86400 + 3 * 3600 + 4 * 60);
  CHECK((*facts)["interface_list"] == json::array({"Gi1", "Gi2"}));
  data.facts.reset();
  CHECK_FALSE(getter_value("get_facts", data));
}

TEST_CASE("get_bgp_neighbors from show ip bgp summary records") {
  DeviceData data;
  data.platform = "cisco_ios";
  data.parsed["show ip bgp summary"] = json::parse(R"j([
    {"router_id": "192.0.2.1", "local_as": "65000", "bgp_neighbor": "192.0.2.2", "neighbor_as": "65001",
     "state_or_prefixes_received": "7"},
    {"router_id": "192.0.2.1", "local_as": "65000", "bgp_neighbor": "192.0.2.3", "neighbor_as": "65002",
     "state_or_prefixes_received": "Idle (Admin)"}])j");
  auto value = getter_value("get_bgp_neighbors", data);
  REQUIRE(value);
  CHECK((*value)["global"]["router_id"] == "192.0.2.1");
  const auto& peers = (*value)["global"]["peers"];
  CHECK(peers["192.0.2.2"]["is_up"] == true);
  CHECK(peers["192.0.2.2"]["remote_as"] == 65001);
  CHECK(peers["192.0.2.2"]["address_family"]["ipv4"]["received_prefixes"] == 7);
  CHECK(peers["192.0.2.3"]["is_up"] == false);
  CHECK(peers["192.0.2.3"]["is_enabled"] == false);
}

TEST_CASE("get_ntp_servers from the config, IOS-like and Junos") {
  static const nauto::drivers::ConfigDiff parser({}, {});
  const ConfigView ios("ntp server 10.0.0.1 prefer\nntp server vrf MGMT 10.0.0.2\nntp source Lo0\n",
                       parser);
  DeviceData data;
  data.platform = "cisco_ios";
  data.config = &ios;
  CHECK(*getter_value("get_ntp_servers", data) ==
        json{{"10.0.0.1", json::object()}, {"10.0.0.2", json::object()}});
  const ConfigView junos(
      "system {\n    ntp {\n        server 10.1.1.1;\n        server 10.1.1.2 prefer;\n    }\n}\n",
      parser);
  data.platform = "juniper_junos";
  data.config = &junos;
  CHECK(*getter_value("get_ntp_servers", data) ==
        json{{"10.1.1.1", json::object()}, {"10.1.1.2", json::object()}});
  data.config = nullptr;
  CHECK_FALSE(getter_value("get_ntp_servers", data));
}
