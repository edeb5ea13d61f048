// Show command output into metrics: TextFSM records (ntc-templates) and JSON (eAPI shapes),
// and the module's settings read with every problem named.
#include "cli_metrics.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "nauto/text/textfsm/template_library.h"
#include "telemetry_config.h"

using namespace nauto;
using namespace nauto::telemetry;
using json = nlohmann::json;

namespace {

const char* kTemplates = NAUTO_NTC_TEMPLATES;

CliPollGroup group(const char* text) {
  std::vector<std::string> problems;
  auto groups = read_cli_groups(json::parse(text), problems);
  INFO((problems.empty() ? std::string() : problems.front()));
  REQUIRE(problems.empty());
  return groups.at(0);
}

}  // namespace

TEST_CASE("a show command parsed with TextFSM becomes metrics per record", "[telemetry][cli]") {
  auto library = textfsm::TemplateLibrary::open(kTemplates);
  REQUIRE(library);
  const auto g = group(R"([{"name": "bgp", "command": "show ip bgp summary", "metrics": [
      {"name": "bgp_peer_prefixes", "value": "state_or_prefixes_received", "labels": {"peer": "bgp_neighbor"}},
      {"name": "bgp_peer_messages_in", "value": "messages_received", "type": "counter",
       "labels": {"peer": "bgp_neighbor", "as": "neighbor_as"}}]}])");
  const std::string output =
      "BGP router identifier 10.0.0.1, local AS number 65001\n"
      "BGP table version is 5, main routing table version 5\n\n"
      "Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n"
      "10.0.0.2        4        65002     120     118        5    0    0 01:02:03        4\n"
      "10.0.0.3        4        65003       0       0        1    0    0 never    Idle\n";
  auto s = cli_samples(
      g, json{{"command", "show ip bgp summary"}, {"platform", "cisco_ios"}, {"text", output}},
      library->get());
  REQUIRE(s);
  CHECK(s->records == 2);
  CHECK(s->skipped == 1);  // the Idle peer has no prefix count
  REQUIRE(s->samples.size() == 3);
  CHECK(s->samples[0].metric == "bgp_peer_prefixes");
  CHECK(s->samples[0].value == 4);
  CHECK(s->samples[0].labels.at("peer") == "10.0.0.2");
  CHECK(s->samples[1].kind == MetricKind::Counter);
  CHECK(s->samples[1].count == 120);
  CHECK(s->samples[1].labels.at("as") == "65002");
  // A platform the templates lack is the poll's error, not a crash.
  auto none = cli_samples(g, json{{"platform", "no_such_os"}, {"text", output}}, library->get());
  CHECK_FALSE(none);
}

TEST_CASE("JSON output: a path to a list, or to a map whose keys become _key", "[telemetry][cli]") {
  const auto g = group(R"([{"name": "eos", "command": "show ip bgp summary", "parse": "json",
      "records": "vrfs.default.peers", "metrics": [
      {"name": "bgp_peer_prefixes", "value": "prefixReceived", "labels": {"peer": "_key"}},
      {"name": "bgp_peer_uptime", "value": "timers.up", "scale": 0.001, "labels": {"peer": "_key"}}]}])");
  json doc = {{"vrfs",
               {{"default",
                 {{"peers",
                   {{"192.0.2.1", {{"prefixReceived", 7}, {"timers", {{"up", 5000}}}}},
                    {"192.0.2.2", {{"prefixReceived", "Idle"}}}}}}}}}};
  auto from_json = cli_samples(g, json{{"json", doc}, {"text", ""}}, nullptr);
  REQUIRE(from_json);
  CHECK(from_json->records == 2);
  REQUIRE(from_json->samples.size() == 2);
  CHECK(from_json->samples[0].labels.at("peer") == "192.0.2.1");
  CHECK(from_json->samples[1].value == Approx(5));
  // The same document as text (a `| json` command over SSH).
  auto from_text = cli_samples(g, json{{"text", doc.dump()}}, nullptr);
  REQUIRE(from_text);
  CHECK(from_text->samples.size() == 2);
  CHECK(cli_samples(g, json{{"text", "% Invalid input"}}, nullptr).error().code == Errc::Malformed);
  CHECK(cli_samples(g, json{{"json", json{{"vrfs", json::object()}}}}, nullptr).error().code ==
        Errc::Malformed);
}

TEST_CASE("telemetry settings: every problem with its key", "[telemetry][config]") {
  auto bad = read_telemetry_settings(json::parse(R"({
    "listen": "127.0.0.1:9464",
    "snmp": [{"name": "a", "sets": ["interfaces", "mpls"], "interval": "2s", "timeout": "1s",
              "retries": 2},
             {"name": "a", "credential": "c", "version": 3, "auth_protocol": "sha1000"}],
    "cli": [{"name": "c", "command": "show x", "metrics": [{"name": "bad-name", "value": "v"}]}],
    "retention": {"raw_chunk": "7m"},
    "colour": "red"})"));
  REQUIRE_FALSE(bad);
  const auto& m = bad.error().message;
  CHECK_THAT(m, Catch::Contains("snmp[0].credential: is required"));
  CHECK_THAT(m, Catch::Contains("mpls"));
  CHECK_THAT(m, Catch::Contains("snmp[0].timeout: timeout x (retries + 1)"));
  CHECK_THAT(m, Catch::Contains("snmp[1].name: 'a' is used twice"));
  CHECK_THAT(m, Catch::Contains("snmp[1].auth_protocol"));
  CHECK_THAT(m, Catch::Contains("cli[0].metrics[0].name"));
  CHECK_THAT(m, Catch::Contains("textfsm_templates"));
  CHECK_THAT(m, Catch::Contains("retention.raw_chunk"));
  CHECK_THAT(m, Catch::Contains("colour"));
  auto good = read_telemetry_settings(json::parse(R"({"snmp": [{"credential": "c", "version": "3"}],
    "thresholds": [{"name": "t", "metric": "m", "above": "0.5"}]})"));
  REQUIRE(good);
  CHECK(good->snmp[0].version == 3);
  CHECK(good->snmp[0].auth_protocol == "sha");
  CHECK(good->thresholds[0].limit == 0.5);
  CHECK(good->listen == "127.0.0.1:9464");
}
