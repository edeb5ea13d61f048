#pragma once
// What SNMP polls ask and how the answers become named metrics. Built-in sets:
//   system      sysUpTime                                   uptime_seconds
//   interfaces  IF-MIB ifTable/ifXTable, labelled interface  if_in_octets, if_out_octets (HC
//               counters, the 32-bit ones where an agent lacks them), if_in_errors,
//               if_out_errors, if_in_discards, if_out_discards, if_in_ucast_packets,
//               if_out_ucast_packets, if_oper_status, if_admin_status, if_speed_mbps
//   host        HOST-RESOURCES-MIB, labelled cpu / storage  cpu_load_percent,
//               storage_used_percent, memory_used_percent (hrStorageRam)
//   bgp         BGP4-MIB bgpPeerTable, labelled peer        bgp_peer_state (1 idle .. 6
//               established), bgp_peer_admin_status, bgp_peer_established_seconds,
//               bgp_peer_in_updates, bgp_peer_out_updates
// plus user OIDs with names (a scalar, or a column whose index becomes a label).
// Counters come out raw with their width; CounterTracker turns them into rates.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "snmp_poller.h"

namespace nauto::telemetry {

using Labels = std::map<std::string, std::string>;

enum class MetricKind { Gauge, Counter };

/// A user OID: `name` (a metric name), a scalar or a column walked, gauge or counter.
struct UserOid {
  std::string name;
  Oid oid;
  MetricKind kind = MetricKind::Gauge;
  bool walk = false;
  std::string index_label = "index";  ///< the label a walked column's index goes into
  double scale = 1;                   ///< multiplied into gauges
  std::string help;
};

/// The built-in sets and user OIDs one target is polled for.
struct SnmpMetricPlan {
  std::vector<std::string> sets;  ///< system, interfaces, host, bgp
  std::vector<UserOid> oids;
};

/// Errc::InvalidConfig naming an unknown set.
Result<void> validate_sets(const std::vector<std::string>& sets);
const std::vector<std::string>& builtin_sets();

/// One value read from an agent.
struct RawSample {
  std::string metric;
  Labels labels;
  MetricKind kind = MetricKind::Gauge;
  double value = 0;         ///< gauges (scaled); counters: the raw count
  std::uint64_t count = 0;  ///< counters: the raw count
  int counter_bits = 0;     ///< counters: 32 or 64
  /// Counters: the agent's discontinuity marker for this value (ifCounterDiscontinuityTime);
  /// a change means the counter was reset.
  std::uint64_t discontinuity = 0;
};

struct PolledSamples {
  std::vector<RawSample> samples;
  std::optional<std::uint64_t> uptime_ticks;  ///< sysUpTime (hundredths of a second)
  /// Values of the wrong type where a number was due (a string for a counter): left out and
  /// counted, the rest kept.
  std::size_t wrong_types = 0;
};

/// The GETs and walks that `plan` needs (sysUpTime always, for counter discontinuities).
PollPlan snmp_poll_plan(const SnmpMetricPlan& plan);
/// The metrics in an answer to `poll_plan` (snmp_poll_plan(plan), made once per group).
PolledSamples snmp_samples(const SnmpMetricPlan& plan, const PollPlan& poll_plan,
                           const PollOutcome& outcome);

/// Help text and kind of the built-in metrics, for the exposition; nullptr if not built in.
struct MetricInfo {
  const char* name;
  MetricKind kind;
  const char* help;
};
const MetricInfo* builtin_metric(const std::string& name);

}  // namespace nauto::telemetry
