// Telemetry's parsers of what devices and users send: a show command's output as JSON records
// (eAPI, NX-API, `| json`) mapped to metrics, and the module's settings (modules.telemetry,
// thresholds, cli and snmp groups) read from the same bytes taken as a JSON document.
#include "cli_metrics.h"
#include "fuzz_input.h"
#include "telemetry_config.h"

using namespace nauto::telemetry;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = nauto::fuzz::text_of(data, size);
  const auto [output_text, path] = nauto::fuzz::split_at_nul(input);
  CliPollGroup group;
  group.command = "show ip bgp summary";
  group.json = true;
  group.records = path.empty() ? "vrfs.default.peers" : std::string(path);
  group.metrics = {
      {"prefixes", "prefixReceived", {{"peer", "_key"}, {"as", "asn"}}, MetricKind::Gauge, 1, ""},
      {"messages", "msgReceived", {{"peer", "_key"}}, MetricKind::Counter, 0.5, ""}};
  (void)cli_samples(group, json{{"text", std::string(output_text)}}, nullptr);
  auto document = json::parse(output_text, nullptr, false);
  if (!document.is_discarded()) {
    (void)cli_samples(group, json{{"json", document}}, nullptr);
    (void)read_telemetry_settings(document);
  }
  return 0;
}
