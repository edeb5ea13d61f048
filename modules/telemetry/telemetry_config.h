#pragma once
// The telemetry module's settings (modules.telemetry in nauto.yaml):
//
//   telemetry:
//     listen: 127.0.0.1:9464      # Prometheus /metrics; "" serves none
//     self_interval: 15s          # how often nauto's own counters are gathered
//     retention: {raw: 24h, raw_chunk: 10m, rollup_step: 5m, rollup_chunk: 2h, rollup: 30d}
//     snmp:
//       - name: core              # a poll group
//         target: "role=core"     # inventory selector
//         credential: snmp-core   # vault: v2c community = password; v3 user = username,
//                                 #   auth password = password, privacy password = enable_secret
//         version: 2c             # or 3, with auth_protocol / priv_protocol
//         interval: 60s
//         timeout: 2s
//         retries: 1
//         sets: [system, interfaces, host, bgp]
//         oids: [{name: temperature, oid: 1.3.6..., type: gauge, walk: true, label: sensor,
//                 scale: 0.1, help: ...}]
//     cli: [...]                  # show commands into metrics (cli_metrics.h)
//     textfsm_templates: DIR      # for cli's `parse: textfsm` (ntc-templates' layout)
//     thresholds: [...]           # thresholds.h
//
// A device's `vars` may override its group: snmp_host, snmp_port, snmp_credential.
// Pure: parsing only, no I/O.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_metrics.h"
#include "nauto/base/result.h"
#include "sample_store.h"
#include "snmp_metrics.h"
#include "thresholds.h"

namespace nauto::telemetry {

struct SnmpPollGroup {
  std::string name;
  std::string target = "all";
  std::string credential;
  int version = 2;
  std::string auth_protocol;  ///< v3; "" for noAuthNoPriv
  std::string priv_protocol;  ///< v3; "" for authNoPriv
  std::string context;
  int port = 161;
  std::int64_t interval_ms = 60'000;
  int timeout_ms = 2000;
  int retries = 1;
  int bulk_repetitions = 20;
  SnmpMetricPlan metrics;
  PollPlan poll_plan;  ///< snmp_poll_plan(metrics): what each poll asks, made once
};

struct TelemetrySettings {
  std::string listen = "127.0.0.1:9464";
  std::int64_t render_timeout_ms = 5000;
  std::int64_t self_interval_ms = 15'000;
  std::int64_t targets_refresh_ms = 60'000;  ///< how often each group's selector is re-read
  SampleRetention retention;
  std::vector<SnmpPollGroup> snmp;
  std::vector<CliPollGroup> cli;  ///< show commands parsed into metrics (cli_metrics.h)
  std::string textfsm_templates;  ///< the template directory for `parse: textfsm`
  std::vector<Threshold> thresholds;
};

/// Every problem found, each with its key path. Errc::InvalidConfig.
Result<TelemetrySettings> read_telemetry_settings(const nlohmann::json& config);

}  // namespace nauto::telemetry
