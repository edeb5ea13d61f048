// nauto: the command-line client of nautod.
//   nauto status | modules                          kernel and module state
//   nauto events tail [--follow] [--topic P] [-n N]  recent (and live) events
//   nauto events publish TOPIC --json BODY | --batch publish an event (or one per stdin line)
//   nauto call SERVICE [--json BODY] | --batch       send any request (or one per stdin line)
//   nauto keygen [--secret-file F]                   a CURVE key pair for router.tcp_endpoint
//   nauto whoami                                     the caller's principal and roles
//   nauto auth users|roles                           who may do what
//   nauto audit list|show|verify|export|stats        the audit trail
//   nauto inventory | creds | job | schedule | completion   see their files in this folder
// It talks to nautod over its ipc endpoint: --endpoint, else NAUTO_ENDPOINT, else the run_dir of
// the configuration (NAUTO_RUN_DIR, --config, /etc/nauto/nauto.yaml, /run/nauto).

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include "cli_context.h"
#include "nauto/base/cli_description.h"
#include "nauto/bus/body.h"
#include "nauto/bus/client.h"
#include "nauto/bus/schema.h"
#include "nauto/bus/schema_types.h"
#include "output.h"

using nlohmann::json;
using namespace nauto;
using namespace nauto::cli;

namespace {

std::string age_text(std::int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 10000) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "s";
}

// One JSON object per line of `in`, or the reason it is not one.
Result<json> json_line(const std::string& line, const char* key) {
  auto value = json::parse(line, nullptr, false);
  if (value.is_discarded() || !value.is_object() || !value.contains(key) ||
      !value[key].is_string()) {
    return fail(Errc::InvalidArgument, std::string("expected a JSON object with \"") + key +
                                           "\" and \"body\" on each line, got: " + line);
  }
  return value;
}

// nauto call --batch: a script's many requests over one process (a test of every service
// with bad bodies is hundreds of them). Exit 0 once every line was sent; each answer is in
// its own output line.
int call_lines(CliContext& o, std::istream& in) {
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto request = json_line(line, "service");
    if (!request) return report(request.error());
    const auto service = (*request)["service"].get<std::string>();
    auto answer = o.call(service, request->value("body", json::object()));
    json out = {{"service", service}, {"ok", answer.has_value()}};
    if (answer) {
      out["reply"] = *answer;
    } else {
      out["code"] = errc_name(answer.error().code);
      out["exit"] = answer.error().code == Errc::InvalidArgument ? 2 : 1;
      out["error"] = answer.error().describe();
    }
    std::cout << out.dump() << "\n" << std::flush;
  }
  return 0;
}

// nauto events publish --batch: every line's event over one connection, then one round trip
// so the last has left before the socket closes.
int publish_lines(CliContext& o, std::istream& in) {
  auto client = o.connect();
  if (!client) return report(client.error());
  std::size_t published = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = json_line(line, "topic");
    if (!event) return report(event.error());
    auto id =
        client->publish((*event)["topic"].get<std::string>(), event->value("body", json::object()));
    if (!id) return report(id.error());
    ++published;
  }
  if (auto ping = client->call(bus::schema::BusStatsRequest::kTopic, json::object(), o.timeout_ms);
      !ping) {
    return report(ping.error());
  }
  std::cout << "published " << published << " events\n";
  return 0;
}

