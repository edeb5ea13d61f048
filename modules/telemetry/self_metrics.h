#pragma once
// nauto's own metrics for /metrics: what kernel.status says (modules' state, restarts, queues,
// drops and heartbeats; the router's counters; the store's size), the ingest modules' counters
// (syslog.stats, snmp_trap.stats, webhook.stats), the remote pools' workers (workers.list),
// and what the telemetry module counts from
// events (jobs, runs, and the duration of runbook steps as histograms).
// Thread: one, the module's.

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "exposition.h"

namespace nauto::telemetry {

class SelfMetrics {
 public:
  SelfMetrics();
  /// The latest kernel.status reply.
  void set_status(nlohmann::json status) { status_ = std::move(status); }
  /// The latest answer of an ingest module's stats service (`source`: syslog, snmp_trap, ...).
  void set_ingest(const std::string& source, nlohmann::json stats);
  /// The latest workers.list answer (remote pools; docs/workers.md); null where there are none.
  void set_workers(nlohmann::json workers) { workers_ = std::move(workers); }
  /// job.finished, run.finished and run.step events, decoded.
  void on_job_finished(const std::string& state, std::int64_t started_us, std::int64_t finished_us);
  void on_run_finished(const std::string& runbook, const std::string& state);
  void on_run_step(const std::string& kind, const std::string& state, std::int64_t duration_ms);
  void render(Exposition& out) const;

 private:
  nlohmann::json status_;
  std::map<std::string, nlohmann::json> ingest_;
  nlohmann::json workers_;
  std::map<std::string, std::uint64_t> jobs_;                              // by state
  std::map<std::pair<std::string, std::string>, std::uint64_t> runs_;      // runbook, state
  std::map<std::string, Histogram> job_seconds_;                           // by state
  std::map<std::pair<std::string, std::string>, Histogram> step_seconds_;  // kind, state
};

}  // namespace nauto::telemetry
