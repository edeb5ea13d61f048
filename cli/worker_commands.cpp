// nauto workers: the remote pools as the control node sees them in Redis (workers.list) - each
// pool's backlog and pending items, each worker's heartbeat and counts, the items workers
// refused lately, and whether the control node reaches Redis (docs/workers.md).

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli_context.h"
#include "nauto/bus/schema_types.h"
#include "output.h"

using nlohmann::json;

namespace nauto::cli {
namespace {

void print_workers(const json& status) {
  const auto redis = status.value("redis", json::object());
  std::cout << "redis: " << redis.value("url", "") << "  "
            << (redis.value("error", "").empty()
                    ? "connected"
                    : "UNREACHABLE since " +
                          format_time_us(redis.value("since_us", std::int64_t{0})) + ": " +
                          redis.value("error", ""))
            << "  queued here: " << cell(status.value("queued", json(0)))
            << "  sent: " << cell(status.value("sent", json(0)))
            << "  results: " << cell(status.value("results", json(0))) << "\n\n";
  Table pools{{"POOL", "WORKERS", "LAG", "PENDING", "CONSUMERS"}, {}};
  for (const auto& pool : status.value("pools", json::array()))
    pools.rows.push_back({pool.value("pool", ""), cell(pool.value("workers", json(0))),
                          pool["lag"].is_null() ? "?" : cell(pool["lag"]),
                          cell(pool.value("pending", json(0))),
                          cell(pool.value("consumers", json(0)))});
  std::cout << pools.render() << "\n";
  Table workers{{"WORKER", "POOL", "HOST", "PID", "HEARTBEAT", "IN FLIGHT", "DONE", "CLAIMED",
                 "REFUSED", "SESSIONS"},
                {}};
  for (const auto& w : status.value("workers", json::array())) {
    const auto age = w.value("age_ms", std::int64_t{0});
    workers.rows.push_back(
        {w.value("name", ""), w.value("pool", ""), w.value("host", ""),
         cell(w.value("pid", json(0))),
         (w.value("alive", false) ? "" : "DEAD ") + std::to_string(age / 1000) + "s ago",
         cell(w.value("in_flight", json(0))), cell(w.value("done", json(0))),
         cell(w.value("claimed", json(0))), cell(w.value("refused", json(0))),
         cell(w.value("max_sessions", json(0)))});
  }
  std::cout << workers.render();
  const auto refused = status.value("refused", json::array());
  if (refused.empty()) return;
  std::cout << "\nrefused lately:\n";
  for (const auto& r : refused)
    std::cout << "  " << format_time_us(r.value("at_us", std::int64_t{0})) << " "
              << r.value("worker", "") << " (" << r.value("pool", "") << ") "
              << r.value("entry", "") << ": " << r.value("reason", "") << "\n";
}

}  // namespace

void add_worker_commands(CLI::App& app, CliContext& context) {
  auto* workers =
      app.add_subcommand("workers", "remote pools: workers, heartbeats, in flight, backlog");
  add_output_option(workers, context);
  workers->callback([&context] {
    call_and_print(context, bus::schema::WorkersListRequest::kTopic, json::object(), print_workers);
  });
}

}  // namespace nauto::cli
