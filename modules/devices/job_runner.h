#pragma once
// JobRunner: runs jobs over many devices with bounded concurrency.
//
// What starts is decided under one lock (ConcurrencyGate: global, keyed session and rate
// limits; each job's max_parallel), and each started device runs its DeviceTask on a fiber of
// a few session loops (nauto/base/fiber_loop.h): a device waiting on the network parks its
// fiber, so max_sessions sets how many sessions are in flight, not how many threads there are.
// A device that ends hands its session to the next pending device from its own loop; the
// dispatcher thread starts jobs, ends them (their final record waits for the store), times rate
// limits and deadlines, and hands result batches to the store (one per 250 ms). The runner keeps
// only counters, so memory follows concurrency, not fleet size. Cancelling a job raises the flag
// its devices' deadlines carry: running devices stop at their next wait (within about 200 ms),
// pending ones are recorded as cancelled without being touched. A job deadline does the same for
// what has not finished by then.
// Thread-safe: start/cancel/progress may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "concurrency_gate.h"
#include "device_locks.h"
#include "job.h"
#include "job_store.h"
#include "nauto/base/doorbell.h"
#include "nauto/base/fiber_loop.h"
#include "nauto/drivers/device_target.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/retry.h"
#include "session_pool.h"
#include "work_item.h"

namespace nauto::devices {

struct JobRunnerOptions {
  int max_sessions = 100;   ///< global session limit (sessions in flight)
  int session_threads = 0;  ///< threads running the sessions' fibers; 0 = one per core, at most 4
  std::vector<SessionLimit> limits;
  std::int64_t device_timeout_ms = 120'000;
  std::int64_t job_timeout_ms = 3'600'000;
  drivers::RetryPolicy retry{3, 500, 5'000};
  JobRetention retention;  ///< applied by the module's daily sweep
};

/// A device as the runner needs it: how to reach it and its values for the keyed limits
/// (limit_values[i] belongs to JobRunnerOptions::limits[i]; empty = not subject).
struct JobDevice {
  drivers::DeviceTarget target;
  std::vector<std::string> limit_values;
  /// A remote pool: the device runs on a worker of that pool (its item carries `host`, the
  /// inventory record, and no secret). Empty: here.
  std::string pool;
  nlohmann::json host;
};

/// Where a job's remote devices go (WorkDispatcher): their items, and a job's cancellation.
struct RemoteWork {
  std::function<void(std::vector<WorkItem> items)> send;
  std::function<void(const std::string& job, std::int64_t ttl_ms)> cancel;
};

/// What take_remote() did with a batch of results.
struct RemoteTaken {
  std::size_t recorded = 0;
  std::size_t dropped = 0;  ///< duplicates, or for jobs/devices no longer waiting
};

/// A live view of one job.
struct JobProgress {
  std::string id;
  std::string chain;  ///< the job's causal chain, if any
  JobState state = JobState::Running;
  JobCounts counts;
  std::int64_t started_us = 0;
  std::int64_t finished_us = 0;
  double rate_per_second = 0;  ///< devices finished per second so far
  double eta_seconds = -1;     ///< -1 when unknown
};
nlohmann::json to_json(const JobProgress& progress);

/// A finished device, as announced to watchers (the full outcome is in the store).
struct DeviceFinished {
  std::string job;
  std::string chain;
  std::string device;
  DeviceStatus status = DeviceStatus::Ok;
  std::string error_code;
  std::string error;
  std::int64_t duration_ms = 0;
};
nlohmann::json to_json(const DeviceFinished& finished);

/// What poll() hands over: job progress, and devices finished since the last poll. At most
/// kMaxAnnounced devices are kept between polls; beyond that the oldest are dropped and
/// counted (watchers read the store for the full list).
struct RunnerNews {
  std::vector<JobProgress> jobs;
  std::vector<DeviceFinished> devices;
  std::uint64_t devices_dropped = 0;
  /// The whole outcome of each one-device job finished since the last poll (device.call is
  /// answered from it: the store is the record, not the path).
  std::map<std::string, DeviceOutcome> outcomes;
};

class JobRunner {
 public:
  JobRunner(JobRunnerOptions options, store::Store& store, const drivers::PlatformCatalog& catalog);
  /// Cancels what runs, waits for the running devices, and records the jobs as interrupted.
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  /// At start-up, a job a previous nautod left running with devices in remote pools (its
  /// record, and the devices with a stored result): its remote devices without a result are
  /// waited for again (their workers went on; results queue in Redis), the devices that ran
  /// here unfinished are recorded as interrupted. Returns how many remote devices it waits for.
  Result<std::size_t> resume(nlohmann::json record, const std::set<std::string>& recorded);
  /// Remote pools' devices go to `remote` (set before the first start()).
  void set_remote(RemoteWork remote);
  /// Results from workers (any thread but a session loop): each that a running job waits for
  /// is recorded and stored, and the call returns once they are durable; the rest are dropped.
  RemoteTaken take_remote(std::vector<WorkResult> results);
  /// After a remote device's job deadline (or cancellation), how long its result may still come
  /// before the device is recorded without it.
  static constexpr std::int64_t kRemoteGraceUs = 10'000'000;

