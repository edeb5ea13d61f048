#pragma once
// RunJournal: runs and their journals in the store.
//   runs           <run id>            -> the run record (runbook, source, params, state, result)
//   run_steps      <run id>/<key>      -> an effect ({kind, summary, state started|done, ok,
//                                         result | code+error, started_us, finished_us}), a step
//                                         or a log line (keys from Run: "m#3", "m.2.1@1")
//   runbook_state  <runbook>/<key>     -> what store.put kept for that runbook
// Writes are queued to the store's writer (group commit) and not waited for, except where a
// caller needs durability before it acts (durable = true): the store commits in order, so an
// entry that is on disk implies every entry queued before it is too.
// Retention: run ids begin with their start time (UTC, "20261204T163334.884-..."), so runs and
// their steps sort by age in both tables and sweep() erases the oldest with one erase_before
// per table.
// Thread-safe (the store is).

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/store/store.h"

namespace nauto::runbook {

inline constexpr const char* kRunsTable = "runs";
inline constexpr const char* kRunStepsTable = "run_steps";
inline constexpr const char* kRunbookStateTable = "runbook_state";

/// What sweep() keeps: runs started within `max_age_us`, and at most `max_runs` of them.
struct RunRetention {
  std::int64_t max_age_us = 30ll * 24 * 3600 * 1'000'000;
  std::uint64_t max_runs = 100'000;
  std::uint64_t max_step_bytes = 1ull << 30;  ///< run steps beyond this: the oldest runs go
};

class RunJournal {
 public:
  explicit RunJournal(store::Store& store) : store_(store) {}

  /// The run id of a run started at `time_us` sorts after every id it returns here and before
  /// every later one: the key below which runs (and their steps) are older.
  static std::string id_prefix_at(std::int64_t time_us);
  /// Erases runs (top-level and sub-runs) and their steps started before `now_us - max_age`,
  /// then the oldest beyond `max_runs`, then the oldest while the steps are over
  /// `max_step_bytes`; never `keep_from` (the oldest live run, "" for none) or anything after
  /// it. Durable. Returns how many runs went.
  Result<std::uint64_t> sweep(const RunRetention& retention, std::int64_t now_us,
                              const std::string& keep_from = "");

  /// A fresh id that sorts by start time: 20261122T101500.123-3f2a1c.
  static std::string new_run_id();

  Result<void> put_run(const nlohmann::json& record, bool durable);
  /// Queues the record's write without waiting; `committed` runs on the store's writer thread
  /// once it is on disk (or refused).
  void put_run_queued(const nlohmann::json& record, std::function<void(Result<void>)> committed);
  Result<std::optional<nlohmann::json>> run(const std::string& id) const;
  /// Newest first; child runs (call()) only when `include_children`.
  Result<std::vector<nlohmann::json>> runs(std::size_t limit, bool include_children) const;
  /// Runs recorded as running (to resume after a restart), oldest first, top-level only.
  Result<std::vector<nlohmann::json>> unfinished() const;

  Result<void> put_entry(const std::string& run, const std::string& key,
                         const nlohmann::json& record, bool durable);
  /// Every entry of a run, by key.
  Result<std::map<std::string, nlohmann::json>> entries(const std::string& run) const;

  Result<std::optional<nlohmann::json>> state(const std::string& runbook,
                                              const std::string& key) const;
  Result<void> put_state(const std::string& runbook, const std::string& key,
                         const nlohmann::json& value);

 private:
  Result<void> write(store::WriteBatch batch, bool durable);
  store::Store& store_;
};

}  // namespace nauto::runbook
