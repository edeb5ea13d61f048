// nauto metrics query NAME [--device R] [--label k=v] [--since 1h] [--resolution raw|rollup]
//              | list | targets | thresholds
// The telemetry module's services (bus/schema/telemetry.yaml). `query` prints one row per
// series with its latest value, min, max and a sparkline of the range (the table), or every
// sample (-o json / yaml).
// Exit status: 0 done, 1 refused or nautod unreachable, 2 bad arguments.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

struct MetricsArgs {
  std::string metric;
  std::string device;
  std::vector<std::string> labels;  // key=value
  std::string since = "1h";
  std::string resolution;
  int width = 40;
};

/// The values as a line of block characters, averaged into `width` columns.
std::string sparkline(const std::vector<double>& values, int width) {
  static const char* blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (values.empty()) return "";
  const auto columns = std::min<std::size_t>(values.size(), static_cast<std::size_t>(width));
  std::vector<double> averaged(columns, 0);
  for (std::size_t c = 0; c < columns; ++c) {
    const auto from = c * values.size() / columns;
    const auto to = std::max(from + 1, (c + 1) * values.size() / columns);
    double sum = 0;
    for (auto i = from; i < to; ++i)
      sum += values[i];
    averaged[c] = sum / static_cast<double>(to - from);
  }
  const auto [low, high] = std::minmax_element(averaged.begin(), averaged.end());
  std::string out;
  for (double v : averaged) {
    const int level =
        *high > *low ? static_cast<int>(std::lround((v - *low) / (*high - *low) * 7)) : 3;
    out += blocks[std::clamp(level, 0, 7)];
  }
  return out;
}

std::string number_text(double v) {
  char buf[32];
  if (std::fabs(v) >= 1e6 || (std::fabs(v) < 0.01 && v != 0)) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", v);
  }
  std::string s = buf;
  if (s.find('.') != std::string::npos && s.find('e') == std::string::npos) {
    while (s.back() == '0')
      s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string labels_text(const json& labels) {
  std::string out;
  for (const auto& [k, v] : labels.items())
    out += (out.empty() ? "" : ",") + k + "=" + cell(v);
  return out.empty() ? "-" : out;
}

void print_query(const json& answer, int width) {
  const bool raw = answer.value("resolution", "raw") == "raw";
  Table table{{"DEVICE", "LABELS", "LAST", "MIN", "MAX", "SAMPLES",
               raw ? "TREND" : "TREND (5-MINUTE AVERAGES)"},
              {}};
  for (const auto& s : answer["series"]) {
    std::vector<double> values;
    double low = INFINITY, high = -INFINITY, last = 0;
    if (raw) {
      for (const auto& p : s["points"]) {
        values.push_back(p[1].get<double>());
        low = std::min(low, values.back());
        high = std::max(high, values.back());
      }
      if (!values.empty()) last = values.back();
    } else {
      for (const auto& b : s["buckets"]) {
        values.push_back(b[3].get<double>());
        low = std::min(low, b[1].get<double>());
        high = std::max(high, b[2].get<double>());
        last = b[5].get<double>();
      }
    }
    table.rows.push_back({cell(s["device"]), labels_text(s["labels"]), number_text(last),
                          number_text(low), number_text(high), std::to_string(values.size()),
                          sparkline(values, width)});
  }
  if (table.rows.empty()) {
    std::cout << "no samples in that range\n";
    return;
  }
  std::cout << table.render();
}

void print_metrics(const json& answer) {
  Table table{{"METRIC", "SERIES", "DEVICES", "HELP"}, {}};
  for (const auto& m : answer["metrics"])
    table.rows.push_back({cell(m["name"]), cell(m["series"]), cell(m["devices"]), cell(m["help"])});
  std::cout << table.render();
}

void print_targets(const json& answer) {
  Table table{{"DEVICE", "GROUP", "ADDRESS", "SNMP", "STATE", "LAST POLL", "MS", "POLLS", "FAILED",
               "OVERRUNS", "ERROR"},
              {}};
  for (const auto& t : answer["targets"]) {
    const auto last = t.value("last_poll_ms", std::int64_t{0});
    table.rows.push_back(
        {cell(t["device"]), cell(t["group"]), cell(t["address"]), "v" + t.value("version", ""),
         cell(t["state"]), last ? format_time_us(last * 1000) : "-", cell(t["duration_ms"]),
         cell(t["polls"]), cell(t["failures"]), cell(t["overruns"]), t.value("error", "")});
  }
  std::cout << table.render();
}

void print_thresholds(const json& answer) {
  Table table{{"THRESHOLD", "METRIC", "CONDITION", "CLEAR", "FOR", "SEVERITY", "CROSSED ON"}, {}};
  for (const auto& t : answer["thresholds"]) {
    std::string crossed;
    for (const auto& f : t["firing"])
      crossed += (crossed.empty() ? "" : " ") + f.value("device", "") +
                 (f["labels"].empty() ? "" : "{" + labels_text(f["labels"]) + "}");
    table.rows.push_back({cell(t["name"]), cell(t["metric"]),
                          t.value("kind", "") + " " + number_text(t.value("limit", 0.0)),
                          number_text(t.value("clear", 0.0)),
                          std::to_string(t.value("for_ms", 0) / 1000) + "s", cell(t["severity"]),
                          crossed.empty() ? "-" : crossed});
  }
  std::cout << table.render();
}

}  // namespace

