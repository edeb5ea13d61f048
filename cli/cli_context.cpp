#include "cli_context.h"

#include <pwd.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "nauto/bus/schema_types.h"
#include "nauto/bus/socket.h"
#include "shell/private_nautod.h"

namespace nauto::cli {

std::atomic<bool> g_interrupted{false};

// Only run_dir is needed from the config; read just that, so the CLI does not depend on modules.
std::string CliContext::resolve_endpoint() const {
  if (!endpoint.empty()) return endpoint;
  if (const char* e = std::getenv("NAUTO_ENDPOINT"); e && *e) return e;
  std::string run_dir = "/run/nauto";
  try {
    std::ifstream file(config);
    if (file) {
      auto root = YAML::Load(file);
      if (root["run_dir"]) run_dir = root["run_dir"].as<std::string>();
    }
  } catch (const YAML::Exception&) {
    // A broken config is nautod's to report; fall back to the default run_dir here.
  }
  if (const char* e = std::getenv("NAUTO_RUN_DIR"); e && *e) run_dir = e;
  return bus::endpoints::router_ipc(run_dir);
}

namespace {

Result<void> socket_reachable(const std::string& endpoint) {
  constexpr std::string_view kIpc = "ipc://";
  if (endpoint.rfind(kIpc, 0) != 0) return ok();
  const auto path = endpoint.substr(kIpc.size());
  // ZeroMQ retries a refused ipc connect quietly until the request times out; a socket the
  // user may not open is said at once, with the way in (the package makes it 0660, group nauto).
  if (::access(path.c_str(), R_OK | W_OK) != 0 && errno == EACCES) {
    return fail(Errc::PermissionDenied,
                "permission denied on " + path +
                    ": only nautod's user and the members of its group (nauto) may use it; "
                    "ask an administrator to run `adduser " +
                    user_name() + " nauto`, then log in again");
  }
  return ok();
}

}  // namespace

Result<bus::BusClient> CliContext::connect() const {
  const auto where = resolve_endpoint();
  if (auto reachable = socket_reachable(where); !reachable) return std::move(reachable).error();
  return bus::BusClient::connect(zmq, where, "cli." + std::to_string(getpid()));
}

Result<nlohmann::json> CliContext::call(const std::string& service, const nlohmann::json& body) {
  auto client = connect();
  if (!client) return std::move(client).error();
  return client->call(service, body, timeout_ms);
}

Result<nlohmann::json> CliContext::call_even_offline(const std::string& service,
                                                     const nlohmann::json& body) {
  {
    auto client = connect();
    if (client &&
        client->call(bus::schema::KernelStatusRequest::kTopic, nlohmann::json::object(), 1'000))
      return client->call(service, body, timeout_ms);
  }
  auto started = shell::PrivateNautod::start(config, 20'000);
  if (!started) return std::move(started).error();
  auto client =
      bus::BusClient::connect(zmq, started->endpoint(), "cli." + std::to_string(getpid()));
  if (!client) return std::move(client).error();
  return client->call(service, body, timeout_ms);
}

OutputFormat CliContext::format() const {
  auto parsed = parse_output_format(output);
  return parsed ? *parsed : OutputFormat::Table;
}

int report(const Error& error) {
  std::fprintf(stderr, "nauto: %s\n", error.describe().c_str());
  return error.code == Errc::InvalidArgument ? 2 : 1;
}

void call_and_print(CliContext& context, const std::string& service, const nlohmann::json& body,
                    const std::function<void(const nlohmann::json&)>& print_table) {
  auto answer = context.call(service, body);
  if (!answer) {
    context.exit_code = report(answer.error());
    return;
  }
  if (context.format() != OutputFormat::Table)
    std::cout << render_document(*answer, context.format());
  else
    print_table(*answer);
}

void add_output_option(CLI::App* command, CliContext& context) {
  command->add_option("-o,--output", context.output, "table, json or yaml")
      ->check(CLI::IsMember({"table", "json", "yaml"}));
}

std::string user_name() {
  if (const auto* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return "uid " + std::to_string(::getuid());
}

Result<std::string> read_input(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path);
  if (!in) return fail(Errc::InvalidArgument, "cannot read " + path);
  text << in.rdbuf();
  return text.str();
}

Result<std::int64_t> duration_ms(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  const auto unit = text.substr(used);
  const double scale = unit == "ms"  ? 1
                       : unit == "s" ? 1000
                       : unit == "m" ? 60'000
                       : unit == "h" ? 3'600'000
                       : unit == "d" ? 86'400'000
                                     : -1;
  if (used == 0 || scale < 0 || value <= 0)
    return fail(Errc::InvalidArgument,
                "--since '" + text + "': expected a duration such as 15m, 1h, 7d");
  return static_cast<std::int64_t>(value * scale);
}

}  // namespace nauto::cli
