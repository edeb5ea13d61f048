#pragma once
// ComplianceRecords: the compliance module's store tables and what it keeps in them.
//   compliance_runs     run id (time-ordered) -> the run's record: {id, policy, target, live,
//                       by, state, started_us, finished_us, rules: [{id, severity,
//                       description}], devices, pass, fail, error, skipped, score, ...}
//   compliance_results  "<run id>/<device>" -> the device's results: {device, site, platform,
//                       statuses, pass, fail, error, skipped, score, results}; `statuses` has
//                       one letter per rule of the run's record, in its order (p pass, f fail,
//                       e error, s skipped, - not in the rule's scope), `results` the rules that
//                       did not pass, with their lines - a device of 100 passing rules costs
//                       about 200 bytes
//   compliance_state    "<policy>/<rule>/<device>" -> {since_us, run, severity}: the rules that
//                       fail on a device now, so a run knows what is new (a violation) and what
//                       passes again (resolved)
// Results are kept with their run, and go with it (retention: the newest keep_runs runs).
// Thread-compatible: the module's thread, or an Offload's while the module waits for it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/store/store.h"

namespace nauto::compliance {

/// What a run changed in the state: rules newly failing on a device, and those passing again.
struct Transition {
  std::string rule;
  std::string device;
  bool violation = true;  ///< false: resolved
};

class ComplianceRecords {
 public:
  static constexpr const char* kRunsTable = "compliance_runs";
  static constexpr const char* kResultsTable = "compliance_results";
  static constexpr const char* kStateTable = "compliance_state";

  explicit ComplianceRecords(store::Store& store) : store_(store) {}

  /// Writes a run's record; durable when it returns.
  Result<void> save_run(const nlohmann::json& record);
  Result<std::optional<nlohmann::json>> run(const std::string& id) const;
  /// The newest runs, newest first, of one policy ("" every policy).
  Result<nlohmann::json> runs(const std::string& policy, std::size_t limit) const;
  /// The newest finished run of `policy`.
  Result<std::optional<nlohmann::json>> latest_finished(const std::string& policy) const;

  /// Writes devices' results of a run (one commit); durable when it returns.
  Result<void> save_results(const std::string& run, const std::vector<nlohmann::json>& devices);
  /// A run's device results in device order; `device` "" for all.
  Result<std::vector<nlohmann::json>> results(const std::string& run, const std::string& device,
                                              std::size_t limit) const;

  /// Compares a run's device results with the state of `policy` and writes the difference: a
  /// rule failing now and not before is a violation, one that failed and passes now is
  /// resolved; errors and skips change nothing. `rules` are the run's rule ids in the order
  /// of the devices' `statuses`.
  Result<std::vector<Transition>> apply_state(const std::string& policy, const std::string& run,
                                              const std::vector<std::string>& rules,
                                              const std::vector<std::string>& severities,
                                              const std::vector<nlohmann::json>& devices,
                                              std::int64_t now_us);

  /// The devices `rule` of `policy` fails on now, by the state the last runs left.
  Result<std::vector<std::string>> failing(const std::string& policy,
                                           const std::string& rule) const;

  /// Keeps the newest `keep_runs` runs and their results; never a run from `keep_from` on
  /// (the oldest still running). Returns how many runs went.
  Result<std::uint64_t> sweep(std::uint64_t keep_runs, std::int64_t now_us,
                              const std::string& keep_from);

 private:
  store::Store& store_;
};

/// The letter of a status in a device's `statuses`.
char status_letter(const std::string& status);

}  // namespace nauto::compliance
