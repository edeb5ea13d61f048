// Records checks (issue 28): assertions with operators on parsed show output.
#include "record_checks.h"

#include <catch2/catch.hpp>

using namespace nauto::compliance;
using nlohmann::json;

namespace {

Rule rule_of(const std::string& expect) {
  auto policy =
      parse_policy("rules:\n  - id: r\n    command: show x\n    expect:\n" + expect, "t.yaml");
  if (!policy) FAIL(policy.error().message);
  return policy->rules.front();
}

const json kNeighbors = json::parse(R"([
  {"bgp_neighbor": "10.0.0.1", "neighbor_as": "65001", "state_or_prefixes_received": "120", "input_errors": "0"},
  {"bgp_neighbor": "10.0.0.2", "neighbor_as": "65002", "state_or_prefixes_received": "Idle", "input_errors": "250"}
])");

Status status(const std::string& expect, const json& records = kNeighbors) {
  return check_records(rule_of(expect), records).status;
}

}  // namespace

TEST_CASE("every record must hold a field assertion, unless any: true") {
  CHECK(status("      - {field: state_or_prefixes_received, regex: '^\\d+$'}") == Status::Fail);
  CHECK(status("      - {field: state_or_prefixes_received, regex: '^\\d+$', any: true}") ==
        Status::Pass);
  CHECK(status("      - {field: neighbor_as, in: [65001, 65002]}") == Status::Pass);
  CHECK(status("      - {field: neighbor_as, in: ['65001']}") == Status::Fail);
  CHECK(status("      - {field: input_errors, '<': 100}") == Status::Fail);
  CHECK(status("      - {field: input_errors, '<=': 250}") == Status::Pass);
  CHECK(status("      - {field: BGP_NEIGHBOR, '!=': 10.0.0.3}") == Status::Pass);  // any case
  CHECK(status("      - {field: neighbor_as, '>': 65000}") == Status::Pass);
  CHECK(status("      - {field: neighbor_as, '>=': 65002}") == Status::Fail);
  CHECK(status("      - {field: neighbor_as, '==': 65001.0, any: true}") == Status::Pass);
}

TEST_CASE("a failure names the assertion and the records that break it") {
  auto out = check_records(rule_of("      - {field: input_errors, '<': 100}"), kNeighbors);
  CHECK(out.message == "does not hold: input_errors < 100");
  REQUIRE(out.lines.size() == 1);
  CHECK_THAT(out.lines[0], Catch::Contains("10.0.0.2"));
}

TEST_CASE("count assertions on the number of records") {
  CHECK(status("      - {count: {'>=': 2}}") == Status::Pass);
  CHECK(status("      - {count: {'>=': 3}}") == Status::Fail);
  CHECK(status("      - {count: {'==': 0}}", json::array()) == Status::Pass);
  // Every record of none holds; `any` needs one.
  CHECK(status("      - {field: x, '==': 1}", json::array()) == Status::Pass);
  CHECK(status("      - {field: x, '==': 1, any: true}", json::array()) == Status::Fail);
}

TEST_CASE("a field no record has fails and says so; numbers compare only with numbers") {
  auto out = check_records(rule_of("      - {field: mtu, '>': 1000}"), kNeighbors);
  CHECK(out.status == Status::Fail);
  CHECK(out.missing == std::vector<std::string>{"field 'mtu'"});
  CHECK(status("      - {field: state_or_prefixes_received, '>': 10}") == Status::Fail);  // Idle
}

TEST_CASE("JSON output is one record whose nested fields a dotted path names") {
  const json eapi = json::parse(
      R"({"memTotal": 2000000, "vrfs": {"default": {"routerId": "1.1.1.1", "peers": {"10.0.0.1": {"peerState": "Established"}}}}})");
  const auto records = records_of(eapi);
  CHECK(check_records(rule_of("      - {field: memTotal, '>=': 1000000}"), records).status ==
        Status::Pass);
  CHECK(check_records(rule_of("      - {field: vrfs.default.routerId, '==': 1.1.1.1}"), records)
            .status == Status::Pass);
  CHECK(check_records(
            rule_of("      - {field: vrfs.default.peers.10.0.0.1.peerState, '==': Established}"),
            records)
            .status == Status::Pass);
}
