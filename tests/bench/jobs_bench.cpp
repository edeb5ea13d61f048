// The job engine at fleet scale: `show version` on the first DEVICES hosts of a nauto-lab
// inventory with SESSIONS at once, through JobRunner exactly as nautod runs it (results into
// LMDB, strict host keys, credential "lab" from NAUTO_CRED_LAB_*). Prints wall time, this
// process's CPU time and peak RSS. One size per process, so the peak RSS is that size's own.
// Also the peak of sessions in flight, the process's threads at that time, and the memory each
// session in flight took: (peak RSS - RSS before the job) / peak sessions in flight.
// A device counts as ok only when its output names the IOS software (netmiko_bench.py checks
// the same); transient faults get 3 attempts, as netmiko_bench.py gives them.
//   jobs_bench INVENTORY DEVICES SESSIONS
// tests/bench/jobs_bench.sh runs it at 1,000 and 10,000 devices beside netmiko.

#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "bench_util.h"
#include "inventory.h"
#include "job_runner.h"
#include "nauto/base/clock.h"
#include "vault_file.h"

using namespace nauto;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: jobs_bench INVENTORY DEVICES SESSIONS\n");
    return 2;
  }
  const std::string inventory_path = argv[1];
  const auto wanted = static_cast<std::size_t>(std::stoul(argv[2]));
  const int sessions = std::stoi(argv[3]);
  std::ifstream in(inventory_path);
  std::stringstream text;
  text << in.rdbuf();
  auto source = inventory::parse_inventory_yaml(text.str(), inventory_path);
  if (!source) {
    std::fprintf(stderr, "%s\n", source.error().describe().c_str());
    return 1;
  }
  auto built = inventory::Inventory::build(*source);
  if (!built) {
    std::fprintf(stderr, "%s\n", built.error().describe().c_str());
    return 1;
  }
  auto credential = vault::credential_from_environment("lab");
  if (!credential) {
    std::fprintf(stderr, "set NAUTO_CRED_LAB_* (the lab's lab-credentials.env)\n");
    return 2;
  }
  std::vector<devices::JobDevice> fleet;
  for (const auto& host : built->hosts()) {
    if (fleet.size() == wanted) break;
    drivers::DeviceTarget target;
    target.name = host.name;
    target.host = host.host;
    target.port = host.port;
    target.platform = host.platform;
    target.known_hosts = host.known_hosts;
    target.credentials = {
        credential->username, credential->password, credential->enable_secret, {}, {}, {}};
    fleet.push_back({std::move(target), {}, {}, {}});
  }
  if (fleet.size() < wanted) {
    std::fprintf(stderr, "the inventory has only %zu devices\n", fleet.size());
    return 2;
  }
  char dir_template[] = "/tmp/nauto-jobs-bench-XXXXXX";
  const std::string dir = ::mkdtemp(dir_template);
  store::StoreOptions options;
  options.path = dir;
  options.tables = {devices::kJobsTable, devices::kResultsTable};
  auto store = store::Store::open(options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().describe().c_str());
    return 1;
  }
  auto catalog = drivers::PlatformCatalog::load_default();
  devices::JobRunnerOptions runner_options;
  runner_options.max_sessions = sessions;
  runner_options.device_timeout_ms = 120'000;
  double wall = 0;
  devices::JobCounts counts;
  long rss_before_kib = 0, threads_at_peak = 0;
  std::int64_t peak_in_flight = 0;
  std::map<std::string, std::pair<int, std::string>> failures;  // error code -> count, example
  {
    devices::JobRunner runner(runner_options, **store, *catalog);
    devices::JobSpec spec;
    spec.commands = {"show version"};
    spec.attempts = 3;
    rss_before_kib = bench::self_status("VmRSS");
    const auto started = steady_us();
    auto id = runner.start(spec, std::move(fleet));
    if (!id) {
      std::fprintf(stderr, "%s\n", id.error().describe().c_str());
      return 1;
    }
    for (bool ended = false; !ended;) {
      // Woken by the runner's news (a device or the job finished), as the devices module is.
      pollfd news{runner.news().fd(), POLLIN, 0};
      ::poll(&news, 1, 1000);
      runner.news().drain();
      if (auto now = runner.progress(*id); now && now->counts.running > peak_in_flight) {
        peak_in_flight = now->counts.running;
        threads_at_peak = bench::self_status("Threads");
      }
      for (const auto& progress : runner.poll().jobs) {
        if (progress.id == *id && progress.state != devices::JobState::Running) {
          ended = true;
          counts = progress.counts;
        }
      }
    }
    wall = static_cast<double>(steady_us() - started) / 1e6;
    // The last results are committed by the store's writer after the job ends (outside the
    // measured time): read until every device's is there.
    auto results = runner.job_store().results(*id, "", "", wanted + 1);
    for (int tries = 0; results && results->size() < wanted && tries < 500; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      results = runner.job_store().results(*id, "", "", wanted + 1);
    }
    if (results) {
      for (const auto& result : *results) {
        const auto& output = result["output"];
        const bool checked =
            output.is_array() && !output.empty() &&
            output[0].value("text", "").find("Cisco IOS Software") != std::string::npos;
        if (result.value("status", "") == "ok" && checked) continue;
        const bool said_ok = result.value("status", "") == "ok";
        if (said_ok) --counts.ok;  // ok, but not a show version
        auto& entry = failures[said_ok ? "bad_output" : result.value("error_code", "?")];
        if (entry.first++ == 0) {
          entry.second = result.value("error", "") + " (after " +
                         std::to_string(result.value("attempts", 0)) + " attempts)";
        }
      }
    }
  }
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf(
      "nauto_jobs devices=%zu sessions=%d wall_s=%.2f cpu_s=%.2f peak_rss_mib=%.1f ok=%lld "
      "failed=%lld rate_per_s=%.1f peak_in_flight=%lld threads_at_peak=%ld "
      "rss_per_session_kib=%.0f\n",
      wanted, sessions, wall, cpu, static_cast<double>(usage.ru_maxrss) / 1024.0,
      static_cast<long long>(counts.ok), static_cast<long long>(counts.total - counts.ok),
      static_cast<double>(wanted) / wall, static_cast<long long>(peak_in_flight), threads_at_peak,
      peak_in_flight ? static_cast<double>(usage.ru_maxrss - rss_before_kib) /
                           static_cast<double>(peak_in_flight)
                     : 0.0);
  for (const auto& [code, entry] : failures) {
    std::printf("  not ok: %d x %s, e.g. %s\n", entry.first, code.c_str(), entry.second.c_str());
  }
  store->reset();
  std::filesystem::remove_all(dir);
  return counts.ok == static_cast<std::int64_t>(wanted) ? 0 : 1;
}
