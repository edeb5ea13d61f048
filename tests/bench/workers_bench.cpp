// Distributed work's costs (docs/performance.md, "Distributed workers"):
//   workers_bench throughput N W   N devices through Redis to W worker processes, and the same N
//                                  through the in-process job engine, in the same run: items/s
//                                  and the ratio.
//   workers_bench simulate N W     N devices over W worker processes: the control node's CPU and
//                                  peak memory, Redis's CPU and peak memory, per item.
// The devices are "fast fake" ones: a closed loopback port, so each device task fails at connect
// in about 0.1 ms and the figures are those of the path around it (signing, Redis, claims,
// verification, results, the store), not of a device. A real redis-server (Debian's) with the
// configuration the tests use (AOF, appendfsync always) runs on a claimed port.
// Internal: workers_bench --worker NAME PORT CONTROL_KEY RESULT_KEY runs one worker process.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "inventory_host.h"
#include "job_runner.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "work_dispatcher.h"
#include "worker_engine.h"

using namespace nauto;
using namespace nauto::devices;
using nlohmann::json;

namespace {

const drivers::PlatformCatalog& catalog() {
  static auto loaded = drivers::PlatformCatalog::load_default();
  return *loaded;
}

RedisEndpoint endpoint(int port) {
  auto e = parse_redis_url("redis://nauto@127.0.0.1:" + std::to_string(port));
  e->password = test::RedisServer::kPassword;
  return *e;
}

double cpu_seconds(int who) {
  rusage usage{};
  ::getrusage(who, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// A field of Redis's INFO ("used_memory_peak", "used_cpu_sys"...).
double redis_info(RedisConnection& redis, const std::string& section, const std::string& field) {
  auto info = redis.command({"INFO", section}, 5000);
  if (!info) return 0;
  const auto at = info->text.find(field + ":");
  if (at == std::string::npos) return 0;
  return std::atof(info->text.c_str() + at + field.size() + 1);
}

int closed_port() {
  // A claimed block's port that nobody listens on: connect is refused at once.
  return test::claim_port_block(1) + 7;
}

std::vector<JobDevice> fleet(std::size_t count, int port, const std::string& pool) {
  std::vector<JobDevice> devices;
  devices.reserve(count);
  char name[32];
  for (std::size_t i = 0; i < count; ++i) {
    std::snprintf(name, sizeof name, "d%07zu", i);
    json host = {{"name", name}, {"host", "127.0.0.1"}, {"port", port}, {"platform", "cisco_ios"}};
    auto target = target_of(host, json::object());
    devices.push_back({*target, {}, pool, pool.empty() ? json() : host});
  }
  return devices;
}

JobSpec spec() {
  JobSpec s;
  s.kind = JobKind::Commands;
  s.target = "all";
  s.commands = {"show version"};
  s.attempts = 1;
  s.device_timeout_ms = 10'000;
  s.job_timeout_ms = 3'600'000;
  return s;
}

// Runs one job to its end; seconds taken.
double run_job(JobRunner& runner, std::vector<JobDevice> devices) {
  const auto started = steady_us();
  auto id = runner.start(spec(), std::move(devices));
  if (!id) {
    std::fprintf(stderr, "job: %s\n", id.error().describe().c_str());
    std::exit(1);
  }
  while (runner.progress(*id)) {
    (void)runner.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return static_cast<double>(steady_us() - started) / 1e6;
}

struct Control {
  test::TempDir dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<JobRunner> runner;
  std::unique_ptr<WorkDispatcher> dispatcher;
  std::unique_ptr<SigningKey> key;

  explicit Control(int redis_port) {
    store::StoreOptions options;
    options.path = dir.path;
    options.map_size = 8ull << 30;
    options.tables = {kJobsTable, kResultsTable};
    auto opened = store::Store::open(options);
    if (!opened) std::exit(1);
    store = std::move(*opened);
    JobRunnerOptions runner_options;
    runner_options.max_sessions = 200;
    runner = std::make_unique<JobRunner>(runner_options, *store, catalog());
    if (redis_port <= 0) return;
    key = std::make_unique<SigningKey>(*SigningKey::open_or_create(dir.path + "/key", "key"));
    DispatcherSettings settings;
    settings.redis = endpoint(redis_port);
    dispatcher = std::make_unique<WorkDispatcher>(
        settings, *key, [this](std::vector<WorkResult> r) { runner->take_remote(std::move(r)); });
    runner->set_remote(
        {[this](std::vector<WorkItem> items) { dispatcher->send(std::move(items)); },
         [this](const std::string& job, std::int64_t ttl) { dispatcher->cancel(job, ttl); }});
  }
  ~Control() {
    dispatcher.reset();
    runner.reset();
  }
};

struct WorkerProcesses {
  std::vector<pid_t> pids;
  WorkerProcesses(const char* self, int count, int port, const SigningKey& key) {
    for (int i = 0; i < count; ++i) {
      const auto name = "w" + std::to_string(i);
      const auto result_key = worker_result_key(key, name);
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::execl(self, self, "--worker", name.c_str(), std::to_string(port).c_str(),
                key.public_key().c_str(), result_key.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
      }
      pids.push_back(pid);
    }
  }
  // The workers' own CPU, once they have exited.
  double stop() {
    for (auto pid : pids)
      ::kill(pid, SIGTERM);
    for (auto pid : pids)
      ::waitpid(pid, nullptr, 0);
    return cpu_seconds(RUSAGE_CHILDREN);
  }
};

int worker_main(char** argv) {
  LogOptions quiet;
  quiet.level = "error";
  (void)log_setup(quiet);
  WorkerSettings settings;
  settings.name = argv[2];
  settings.pool = "sim";
  settings.host = "bench";
  settings.redis = endpoint(std::atoi(argv[3]));
  settings.control_key = argv[4];
  settings.result_key = argv[5];
  settings.max_sessions = 100;
  settings.min_idle_ms = 30'000;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  {
    WorkerEngine engine(settings, catalog(), [](const std::vector<std::string>&) {
      return Result<json>(json::object());
    });
    int sig = 0;
    sigwait(&set, &sig);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 6 && std::string(argv[1]) == "--worker") return worker_main(argv);
  if (argc < 4) {
    std::fprintf(stderr, "usage: workers_bench throughput|simulate DEVICES WORKERS\n");
    return 2;
  }
  LogOptions quiet;
  quiet.level = "error";
  (void)log_setup(quiet);
  const std::string mode = argv[1];
  const auto devices = static_cast<std::size_t>(std::atol(argv[2]));
  const int workers = std::atoi(argv[3]);
  const int port = closed_port();

  if (mode == "throughput") {
    double local_s = 0;
    {
      Control control(0);
      run_job(*control.runner, fleet(devices, port, ""));  // warm-up
      local_s = run_job(*control.runner, fleet(devices, port, ""));
    }
    test::RedisServer redis;
    Control control(redis.port());
    WorkerProcesses processes(argv[0], workers, redis.port(), *control.key);
    run_job(*control.runner, fleet(std::min<std::size_t>(devices, 1000), port, "sim"));  // warm-up
    const double remote_s = run_job(*control.runner, fleet(devices, port, "sim"));
    processes.stop();
    const double local_rate = static_cast<double>(devices) / local_s;
    const double remote_rate = static_cast<double>(devices) / remote_s;
    std::printf(
        "workers_bench throughput: %zu devices (fast fake: refused at connect); in-process job "
        "engine %.0f items/s; through Redis to %d worker processes %.0f items/s; ratio %.2f\n",
        devices, local_rate, workers, remote_rate, remote_rate / local_rate);
    return 0;
  }

  // The whole fleet is queued before the workers start (a pool whose workers were away), so
  // Redis's memory per queued item shows; then the workers drain it.
  test::RedisServer redis;
  auto monitor = RedisConnection::open(endpoint(redis.port()), 5000);
  if (!monitor) return 1;
  Control control(redis.port());
  auto fleet_devices = fleet(devices, port, "sim");
  const double memory0 = redis_info(**monitor, "memory", "used_memory");
  const double redis_cpu0 =
      redis_info(**monitor, "cpu", "used_cpu_sys") + redis_info(**monitor, "cpu", "used_cpu_user");
  const double cpu0 = cpu_seconds(RUSAGE_SELF);
  const auto started = steady_us();
  auto id = control.runner->start(spec(), std::move(fleet_devices));
  if (!id) return 1;
  while (control.dispatcher->status().value("sent", std::uint64_t{0}) < devices)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double queued_s = static_cast<double>(steady_us() - started) / 1e6;
  const double queued_memory = redis_info(**monitor, "memory", "used_memory") - memory0;
  const auto drain_started = steady_us();
  WorkerProcesses processes(argv[0], workers, redis.port(), *control.key);
  while (control.runner->progress(*id)) {
    (void)control.runner->poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double drain_s = static_cast<double>(steady_us() - drain_started) / 1e6;
  const double control_cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
  const double redis_cpu = redis_info(**monitor, "cpu", "used_cpu_sys") +
                           redis_info(**monitor, "cpu", "used_cpu_user") - redis_cpu0;
  const double redis_peak = redis_info(**monitor, "memory", "used_memory_peak");
  const double workers_cpu = processes.stop();
  const long control_peak_kib = bench::self_status("VmHWM");
  const double n = static_cast<double>(devices);
  std::printf(
      "workers_bench simulate: %zu devices (fast fake devices) signed and queued in %.1f s = "
      "%.0f items/s; drained by %d worker processes in %.1f s = %.0f items/s\n"
      "  control node: CPU %.2f s = %.1f us/item, peak RSS %.1f MiB = %.1f KiB/device\n"
      "  redis-server: CPU %.2f s = %.1f us/item; %.1f MiB for the queued items = %.0f B/item; "
      "peak %.1f MiB\n"
      "  workers (all): CPU %.2f s = %.1f us/item\n",
      devices, queued_s, n / queued_s, workers, drain_s, n / drain_s, control_cpu,
      control_cpu / n * 1e6, static_cast<double>(control_peak_kib) / 1024,
      static_cast<double>(control_peak_kib) / n, redis_cpu, redis_cpu / n * 1e6,
      queued_memory / (1 << 20), queued_memory / n, redis_peak / (1 << 20), workers_cpu,
      workers_cpu / n * 1e6);
  return 0;
}
