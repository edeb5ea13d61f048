// nautod: the nauto kernel daemon.
//   nautod [--config FILE]       run the kernel with the configured modules
//   nautod --check-config        validate the configuration and exit
//   nautod --run-module NAME ... (internal) host one module in this process for the supervisor

#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "host/module_runner.h"
#include "kernel.h"
#include "nauto/base/log.h"
#include "nauto/sdk/registry.h"

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

// Child mode: one module, supervised by the parent nautod over the bus.
int run_module(const std::string& name, const std::string& endpoint, const std::string& config_text,
               std::int64_t heartbeat_ms) {
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive the supervisor
  auto factory = ModuleRegistry::find(name);
  if (!factory) {
    std::fprintf(stderr, "nautod: no module named '%s' in this build\n", name.c_str());
    return 2;
  }
  auto config = nlohmann::json::parse(config_text, nullptr, false);
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
        control->stop_requested = true;
        return;
      }
    }
  });
  signal_thread.detach();
  zmq::context_t context;
  RunnerOptions options;
  options.endpoint = endpoint;
  options.heartbeat_interval_ms = heartbeat_ms;
  options.config = std::move(config);
  ModuleRunner runner(context, factory(), std::move(options), control);
  auto result = runner.run();
  if (!result) {
    logger("mod." + name)->error("{}", result.error().describe());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nautod: the nauto kernel daemon (bus router, module host, store)"};
  std::string config_path = kDefaultConfigPath;
  bool check_only = false;
  std::string run_module_name, connect_endpoint, module_config = "{}", log_level;
  std::int64_t heartbeat_ms = 500;
  auto* config_option =
      app.add_option("-c,--config", config_path, "configuration file")->envname("NAUTO_CONFIG");
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  app.add_option("--log-level", log_level, "override log.level");
  auto* internal = app.add_option_group("internal", "used by nautod to start child modules");
  internal->add_option("--run-module", run_module_name, "host one module in this process");
  internal->add_option("--connect", connect_endpoint, "router endpoint for --run-module");
  internal->add_option("--module-config", module_config, "module config as JSON");
  internal->add_option("--heartbeat-interval-ms", heartbeat_ms, "heartbeat period");
  CLI11_PARSE(app, argc, argv);

  if (!run_module_name.empty()) {
    LogOptions log;
    if (!log_level.empty()) log.level = log_level;
    if (auto set = log_setup(log); !set) {
      std::fprintf(stderr, "nautod: %s\n", set.error().describe().c_str());
      return 2;
    }
    return run_module(run_module_name, connect_endpoint, module_config, heartbeat_ms);
  }

  const bool path_given = config_option->count() > 0;
  auto config = load_config(config_path, path_given);
  if (!config) {
    std::fprintf(stderr, "nautod: invalid configuration in %s:\n%s\n", config.error().where.c_str(),
                 config.error().message.c_str());
    return 2;
  }
  if (!log_level.empty()) config->log.level = log_level;
  if (auto set = log_setup(config->log); !set) {
    std::fprintf(stderr, "nautod: %s\n", set.error().describe().c_str());
    return 2;
  }
  if (check_only) {
    std::printf("configuration OK (%s)\n", config->source.c_str());
    return 0;
  }
  auto log = logger("kernel");
  // Block the signals before any thread starts so that only sigwait below receives them.
  const sigset_t signals = handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto kernel = Kernel::start(*config, self_executable(argv[0]));
  if (!kernel) {
    log->critical("cannot start: {}", kernel.error().describe());
    return 1;
  }
  {
    std::ofstream pid_file(config->run_dir + "/nautod.pid");
    pid_file << ::getpid() << "\n";
  }
  log->info("nautod {} started: config {}, data {}, endpoint {}", "0.1.0", config->source,
            config->data_dir, (*kernel)->ipc_endpoint());

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      auto reloaded = load_config(config_path, path_given);
      if (!reloaded) {
        log->error("reload rejected, keeping the running configuration: {}",
                   reloaded.error().describe());
        continue;
      }
      if (auto applied = (*kernel)->reload(*reloaded); !applied) {
        log->error("reload rejected: {}", applied.error().describe());
      } else {
        log->info("configuration reloaded from {}", reloaded->source);
      }
      continue;
    }
    log->info("stopping on signal {}", sig);
    break;
  }
  (*kernel)->stop();
  ::unlink((config->run_dir + "/nautod.pid").c_str());
  log->info("stopped");
  return 0;
}
