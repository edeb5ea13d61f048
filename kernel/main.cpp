// nautod: the nauto kernel daemon.
//   nautod [--config FILE]       run the kernel with the configured modules
//   nautod --check-config        validate the configuration and exit
//   nautod --run-module NAME ... (internal) host one module in this process for the supervisor
//   nautod --worker --pool P --redis URL --connect tcp://CONTROL ... a worker node
//                                (docs/workers.md): the `worker` module, run as a remote module

#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>

#include "host/module_runner.h"
#include "kernel.h"
#include "nauto/base/cli_description.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/client.h"
#include "nauto/bus/schema_types.h"
#include "nauto/bus/socket.h"
#include "nauto/sdk/config_key_recording.h"
#include "nauto/sdk/registry.h"
#include "service_notify.h"

using namespace nauto;
using namespace nauto::kernel;

namespace {

std::string self_executable(const char* argv0) {
  char path[PATH_MAX];
  const auto n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return argv0;
  return std::string(path, static_cast<std::size_t>(n));
}

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

struct ModuleProcessOptions {
  std::string name, endpoint, config_text = "{}";
  std::int64_t heartbeat_ms = 500;
  bool supervised = false;         // spawned by nautod: exit with it
  bool passive = false;            // Context::passive
  std::string server_public_key;   // tcp + CURVE: the router's public key
  std::string client_secret_file;  // tcp + CURVE: this module's secret key
};

// Module mode: one module in this process, connected to a router over ipc or tcp. nautod
// spawns its `isolation: process` modules this way; a remote module runs it by hand (or from
// systemd) with CURVE keys for tcp.
int run_module(const ModuleProcessOptions& o) {
  if (o.supervised) ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the supervisor
  const auto& name = o.name;
  auto factory = ModuleRegistry::find(name);
  if (!factory) {
    std::fprintf(stderr, "nautod: no module named '%s' in this build\n", name.c_str());
    return 2;
  }
  bus::ClientOptions client;
  if (!o.client_secret_file.empty() || !o.server_public_key.empty()) {
    if (o.client_secret_file.empty() || o.server_public_key.size() != 40) {
      std::fprintf(stderr,
                   "nautod: CURVE needs both --server-public-key (40 characters) and "
                   "--client-secret-file\n");
      return 2;
    }
    auto keys = bus::read_curve_secret_file(o.client_secret_file);
    if (!keys) {
      std::fprintf(stderr, "nautod: %s\n", keys.error().describe().c_str());
      return 2;
    }
    client.curve_client = *keys;
    client.curve_server_public_key = o.server_public_key;
  }
  auto config = nlohmann::json::parse(o.config_text, nullptr, false);
  if (config.is_discarded()) {
    std::fprintf(stderr, "nautod: --module-config is not valid JSON\n");
    return 2;
  }
  auto control = std::make_shared<RunnerControl>();
  // The signal thread turns SIGTERM into a stop request.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread signal_thread([control, signals] {
    int sig = 0;
    while (sigwait(&signals, &sig) == 0) {
      if (sig == SIGTERM || sig == SIGINT) {
        control->request_stop();
        return;
      }
    }
  });
  signal_thread.detach();
  zmq::context_t context;
  auto module = factory();
  if (auto valid = module->validate(config); !valid) {
    std::fprintf(stderr, "nautod: invalid configuration for module %s:\n%s\n", name.c_str(),
                 valid.error().message.c_str());
    return 2;
  }
  RunnerOptions options;
  options.endpoint = o.endpoint;
  options.client = client;
  options.heartbeat_interval_ms = o.heartbeat_ms;
  options.config = std::move(config);
  options.passive = o.passive;
  ModuleRunner runner(context, std::move(module), std::move(options), control);
  auto result = runner.run();
  if (!result) {
    logger("mod." + name)->error("{}", result.error().describe());
    return 1;
  }
  return 0;
}

