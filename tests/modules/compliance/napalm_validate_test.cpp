// NAPALM validate semantics (issue 28): the cases are those of NAPALM's documentation
// (docs/validate): its Junos and EOS reports, strict mode, list matching and nested maps.
#include "napalm_validate.h"

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>

#include "nauto/sdk/yaml_json.h"

using namespace nauto::compliance;
using nlohmann::json;

namespace {

json yaml(const char* text) {
  return nauto::yaml_to_json(YAML::Load(text));
}

json report(const char* validation, const json& actual) {
  return napalm_compliance_report(yaml(validation), [&](const std::string& getter) {
    return actual.contains(getter) ? std::optional<json>(actual[getter]) : std::nullopt;
  });
}

const char* kJunosValidation = R"(
- get_facts:
    os_version: 12.1X47
- get_interfaces_ip:
    ge-0/0/0.0:
        ipv4:
            10.0.2.15:
                prefix_length: 24
            _mode: strict
)";

}  // namespace

TEST_CASE("a device that complies gives NAPALM's report, key for key") {
  const json actual = {{"get_facts", {{"os_version", "12.1X47-D20.7"}, {"hostname", "vsrx"}}},
                       {"get_interfaces_ip",
                        {{"ge-0/0/0.0", {{"ipv4", {{"10.0.2.15", {{"prefix_length", 24}}}}}}}}}};
  const json expected = json::parse(R"({
    "complies": true, "skipped": [],
    "get_facts": {"complies": true, "extra": [], "missing": [],
                  "present": {"os_version": {"complies": true, "nested": false}}},
    "get_interfaces_ip": {"complies": true, "extra": [], "missing": [],
                          "present": {"ge-0/0/0.0": {"complies": true, "nested": true}}}})");
  CHECK(report(kJunosValidation, actual) == expected);
}

TEST_CASE("strict mode at one level reports the extra address, nested as NAPALM nests it") {
  const json actual = {
      {"get_facts", {{"os_version", "12.1X47-D20.7"}}},
      {"get_interfaces_ip",
       {{"ge-0/0/0.0",
         {{"ipv4",
           {{"10.0.2.15", {{"prefix_length", 24}}}, {"172.20.0.1", {{"prefix_length", 12}}}}}}}}}};
  const json expected = json::parse(R"({
    "complies": false, "skipped": [],
    "get_facts": {"complies": true, "extra": [], "missing": [],
                  "present": {"os_version": {"complies": true, "nested": false}}},
    "get_interfaces_ip": {"complies": false, "extra": [], "missing": [],
      "present": {"ge-0/0/0.0": {"complies": false, "nested": true,
        "diff": {"complies": false, "extra": [], "missing": [],
          "present": {"ipv4": {"complies": false, "nested": true,
            "diff": {"complies": false, "extra": ["172.20.0.1"], "missing": [],
              "present": {"10.0.2.15": {"complies": true, "nested": true}}}}}}}}}})");
  CHECK(report(kJunosValidation, actual) == expected);
}

TEST_CASE("a value that differs gives expected_value and actual_value (the EOS example)") {
  const json actual = {{"get_facts", {{"os_version", "4.15.2.1F-2759627.41521F"}}},
                       {"get_interfaces_ip",
                        {{"Management1", {{"ipv4", {{"10.0.2.14", {{"prefix_length", 24}}}}}}}}}};
  auto out = report(R"(
- get_facts:
    os_version: 4.17
- get_interfaces_ip:
    Management1:
        ipv4:
            10.0.2.14:
                prefix_length: 24
            _mode: strict
)",
                    actual);
  CHECK_FALSE(out["complies"].get<bool>());
  const auto& os = out["get_facts"]["present"]["os_version"];
  CHECK_FALSE(os["complies"].get<bool>());
  CHECK_FALSE(os["nested"].get<bool>());
  CHECK(os["actual_value"] == "4.15.2.1F-2759627.41521F");
  CHECK(out["get_interfaces_ip"]["complies"].get<bool>());
}

