// The job engine against nauto-lab: a fleet of healthy, hung, slow, refusing and flapping
// devices; cancellation; keyed session and rate limits; two jobs on one device.

#include "job_runner.h"

#include <poll.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "../../drivers/lab_process.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/store/retention.h"
#include "support/eventually.h"
#include "support/thread_wakeups.h"

using namespace nauto;
using Catch::Matchers::Contains;
using nauto::devices::JobDevice;
using nauto::devices::JobKind;
using nauto::devices::JobProgress;
using nauto::devices::JobRunner;
using nauto::devices::JobRunnerOptions;
using nauto::devices::JobSpec;
using nauto::devices::JobState;
using nauto::devices::kJobsTable;
using nauto::devices::kResultsTable;
using nlohmann::json;

namespace {

nauto::test::LabProcess& lab() {
  static nauto::test::LabProcess process(nauto::test::lab_binary(),
                                         "seed: 5\nminute_ms: 400\n"
                                         "credentials: {username: admin, password: admin, "
                                         "enable_secret: enable}\n"
                                         "groups:\n  - {platform: cisco_ios, count: 30}\n",
                                         nauto::test::claim_port_block());
  return process;
}

const drivers::PlatformCatalog& catalog() {
  static auto loaded = drivers::PlatformCatalog::load_default();
  return *loaded;
}

struct TempStore {
  std::filesystem::path dir;
  std::unique_ptr<store::Store> store;
  TempStore() {
    char name[] = "/tmp/nauto-jobs-XXXXXX";
    dir = ::mkdtemp(name);
    store::StoreOptions options;
    options.path = dir.string();
    options.map_size = 256ull << 20;
    options.tables = {kJobsTable, kResultsTable};
    auto opened = store::Store::open(options);
    if (!opened) throw std::runtime_error(opened.error().describe());
    store = std::move(*opened);
  }
  ~TempStore() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

void set_faults(int index, const std::string& faults) {
  lab().control("PUT", "/devices/" + lab().device("cisco_ios", index).name + "/faults", faults);
}

void clear_faults() {
  for (int i = 0; i < 30; ++i)
    set_faults(i, "{}");
}

std::vector<JobDevice> lab_devices(int first, int count,
                                   const std::vector<std::string>& values = {}) {
  std::vector<JobDevice> out;
  for (int i = first; i < first + count; ++i) {
    auto target = lab().target(lab().device("cisco_ios", i));
    out.push_back({target, values, {}, {}});
  }
  return out;
}

// poll() reports an ended job once; endings seen while waiting for another job are kept.
JobProgress wait_for_end(JobRunner& runner, const std::string& id, std::int64_t limit_ms) {
  static std::map<std::string, JobProgress> ended;
  const auto until = steady_us() + limit_ms * 1000;
  while (steady_us() < until) {
    for (const auto& progress : runner.poll().jobs) {
      if (progress.state != JobState::Running) ended[progress.id] = progress;
    }
    if (ended.count(id)) return ended[id];
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("job " << id << " did not end within " << limit_ms << " ms");
  return {};
}

std::map<std::string, json> results_by_device(JobRunner& runner, const std::string& id) {
  std::map<std::string, json> out;
  auto results = runner.job_store().results(id, "", "", 10000);
  REQUIRE(results);
  for (const auto& r : *results)
    out[r["device"]] = r;
  return out;
}

int thread_count() {
  int count = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task"))
    ++count;
  return count;
}

std::string lab_commands(int index) {
  return lab().control("GET", "/devices/" + lab().device("cisco_ios", index).name + "/commands");
}

}  // namespace

TEST_CASE("a job over healthy, hung, slow, refusing and flapping devices", "[jobs][lab]") {
  clear_faults();
  set_faults(1, R"({"hang_after_bytes": 200})");
  set_faults(2, R"({"hang_after_bytes": 200})");
  set_faults(3, R"({"output_bytes_per_second": 4000})");
  set_faults(4, R"({"refuse_auth": true})");
  set_faults(5, R"({"disconnect_probability": 0.5})");
  TempStore temp;
  JobRunnerOptions options;
  options.max_sessions = 8;
  options.retry = {4, 50, 200};
  JobRunner runner(options, *temp.store, catalog());
  JobSpec spec;
  spec.kind = JobKind::Commands;
  spec.commands = {"show version", "show clock"};
  spec.device_timeout_ms = 3000;
  spec.job_timeout_ms = 20000;
  const auto started = steady_us();
  auto id = runner.start(spec, lab_devices(0, 12));
  REQUIRE(id);
  auto end = wait_for_end(runner, *id, 25000);
  const auto elapsed_ms = (steady_us() - started) / 1000;
  CHECK(end.state == JobState::Done);
  CHECK(elapsed_ms < 20000);
  CHECK(end.counts.total == 12);
  CHECK(end.counts.finished() == 12);
  auto results = results_by_device(runner, *id);
  REQUIRE(results.size() == 12);  // nothing lost: every device has its record
  auto status = [&](int index) {
    return results[lab().device("cisco_ios", index).name]["status"].get<std::string>();
  };
  CHECK(status(0) == "ok");
  CHECK(status(1) == "timeout");
  CHECK(status(2) == "timeout");
  CHECK(status(3) == "ok");  // slow, but within its deadline
  CHECK(status(4) == "failed");
  CHECK(results[lab().device("cisco_ios", 4).name]["error_code"] == "unauthenticated");
  CHECK(results[lab().device("cisco_ios", 4).name]["attempts"] == 1);  // never retried
  CHECK((status(5) == "ok" || status(5) == "failed"));
  for (int i = 6; i < 12; ++i)
    CHECK(status(i) == "ok");
  const auto& healthy = results[lab().device("cisco_ios", 0).name];
  REQUIRE(healthy["output"].size() == 2);
  CHECK(healthy["output"][0]["command"] == "show version");
  CHECK_THAT(healthy["output"][0]["text"].get<std::string>(), Contains("Cisco IOS"));
  CHECK(healthy["duration_ms"].get<std::int64_t>() >= 0);
  // The hung devices ended at their own deadline, not the job's.
  CHECK(results[lab().device("cisco_ios", 1).name]["duration_ms"].get<std::int64_t>() < 4500);
  auto record = runner.job_store().job(*id);
  REQUIRE(record);
  REQUIRE(*record);
  CHECK((**record)["state"] == "done");
  CHECK((**record)["counts"]["ok"].get<int>() == end.counts.ok);
  clear_faults();
}

TEST_CASE("results that finish close together share one commit, before the job's record",
          "[jobs][lab]") {
  clear_faults();
  TempStore temp;
  JobRunnerOptions options;
  options.max_sessions = 30;
  JobRunner runner(options, *temp.store, catalog());
  JobSpec spec;
  spec.commands = {"show version"};
  const auto commits_before = temp.store->stats().commits;
  const auto started = steady_us();
  auto id = runner.start(spec, lab_devices(0, 30));
  REQUIRE(id);
  auto end = wait_for_end(runner, *id, 20000);
  const auto took_ms = (steady_us() - started) / 1000;
  CHECK(end.counts.ok == 30);
  CHECK(results_by_device(runner, *id).size() == 30);  // all there once the job has ended
  const auto commits = temp.store->stats().commits - commits_before;
  INFO("30 devices in " << took_ms << " ms took " << commits << " commits");
  // The job's first and last records, and a batch of results per 250 ms at most (each result
  // used to be a write of its own: 14 commits in a run of about 500 ms).
  CHECK(static_cast<std::int64_t>(commits) <= 2 + took_ms / 250 + 1);
  CHECK(commits < 20);
}

TEST_CASE("a device's end starts the next pending one without the dispatcher thread",
          "[jobs][lab]") {
  clear_faults();
  TempStore temp;
  JobRunnerOptions options;
  options.max_sessions = 2;
  JobRunner runner(options, *temp.store, catalog());
  JobSpec spec;
  spec.commands = {"show clock"};
  // The dispatcher is there (named) and waiting.
  REQUIRE(nauto::test::eventually([] { return nauto::test::thread_wakeups("jobs/dispatch") > 0; },
                                  2000));
  const auto before = nauto::test::thread_wakeups("jobs/dispatch");
  auto id = runner.start(spec, lab_devices(0, 30));
  REQUIRE(id);
  auto end = wait_for_end(runner, *id, 20000);
  CHECK(end.counts.ok == 30);
  const auto woken = nauto::test::thread_wakeups("jobs/dispatch") - before;
  INFO("dispatcher wake-ups for 30 devices, 2 at a time: " << woken);
  // The start, a batch of results now and then, the end; it used to wake for every device.
  CHECK(woken <= 15);
  CHECK(results_by_device(runner, *id).size() == 30);
}

TEST_CASE("a fleet's finished devices wait for the next poll; a job's end wakes the owner",
          "[jobs][lab]") {
  clear_faults();
  set_faults(1, R"({"latency_ms": 1500})");
  TempStore temp;
  JobRunnerOptions options;
  options.max_sessions = 4;
  JobRunner runner(options, *temp.store, catalog());
  JobSpec spec;
  spec.commands = {"show version"};
  auto rung = [&] {
    pollfd entry{runner.news().fd(), POLLIN, 0};
    return ::poll(&entry, 1, 0) == 1;
  };
  auto id = runner.start(spec, lab_devices(0, 2));
  REQUIRE(id);
  REQUIRE(nauto::test::eventually([&] { return runner.progress(*id)->counts.ok == 1; }, 10000));
  // Device 0 is done, device 1 still waits on its slow device: nothing woke the owner (each
  // finished device used to ring).
  CHECK_FALSE(rung());
  auto news = runner.poll();  // the owner's tick finds it anyway
  REQUIRE(news.devices.size() == 1);
  CHECK(news.devices[0].device == lab().device("cisco_ios", 0).name);
  REQUIRE(nauto::test::eventually(rung, 10000));  // the job's end rings at once
  runner.news().drain();
  auto end = runner.poll();
  REQUIRE(end.devices.size() == 1);
  REQUIRE(end.jobs.size() == 1);
  CHECK(end.jobs[0].state == JobState::Done);
  // A one-device job is somebody's device.call: its device rings as it finishes.
  auto single = runner.start(spec, lab_devices(2, 1));
  REQUIRE(single);
  REQUIRE(nauto::test::eventually(rung, 10000));
  runner.news().drain();
  CHECK(runner.poll().outcomes.count(*single) == 1);
  clear_faults();
}

TEST_CASE("cancel mid-job: running devices stop, pending ones are never touched", "[jobs][lab]") {
  clear_faults();
  for (int i = 0; i < 30; ++i)
    set_faults(i, R"({"latency_ms": 400})");
  TempStore temp;
  JobRunnerOptions options;
  options.max_sessions = 4;
  JobRunner runner(options, *temp.store, catalog());
  JobSpec spec;
  spec.commands = {"show version", "show clock", "show ip interface brief"};
  spec.max_parallel = 2;
  auto before = lab_commands(29);
  auto id = runner.start(spec, lab_devices(10, 20));
  REQUIRE(id);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // Retention keeps a running job whatever its limits say.
  CHECK(runner.oldest_running_job() == *id);
  auto swept =
      runner.job_store().sweep({1, 1, 1}, now_us() + 86'400'000'000LL, runner.oldest_running_job());
  REQUIRE(swept);
  CHECK(*swept == 0);
  const auto cancelled_at = steady_us();
  REQUIRE(runner.cancel(*id));
  auto end = wait_for_end(runner, *id, 10000);
  CHECK((steady_us() - cancelled_at) / 1000 < 1500);
  CHECK(end.state == JobState::Cancelled);
  CHECK(end.counts.finished() == 20);
  CHECK(end.counts.cancelled >= 15);
  auto results = results_by_device(runner, *id);
  CHECK(results.size() == 20);
  const auto last = results[lab().device("cisco_ios", 29).name];
  CHECK(last["status"] == "cancelled");
  CHECK(last["error"] == "cancelled before it started");
  CHECK(lab_commands(29) == before);  // the lab saw nothing from the last device
  CHECK(runner.cancel(*id).error().code == Errc::NotFound);
  CHECK(runner.oldest_running_job().empty());
  clear_faults();
}

TEST_CASE("job retention: old jobs go with their results, by age, count and bytes", "[jobs]") {
  TempStore temp;
  nauto::devices::JobStore jobs(*temp.store);
  const std::int64_t day = 86'400'000'000LL;
  const auto now = now_us();
  std::vector<std::string> ids;
  store::WriteBatch batch;
  for (int i = 0; i < 6; ++i) {  // one a week, the oldest six weeks ago; 50 results each
    const auto id =
        store::time_ordered_id_prefix(now - (6 - i) * 7 * day) + "-00000" + std::to_string(i);
    ids.push_back(id);
    batch.put(kJobsTable, id, bus::to_body(json{{"id", id}, {"state", "succeeded"}}));
    for (int d = 0; d < 50; ++d)
      batch.put(kResultsTable, id + "/r" + std::to_string(100 + d),
                bus::to_body(json{{"device", "r" + std::to_string(100 + d)},
                                  {"output", std::string(2000, 'o')}}));
  }
  REQUIRE(temp.store->write_and_wait(std::move(batch)));
  nauto::devices::JobRetention keep;  // 30 days, 10,000 jobs, 1 GiB of results
  auto swept = jobs.sweep(keep, now, "");
  REQUIRE(swept);
  CHECK(*swept == 2);  // six and five weeks old
  CHECK_FALSE(*jobs.job(ids[1]));
  CHECK(jobs.results(ids[1], "", "", 100)->empty());
  CHECK(jobs.results(ids[2], "", "", 100)->size() == 50);
  keep.max_jobs = 3;
  CHECK(*jobs.sweep(keep, now, "") == 1);
  CHECK_FALSE(*jobs.job(ids[2]));
  // Results over their byte limit: the oldest jobs go whole until the rest fit.
  keep.max_result_bytes = temp.store->size(kResultsTable)->bytes / 2;
  CHECK(*jobs.sweep(keep, now, "") == 1);
  CHECK(*jobs.job(ids[4]));
  CHECK(jobs.results(ids[4], "", "", 100)->size() == 50);
  CHECK(*temp.store->count(kResultsTable) == 100);
}

TEST_CASE("keyed session limits and rates", "[jobs][lab]") {
  clear_faults();
  for (int i = 0; i < 12; ++i)
    set_faults(i, R"({"latency_ms": 150})");
  TempStore temp;
  JobRunnerOptions options;
  options.max_sessions = 10;
  options.limits = {{"site", 2, 0, 0}, {"organization", 0, 5, 5}};
  JobRunner runner(options, *temp.store, catalog());
  JobSpec spec;
  spec.commands = {"show clock"};
  auto fleet = lab_devices(0, 6, {"a", ""});
  for (auto& device : lab_devices(6, 6, {"b", ""}))
    fleet.push_back(device);
  auto id = runner.start(spec, fleet);
  REQUIRE(id);
  auto end = wait_for_end(runner, *id, 30000);
  CHECK(end.counts.ok == 12);
  CHECK(runner.peak(0, "a") == 2);  // reached, never passed
  CHECK(runner.peak(0, "b") == 2);

  // 12 starts at 5/s with a burst of 5: at least (12 - 5) / 5 = 1.4 s.
  auto rated = lab_devices(12, 12, {"", "org1"});
  const auto started = steady_us();
  auto rate_id = runner.start(spec, rated);
  REQUIRE(rate_id);
  auto rate_end = wait_for_end(runner, *rate_id, 30000);
  CHECK(rate_end.counts.ok == 12);
  CHECK((steady_us() - started) / 1000 >= 1300);
  clear_faults();
}

TEST_CASE("sessions in flight are not threads: 30 slow devices at once on one session thread",
          "[jobs][lab]") {
  clear_faults();
  constexpr int kDevices = 30;
  for (int i = 0; i < kDevices; ++i)
    set_faults(i, R"({"latency_ms": 1500})");
  TempStore temp;
  JobRunnerOptions options;
  options.max_sessions = kDevices;
  options.session_threads = 1;
  options.limits = {{"all", kDevices, 0, 0}};  // counts the peak of sessions in flight
  const int threads_before = thread_count();
  JobRunner runner(options, *temp.store, catalog());
  JobSpec spec;
  spec.commands = {"show clock"};
  const auto started = steady_us();
  auto id = runner.start(spec, lab_devices(0, kDevices, {"fleet"}));
  REQUIRE(id);
  int threads_peak = 0;
  JobProgress end;
  for (bool ended = false; !ended;) {
    threads_peak = std::max(threads_peak, thread_count());
    for (const auto& progress : runner.poll().jobs) {
      if (progress.id == *id && progress.state != JobState::Running) {
        end = progress;
        ended = true;
      }
    }
    REQUIRE(steady_us() - started < 60'000'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto elapsed_ms = (steady_us() - started) / 1000;
  CHECK(end.counts.ok == kDevices);
  // All 30 were in flight together: the command's 1.5 s came once, not 30 times over.
  CHECK(runner.peak(0, "fleet") == kDevices);
  CHECK(elapsed_ms < 15'000);
  // ...on the runner's two threads (its dispatcher and one session thread), none per session.
  INFO("threads before the runner " << threads_before << ", at the peak " << threads_peak);
  CHECK(threads_peak <= threads_before + 2);
  clear_faults();
}

TEST_CASE("two jobs changing one device: the second waits, or fails fast", "[jobs][lab]") {
  clear_faults();
  set_faults(25, R"({"latency_ms": 300})");
  TempStore temp;
  // One session thread: the job waiting for the device must park, not hold up the thread that
  // runs the job holding it.
  JobRunnerOptions options;
  options.session_threads = 1;
  JobRunner runner(options, *temp.store, catalog());
  JobSpec push;
  push.kind = JobKind::Push;
  push.config = "interface Loopback77\n description first\nntp server 10.7.7.7";
  const auto untouched = lab_commands(25);
  auto first = runner.start(push, lab_devices(25, 1));
  REQUIRE(first);
  // Go on once the first job is talking to the device (so it holds the lock), not after a
  // fixed time: on a loaded machine its session may take a while to start.
  for (int i = 0; i < 200 && lab_commands(25) == untouched; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(lab_commands(25) != untouched);
  auto second_spec = push;
  second_spec.config = "interface Loopback77\n description second";
  auto second = runner.start(second_spec, lab_devices(25, 1));
  REQUIRE(second);
  auto fast_spec = push;
  fast_spec.lock_fail_fast = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto fast = runner.start(fast_spec, lab_devices(25, 1));
  REQUIRE(fast);
  wait_for_end(runner, *first, 20000);
  wait_for_end(runner, *second, 20000);
  wait_for_end(runner, *fast, 20000);
  const auto name = lab().device("cisco_ios", 25).name;
  auto a = results_by_device(runner, *first)[name];
  auto b = results_by_device(runner, *second)[name];
  auto c = results_by_device(runner, *fast)[name];
  CHECK(a["status"] == "ok");
  CHECK(b["status"] == "ok");
  CHECK(b["finished_us"].get<std::int64_t>() > a["finished_us"].get<std::int64_t>());
  CHECK(c["status"] == "failed");
  CHECK_THAT(c["error"].get<std::string>(), Contains("being changed by job"));
  // The device ends with the second job's description: the pushes did not interleave.
  const auto config = lab().control("GET", "/devices/" + name + "/config");
  CHECK_THAT(config, Contains("description second"));
  CHECK_THAT(config, Contains("ntp server 10.7.7.7"));
}
