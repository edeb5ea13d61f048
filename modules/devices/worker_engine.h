#pragma once
// WorkerEngine: a worker node's side of distributed work (nautod --worker, ADR 0020). It takes
// its pool's items from the Redis stream nauto:work:<pool> as one consumer of the group
// "workers", runs each on a fiber with the job engine's device task (the same drivers, retries,
// deadlines and per-device write lock as a local job), and puts each outcome on nauto:results
// before acknowledging the item.
//
//   - Items are checked before anything: the control node's ed25519 signature (a forged or
//     altered item is refused and reported on nauto:refused, never run), the pool, the job's
//     deadline (passed: skipped), its cancellation (nauto:cancel:<job>).
//   - A push is recorded "sent" (nauto:sent:<pool>) before the device is touched. An item
//     claimed from a worker that stopped (XAUTOCLAIM after min_idle) is run again only when it
//     is read-only or its push was never sent; a sent push is failed "outcome unknown after
//     worker loss", and a second item for a push already sent is refused.
//   - An item delivered more than max_deliveries times is failed instead of run again.
//   - Items in flight are re-claimed by their worker every min_idle/3, so a slow device never
//     looks abandoned; heartbeats go to nauto:workers every second.
//   - A Redis outage stops the intake; results wait in memory and are written (and their items
//     acknowledged) once Redis is back. Nothing is acknowledged before its result is stored.
//
// Threads: the intake thread reads and claims items, the results thread writes results and
// heartbeats, each with its own connection; devices run on a few fiber loops. The credential
// fetch is called on the intake thread and may block (it asks the control node over the bus).
// The engine's public functions may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <vector>

#include "device_locks.h"
#include "nauto/base/fiber_loop.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/retry.h"
#include "redis_connection.h"
#include "work_item.h"

namespace nauto::devices {

struct WorkerSettings {
  std::string name;  ///< the worker's principal: its consumer name and its results' signer
  std::string pool;
  std::string host;  ///< for nauto workers
  RedisEndpoint redis;
  std::string control_key;  ///< hex ed25519 public key items must be signed with
  std::string result_key;   ///< hex HMAC key for results
  std::int64_t min_idle_ms = 30'000;
  int max_deliveries = 5;
  int max_sessions = 100;
  int session_threads = 0;  ///< 0: one per core, at most 4
  std::int64_t device_timeout_ms = 120'000;
  drivers::RetryPolicy retry{3, 500, 5'000};
};

/// The secrets of the credentials of `devices` (vault.resolve's form: name -> fields), asked of
/// the control node. Blocking; called on the intake thread.
using CredentialFetch =
    std::function<Result<nlohmann::json>(const std::vector<std::string>& devices)>;

/// What the heartbeat reports (nauto workers).
struct WorkerStats {
  std::int64_t in_flight = 0, done = 0, refused = 0, claimed = 0, outcome_unknown = 0;
};

class WorkerEngine {
 public:
  WorkerEngine(WorkerSettings settings, const drivers::PlatformCatalog& catalog,
               CredentialFetch fetch);
  /// Stops taking items, lets the devices in flight finish (each within its own deadline),
  /// writes their results if Redis lets it, and returns.
  ~WorkerEngine();
  WorkerEngine(const WorkerEngine&) = delete;
  WorkerEngine& operator=(const WorkerEngine&) = delete;

 private:
  struct Pending;  // an item taken, with what decides it
  struct Finished {
    std::string entry;
    WorkItem item;
    DeviceOutcome outcome;
    bool sent = false;   // a push recorded in nauto:sent:<pool>
    bool added = false;  // on nauto:results already; only its acknowledgement is left
  };

  void intake_loop();
  void results_loop();
  /// Writes the results, then acknowledges their items; whether all of them are done.
  bool write_results(RedisConnection& redis, std::vector<Finished>& batch);
  /// Checks, decides and launches the entries just read or claimed.
  void take(RedisConnection& redis, std::vector<StreamEntry> entries, bool claimed);
  void refuse(RedisConnection& redis, const StreamEntry& entry, const std::string& reason);
  void launch(std::string entry, WorkItem item, drivers::DeviceTarget target, bool sent);
  void finish(Finished finished);
  Result<nlohmann::json> credentials_for(const std::vector<const WorkItem*>& items);
  void heartbeat(RedisConnection& redis);
  std::unique_ptr<RedisConnection> connect(std::string& error);

  WorkerSettings settings_;
  const drivers::PlatformCatalog& catalog_;
  CredentialFetch fetch_;
  DeviceLocks locks_;
  std::string stream_;
  std::int64_t started_us_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // intake: a session freed; results: a result or a stop
  bool stopping_ = false;
  bool loops_stopped_ = false;
  std::int64_t pause_until_us_ = 0;  // steady: no intake before (credentials unavailable)  // every
                                     // fiber has ended: nothing more will finish
  std::deque<Finished> finished_;
  std::set<std::string> in_flight_entries_;  // running on a fiber
  // Taken and not yet acknowledged (running, or its result waiting to be written): claimed
  // again by the heartbeat, and never run a second time when a claim hands them back.
  std::set<std::string> held_entries_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> job_cancel_;  // jobs in flight
  std::map<std::string, int> job_items_;                                  // in flight per job
  WorkerStats stats_;
  // Credential secrets by name, with when they were fetched (kept 10 s, as the devices
  // module's cache): only the intake thread touches it.
  std::map<std::string, std::pair<nlohmann::json, std::int64_t>> credentials_;

  std::vector<std::unique_ptr<FiberLoop>> loops_;
  std::size_t next_loop_ = 0;
  std::thread intake_;
  std::thread results_;
};

}  // namespace nauto::devices
