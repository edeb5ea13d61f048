#include "telemetry_config.h"

#include "exposition.h"
#include "nauto/sdk/config_reader.h"

namespace nauto::telemetry {

using json = nlohmann::json;

namespace {

void add_problem(std::vector<std::string>& problems, const Result<void>& r) {
  if (!r) problems.push_back(r.error().message);
}

std::vector<UserOid> read_oids(const json& list, const std::string& where,
                               std::vector<std::string>& problems) {
  std::vector<UserOid> out;
  if (list.is_null()) return out;
  if (!list.is_array()) {
    problems.push_back(where + ": must be a list");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto at = where + "[" + std::to_string(i) + "]";
    ConfigReader r(list[i].is_object() ? list[i] : json::object(), at);
    UserOid u;
    u.name = r.string("name", "");
    const auto oid_text = r.string("oid", "");
    u.kind = r.choice("type", "gauge", {"gauge", "counter"}) == "counter" ? MetricKind::Counter
                                                                          : MetricKind::Gauge;
    u.walk = r.boolean("walk", false);
    u.index_label = r.string("label", "index");
    u.help = r.string("help", "");
    r.allow("scale");
    if (list[i].is_object() && list[i].contains("scale")) {
      if (auto scale = config_number(list[i]["scale"])) {
        u.scale = *scale;
      } else {
        problems.push_back(at + ".scale: must be a number");
      }
    }
    add_problem(problems, r.finish());
    if (!list[i].is_object()) problems.push_back(at + ": must be a map");
    if (u.name.empty() || Exposition::sanitize(u.name) != u.name)
      problems.push_back(at + ".name: must be a metric name ([a-z_][a-z0-9_]*)");
    auto oid = parse_oid(oid_text);
    if (!oid) {
      problems.push_back(at + ".oid: " + oid.error().message);
    } else {
      u.oid = *oid;
    }
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace

Result<TelemetrySettings> read_telemetry_settings(const json& config) {
  TelemetrySettings s;
  std::vector<std::string> problems;
  ConfigReader r(config, "modules.telemetry");
  s.listen = r.string("listen", s.listen);
  s.render_timeout_ms = r.duration_ms("render_timeout", s.render_timeout_ms, 100);
  s.self_interval_ms = r.duration_ms("self_interval", s.self_interval_ms, 100);
  s.targets_refresh_ms = r.duration_ms("targets_refresh", s.targets_refresh_ms, 100);
  const auto retention = r.section("retention");
  // Lists: read here, not by the reader (its sections are maps).
  r.allow("snmp");
  r.allow("thresholds");
  r.allow("cli");
  s.textfsm_templates = r.string("textfsm_templates", "");
  const auto snmp = config.is_object() ? config.value("snmp", json()) : json();
  const auto thresholds = config.is_object() ? config.value("thresholds", json()) : json();
  add_problem(problems, r.finish());

  ConfigReader keep(retention.is_object() ? retention : json::object(),
                    "modules.telemetry.retention");
  auto& k = s.retention;
  k.raw_keep_ms = keep.duration_ms("raw", k.raw_keep_ms, 1000);
  k.raw_chunk_ms = keep.duration_ms("raw_chunk", k.raw_chunk_ms, 1000);
  k.rollup_step_ms = keep.duration_ms("rollup_step", k.rollup_step_ms, 1000);
  k.rollup_chunk_ms = keep.duration_ms("rollup_chunk", k.rollup_chunk_ms, 1000);
  k.rollup_keep_ms = keep.duration_ms("rollup", k.rollup_keep_ms, 60'000);
  add_problem(problems, keep.finish());
  if (!retention.is_null() && !retention.is_object())
    problems.push_back("modules.telemetry.retention: must be a map");
  if (auto valid = validate_retention(k); !valid)
    problems.push_back("modules.telemetry." + valid.error().where + ": " + valid.error().message);

  if (!snmp.is_null() && !snmp.is_array())
    problems.push_back("modules.telemetry.snmp: must be a list");
  for (std::size_t i = 0; snmp.is_array() && i < snmp.size(); ++i) {
    const auto at = "modules.telemetry.snmp[" + std::to_string(i) + "]";
    const auto& entry = snmp[i];
    if (!entry.is_object()) {
      problems.push_back(at + ": must be a map");
      continue;
    }
    ConfigReader g(entry, at);
    SnmpPollGroup group;
    group.name = g.string("name", "snmp" + std::to_string(i + 1));
    group.target = g.string("target", group.target);
    group.credential = g.string("credential", "");
    g.allow("version");  // 3 reads as a number, 2c as text
    const auto version = entry.contains("version")
                             ? entry["version"].dump(-1, ' ', false, json::error_handler_t::replace)
                             : "\"2c\"";
    if (version == "3" || version == "\"3\"") {
      group.version = 3;
    } else if (version != "\"2c\"" && version != "2" && version != "\"2\"") {
      problems.push_back(at + ".version: must be 2c or 3 (got " + version + ")");
    }
    group.auth_protocol = g.string("auth_protocol", group.version == 3 ? "sha" : "");
    group.priv_protocol = g.string("priv_protocol", group.version == 3 ? "aes" : "");
    group.context = g.string("context", "");
    group.port = static_cast<int>(g.integer("port", 161, 1, 65535));
    group.interval_ms = g.duration_ms("interval", group.interval_ms, 1000);
    group.timeout_ms = static_cast<int>(g.duration_ms("timeout", group.timeout_ms, 10));
    group.retries = static_cast<int>(g.integer("retries", group.retries, 0, 10));
    group.bulk_repetitions =
        static_cast<int>(g.integer("bulk_repetitions", group.bulk_repetitions, 1, 1000));
    group.metrics.sets = entry.contains("sets") ? g.strings("sets")
                                                : std::vector<std::string>{"system", "interfaces"};
    g.allow("oids");
    group.metrics.oids = read_oids(entry.value("oids", json()), at + ".oids", problems);
    group.poll_plan = snmp_poll_plan(group.metrics);
    add_problem(problems, g.finish());
    if (group.credential.empty())
      problems.push_back(at +
                         ".credential: is required (a vault credential: the community, or "
                         "the v3 user and passwords)");
    if (auto sets = validate_sets(group.metrics.sets); !sets)
      problems.push_back(at + ".sets: " + sets.error().message);
    if (static_cast<std::int64_t>(group.timeout_ms) * (group.retries + 1) >= group.interval_ms)
      problems.push_back(at +
                         ".timeout: timeout x (retries + 1) must be shorter than the interval");
    SnmpCredentials probe;
    probe.version = group.version;
    probe.community = "x";
    probe.user = "x";
    probe.auth_protocol = group.auth_protocol;
    probe.priv_protocol = group.priv_protocol;
    probe.auth_password = probe.priv_password = "12345678";
    if (auto valid = validate_credentials(probe); !valid)
      problems.push_back(at + "." + valid.error().where + ": " + valid.error().message);
    for (const auto& other : s.snmp) {
      if (other.name == group.name)
        problems.push_back(at + ".name: '" + group.name + "' is used twice");
    }
    s.snmp.push_back(std::move(group));
  }

  s.cli = read_cli_groups(config.is_object() ? config.value("cli", json()) : json(), problems);
  for (const auto& g : s.cli) {
    if (!g.json && s.textfsm_templates.empty())
      problems.push_back("modules.telemetry.cli: '" + g.name +
                         "' parses with TextFSM: set modules.telemetry.textfsm_templates");
  }
  auto parsed = parse_thresholds(thresholds);
  if (!parsed) {
    problems.push_back(parsed.error().message);
  } else {
    s.thresholds = std::move(*parsed);
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return s;
}

}  // namespace nauto::telemetry