int print_status(const json& s, OutputFormat format) {
  if (format != OutputFormat::Table) {
    std::cout << render_document(s, format);
    return 0;
  }
  char head[200];
  std::snprintf(head, sizeof head, "nautod %s  pid %lld  up %.1fs\n",
                s.value("version", "?").c_str(), static_cast<long long>(s.value("pid", 0)),
                s.value("uptime_s", 0.0));
  std::cout << head << "\n";
  Table t{{"MODULE", "STATE", "ISOLATION", "RESTARTS", "QUEUE", "DELIVERED", "DROPPED", "HEARTBEAT",
           "LAST ERROR"},
          {}};
  for (const auto& m : s["modules"]) {
    t.rows.push_back({cell(m["name"]), cell(m["state"]), cell(m["isolation"]), cell(m["restarts"]),
                      cell(m["queue_depth"]), cell(m["events_delivered"]),
                      cell(m["events_dropped"]), age_text(m.value("heartbeat_age_ms", -1)),
                      m.value("last_error", "").empty() ? "-" : m.value("last_error", "")});
  }
  std::cout << t.render() << "\n";
  const auto& r = s["router"];
  std::cout << "router: events in " << cell(r["events_in"]) << ", delivered "
            << cell(r["events_delivered"]) << ", dropped " << cell(r["events_dropped"])
            << ", unrouted " << cell(r["events_unrouted"]) << "; requests "
            << cell(r["requests_in"]) << ", pending " << cell(s["pending_requests"])
            << ", timeouts " << cell(r["timeouts"]) << ", overloaded "
            << cell(r["requests_overloaded"]) << ", unavailable " << cell(r["requests_unavailable"])
            << "; malformed " << cell(r["malformed"]) << "\n";
  if (s["store"].is_object()) {
    const auto& st = s["store"];
    const auto mib = [&](const char* key) {
      return std::to_string(st.value(key, std::uint64_t{0}) >> 20) + " MiB";
    };
    std::cout << "store: commits " << cell(st["commits"]) << ", batches " << cell(st["batches"])
              << ", writes " << cell(st["ops"]) << ", failed " << cell(st["failed_batches"])
              << ", shed " << cell(st.value("shed_writes", json(0))) << "; " << mib("used_bytes")
              << " used of a " << mib("map_size") << " map (grows to " << mib("max_size") << ")\n";
    if (st.value("full", false)) {
      std::cout << "ALARM: the store is full; writes are refused (event history first: runs and "
                   "jobs keep the last sixteenth) until retention frees room or store.max_size "
                   "is raised\n";
    } else if (st.value("filling", false)) {
      const auto used = st.value("used_bytes", std::uint64_t{0});
      const auto max = std::max<std::uint64_t>(1, st.value("max_size", std::uint64_t{1}));
      std::cout << "WARNING: the store is " << used * 100 / max
                << "% full; lower the retention limits (keep_*, journal max_bytes) or raise "
                   "store.max_size before writes are refused\n";
    }
  }
  if (!s["clients"].empty()) std::cout << "clients: " << cell(s["clients"]) << "\n";
  return 0;
}

int print_modules(const json& s, OutputFormat format) {
  if (format != OutputFormat::Table) {
    std::cout << render_document(s["modules"], format);
    return 0;
  }
  Table t{{"MODULE", "STATE", "ISOLATION", "PID", "SERVES", "SUBSCRIBES"}, {}};
  auto joined = [](const json& list) {
    std::string out;
    for (const auto& item : list) {
      const auto text = item.get<std::string>();
      out += (out.empty() ? "" : ",") + (text.empty() ? std::string("(all)") : text);
    }
    return out.empty() ? std::string("-") : out;
  };
  for (const auto& m : s["modules"]) {
    t.rows.push_back({cell(m["name"]), cell(m["state"]), cell(m["isolation"]), cell(m["pid"]),
                      joined(m["serves"]), joined(m["subscribes"])});
  }
  std::cout << t.render();
  return 0;
}

json event_row(const bus::Envelope& e) {
  auto body = bus::from_body(e.body);
  return json{{"topic", e.topic},
              {"id", e.header.id},
              {"src", e.header.source},
              {"ts", e.header.time_us},
              {"body", body ? *body : json("<unreadable body>")}};
}

void print_event(const json& e, OutputFormat format) {
  if (format == OutputFormat::Json) {
    std::cout << e.dump(-1, ' ', false, json::error_handler_t::replace)
              << std::endl;  // JSON lines, one event each
  } else if (format == OutputFormat::Yaml) {
    std::cout << "---\n" << render_document(e, format) << std::flush;
  } else {
    std::cout << format_time_us(e.value("ts", std::int64_t{0})) << "  " << e.value("topic", "")
              << "  " << e.value("src", "") << "  " << cell(e["body"]) << std::endl;
  }
}

