#pragma once
// Metrics from show commands: a command's output parsed with TextFSM (the platform's template
// from a template directory such as ntc-templates') or as JSON (eAPI, NX-API, `| json`), its
// records mapped to named metrics with labels:
//
//   cli:
//     - name: bgp
//       target: platform=cisco_ios
//       command: show ip bgp summary
//       parse: textfsm                 # or json
//       records: vrfs.default.peers    # json: the dotted path to the records (a list, or a map
//                                      #   whose keys become the field _key)
//       interval: 60s
//       metrics:
//         - {name: bgp_prefixes_received, value: state_pfxrcd, labels: {peer: bgp_neigh}}
//         - {name: bgp_messages_received, value: msg_rcvd, type: counter, labels: {peer:
//         bgp_neigh}}
//
// A value that is not a number in a record (a BGP peer in Idle has no prefix count) gives no
// sample for it. Pure: no I/O; TemplateLibrary is thread-safe.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "snmp_metrics.h"

namespace nauto::textfsm {
class TemplateLibrary;
}

namespace nauto::telemetry {

struct CliMetric {
  std::string name;
  std::string value;  ///< the record's field (dotted for nested JSON)
  std::vector<std::pair<std::string, std::string>> labels;  ///< label -> field
  MetricKind kind = MetricKind::Gauge;
  double scale = 1;
  std::string help;
};

struct CliPollGroup {
  std::string name;
  std::string target = "all";
  std::string command;
  bool json = false;  ///< parse: json (else textfsm)
  std::string records;
  std::int64_t interval_ms = 60'000;
  std::int64_t timeout_ms = 30'000;
  std::vector<CliMetric> metrics;
};

struct CliSamples {
  std::vector<RawSample> samples;
  std::size_t records = 0;
  std::size_t skipped = 0;  ///< values that were not numbers
};

/// The samples in one output of device.call (`{command, text, platform, json?}`).
/// Errc::Malformed when the output does not parse (no template, not JSON, no such path).
Result<CliSamples> cli_samples(const CliPollGroup& group, const nlohmann::json& output,
                               textfsm::TemplateLibrary* templates);

/// The `cli:` list of the module's config; every problem added to `problems` with its key.
std::vector<CliPollGroup> read_cli_groups(const nlohmann::json& list,
                                          std::vector<std::string>& problems);

}  // namespace nauto::telemetry