void add_metrics_commands(CLI::App& app, CliContext& context) {
  namespace schema = bus::schema;
  auto args = std::make_shared<MetricsArgs>();
  auto* metrics =
      app.add_subcommand("metrics", "telemetry: SNMP metrics, their history and thresholds");
  metrics->require_subcommand(1);

  auto* query = metrics->add_subcommand("query", "a metric's samples over a time range");
  query->add_option("metric", args->metric, "metric name (nauto metrics list)")->required();
  query->add_option("-d,--device", args->device, "one device (default: all)");
  query->add_option("-l,--label", args->labels, "a label to match, KEY=VALUE (repeat)");
  query->add_option("-s,--since", args->since, "how far back: 15m, 1h (default), 7d");
  query->add_option("--resolution", args->resolution, "raw or rollup (default: from the range)")
      ->check(CLI::IsMember({"raw", "rollup"}));
  query->add_option("--width", args->width, "sparkline columns")->check(CLI::Range(5, 200));
  add_output_option(query, context);
  query->callback([&context, args] {
    auto since = duration_ms(args->since);
    if (!since) {
      context.exit_code = report(since.error());
      return;
    }
    json labels = json::object();
    for (const auto& given : args->labels) {
      const auto equals = given.find('=');
      if (equals == std::string::npos || equals == 0) {
        context.exit_code =
            report(fail(Errc::InvalidArgument, "--label '" + given + "': expected KEY=VALUE"));
        return;
      }
      labels[given.substr(0, equals)] = given.substr(equals + 1);
    }
    json body = {{"metric", args->metric}, {"since_ms", *since}, {"labels", labels}};
    if (!args->device.empty()) body["device"] = args->device;
    if (!args->resolution.empty()) body["resolution"] = args->resolution;
    const int width = args->width;
    call_and_print(context, schema::TelemetryQueryRequest::kTopic, body,
                   [width](const json& answer) { print_query(answer, width); });
  });

  auto* list = metrics->add_subcommand("list", "the metrics collected, with their series");
  add_output_option(list, context);
  list->callback([&context] {
    call_and_print(context, schema::TelemetryMetricsRequest::kTopic, json::object(), print_metrics);
  });

  auto* targets = metrics->add_subcommand("targets", "the devices polled and their last poll");
  add_output_option(targets, context);
  targets->callback([&context] {
    call_and_print(context, schema::TelemetryTargetsRequest::kTopic, json::object(), print_targets);
  });

  auto* thresholds = metrics->add_subcommand("thresholds", "thresholds and where they are crossed");
  add_output_option(thresholds, context);
  thresholds->callback([&context] {
    call_and_print(context, schema::TelemetryThresholdsRequest::kTopic, json::object(),
                   print_thresholds);
  });
}

}  // namespace nauto::cli
