#include "cli_metrics.h"

#include "exposition.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/json_text.h"
#include "nauto/text/textfsm/table.h"
#include "nauto/text/textfsm/template_library.h"
#include "thresholds.h"

namespace nauto::telemetry {

using json = nlohmann::json;

namespace {

/// `path` ("a.b.c") inside `doc`; nullptr when a step is missing.
const json* at_path(const json& doc, const std::string& path) {
  const json* here = &doc;
  std::size_t from = 0;
  while (!path.empty() && from <= path.size()) {
    const auto dot = path.find('.', from);
    const auto key = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    if (!here->is_object() || !here->contains(key)) return nullptr;
    here = &(*here)[key];
    if (dot == std::string::npos) break;
    from = dot + 1;
  }
  return here;
}

/// The records of a JSON document: a list, or a map whose keys go into `_key`.
json records_of(const json& found) {
  json records = json::array();
  if (found.is_array()) return found;
  if (found.is_object()) {
    bool all_objects = !found.empty();
    for (const auto& [k, v] : found.items())
      all_objects = all_objects && v.is_object();
    if (!all_objects) return json::array({found});
    for (const auto& [k, v] : found.items()) {
      json record = v;
      record["_key"] = k;
      records.push_back(std::move(record));
    }
  }
  return records;
}

}  // namespace

Result<CliSamples> cli_samples(const CliPollGroup& group, const json& output,
                               textfsm::TemplateLibrary* templates) {
  const auto text = output.value("text", "");
  json records;
  if (group.json) {
    json doc = output.contains("json") ? output["json"] : json::parse(text, nullptr, false);
    if (doc.is_discarded())
      return fail(Errc::Malformed, "the output of '" + group.command + "' is not JSON");
    const json* found = at_path(doc, group.records);
    if (!found)
      return fail(Errc::Malformed,
                  "the output of '" + group.command + "' has no '" + group.records + "'");
    records = records_of(*found);
  } else {
    if (!templates)
      return fail(Errc::Unsupported,
                  "no TextFSM templates: set modules.telemetry.textfsm_templates");
    auto table = templates->parse(output.value("platform", ""), group.command, text);
    if (!table) return fail(Errc::Malformed, table.error().message);
    records = textfsm::to_json(*table);
  }
  CliSamples out;
  out.records = records.size();
  for (const auto& record : records) {
    for (const auto& m : group.metrics) {
      const json* field = at_path(record, m.value);
      const auto number = field ? config_number(*field) : std::nullopt;
      if (!number) {
        ++out.skipped;
        continue;
      }
      RawSample s;
      s.metric = m.name;
      s.kind = m.kind;
      for (const auto& [label, name] : m.labels) {
        const json* value = at_path(record, name);
        s.labels[label] = value ? json_text(*value) : "";
      }
      if (m.kind == MetricKind::Counter) {
        s.count = *number < 0 ? 0 : static_cast<std::uint64_t>(*number);
        s.value = static_cast<double>(s.count);
        s.counter_bits = 64;
      } else {
        s.value = *number * m.scale;
      }
      out.samples.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<CliPollGroup> read_cli_groups(const json& list, std::vector<std::string>& problems) {
  std::vector<CliPollGroup> out;
  if (list.is_null()) return out;
  if (!list.is_array()) {
    problems.push_back("modules.telemetry.cli: must be a list");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto at = "modules.telemetry.cli[" + std::to_string(i) + "]";
    const auto& entry = list[i];
    if (!entry.is_object()) {
      problems.push_back(at + ": must be a map");
      continue;
    }
    ConfigReader r(entry, at);
    CliPollGroup g;
    g.name = r.string("name", "cli" + std::to_string(i + 1));
    g.target = r.string("target", g.target);
    g.command = r.string("command", "");
    g.json = r.choice("parse", "textfsm", {"textfsm", "json"}) == "json";
    g.records = r.string("records", "");
    g.interval_ms = r.duration_ms("interval", g.interval_ms, 1000);
    g.timeout_ms = r.duration_ms("timeout", g.timeout_ms, 100);
    r.allow("metrics");
    if (auto done = r.finish(); !done) problems.push_back(done.error().message);
    if (g.command.empty()) problems.push_back(at + ".command: is required");
    const auto metrics = entry.value("metrics", json());
    if (!metrics.is_array() || metrics.empty())
      problems.push_back(at + ".metrics: needs at least one {name, value}");
    for (std::size_t k = 0; metrics.is_array() && k < metrics.size(); ++k) {
      const auto mat = at + ".metrics[" + std::to_string(k) + "]";
      const auto& spec = metrics[k];
      ConfigReader m(spec.is_object() ? spec : json::object(), mat);
      CliMetric metric;
      metric.name = m.string("name", "");
      metric.value = m.string("value", "");
      metric.kind = m.choice("type", "gauge", {"gauge", "counter"}) == "counter"
                        ? MetricKind::Counter
                        : MetricKind::Gauge;
      metric.help = m.string("help", "");
      m.allow("labels");
      m.allow("scale");
      if (spec.is_object() && spec.contains("scale")) {
        if (auto scale = config_number(spec["scale"])) {
          metric.scale = *scale;
        } else {
          problems.push_back(mat + ".scale: must be a number");
        }
      }
      if (auto done = m.finish(); !done) problems.push_back(done.error().message);
      if (metric.name.empty() || Exposition::sanitize(metric.name) != metric.name)
        problems.push_back(mat + ".name: must be a metric name ([a-z_][a-z0-9_]*)");
      if (metric.value.empty()) problems.push_back(mat + ".value: the record's field is required");
      const auto labels = spec.is_object() ? spec.value("labels", json::object()) : json::object();
      if (!labels.is_object()) problems.push_back(mat + ".labels: must be a map of label: field");
      for (const auto& [label, field] : labels.items()) {
        if (!field.is_string() || Exposition::sanitize(label) != label) {
          problems.push_back(mat + ".labels." + label + ": must be a label name with a field name");
          continue;
        }
        metric.labels.emplace_back(label, field.get<std::string>());
      }
      g.metrics.push_back(std::move(metric));
    }
    for (const auto& other : out) {
      if (other.name == g.name) problems.push_back(at + ".name: '" + g.name + "' is used twice");
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace nauto::telemetry
