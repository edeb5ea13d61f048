// Runbook engine benchmark: N concurrent runs of a 3-step runbook.
//   runbook_bench [runs]
// Phase 1, the engine alone: every step is a request to a service that answers at once (from a
// queue, on the engine's thread). All runs are started before any answer is delivered, so all
// N are suspended at the same time: memory per suspended run = RSS growth / N. Then the answers
// are drained: runs/s and time per step. Baseline in the same process: one Lua state, N bare
// coroutines yielding 3 times each (what a resume costs without sandboxes, journal or JSON).
// Phase 2, the real bus: an in-process nautod kernel (router, inventory and runbooks modules);
// the same runbook with each step an inventory.select round trip through the router, N runs
// started with run.start from 8 clients at once. The cost of a step: the extra wall time of N
// runs of 3 steps over N runs of none, over 3N; and its latency under that load: the median
// time from a run's run.started to its run.finished event, less the same for runs without
// steps, over 3. Baseline: as many inventory.select calls made directly, one at a time.
// Figures go to docs/performance.md.

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <lua.hpp>
#include <map>
#include <string>
#include <thread>

#include "bench_util.h"
#include "config/config.h"
#include "kernel.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/client.h"
#include "nauto/runbook/run_engine.h"

using namespace nauto;
using namespace nauto::runbook;
using nlohmann::json;

namespace {

double rss_mib() {
  return static_cast<double>(bench::self_status("VmRSS")) / 1024.0;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

const char* const kRunbook = R"(return runbook {
  name = "three",
  run = function()
    local a = inventory.select("name=r1")
    local b = inventory.select("name=r2")
    local c = inventory.select("name=r3")
    return #a + #b + #c
  end,
})";

// Answers every request from a queue that the benchmark drains when it chooses.
class QueuedPort final : public BusPort {
 public:
  std::deque<std::pair<ReplyFn, json>> pending;
  void request(const std::string&, const json& body, std::int64_t, ReplyFn on_reply) override {
    json hosts = json::array({json{{"name", body.value("selector", "").substr(5)}}});
    pending.emplace_back(std::move(on_reply), json{{"hosts", hosts}});
  }
  void publish(const std::string&, const json&) override {}
  // Short timers (a run's next slice) run when the benchmark calls fire_short_timers(); long
  // ones (run deadlines) never come due during the benchmark.
  std::uint64_t after(std::int64_t delay_ms, std::function<void()> fn) override {
    if (delay_ms <= 10) short_timers.emplace(++timers, std::move(fn));
    return timers;
  }
  void cancel_timer(std::uint64_t id) override { short_timers.erase(id); }
  void fire_short_timers() {
    auto due = std::move(short_timers);
    short_timers.clear();
    for (auto& [id, fn] : due)
      fn();
  }
  std::uint64_t watch(int fd, std::function<void()> on_readable) override {
    watched_fd = fd;
    on_watched = std::move(on_readable);
    return ++timers;
  }
  void unwatch(std::uint64_t) override { on_watched = nullptr; }
  /// Runs the watch callback (commits answered) if its fd turns readable within `wait_ms`.
  void serve_watch(int wait_ms) {
    pollfd p{watched_fd, POLLIN, 0};
    if (on_watched && ::poll(&p, 1, wait_ms) > 0) on_watched();
  }
  std::uint64_t timers = 0;
  std::map<std::uint64_t, std::function<void()>> short_timers;
  int watched_fd = -1;
  std::function<void()> on_watched;
};