  /// Records the job (state running) and queues its devices. Returns the job id.
  Result<std::string> start(JobSpec spec, std::vector<JobDevice> devices,
                            nlohmann::json extra = {});
  /// Errors: NotFound when no such job is running.
  Result<void> cancel(const std::string& id);
  std::optional<JobProgress> progress(const std::string& id) const;
  /// The id of the oldest running job ("" when none runs): retention keeps it and all after.
  std::string oldest_running_job() const;
  static constexpr std::size_t kMaxAnnounced = 20000;
  /// Live jobs, those that ended since the last call (each reported once as ended), and the
  /// devices finished since the last call.
  RunnerNews poll();
  /// Rings when poll() has news that cannot wait for the owner's next progress tick: a job
  /// ended, or the device of a one-device job finished. (A fleet's finished devices wait for
  /// the tick.) The owner watches its fd() (Context::watch) and drains it before polling.
  const Doorbell& news() const { return news_; }
  /// Peak sessions seen for limits[index] == value (tests, status).
  int peak(std::size_t index, const std::string& value) const;
  JobStore& job_store() { return job_store_; }
  SessionPool& sessions() { return sessions_; }

 private:
  struct Job;
  static JobProgress progress_of(const Job& job, JobState state);
  struct Work {
    std::shared_ptr<Job> job;
    std::size_t device;
  };
  struct Done {
    std::shared_ptr<Job> job;
    std::size_t device;
    DeviceOutcome outcome;
  };

  void dispatch_loop();
  void launch(Work work);
  void run_device(Work& work);
  /// On a session loop, as a device ends: records it and starts the next pending device(s)
  /// without a round trip through the dispatcher thread; or leaves it to the dispatcher (done_)
  /// for what only the dispatcher does: a job that ends or settles, stopping, results queued
  /// before this one.
  void end_device(Work& work, DeviceOutcome outcome);
  /// A device's session goes back to the gate and its outcome is recorded. Under mutex_.
  void release(Job& job, std::size_t device, const DeviceOutcome& outcome);
  void admit(std::int64_t& wake_at_us);
  void settle(Job& job, std::int64_t now);
  void finish_job(const std::shared_ptr<Job>& job);
  void record(Job& job, const DeviceOutcome& outcome);
  /// Counts and announces an outcome (record() also stores it).
  void note(Job& job, const DeviceOutcome& outcome);
  /// When the dispatcher must look at `job` next (its deadline, or the remote grace).
  static std::int64_t next_wake(const Job& job);
  void flush_results();

  /// Results are written in batches: the first result of a batch waits at most this long for
  /// others (one commit, one fsync, for all the devices that finish meanwhile)...
  static constexpr std::int64_t kResultsBatchWindowUs = 250'000;
  /// ... or until this many have gathered. A job's final record always follows its results.
  static constexpr std::size_t kResultsBatchMax = 512;

  JobRunnerOptions options_;
  JobStore job_store_;
  const drivers::PlatformCatalog& catalog_;
  DeviceLocks locks_;
  SessionPool sessions_;

  Doorbell news_;
  mutable std::mutex mutex_;
  std::condition_variable dispatcher_wake_;
  bool dispatch_needed_ = false;  // the dispatcher has work: a job started or was cancelled,
                                  // a device left it to the dispatcher, a batch to time or store
  bool stopping_ = false;
  ConcurrencyGate gate_;
  std::list<std::shared_ptr<Job>> jobs_;  // running, in start order
  std::vector<JobProgress> ended_;        // ended since the last poll()
  std::deque<DeviceFinished> announced_;  // finished devices since the last poll()
  std::uint64_t announced_dropped_ = 0;
  std::map<std::string, DeviceOutcome> outcomes_;  // one-device jobs, since the last poll()
  std::deque<Done> done_;                          // finished, waiting for the dispatcher
  store::WriteBatch unflushed_results_;            // recorded, not yet handed to the store
  std::int64_t results_flush_due_us_ = 0;          // steady clock; when unflushed_results_ go
  std::size_t next_loop_ = 0;                      // where the next device runs (round robin)
  RemoteWork remote_;
  std::vector<std::unique_ptr<FiberLoop>> session_loops_;
  std::thread dispatcher_;
};

}  // namespace nauto::devices
