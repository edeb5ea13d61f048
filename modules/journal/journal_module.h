#pragma once
// The journal module: stores every event on the bus in the "journal" table and answers
// journal.query. Retention: entries older than max_age, and the oldest beyond max_count or
// beyond max_bytes of the store's pages, are removed every retention_interval.
// Thread-bound to its module thread. Needs the store, so it runs in-process only.

#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nauto/sdk/ingest_guard.h"
#include "nauto/sdk/module.h"

namespace nauto::mod::journal {

inline constexpr const char* kTable = "journal";

struct JournalSettings {
  std::int64_t max_age_ms = 7LL * 86400 * 1000;
  std::int64_t max_count = 1000000;
  std::uint64_t max_bytes = 1ull << 30;
  std::int64_t retention_interval_ms = 10000;
  std::int64_t max_query_limit = 10000;
  /// Topic patterns not stored; heartbeats twice a second per module are noise, not history.
  std::vector<std::string> exclude = {"kernel.heartbeat"};
};

/// Reads and checks the module's config; every problem is named with its key path.
Result<JournalSettings> read_settings(const nlohmann::json& config);

class JournalModule final : public Module {
 public:
  Manifest manifest() const override;
  Result<void> validate(const nlohmann::json& config) const override;
  /// `exclude`: the router does not even deliver those events (a flood costs the journal
  /// nothing); on_event checks again for a router that does not know exclusions.
  std::vector<std::string> excluded_topics(const nlohmann::json& config) const override;
  Result<void> start(Context& ctx) override;
  void on_event(const bus::Envelope& event, Context& ctx) override;
  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override;

 private:
  void enforce_retention(Context& ctx);
  nlohmann::json query(const nlohmann::json& filter, Context& ctx, Result<void>& status) const;

  JournalSettings settings_;
  std::shared_ptr<spdlog::logger> log_;
  std::uint64_t dropped_ = 0;  // entries not stored because the store's queue was busy
  WarningThrottle dropped_warning_;
  // Writes the store refused (a full store), counted on the store's thread.
  struct FailedWrites {
    std::mutex mutex;
    std::uint64_t count = 0;
    WarningThrottle throttle;
  };
  std::shared_ptr<FailedWrites> failed_writes_ = std::make_shared<FailedWrites>();
};

}  // namespace nauto::mod::journal