void engine_alone(int runs) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("nauto-runbook-bench-" + std::to_string(::getpid()));
  store::StoreOptions options;
  options.path = dir.string();
  options.tables = {kRunsTable, kRunStepsTable, kRunbookStateTable};
  options.map_size = 8ull << 30;
  auto store = store::Store::open(options).value();
  QueuedPort port;
  RunEngine engine({}, *store, RunbookCatalog({}), port);

  const double rss_before = rss_mib();
  auto t0 = steady_us();
  int started = 0;
  for (int i = 0; i < runs; ++i) {
    StartRequest request;
    request.runbook = "three.lua";
    request.source = kRunbook;
    engine.start(request, [&](Result<json> r) { started += r.has_value(); });
    port.fire_short_timers();
    port.serve_watch(0);
  }
  while (started < runs)
    port.serve_watch(1000);
  const auto start_us = steady_us() - t0;
  const double rss_suspended = rss_mib();
  const auto suspended = engine.active();

  t0 = steady_us();
  const double cpu0 = cpu_seconds();
  std::size_t steps = 0;
  while (!port.pending.empty()) {
    auto [reply, body] = std::move(port.pending.front());
    port.pending.pop_front();
    reply(std::move(body));
    ++steps;
  }
  const auto drain_us = steady_us() - t0;
  const double drain_cpu = cpu_seconds() - cpu0;

  // Baseline: bare coroutines in one state, yielding 3 times each.
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  luaL_dostring(L, "function body() coroutine.yield() coroutine.yield() coroutine.yield() end");
  std::vector<lua_State*> threads;
  for (int i = 0; i < runs; ++i) {
    lua_State* thread = lua_newthread(L);
    luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getglobal(thread, "body");
    threads.push_back(thread);
  }
  t0 = steady_us();
  int results = 0;
  for (int step = 0; step < 4; ++step) {
    for (auto* thread : threads)
      lua_resume(thread, nullptr, 0, &results);
  }
  const auto bare_us = steady_us() - t0;
  lua_close(L);

  std::printf("engine alone: %d runs x 3 steps, all suspended at once (%zu active)\n", runs,
              suspended);
  std::printf(
      "  start:   %d runs in %.2f s = %.0f runs/s (each acknowledged once its record "
      "is on disk)\n",
      started, start_us / 1e6, runs / (start_us / 1e6));
  std::printf("  memory:  RSS %.1f -> %.1f MiB = %.1f KiB per suspended run\n", rss_before,
              rss_suspended, (rss_suspended - rss_before) * 1024.0 / runs);
  std::printf("  steps:   %zu answers in %.2f s (%.2f s CPU) = %.1f us per step, %.0f runs/s\n",
              steps, drain_us / 1e6, drain_cpu, static_cast<double>(drain_us) / steps,
              runs / (drain_us / 1e6));
  std::printf(
      "  baseline bare Lua coroutines: %.2f us per resume -> engine step = %.0fx\n",
      static_cast<double>(bare_us) / (runs * 4.0),
      (static_cast<double>(drain_us) / steps) / (static_cast<double>(bare_us) / (runs * 4.0)));
  std::filesystem::remove_all(dir);
}

constexpr int kStarters = 8;