TEST_CASE(
    "lists are {list: [...]}; strict fails on other elements, each expected one is matched once") {
  const char* validation = R"(
- get_facts:
    interface_list:
      _mode: strict
      list:
        - Vlan5
        - Vlan100
    hostname: n9k2
)";
  auto exact =
      report(validation,
             {{"get_facts", {{"hostname", "n9k2"}, {"interface_list", {"Vlan100", "Vlan5"}}}}});
  CHECK(exact["complies"].get<bool>());
  auto extra =
      report(validation,
             {{"get_facts",
               {{"hostname", "n9k2"}, {"interface_list", {"Vlan5", "Ethernet1", "Vlan100"}}}}});
  CHECK_FALSE(extra["complies"].get<bool>());
  const auto& list = extra["get_facts"]["present"]["interface_list"]["diff"];
  CHECK(list["extra"] == json::array({"Ethernet1"}));
  CHECK(list["present"] == json::array({"Vlan5", "Vlan100"}));
  auto missing = report(
      validation, {{"get_facts", {{"hostname", "n9k2"}, {"interface_list", {"Vlan5", "Vlan5"}}}}});
  CHECK(missing["get_facts"]["present"]["interface_list"]["diff"]["missing"] ==
        json::array({"Vlan100"}));
  // Without strict, other elements are fine.
  auto loose = napalm_compare(yaml("list: [Vlan5]"), json::array({"Vlan5", "Ethernet1"}));
  CHECK(loose["complies"].get<bool>());
  CHECK_FALSE(napalm_compare(yaml("list: [Vlan5]"), json::object()).get<bool>());
}

TEST_CASE("strict applies to its own level only: nested maps check only what they name") {
  const char* validation = R"(
- get_bgp_neighbors:
    global:
      router_id: 192.0.2.2
      peers:
        _mode: strict
        192.0.2.2:
          is_enabled: true
          address_family:
            ipv4:
              sent_prefixes: 5
              received_prefixes: '<10'
)";
  json peer = {{"is_enabled", true},
               {"is_up", true},
               {"remote_as", 65001},
               {"address_family",
                {{"ipv4", {{"sent_prefixes", 5}, {"received_prefixes", 7}}},
                 {"ipv6", {{"sent_prefixes", 2}}}}}};
  json actual = {{"get_bgp_neighbors",
                  {{"global", {{"router_id", "192.0.2.2"}, {"peers", {{"192.0.2.2", peer}}}}},
                   {"red", {{"router_id", "198.51.100.1"}}}}}};
  CHECK(report(validation, actual)["complies"].get<bool>());  // other VRFs and fields don't count
  actual["get_bgp_neighbors"]["global"]["peers"]["192.0.2.9"] = peer;
  auto out = report(validation, actual);
  CHECK_FALSE(out["complies"].get<bool>());
  const auto& peers = out["get_bgp_neighbors"]["present"]["global"]["diff"]["present"]["peers"];
  CHECK(peers["diff"]["extra"] == json::array({"192.0.2.9"}));
  actual["get_bgp_neighbors"]["global"]["peers"].erase("192.0.2.9");
  actual["get_bgp_neighbors"]["global"]["peers"]["192.0.2.2"]["address_family"]["ipv4"]
        ["received_prefixes"] = 12;
  CHECK_FALSE(report(validation, actual)["complies"].get<bool>());
  actual["get_bgp_neighbors"]["global"].erase("peers");
  auto gone = report(validation, actual);
  CHECK(gone["get_bgp_neighbors"]["present"]["global"]["diff"]["missing"] ==
        json::array({"peers"}));
}

TEST_CASE("value comparisons: numbers, ranges, tolerances, regexes, equality") {
  CHECK(napalm_compare("<15.0", 14.9).get<bool>());
  CHECK_FALSE(napalm_compare("<15.0", 15).get<bool>());
  CHECK(napalm_compare(">=2", "2").get<bool>());
  CHECK(napalm_compare("<=2", 2).get<bool>());
  CHECK_FALSE(napalm_compare("<abc", 2).get<bool>());
  CHECK(napalm_compare("10.0<->20.0", 10).get<bool>());
  CHECK_FALSE(napalm_compare("10.0<->20.0", 20.5).get<bool>());
  CHECK(napalm_compare("10%20", 21.9).get<bool>());
  CHECK_FALSE(napalm_compare("10%20", 22.5).get<bool>());
  CHECK(napalm_compare("^7\\.0", "7.0(3)I2(2d)").get<bool>());
  CHECK(napalm_compare("True", true).get<bool>());  // searched in Python's str(True)
  CHECK(napalm_compare(json(true), true).get<bool>());
  CHECK_FALSE(napalm_compare(json(24), 30).get<bool>());
  CHECK(napalm_compare(json(24), 24.0).get<bool>());
}

TEST_CASE("_name renames a getter's entry; a getter the device cannot answer is skipped") {
  auto out = report(R"(
- get_facts:
    _name: facts_again
    hostname: r1
- get_environment:
    cpu: {}
)",
                    {{"get_facts", {{"hostname", "r1"}}}});
  CHECK(out["complies"].get<bool>());
  CHECK(out.contains("facts_again"));
  CHECK(out["skipped"] == json::array({"get_environment"}));
  CHECK(out["get_environment"]["reason"] == "NotImplemented");
}