int events_tail(CliContext& o, OutputFormat format, const std::string& topic,
                const std::string& chain, std::int64_t limit, bool follow) {
  auto client = o.connect();
  if (!client) return report(client.error());
  // Subscribe before reading history so nothing falls in between; duplicates are skipped by id.
  if (follow) {
    if (auto subscribed = client->subscribe({topic}, o.timeout_ms); !subscribed) {
      return report(subscribed.error());
    }
  }
  std::set<std::string> seen;
  json filter = {{"topic", topic}, {"limit", limit}};
  if (!chain.empty()) filter["chain"] = chain;
  auto history = client->call(bus::schema::JournalQueryRequest::kTopic, filter, o.timeout_ms);
  if (!history) {
    if (!follow || history.error().code != Errc::Unavailable) return report(history.error());
    std::fprintf(stderr, "nauto: no journal module; showing live events only\n");
  } else if (!follow && format != OutputFormat::Table) {
    std::cout << render_document((*history)["events"], format);
  } else {
    for (const auto& e : (*history)["events"]) {
      seen.insert(e.value("id", ""));
      print_event(e, format);
    }
  }
  if (!follow) return 0;
  while (!g_interrupted) {
    auto event = client->next_event(200);
    if (!event) return report(event.error());
    if (!*event) continue;
    if (seen.erase((*event)->header.id)) continue;
    if (!chain.empty()) {
      auto body = bus::from_body((*event)->body);
      const bool in_chain = (*event)->header.id == chain ||
                            (body && body->is_object() && body->value("chain", "") == chain);
      if (!in_chain) continue;
    }
    print_event(event_row(**event), format);
  }
  client->unsubscribe();
  return 0;
}