void through_the_bus(int runs) {
  char pattern[] = "/tmp/nauto-runbook-bench-bus-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  std::filesystem::create_directories(dir + "/runbooks");
  std::ofstream(dir + "/runbooks/three.lua") << kRunbook;
  std::ofstream(dir + "/runbooks/empty.lua")
      << "return runbook { name = 'empty', run = function() return 0 end }";
  std::ofstream(dir + "/inventory.yaml") << "hosts:\n  r1: {host: 127.0.0.1, platform: cisco_ios}\n"
                                            "  r2: {host: 127.0.0.1, platform: cisco_ios}\n"
                                            "  r3: {host: 127.0.0.1, platform: cisco_ios}\n";
  auto config = kernel::parse_config(
      "data_dir: " + dir + "/data\nrun_dir: " + dir + "/run\nlog: {level: warn}\n" +
          "store: {map_size: 8GiB}\nrouter: {peer_high_water_mark: 100000}\n"
          "modules:\n  inventory: {files: [" +
          dir +
          "/inventory.yaml]}\n"
          "  runbooks: {dirs: [" +
          dir + "/runbooks]}\n",
      "bench", {});
  if (!config) {
    std::printf("config: %s\n", config.error().describe().c_str());
    return;
  }
  auto kernel = kernel::Kernel::start(*config, "");
  if (!kernel) {
    std::printf("kernel: %s\n", kernel.error().describe().c_str());
    return;
  }
  auto client = bus::BusClient::connect(*(*kernel)->context(), (*kernel)->ipc_endpoint(), "bench");
  auto watcher =
      bus::BusClient::connect(*(*kernel)->context(), (*kernel)->ipc_endpoint(), "bench-watch");
  for (int i = 0; i < 50 && !client->call("run.list", json::object(), 1000); ++i)
    usleep(100000);
  (void)watcher->subscribe({"run.started", "run.finished"}, 5000);

  // Baseline: the same number of inventory.select round trips, made directly.
  auto t0 = steady_us();
  for (int i = 0; i < runs * 3; ++i)
    (void)client->call("inventory.select", {{"selector", "name=r1"}}, 5000);
  const auto raw_us = steady_us() - t0;

  // Starts come from kStarters clients at once (as from several users and rules); each is
  // answered once its run record is on disk, so durable commits bound the rate. The time a run
  // spends on its steps is read from its events: from run.started (published as the run begins)
  // to run.finished, as stamped by the runbooks module. Runs without steps give the same span
  // minus the steps.
  struct Launched {
    std::int64_t wall_us = 0;
    int finished = 0;
    double median_span_us = 0;
  };
  const auto launch = [&](const std::string& runbook) {
    Launched l;
    const auto t = steady_us();
    std::atomic<int> started = 0;
    std::vector<std::thread> starters;
    for (int t = 0; t < kStarters; ++t) {
      starters.emplace_back([&, t] {
        auto own = bus::BusClient::connect(*(*kernel)->context(), (*kernel)->ipc_endpoint(),
                                           "bench-start-" + std::to_string(t));
        if (!own) return;
        for (int i = t; i < runs; i += kStarters)
          started += own->call("run.start", {{"runbook", runbook}}, 30000).has_value();
      });
    }
    for (auto& starter : starters)
      starter.join();
    std::map<std::string, std::int64_t> started_at;
    std::vector<double> spans;
    while (l.finished < started) {
      auto event = watcher->next_event(10000);
      if (!event || !*event) break;
      const auto id = bus::from_body((*event)->body).value().value("id", "");
      if ((*event)->topic == "run.started") {
        started_at[id] = (*event)->header.time_us;
        continue;
      }
      ++l.finished;
      if (auto it = started_at.find(id); it != started_at.end())
        spans.push_back(static_cast<double>((*event)->header.time_us - it->second));
    }
    l.wall_us = steady_us() - t;
    std::sort(spans.begin(), spans.end());
    if (!spans.empty()) l.median_span_us = spans[spans.size() / 2];
    return l;
  };
  const auto empty = launch("empty");
  const auto three = launch("three");
  const double step_us = (three.median_span_us - empty.median_span_us) / 3.0;
  const double raw_step_us = static_cast<double>(raw_us) / (runs * 3);
  std::printf(
      "through the bus (in-process kernel, router, inventory module): %d runs x 3 "
      "inventory.select\n",
      runs);
  std::printf("  baseline: %d direct inventory.select calls, one at a time: %.1f us each\n",
              runs * 3, raw_step_us);
  std::printf(
      "  runs without steps: %d finished in %.2f s = %.0f runs/s (%.0f us per start), "
      "median run %.0f us\n",
      empty.finished, empty.wall_us / 1e6, empty.finished / (empty.wall_us / 1e6),
      static_cast<double>(empty.wall_us) / runs, empty.median_span_us);
  std::printf("  runs of 3 steps:    %d finished in %.2f s = %.0f runs/s, median run %.0f us\n",
              three.finished, three.wall_us / 1e6, three.finished / (three.wall_us / 1e6),
              three.median_span_us);
  const double step_wall_us = static_cast<double>(three.wall_us - empty.wall_us) / (runs * 3.0);
  std::printf(
      "  per step, throughput ((wall with steps - wall without) / 3N): %.1f us = %.2fx "
      "a direct request\n",
      step_wall_us, step_wall_us / raw_step_us);
  std::printf(
      "  per step, latency under this load ((median run - median empty run) / 3): "
      "%.1f us\n",
      step_us);
  watcher->unsubscribe();
  // Our sockets live on the kernel's context: close them first, or terminating it waits forever.
  { auto closing = std::move(*client); }
  { auto closing = std::move(*watcher); }
  (*kernel)->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 10000;
  std::printf("runbook_bench: %d runs, %ld cores\n", runs, sysconf(_SC_NPROCESSORS_ONLN));
  engine_alone(runs);
  through_the_bus(runs);
  return 0;
}