// Each device session in flight is a socket, and max_sessions may be in the thousands: the
// soft limit on open files (1,024 on Debian) goes up to the hard one, as systemd's
// LimitNOFILE would. Module processes inherit it.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Every key of nauto.yaml that nautod reads: the kernel's (from the embedded defaults and, when
// given, an example file such as packaging/etc/nauto/nauto.yaml, which reaches the keys of
// nested sections and lists) and each module's defaults (validate() of an empty section).
// Prints a JSON array of {path, form, default}, the first use of each path.
int describe_config(const std::string& example) {
  ConfigKeyRecording recording;
  (void)parse_config(embedded_default_config(), "embedded defaults", {});
  if (!example.empty()) (void)load_config(example, true);
  for (const auto& name : ModuleRegistry::names()) {
    auto factory = ModuleRegistry::find(name);
    if (factory) (void)factory()->validate(nlohmann::json::object());
  }
  nlohmann::json keys = nlohmann::json::array();
  std::set<std::string> seen;
  for (const auto& key : recording.keys()) {
    if (!seen.insert(key.path).second) continue;
    keys.push_back({{"path", key.path}, {"form", key.form}, {"default", key.fallback}});
  }
  std::printf("%s\n", keys.dump(1).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts (log_setup's flusher is one): a thread that left them unblocked
  // would take a SIGHUP meant for a reload, and its default action ends the process.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  raise_open_file_limit();
  CLI::App app{"nautod: the nauto kernel daemon (bus router, module host, store)"};
  std::string config_path = kDefaultConfigPath;
  bool check_only = false;
  std::string log_level;
  ModuleProcessOptions module_process;
  auto* config_option =
      app.add_option("-c,--config", config_path, "configuration file")->envname("NAUTO_CONFIG");
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  app.add_option("--log-level", log_level, "override log.level");
  bool passive = false;
  app.add_flag("--passive", passive,
               "serve requests but start nothing on one's own (no schedule fires); what nauto "
               "starts for one command or a shell session");
  auto* module_mode = app.add_option_group("module process", "run one module in this process");
  module_mode->add_option("--run-module", module_process.name, "the module to run");
  module_mode->add_option("--connect", module_process.endpoint,
                          "router endpoint (ipc:// or tcp://)");
  module_mode->add_option("--module-config", module_process.config_text, "module config as JSON");
  module_mode->add_option("--heartbeat-interval-ms", module_process.heartbeat_ms,
                          "heartbeat period");
  module_mode->add_option("--server-public-key", module_process.server_public_key,
                          "tcp with CURVE: the router's public key");
  module_mode->add_option("--client-secret-file", module_process.client_secret_file,
                          "tcp with CURVE: this module's secret key file");
  module_mode->add_flag("--supervised", module_process.supervised,
                        "(set by nautod) exit when the parent exits");
  // A worker node is the `worker` module, run like a remote module; its flags become its config.
  bool worker = false;
  nlohmann::json worker_config = nlohmann::json::object();
  std::string pool, redis_url, redis_ca, redis_cert, redis_key, worker_host;
  int max_sessions = 0;
  auto* worker_mode = app.add_option_group("worker", "run a worker node of a remote pool");
  worker_mode->add_flag("--worker", worker,
                        "run a worker node: its pool's items from Redis (with --connect, "
                        "--server-public-key, --client-secret-file to the control node)");
  worker_mode->add_option("--pool", pool, "the pool it serves");
  worker_mode->add_option("--redis", redis_url, "redis://host:port or rediss://... (no password)");
  worker_mode->add_option("--redis-ca", redis_ca, "rediss://: the CA that signed Redis's cert");
  worker_mode->add_option("--redis-cert", redis_cert, "rediss://: a client certificate");
  worker_mode->add_option("--redis-key", redis_key, "rediss://: its key");
  worker_mode->add_option("--max-sessions", max_sessions, "devices at once (default 100)");
  worker_mode->add_option("--host-name", worker_host, "the name nauto workers shows");
  // Not options of the app (they would show in --help): what packaging/man/generate.py makes
  // nautod(8) and nauto.yaml(5) from.
  if (argc >= 2 && std::string_view(argv[1]) == "--describe-cli") {
    std::printf("%s\n", describe_cli(app).dump(1).c_str());
    return 0;
  }
  if (argc >= 2 && std::string_view(argv[1]) == "--describe-config")
    return describe_config(argc >= 3 ? argv[2] : "");
  CLI11_PARSE(app, argc, argv);

  if (worker) {
    if (!module_process.name.empty() && module_process.name != "worker") {
      std::fprintf(stderr, "nautod: --worker runs the worker module, not --run-module\n");
      return 2;
    }
    auto extra = nlohmann::json::parse(module_process.config_text, nullptr, false);
    if (!extra.is_object()) {
      std::fprintf(stderr, "nautod: --module-config is not a JSON object\n");
      return 2;
    }
    worker_config = extra;
    worker_config["pool"] = pool;
    worker_config["redis"] = redis_url;
    if (!redis_ca.empty()) worker_config["ca_file"] = redis_ca;
    if (!redis_cert.empty()) worker_config["cert_file"] = redis_cert;
    if (!redis_key.empty()) worker_config["key_file"] = redis_key;
    if (max_sessions > 0) worker_config["max_sessions"] = max_sessions;
    if (!worker_host.empty()) worker_config["host"] = worker_host;
    module_process.name = "worker";
    module_process.config_text = worker_config.dump();
  }

  if (!module_process.name.empty()) {
    LogOptions log;
    if (!log_level.empty()) log.level = log_level;
    if (auto set = log_setup(log); !set) {
      std::fprintf(stderr, "nautod: %s\n", set.error().describe().c_str());
      return 2;
    }
    module_process.passive = passive;
    if (module_process.endpoint.empty()) {
      std::fprintf(stderr, "nautod: --run-module needs --connect ENDPOINT\n");
      return 2;
    }
    return run_module(module_process);
  }

  const bool path_given = config_option->count() > 0;
  auto config = load_config(config_path, path_given);
  if (!config) {
    std::fprintf(stderr, "nautod: invalid configuration in %s:\n%s\n", config.error().where.c_str(),
                 config.error().message.c_str());
    return 2;
  }
  if (!log_level.empty()) config->log.level = log_level;
  config->passive = passive;
  if (auto set = log_setup(config->log); !set) {
    std::fprintf(stderr, "nautod: %s\n", set.error().describe().c_str());
    return 2;
  }
  if (check_only) {
    std::printf("configuration OK (%s)\n", config->source.c_str());
    return 0;
  }
  auto log = logger("kernel");

  auto kernel = Kernel::start(*config, self_executable(argv[0]));
  if (!kernel) {
    log->critical("cannot start: {}", kernel.error().describe());
    return 1;
  }
  {
    std::ofstream pid_file(config->run_dir + "/nautod.pid");
    pid_file << ::getpid() << "\n";
  }
  log->info("nautod {} started: config {}, data {}, endpoint {}", NAUTO_VERSION, config->source,
            config->data_dir, (*kernel)->ipc_endpoint());
  ServiceNotifier service;
  service.ready("serving on " + (*kernel)->ipc_endpoint());
  // The watchdog is kept alive only while the router answers a request, so systemd restarts a
  // nautod whose router thread hangs, not just one whose main thread does.
  auto watchdog_client =
      service.watchdog_interval_ms() > 0
          ? std::optional(bus::BusClient::connect(*(*kernel)->context(),
                                                  bus::endpoints::kRouterInproc, "watchdog"))
          : std::nullopt;

  // The next keep-alive is due at a fixed time however often signals wake the loop.
  const auto period_ms = service.watchdog_interval_ms();
  auto next_keepalive_us = steady_us() + period_ms * 1000;
  for (;;) {
    siginfo_t info{};
    int sig = 0;
    if (period_ms > 0) {
      const auto wait_us = std::max<std::int64_t>(0, next_keepalive_us - steady_us());
      const timespec wait{wait_us / 1000000, (wait_us % 1000000) * 1000};
      sig = sigtimedwait(&signals, &info, &wait);
      if (steady_us() >= next_keepalive_us) {
        next_keepalive_us = steady_us() + period_ms * 1000;
        if (*watchdog_client &&
            (*watchdog_client)
                ->call(bus::schema::BusStatsRequest::kTopic, nlohmann::json::object(),
                       std::max<std::int64_t>(1, period_ms / 2))) {
          service.watchdog();
        } else {
          log->error("the router did not answer the watchdog's request; not telling systemd");
        }
      }
    } else {
      sig = sigwaitinfo(&signals, &info);
    }
    if (sig < 0) continue;
    if (sig == SIGHUP) {
      service.reloading();
      // Who sent it, for the audit record (kill(2) fills both; the terminal's hangup does not).
      const ReloadSender by =
          info.si_code == SI_USER || info.si_code == SI_QUEUE
              ? ReloadSender{static_cast<std::int64_t>(info.si_uid), info.si_pid}
              : ReloadSender{};
      auto reloaded = load_config(config_path, path_given);
      if (!reloaded) {
        log->error("reload rejected, keeping the running configuration: {}",
                   reloaded.error().describe());
        (*kernel)->reload_rejected(config->source, reloaded.error(), by);
        service.ready("serving on " + (*kernel)->ipc_endpoint() + "; the last reload was rejected");
        continue;
      }
      if (!log_level.empty()) reloaded->log.level = log_level;  // the command line still wins
      reloaded->passive = passive;
      if (auto applied = (*kernel)->reload(*reloaded, by); !applied) {
        log->error("reload rejected: {}", applied.error().describe());
      } else {
        log->info("configuration reloaded from {}", reloaded->source);
      }
      service.ready("serving on " + (*kernel)->ipc_endpoint());
      continue;
    }
    log->info("stopping on signal {}", sig);
    break;
  }
  service.stopping();
  watchdog_client.reset();
  (*kernel)->stop();
  ::unlink((config->run_dir + "/nautod.pid").c_str());
  log->info("stopped");
  return 0;
}
