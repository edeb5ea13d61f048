#include "config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/yaml_json.h"

extern char** environ;

namespace nauto::kernel {

using nlohmann::json;

namespace {

std::string env_name(const std::string& path) {
  std::string out = "NAUTO_";
  for (char c : path)
    out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

void set_path(json& root, const std::string& path, const std::string& value) {
  json* node = &root;
  std::size_t start = 0;
  for (;;) {
    const auto dot = path.find('.', start);
    const auto part = path.substr(start, dot - start);
    if (!node->is_object()) *node = json::object();
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    node = &(*node)[part];
    start = dot + 1;
  }
}

}  // namespace

const std::vector<std::string>& kernel_config_keys() {
  static const std::vector<std::string> keys = {
      "data_dir",
      "run_dir",
      "log.level",
      "log.format",
      "log.file",
      "store.map_size",
      "store.max_size",
      "router.tcp_endpoint",
      "router.curve_secret_key_file",
      "router.curve_allowed_clients_file",
      "router.peer_high_water_mark",
      "router.request_timeout",
      "router.scheduling",
      "supervisor.heartbeat_interval",
      "supervisor.heartbeat_timeout",
      "supervisor.backoff_initial",
      "supervisor.backoff_max",
      "supervisor.stable_after",
  };
  return keys;
}

const char* embedded_default_config() {
  return R"(# nautod embedded defaults
data_dir: /var/lib/nauto
run_dir: /run/nauto
log:
  level: info
  format: console
store:
  map_size: 64MiB      # the map at start; it grows as needed
  max_size: 4GiB       # the most it grows to; past it writes fail and an alarm fires
router:
  peer_high_water_mark: 1000
  request_timeout: 30s
supervisor:
  heartbeat_interval: 500ms
  heartbeat_timeout: 5s
  backoff_initial: 200ms
  backoff_max: 30s
modules:
  journal:
    max_age: 7d
    max_count: 1000000
  inventory: {}
  vault: {}
  devices: {}
  runbooks: {}
  scheduler: {}
  configs: {}
  compliance: {}
  telemetry: {}        # /metrics on 127.0.0.1:9464; SNMP polls once modules.telemetry.snmp names some
)";
}

Result<KernelConfig> parse_config(const std::string& yaml_text, const std::string& source,
                                  const std::map<std::string, std::string>& environment) {
  json root;
  try {
    root = yaml_to_json(YAML::Load(yaml_text));
  } catch (const YAML::Exception& e) {
    return fail(Errc::InvalidConfig,
                "line " + std::to_string(e.mark.line + 1) + ", column " +
                    std::to_string(e.mark.column + 1) + ": " + e.msg +
                    " (is the indentation consistent, with spaces only?)",
                source);
  }
  if (root.is_null()) root = json::object();
  if (!root.is_object()) {
    return fail(Errc::InvalidConfig, "the top level must be a mapping of keys to values", source);
  }
  for (const auto& key : kernel_config_keys()) {
    auto it = environment.find(env_name(key));
    if (it != environment.end()) set_path(root, key, it->second);
  }

  KernelConfig c;
  c.source = source;
  ConfigReader top(root, "");
  c.data_dir = top.string("data_dir", c.data_dir);
  c.run_dir = top.string("run_dir", c.run_dir);

  const json log_section = top.section("log");
  ConfigReader log(log_section, "log");
  c.log.level =
      log.choice("level", "info", {"trace", "debug", "info", "warn", "error", "critical", "off"});
  c.log.console_format = log.choice("format", "console", {"console", "json"}) == "json"
                             ? LogFormat::Json
                             : LogFormat::Console;
  c.log.file = log.string("file", "");

  const json store_section = top.section("store");
  ConfigReader store(store_section, "store");
  c.store_map_size = store.size_bytes("map_size", c.store_map_size, 1ull << 20);
  c.store_max_size =
      std::max(c.store_map_size, store.size_bytes("max_size", c.store_max_size, 1ull << 20));
  c.store_warn_percent =
      static_cast<unsigned>(store.integer("warn_percent", c.store_warn_percent, 50, 99));

  const json router_section = top.section("router");
  ConfigReader router(router_section, "router");
  c.router_tcp_endpoint = router.string("tcp_endpoint", "");
  c.router_curve_secret_file = router.string("curve_secret_key_file", "");
  c.router_curve_clients_file = router.string("curve_allowed_clients_file", "");
  c.router_peer_high_water_mark =
      static_cast<int>(router.integer("peer_high_water_mark", 1000, 1, 10000000));
  c.router_request_timeout_ms = router.duration_ms("request_timeout", 30000, 1);
  if (router.choice("scheduling", "normal", {"normal", "batch"}) == "batch")
    c.router_scheduling = Scheduling::Batch;

  const json auth_section = top.section("auth");
  const json supervisor_section = top.section("supervisor");
  ConfigReader sup(supervisor_section, "supervisor");
  c.supervisor.heartbeat_interval_ms = sup.duration_ms("heartbeat_interval", 500, 10);
  c.supervisor.heartbeat_timeout_ms = sup.duration_ms("heartbeat_timeout", 5000, 50);
  c.supervisor.backoff_initial_ms = sup.duration_ms("backoff_initial", 200, 1);
  c.supervisor.backoff_max_ms = sup.duration_ms("backoff_max", 30000, 1);
  c.supervisor.stable_after_ms = sup.duration_ms("stable_after", 60000, 1);

  std::vector<std::string> problems;
  auto collect = [&](const ConfigReader& reader) {
    if (auto done = reader.finish(); !done) problems.push_back(done.error().message);
  };
  const json modules = top.section("modules");
  if (modules.is_object()) {
    for (const auto& [name, value] : modules.items()) {
      ModuleSpec spec;
      spec.name = name;
      json own = value.is_null() ? json::object() : value;
      if (!own.is_object()) {
        problems.push_back("modules." + name +
                           ": expected a mapping of the module's keys "
                           "(use {} for defaults)");
        continue;
      }
      if (own.contains("isolation")) {
        ConfigReader host_keys(json{{"isolation", own["isolation"]}}, "modules." + name);
        spec.out_of_process =
            host_keys.choice("isolation", "thread", {"thread", "process"}) == "process";
        collect(host_keys);
        own.erase("isolation");
      }
      if (own.contains("scheduling")) {
        ConfigReader host_keys(json{{"scheduling", own["scheduling"]}}, "modules." + name);
        if (host_keys.choice("scheduling", "normal", {"normal", "batch"}) == "batch")
          spec.scheduling = Scheduling::Batch;
        collect(host_keys);
        own.erase("scheduling");
      }
      spec.config = std::move(own);
      c.modules.push_back(std::move(spec));
    }
  }
  for (const auto* reader : {&top, &log, &store, &router, &sup})
    collect(*reader);
  if (auto auth = read_auth_options(auth_section); auth) {
    c.auth = std::move(*auth);
  } else {
    problems.push_back(auth.error().message);
  }
  if (c.supervisor.heartbeat_timeout_ms <= c.supervisor.heartbeat_interval_ms) {
    problems.push_back(
        "supervisor.heartbeat_timeout: must be longer than "
        "supervisor.heartbeat_interval");
  }
  if (!c.router_tcp_endpoint.empty() && c.router_tcp_endpoint.rfind("tcp://", 0) != 0) {
    problems.push_back("router.tcp_endpoint: expected tcp://HOST:PORT (got \"" +
                       c.router_tcp_endpoint + "\")");
  }
  if (!c.router_curve_clients_file.empty() && c.router_curve_secret_file.empty()) {
    problems.push_back(
        "router.curve_allowed_clients_file: needs router.curve_secret_key_file "
        "(client keys are checked only when CURVE is on)");
  }
  if (c.data_dir.empty()) problems.push_back("data_dir: must not be empty");
  if (c.run_dir.empty()) problems.push_back("run_dir: must not be empty");
  if (auto valid = validate_module_specs(c.modules); !valid) {
    problems.push_back(valid.error().message);
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message, source);
  }
  return c;
}

std::map<std::string, std::string> nauto_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    if (entry.rfind("NAUTO_", 0) != 0) continue;
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

Result<KernelConfig> load_config(const std::string& path, bool path_given) {
  std::ifstream file(path);
  if (!file) {
    if (path_given) {
      return fail(Errc::InvalidConfig, "cannot read the configuration file (does it exist?)", path);
    }
    return parse_config(embedded_default_config(), "embedded defaults", nauto_environment());
  }
  std::stringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), path, nauto_environment());
}

}  // namespace nauto::kernel
