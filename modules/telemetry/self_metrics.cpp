#include "self_metrics.h"

namespace nauto::telemetry {

using json = nlohmann::json;
using Type = Exposition::Type;

namespace {

const std::vector<double> kStepBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                         1,     2.5,  5,     10,   30,  60,   300};
const std::vector<double> kJobBounds = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};

double number_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

// The remote pools as workers.list shows them: Redis reachable, what waits, each pool's backlog,
// each worker's heartbeat and counters.
void render_workers(Exposition& out, const json& w) {
  if (!w.is_object()) return;
  const auto redis = w.value("redis", json::object());
  out.add("nauto_workers_redis_up", Type::Gauge, "1 while the control node reaches Redis", {},
          redis.value("connected", false) ? 1 : 0);
  out.add("nauto_workers_queued_items", Type::Gauge,
          "Items signed and waiting to be written to Redis", {}, number_of(w, "queued"));
  out.add("nauto_workers_items_sent_total", Type::Counter, "Items written to the pools' streams",
          {}, number_of(w, "sent"));
  out.add("nauto_workers_results_total", Type::Counter, "Results read from the workers", {},
          number_of(w, "results"));
  out.add("nauto_workers_forged_results_total", Type::Counter,
          "Results refused: their MAC did not verify", {}, number_of(w, "forged_results"));
  for (const auto& pool : w.value("pools", json::array())) {
    const Labels l{{"pool", pool.value("pool", "")}};
    out.add("nauto_pool_lag_items", Type::Gauge, "Items no worker of the pool has taken yet", l,
            number_of(pool, "lag"));
    out.add("nauto_pool_pending_items", Type::Gauge,
            "Items the pool's workers took and have not acknowledged", l,
            number_of(pool, "pending"));
    out.add("nauto_pool_workers", Type::Gauge, "Workers of the pool with a recent heartbeat", l,
            number_of(pool, "workers"));
  }
  for (const auto& worker : w.value("workers", json::array())) {
    const Labels l{{"worker", worker.value("name", "")}, {"pool", worker.value("pool", "")}};
    out.add("nauto_worker_up", Type::Gauge, "1 while the worker's heartbeat is recent", l,
            worker.value("alive", false) ? 1 : 0);
    out.add("nauto_worker_heartbeat_age_seconds", Type::Gauge, "Since the worker's last heartbeat",
            l, number_of(worker, "age_ms") / 1000);
    out.add("nauto_worker_in_flight_items", Type::Gauge, "Devices the worker runs now", l,
            number_of(worker, "in_flight"));
    out.add("nauto_worker_items_done_total", Type::Counter, "Results the worker wrote", l,
            number_of(worker, "done"));
    out.add("nauto_worker_items_claimed_total", Type::Counter,
            "Items the worker claimed from stopped workers", l, number_of(worker, "claimed"));
    out.add("nauto_worker_items_refused_total", Type::Counter,
            "Items the worker refused (forged, altered, another pool's)", l,
            number_of(worker, "refused"));
  }
}

}  // namespace

SelfMetrics::SelfMetrics() = default;

void SelfMetrics::set_ingest(const std::string& source, json stats) {
  ingest_[source] = std::move(stats);
}

void SelfMetrics::on_job_finished(const std::string& state, std::int64_t started_us,
                                  std::int64_t finished_us) {
  ++jobs_[state];
  if (finished_us >= started_us && started_us > 0) {
    auto [it, inserted] = job_seconds_.try_emplace(state, kJobBounds);
    it->second.observe(static_cast<double>(finished_us - started_us) / 1e6);
  }
}

void SelfMetrics::on_run_finished(const std::string& runbook, const std::string& state) {
  ++runs_[{runbook, state}];
}

void SelfMetrics::on_run_step(const std::string& kind, const std::string& state,
                              std::int64_t duration_ms) {
  if (state == "started") return;
  auto [it, inserted] = step_seconds_.try_emplace({kind, state}, kStepBounds);
  it->second.observe(static_cast<double>(duration_ms) / 1000.0);
}

