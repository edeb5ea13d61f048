#include "nauto/runbook/run_journal.h"

#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/store/retention.h"

namespace nauto::runbook {

using nlohmann::json;

std::string RunJournal::new_run_id() {
  return store::new_time_ordered_id();
}

std::string RunJournal::id_prefix_at(std::int64_t time_us) {
  return store::time_ordered_id_prefix(time_us);
}

Result<std::uint64_t> RunJournal::sweep(const RunRetention& retention, std::int64_t now_us,
                                        const std::string& keep_from) {
  return store::sweep_records(store_, kRunsTable, kRunStepsTable,
                              store::Retention{retention.max_age_us, retention.max_runs, 0},
                              retention.max_step_bytes, now_us, keep_from);
}

Result<void> RunJournal::write(store::WriteBatch batch, bool durable) {
  if (durable) return store_.write_and_wait(std::move(batch));
  store_.write(std::move(batch), [](Result<void> written) {
    if (!written) logger("runbooks")->error("journal write failed: {}", written.error().describe());
  });
  return ok();
}

namespace {
store::WriteBatch run_batch(const json& record) {
  store::WriteBatch batch;
  batch.put(kRunsTable, record.at("id").get<std::string>(), bus::to_body(record));
  return batch;
}
}  // namespace

Result<void> RunJournal::put_run(const json& record, bool durable) {
  return write(run_batch(record), durable);
}

void RunJournal::put_run_queued(const json& record, std::function<void(Result<void>)> committed) {
  store_.write(run_batch(record), std::move(committed));
}

Result<std::optional<json>> RunJournal::run(const std::string& id) const {
  auto bytes = store_.get(kRunsTable, id);
  if (!bytes) return std::move(bytes).error();
  if (!*bytes) return std::optional<json>();
  auto record = bus::from_body(**bytes);
  if (!record) return std::move(record).error();
  return std::optional<json>(std::move(*record));
}

Result<std::vector<json>> RunJournal::runs(std::size_t limit, bool include_children) const {
  std::vector<json> out;
  store::ScanOptions options;
  options.reverse = true;
  options.limit = 500;
  for (;;) {
    auto page = store_.scan(kRunsTable, options);
    if (!page) return std::move(page).error();
    for (const auto& [key, value] : *page) {
      auto record = bus::from_body(value);
      if (!record) continue;
      if (!include_children && !record->value("parent", "").empty()) continue;
      out.push_back(std::move(*record));
      if (out.size() >= limit) return out;
    }
    if (page->size() < options.limit) return out;
    options.until = page->back().first;  // exclusive: continue below the last key seen
  }
}

Result<std::vector<json>> RunJournal::unfinished() const {
  std::vector<json> out;
  store::ScanOptions options;
  options.limit = 1000;
  for (;;) {
    auto page = store_.scan(kRunsTable, options);
    if (!page) return std::move(page).error();
    for (const auto& [key, value] : *page) {
      auto record = bus::from_body(value);
      if (!record || record->value("state", "") != "running") continue;
      if (!record->value("parent", "").empty()) continue;
      out.push_back(std::move(*record));
    }
    if (page->size() < options.limit) return out;
    options.from = page->back().first + std::string(1, '\0');
  }
}

Result<void> RunJournal::put_entry(const std::string& run, const std::string& key,
                                   const json& record, bool durable) {
  store::WriteBatch batch;
  batch.put(kRunStepsTable, run + "/" + key, bus::to_body(record));
  return write(std::move(batch), durable);
}

Result<std::map<std::string, json>> RunJournal::entries(const std::string& run) const {
  std::map<std::string, json> out;
  store::ScanOptions options;
  options.from = run + "/";
  options.until = run + "0";  // '0' follows '/': every key with the prefix, nothing after
  options.limit = 5000;
  for (;;) {
    auto page = store_.scan(kRunStepsTable, options);
    if (!page) return std::move(page).error();
    for (const auto& [key, value] : *page) {
      auto record = bus::from_body(value);
      if (record) out[key.substr(run.size() + 1)] = std::move(*record);
    }
    if (page->size() < options.limit) return out;
    options.from = page->back().first + std::string(1, '\0');
  }
}

Result<std::optional<json>> RunJournal::state(const std::string& runbook,
                                              const std::string& key) const {
  auto bytes = store_.get(kRunbookStateTable, runbook + "/" + key);
  if (!bytes) return std::move(bytes).error();
  if (!*bytes) return std::optional<json>();
  auto value = bus::from_body(**bytes);
  if (!value) return std::move(value).error();
  return std::optional<json>(std::move(*value));
}

Result<void> RunJournal::put_state(const std::string& runbook, const std::string& key,
                                   const json& value) {
  store::WriteBatch batch;
  batch.put(kRunbookStateTable, runbook + "/" + key, bus::to_body(value));
  return write(std::move(batch), true);  // a store.get right after must see it
}

}  // namespace nauto::runbook
