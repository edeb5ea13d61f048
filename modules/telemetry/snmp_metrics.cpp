#include "snmp_metrics.h"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace nauto::telemetry {

namespace {

// IF-MIB (RFC 2863)
constexpr const char* kIfDescr = "1.3.6.1.2.1.2.2.1.2";
constexpr const char* kIfName = "1.3.6.1.2.1.31.1.1.1.1";
constexpr const char* kIfDiscontinuity = "1.3.6.1.2.1.31.1.1.1.19";
constexpr const char* kIfInOctets = "1.3.6.1.2.1.2.2.1.10";
constexpr const char* kIfOutOctets = "1.3.6.1.2.1.2.2.1.16";
constexpr const char* kIfHcInOctets = "1.3.6.1.2.1.31.1.1.1.6";
constexpr const char* kIfHcOutOctets = "1.3.6.1.2.1.31.1.1.1.10";
// HOST-RESOURCES-MIB (RFC 2790)
constexpr const char* kHrStorageType = "1.3.6.1.2.1.25.2.3.1.2";
constexpr const char* kHrStorageDescr = "1.3.6.1.2.1.25.2.3.1.3";
constexpr const char* kHrStorageSize = "1.3.6.1.2.1.25.2.3.1.5";
constexpr const char* kHrStorageUsed = "1.3.6.1.2.1.25.2.3.1.6";
constexpr const char* kHrStorageRam = "1.3.6.1.2.1.25.2.1.2";
// SNMPv2-MIB
constexpr const char* kSysUpTime = "1.3.6.1.2.1.1.3.0";

/// A column that becomes one metric, labelled by the row's index (through `label`).
struct ColumnMetric {
  const char* set;
  const char* metric;
  const char* oid;
  MetricKind kind;
  const char* label;  // "interface", "peer", "cpu"
  const char* help;
};

const ColumnMetric kColumns[] = {
    {"interfaces", "if_in_errors", "1.3.6.1.2.1.2.2.1.14", MetricKind::Counter, "interface",
     "Inbound packets with errors (ifInErrors)"},
    {"interfaces", "if_out_errors", "1.3.6.1.2.1.2.2.1.20", MetricKind::Counter, "interface",
     "Outbound packets with errors (ifOutErrors)"},
    {"interfaces", "if_in_discards", "1.3.6.1.2.1.2.2.1.13", MetricKind::Counter, "interface",
     "Inbound packets discarded (ifInDiscards)"},
    {"interfaces", "if_out_discards", "1.3.6.1.2.1.2.2.1.19", MetricKind::Counter, "interface",
     "Outbound packets discarded (ifOutDiscards)"},
    {"interfaces", "if_in_ucast_packets", "1.3.6.1.2.1.31.1.1.1.7", MetricKind::Counter,
     "interface", "Inbound unicast packets (ifHCInUcastPkts)"},
    {"interfaces", "if_out_ucast_packets", "1.3.6.1.2.1.31.1.1.1.11", MetricKind::Counter,
     "interface", "Outbound unicast packets (ifHCOutUcastPkts)"},
    {"interfaces", "if_oper_status", "1.3.6.1.2.1.2.2.1.8", MetricKind::Gauge, "interface",
     "Operational status (1 up, 2 down, 3 testing, 5 dormant, 7 lowerLayerDown)"},
    {"interfaces", "if_admin_status", "1.3.6.1.2.1.2.2.1.7", MetricKind::Gauge, "interface",
     "Administrative status (1 up, 2 down, 3 testing)"},
    {"interfaces", "if_speed_mbps", "1.3.6.1.2.1.31.1.1.1.15", MetricKind::Gauge, "interface",
     "Interface speed in Mb/s (ifHighSpeed)"},
    {"host", "cpu_load_percent", "1.3.6.1.2.1.25.3.3.1.2", MetricKind::Gauge, "cpu",
     "Processor load over the last minute (hrProcessorLoad)"},
    {"bgp", "bgp_peer_state", "1.3.6.1.2.1.15.3.1.2", MetricKind::Gauge, "peer",
     "BGP session state (1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 "
     "established)"},
    {"bgp", "bgp_peer_admin_status", "1.3.6.1.2.1.15.3.1.3", MetricKind::Gauge, "peer",
     "BGP peer administrative status (1 stop, 2 start)"},
    {"bgp", "bgp_peer_in_updates", "1.3.6.1.2.1.15.3.1.10", MetricKind::Counter, "peer",
     "BGP UPDATE messages received"},
    {"bgp", "bgp_peer_out_updates", "1.3.6.1.2.1.15.3.1.11", MetricKind::Counter, "peer",
     "BGP UPDATE messages sent"},
    {"bgp", "bgp_peer_established_seconds", "1.3.6.1.2.1.15.3.1.16", MetricKind::Gauge, "peer",
     "Seconds the BGP session has been established, or was last"},
};

const MetricInfo kDerived[] = {
    {"uptime_seconds", MetricKind::Gauge, "Seconds since the agent (re)started (sysUpTime)"},
    {"if_in_octets", MetricKind::Counter, "Octets received (ifHCInOctets, or ifInOctets)"},
    {"if_out_octets", MetricKind::Counter, "Octets sent (ifHCOutOctets, or ifOutOctets)"},
    {"storage_used_percent", MetricKind::Gauge, "Used share of a storage area (hrStorageTable)"},
    {"memory_used_percent", MetricKind::Gauge, "Used share of physical memory (hrStorageRam)"},
};

const std::vector<std::string> kSets = {"system", "interfaces", "host", "bgp"};

/// The columns each set walks besides its ColumnMetrics.
std::vector<const char*> extra_columns(const std::string& set) {
  if (set == "interfaces")
    return {kIfName,     kIfDescr,       kIfDiscontinuity, kIfHcInOctets,
            kIfInOctets, kIfHcOutOctets, kIfOutOctets};
  if (set == "host") return {kHrStorageType, kHrStorageDescr, kHrStorageSize, kHrStorageUsed};
  return {};
}

/// One of this file's OID literals, parsed once per thread (it is looked up per table row).
const Oid& oid_of(const char* text) {
  thread_local std::unordered_map<const char*, Oid> parsed;
  auto [it, inserted] = parsed.try_emplace(text);
  if (inserted) it->second = *parse_oid(text);
  return it->second;
}

/// The answer, as column -> index -> value.
class Table {
 public:
  Table(const PollPlan& plan, const PollOutcome& outcome) {
    const std::set<Oid> gets(plan.get.begin(), plan.get.end());
    std::set<std::size_t> lengths;
    std::map<Oid, std::size_t> roots;
    for (std::size_t i = 0; i < plan.walk.size(); ++i) {
      roots[plan.walk[i]] = i;
      lengths.insert(plan.walk[i].size());
    }
    columns_.resize(plan.walk.size());
    for (const auto& v : outcome.values) {
      if (gets.count(v.oid)) {
        scalars_[v.oid] = &v.value;
        continue;
      }
      for (auto length : lengths) {
        if (v.oid.size() <= length) continue;
        auto it = roots.find(Oid(v.oid.begin(), v.oid.begin() + static_cast<long>(length)));
        if (it == roots.end()) continue;
        columns_[it->second][index_after(it->first, v.oid)] = &v.value;
        break;
      }
    }
    for (std::size_t i = 0; i < plan.walk.size(); ++i)
      position_[plan.walk[i]] = i;
  }