void SelfMetrics::render(Exposition& out) const {
  out.add("nauto_up", Type::Gauge, "1 while nautod answers", {}, 1);
  render_workers(out, workers_);
  if (status_.is_object()) {
    out.add("nauto_uptime_seconds", Type::Gauge, "Seconds since nautod started", {},
            number_of(status_, "uptime_s"));
    const json modules = status_.value("modules", json::array());
    for (const auto& m : modules) {
      const Labels l{{"module", m.value("name", "")}};
      out.add("nauto_module_up", Type::Gauge, "1 while the module runs (0: backoff or stopped)", l,
              m.value("state", "") == "running" ? 1 : 0);
      out.add("nauto_module_restarts_total", Type::Counter, "Times the supervisor restarted it", l,
              number_of(m, "restarts"));
      out.add("nauto_module_queue_depth", Type::Gauge, "Messages the router holds for the module",
              l, number_of(m, "queue_depth"));
      out.add("nauto_module_events_delivered_total", Type::Counter, "Events the router delivered",
              l, number_of(m, "events_delivered"));
      out.add("nauto_module_events_dropped_total", Type::Counter,
              "Events dropped because the module's queue was full", l,
              number_of(m, "events_dropped"));
      out.add("nauto_module_requests_delivered_total", Type::Counter,
              "Requests the router delivered", l, number_of(m, "requests_delivered"));
      out.add("nauto_module_requests_rejected_total", Type::Counter,
              "Requests refused because the module's queue was full", l,
              number_of(m, "requests_rejected"));
      const auto age = number_of(m, "heartbeat_age_ms");
      if (age >= 0)
        out.add("nauto_module_heartbeat_age_seconds", Type::Gauge,
                "Seconds since the module's last heartbeat", l, age / 1000.0);
    }
    // Named first: items() of a temporary would outlive it.
    const json router = status_.value("router", json::object());
    for (const auto& [key, value] : router.items()) {
      if (value.is_number())
        out.add("nauto_router_" + key + "_total", Type::Counter, "The router's " + key + " counter",
                {}, value.get<double>());
    }
    out.add("nauto_router_pending_requests", Type::Gauge, "Requests awaiting a reply", {},
            number_of(status_, "pending_requests"));
    if (const auto store = status_.value("store", json()); store.is_object()) {
      out.add("nauto_store_used_bytes", Type::Gauge, "Bytes of the store's pages in use", {},
              number_of(store, "used_bytes"));
      out.add("nauto_store_map_bytes", Type::Gauge, "The store's LMDB map now", {},
              number_of(store, "map_size"));
      out.add("nauto_store_max_bytes", Type::Gauge, "The most the map grows to", {},
              number_of(store, "max_size"));
      out.add("nauto_store_commits_total", Type::Counter, "Store transactions committed", {},
              number_of(store, "commits"));
      out.add("nauto_store_failed_batches_total", Type::Counter, "Store writes refused", {},
              number_of(store, "failed_batches"));
      out.add("nauto_store_full", Type::Gauge, "1 while the store refuses writes for space", {},
              store.value("full", false) ? 1 : 0);
    }
  }
  for (const auto& [source, stats] : ingest_) {
    const json counters = stats.value("counters", json::object());
    for (const auto& [key, value] : counters.items()) {
      if (value.is_number())
        out.add("nauto_ingest_" + key + "_total", Type::Counter,
                "Ingest counter " + key + " of the syslog, snmp_trap and webhook modules",
                {{"source", source}}, value.get<double>());
    }
  }
  for (const auto& [state, count] : jobs_)
    out.add("nauto_jobs_finished_total", Type::Counter, "Jobs that ended, by state",
            {{"state", state}}, static_cast<double>(count));
  for (const auto& [state, h] : job_seconds_)
    out.add_histogram("nauto_job_duration_seconds", "How long jobs took, by state",
                      {{"state", state}}, h);
  for (const auto& [key, count] : runs_)
    out.add("nauto_runs_finished_total", Type::Counter, "Runbook runs that ended",
            {{"runbook", key.first}, {"state", key.second}}, static_cast<double>(count));
  for (const auto& [key, h] : step_seconds_)
    out.add_histogram("nauto_run_step_duration_seconds",
                      "How long runbook steps took, by kind and outcome",
                      {{"kind", key.first}, {"state", key.second}}, h);
}

}  // namespace nauto::telemetry
