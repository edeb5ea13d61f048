#pragma once
// JobStore: jobs and their per-device results in the kernel's store.
//   jobs         id -> {id, spec, state, counts, created_us, started_us, finished_us, ...}
//   job_results  "<id>/<device>" -> DeviceOutcome
// Results are written as devices finish (not kept in memory), so a job's memory stays
// proportional to its concurrency; the job runner gathers those that finish close together into
// one batch. Job ids sort by creation time. Thread-safe (the store is).

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "job.h"
#include "nauto/store/store.h"

namespace nauto::devices {

inline constexpr const char* kJobsTable = "jobs";
inline constexpr const char* kResultsTable = "job_results";

/// How long and how many jobs are kept, and how many bytes of their results (the oldest jobs go
/// first, each with all of its results).
struct JobRetention {
  std::int64_t max_age_us = 30ll * 24 * 3600 * 1'000'000;
  std::uint64_t max_jobs = 10'000;
  std::uint64_t max_result_bytes = 1ull << 30;
};

class JobStore {
 public:
  explicit JobStore(store::Store& store) : store_(store) {}

  /// A new time-ordered job id, e.g. 20261122T141502.123-3fa9c1.
  static std::string new_job_id();

  /// Writes the job record and waits for the commit.
  Result<void> put_job(const nlohmann::json& record);
  /// Adds a device's result to `batch`, for put_results().
  static void add_result(store::WriteBatch& batch, const std::string& job,
                         const DeviceOutcome& outcome);
  /// Queues results gathered by add_result() without waiting for their commit; a put_job()
  /// queued after it commits after it (the store's writes commit in order).
  void put_results(store::WriteBatch batch);
  /// Same, and waits for the commit (results from workers, acknowledged to Redis once stored).
  Result<void> put_results_durably(store::WriteBatch batch);

  Result<std::optional<nlohmann::json>> job(const std::string& id) const;
  /// Newest first.
  Result<std::vector<nlohmann::json>> jobs(std::size_t limit) const;
  /// Results of a job in device-name order, after the device `after` (exclusive).
  Result<std::vector<nlohmann::json>> results(const std::string& job, const std::string& device,
                                              const std::string& after, std::size_t limit) const;
  /// Counts a job's stored results by status.
  Result<JobCounts> count_results(const std::string& job, std::int64_t total) const;
  /// Erases the jobs, and their results, that `retention` no longer keeps; never `keep_from`
  /// (the oldest running job, "" for none) or a later one. Durable. Returns how many jobs went.
  Result<std::uint64_t> sweep(const JobRetention& retention, std::int64_t now_us,
                              const std::string& keep_from);
  /// At start-up: jobs left "running" by a previous nautod are marked interrupted, with the
  /// counts of the devices that had finished. Returns their ids. With `resumable`, jobs that
  /// sent devices to remote pools (a "remote" field) are left running and go there instead:
  /// their workers' results are still coming (JobRunner::resume).
  Result<std::vector<std::string>> mark_interrupted(
      std::vector<nlohmann::json>* resumable = nullptr);
  /// The devices of a job that have a stored result.
  Result<std::set<std::string>> recorded_devices(const std::string& job) const;

 private:
  store::Store& store_;
};

}  // namespace nauto::devices