  const std::map<std::string, const SnmpValue*>& column(const Oid& root) const {
    static const std::map<std::string, const SnmpValue*> none;
    auto it = position_.find(root);
    return it == position_.end() ? none : columns_[it->second];
  }
  const SnmpValue* cell(const Oid& root, const std::string& index) const {
    const auto& c = column(root);
    auto it = c.find(index);
    return it == c.end() ? nullptr : it->second;
  }
  const SnmpValue* scalar(const Oid& oid) const {
    auto it = scalars_.find(oid);
    return it == scalars_.end() ? nullptr : it->second;
  }

 private:
  std::vector<std::map<std::string, const SnmpValue*>> columns_;
  std::map<Oid, std::size_t> position_;
  std::map<Oid, const SnmpValue*> scalars_;
};

bool wants(const SnmpMetricPlan& plan, const std::string& set) {
  return std::find(plan.sets.begin(), plan.sets.end(), set) != plan.sets.end();
}

void add_value(PolledSamples& out, const std::string& metric, Labels labels, MetricKind kind,
               const SnmpValue& value, double scale = 1, std::uint64_t discontinuity = 0) {
  if (!value.numeric()) {
    ++out.wrong_types;
    return;
  }
  RawSample s;
  s.metric = metric;
  s.labels = std::move(labels);
  s.kind = kind;
  if (kind == MetricKind::Counter) {
    s.count = value.unsigned_value();
    s.value = static_cast<double>(s.count);
    s.counter_bits = value.type == SnmpType::Counter64 ? 64 : 32;
    s.discontinuity = discontinuity;
  } else {
    s.value = value.number() * scale;
  }
  out.samples.push_back(std::move(s));
}

/// The interface's name: ifName, else ifDescr, else its index.
std::string interface_name(const Table& t, const std::string& index) {
  for (const char* column : {kIfName, kIfDescr}) {
    if (const auto* v = t.cell(oid_of(column), index)) {
      auto text = value_text(*v);
      if (!text.empty()) return text;
    }
  }
  return index;
}

}  // namespace

const std::vector<std::string>& builtin_sets() {
  return kSets;
}

Result<void> validate_sets(const std::vector<std::string>& sets) {
  for (const auto& set : sets) {
    if (std::find(kSets.begin(), kSets.end(), set) == kSets.end())
      return fail(Errc::InvalidConfig,
                  "'" + set + "' is not a built-in set (system, interfaces, host, bgp)", "sets");
  }
  return ok();
}