// `nauto call --list [SERVICE]`: the services from the bus schema, each with its fields.
void print_services(const std::string& only) {
  for (const auto* request : bus::schema::requests()) {
    if (!only.empty() && only != request->topic) continue;
    std::cout << request->topic << "  (" << request->owner << ")  " << request->doc << "\n";
    for (std::size_t i = 0; i < request->field_count; ++i) {
      const auto& field = request->fields[i];
      std::cout << "    " << field.name << ": " << bus::schema::describe(field.type)
                << (field.required ? ", required" : "")
                << (*field.doc ? std::string(" -- ") + field.doc : "") << "\n";
    }
    if (request->open) std::cout << "    (other fields are allowed too)\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nauto: network automation — command-line client of nautod"};
  app.require_subcommand(1);
  CliContext o;
  app.add_option("--endpoint", o.endpoint, "nautod endpoint (default: from the config's run_dir)");
  app.add_option("-c,--config", o.config, "configuration file, to find nautod's run_dir")
      ->envname("NAUTO_CONFIG");
  app.add_option("--timeout", o.timeout_ms, "milliseconds to wait for nautod")
      ->check(CLI::PositiveNumber);

  auto add_output = [&](CLI::App* cmd) { add_output_option(cmd, o); };
  auto* status = app.add_subcommand("status", "uptime, modules, queues and dropped events");
  add_output(status);
  auto* modules = app.add_subcommand("modules", "the modules, their services and subscriptions");
  add_output(modules);

  auto* events = app.add_subcommand("events", "read and publish bus events");
  events->require_subcommand(1);
  auto* tail = events->add_subcommand("tail", "recent events from the journal");
  bool follow = false;
  std::string topic;
  std::int64_t limit = 20;
  tail->add_flag("-f,--follow", follow, "keep printing new events until interrupted");
  tail->add_option("-t,--topic", topic, "topic prefix or pattern (device., kernel.module.*)");
  tail->add_option("-n,--limit", limit, "how many recent events")->check(CLI::Range(1, 10000));
  std::string chain;
  tail->add_option("--chain", chain,
                   "only one causal chain: the event with this id and everything it caused "
                   "(rule.fired, the run, its steps and approvals)");
  add_output(tail);
  auto* publish = events->add_subcommand("publish", "publish an event");
  std::string publish_topic, publish_json;
  bool publish_batch = false;
  auto* publish_topic_option =
      publish->add_option("topic", publish_topic, "topic, e.g. device.iface.down");
  auto* publish_json_option = publish->add_option("--json", publish_json, "body as JSON");
  publish->add_flag("--batch", publish_batch,
                    "publish each line of standard input, {\"topic\": T, \"body\": {...}}");
  publish_topic_option->excludes("--batch");
  publish_json_option->excludes("--batch");

  auto* call_cmd = app.add_subcommand("call", "send a request to a service and print the reply");
  std::string service, call_json = "{}";
  bool list_services = false;
  call_cmd->add_option("service", service, "service name, e.g. journal.query");
  call_cmd->add_option("--json", call_json, "request body as JSON");
  call_cmd->add_flag("--list", list_services,
                     "list every service with its fields (bus/schema/, docs/bus.md)");
  bool call_batch = false;
  call_cmd->add_flag("--batch", call_batch,
                     "one request per line of standard input, {\"service\": S, \"body\": {...}}; "
                     "one JSON line out for each: {service, ok, reply} or {service, ok, code, "
                     "exit, error}");
  add_output(call_cmd);

  auto* keygen = app.add_subcommand("keygen", "make a CURVE key pair for router.tcp_endpoint");
  std::string secret_file;
  keygen->add_option("--secret-file", secret_file, "write the secret key here (mode 0600)");

  add_inventory_commands(app, o);
  add_creds_commands(app, o);
  add_job_commands(app, o);
  add_schedule_commands(app, o);
  add_config_commands(app, o);
  add_rollout_commands(app, o);
  add_compliance_commands(app, o);
  add_metrics_commands(app, o);
  add_run_commands(app, o);
  add_parse_commands(app, o);
  add_auth_commands(app, o);
  add_worker_commands(app, o);
  add_audit_commands(app, o);
  add_shell_command(app, o);
  add_event_commands(app, o);
  add_completion_command(app, o);
  add_doctor_command(app, o);

  // Not an option of the app (it would show in every --help): what packaging/man/generate.py
  // makes nauto(1) from.
  if (argc == 2 && std::string_view(argv[1]) == "--describe-cli") {
    std::cout << describe_cli(app).dump(1) << "\n";
    return 0;
  }
  signal(SIGINT, [](int) { g_interrupted = true; });
  signal(SIGTERM, [](int) { g_interrupted = true; });
  CLI11_PARSE(app, argc, argv);
  if (o.exit_code != 0 || app.got_subcommand("inventory") || app.got_subcommand("creds") ||
      app.got_subcommand("job") || app.got_subcommand("completion")) {
    return o.exit_code;
  }
  auto format = parse_output_format(o.output);
  if (!format) return report(format.error());

  auto parse_json = [](const std::string& text, const char* what) -> Result<json> {
    auto value = json::parse(text, nullptr, false);
    if (value.is_discarded()) {
      return fail(Errc::InvalidArgument,
                  "not valid JSON: " + text + " (quote keys and strings: '{\"a\": 1}')", what);
    }
    return value;
  };

  if (*status || *modules) {
    auto answer = o.call(*status ? "kernel.status" : "kernel.modules", json::object());
    if (!answer) return report(answer.error());
    return *status ? print_status(*answer, *format) : print_modules(*answer, *format);
  }
  if (*tail) return events_tail(o, *format, topic, chain, limit, follow);
  if (*publish && publish_batch) return publish_lines(o, std::cin);
  if (*publish) {
    if (publish_topic.empty() || publish_json.empty())
      return report(
          fail(Errc::InvalidArgument, "give TOPIC and --json BODY, or --batch", "events publish"));
    auto body = parse_json(publish_json, "--json");
    if (!body) return report(body.error());
    auto client = o.connect();
    if (!client) return report(client.error());
    auto id = client->publish(publish_topic, *body);
    if (!id) return report(id.error());
    // Make sure the event left before the socket closes (linger is 0): a round trip does it.
    if (auto ping =
            client->call(bus::schema::BusStatsRequest::kTopic, json::object(), o.timeout_ms);
        !ping) {
      return report(ping.error());
    }
    std::cout << "published " << publish_topic << " id " << *id << "\n";
    return 0;
  }
  if (*call_cmd && call_batch) return call_lines(o, std::cin);
  if (*call_cmd && (list_services || service.empty())) {
    print_services(service.empty() ? "" : service);
    return list_services ? 0 : 2;
  }
  if (*call_cmd) {
    auto body = parse_json(call_json, "--json");
    if (!body) return report(body.error());
    auto answer = o.call(service, *body);
    if (!answer) return report(answer.error());
    // A reply is a document, not a listing: "table" shows it as JSON.
    std::cout << render_document(*answer,
                                 *format == OutputFormat::Yaml ? *format : OutputFormat::Json);
    return 0;
  }
  if (*keygen) {
    auto keys = bus::make_curve_keys();
    if (!keys) return report(keys.error());
    if (!secret_file.empty()) {
      const auto old_mask = umask(077);
      std::ofstream out(secret_file);
      umask(old_mask);
      if (!(out << keys->secret_key << "\n")) {
        return report(fail(Errc::System, "cannot write the secret key", secret_file));
      }
      std::cout << "public key: " << keys->public_key << "\nsecret key written to " << secret_file
                << "\n";
    } else {
      std::cout << "public key: " << keys->public_key << "\nsecret key: " << keys->secret_key
                << "\n";
    }
    return 0;
  }
  return 0;
}