const MetricInfo* builtin_metric(const std::string& name) {
  static const std::vector<MetricInfo> all = [] {
    std::vector<MetricInfo> v(std::begin(kDerived), std::end(kDerived));
    for (const auto& c : kColumns)
      v.push_back({c.metric, c.kind, c.help});
    return v;
  }();
  for (const auto& m : all) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

PollPlan snmp_poll_plan(const SnmpMetricPlan& plan) {
  PollPlan out;
  out.get.push_back(oid_of(kSysUpTime));
  std::set<Oid> walked;
  auto walk = [&](const Oid& oid) {
    if (walked.insert(oid).second) out.walk.push_back(oid);
  };
  for (const auto& set : plan.sets) {
    for (const auto& c : kColumns) {
      if (set == c.set) walk(oid_of(c.oid));
    }
    for (const char* column : extra_columns(set))
      walk(oid_of(column));
  }
  for (const auto& user : plan.oids) {
    if (user.walk) {
      walk(user.oid);
    } else if (std::find(out.get.begin(), out.get.end(), user.oid) == out.get.end()) {
      out.get.push_back(user.oid);
    }
  }
  return out;
}

PolledSamples snmp_samples(const SnmpMetricPlan& plan, const PollPlan& poll_plan,
                           const PollOutcome& outcome) {
  PolledSamples out;
  const Table t(poll_plan, outcome);
  if (const auto* up = t.scalar(oid_of(kSysUpTime)); up && up->numeric()) {
    out.uptime_ticks = up->unsigned_value();
    if (wants(plan, "system")) add_value(out, "uptime_seconds", {}, MetricKind::Gauge, *up, 0.01);
  }
  const bool interfaces = wants(plan, "interfaces");
  auto discontinuity_of = [&](const std::string& index) -> std::uint64_t {
    const auto* v = t.cell(oid_of(kIfDiscontinuity), index);
    return v && v->numeric() ? v->unsigned_value() : 0;
  };
  for (const auto& c : kColumns) {
    if (!wants(plan, c.set)) continue;
    for (const auto& [index, value] : t.column(oid_of(c.oid))) {
      const bool is_interface = std::string(c.label) == "interface";
      Labels labels{{c.label, is_interface ? interface_name(t, index) : index}};
      add_value(out, c.metric, std::move(labels), c.kind, *value, 1,
                is_interface ? discontinuity_of(index) : 0);
    }
  }
  if (interfaces) {
    // Octets: the 64-bit counters where the agent has them, the 32-bit ones otherwise.
    const std::pair<const char*, std::pair<const char*, const char*>> octets[] = {
        {"if_in_octets", {kIfHcInOctets, kIfInOctets}},
        {"if_out_octets", {kIfHcOutOctets, kIfOutOctets}}};
    for (const auto& [metric, columns] : octets) {
      const auto& hc = t.column(oid_of(columns.first));
      for (const auto& [index, value] : t.column(oid_of(columns.second))) {
        auto it = hc.find(index);
        const SnmpValue* best = it != hc.end() && it->second->numeric() ? it->second : value;
        add_value(out, metric, {{"interface", interface_name(t, index)}}, MetricKind::Counter,
                  *best, 1, discontinuity_of(index));
      }
      for (const auto& [index, value] : hc) {  // rows only the 64-bit column has
        if (!t.cell(oid_of(columns.second), index))
          add_value(out, metric, {{"interface", interface_name(t, index)}}, MetricKind::Counter,
                    *value, 1, discontinuity_of(index));
      }
    }
  }
  if (wants(plan, "host")) {
    for (const auto& [index, type] : t.column(oid_of(kHrStorageType))) {
      const auto* size = t.cell(oid_of(kHrStorageSize), index);
      const auto* used = t.cell(oid_of(kHrStorageUsed), index);
      const auto* descr = t.cell(oid_of(kHrStorageDescr), index);
      if (!size || !used || !size->numeric() || !used->numeric() || size->number() <= 0) continue;
      const double share = used->number() / size->number() * 100.0;
      RawSample s;
      s.metric = "storage_used_percent";
      s.labels = {{"storage", descr ? value_text(*descr) : index}};
      s.value = share;
      out.samples.push_back(s);
      if (type->text == kHrStorageRam) {
        s.metric = "memory_used_percent";
        s.labels = {};
        out.samples.push_back(std::move(s));
      }
    }
  }
  for (const auto& user : plan.oids) {
    if (!user.walk) {
      if (const auto* v = t.scalar(user.oid))
        add_value(out, user.name, {}, user.kind, *v, user.scale);
      continue;
    }
    for (const auto& [index, value] : t.column(user.oid))
      add_value(out, user.name, {{user.index_label, index}}, user.kind, *value, user.scale);
  }
  return out;
}

}  // namespace nauto::telemetry
