#include "job_store.h"

#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/store/retention.h"

namespace nauto::devices {

using nlohmann::json;

std::string JobStore::new_job_id() {
  return store::new_time_ordered_id();
}

Result<std::uint64_t> JobStore::sweep(const JobRetention& retention, std::int64_t now_us,
                                      const std::string& keep_from) {
  return store::sweep_records(store_, kJobsTable, kResultsTable,
                              store::Retention{retention.max_age_us, retention.max_jobs, 0},
                              retention.max_result_bytes, now_us, keep_from);
}

Result<void> JobStore::put_job(const json& record) {
  store::WriteBatch batch;
  batch.put(kJobsTable, record.at("id").get<std::string>(), bus::to_body(record));
  return store_.write_and_wait(std::move(batch));
}

void JobStore::add_result(store::WriteBatch& batch, const std::string& job,
                          const DeviceOutcome& outcome) {
  batch.put(kResultsTable, job + "/" + outcome.device, bus::to_body(to_json(outcome)));
}

void JobStore::put_results(store::WriteBatch batch) {
  const auto count = batch.size();
  store_.write(std::move(batch), [count](Result<void> written) {
    if (!written) {
      logger("mod.devices")
          ->error("{} device results were not stored: {}", count, written.error().describe());
    }
  });
}

Result<void> JobStore::put_results_durably(store::WriteBatch batch) {
  return store_.write_and_wait(std::move(batch));
}

Result<std::optional<json>> JobStore::job(const std::string& id) const {
  auto value = store_.get(kJobsTable, id);
  if (!value) return std::move(value).error();
  if (!*value) return std::optional<json>{};
  auto doc = bus::from_body(**value);
  if (!doc) return std::move(doc).error();
  return std::optional<json>{std::move(*doc)};
}

Result<std::vector<json>> JobStore::jobs(std::size_t limit) const {
  store::ScanOptions scan;
  scan.reverse = true;
  scan.limit = limit;
  auto page = store_.scan(kJobsTable, scan);
  if (!page) return std::move(page).error();
  std::vector<json> out;
  for (const auto& [key, value] : *page) {
    auto doc = bus::from_body(value);
    if (doc) out.push_back(std::move(*doc));
  }
  return out;
}

Result<std::vector<json>> JobStore::results(const std::string& job, const std::string& device,
                                            const std::string& after, std::size_t limit) const {
  std::vector<json> out;
  if (!device.empty()) {
    auto value = store_.get(kResultsTable, job + "/" + device);
    if (!value) return std::move(value).error();
    if (*value) {
      auto doc = bus::from_body(**value);
      if (doc) out.push_back(std::move(*doc));
    }
    return out;
  }
  store::ScanOptions scan;
  // '/' + 1 = '0': the first key after every "<job>/..." key.
  scan.from = job + "/" + after + (after.empty() ? "" : std::string(1, '\0'));
  scan.until = job + "0";
  scan.limit = limit;
  auto page = store_.scan(kResultsTable, scan);
  if (!page) return std::move(page).error();
  for (const auto& [key, value] : *page) {
    auto doc = bus::from_body(value);
    if (doc) out.push_back(std::move(*doc));
  }
  return out;
}

Result<JobCounts> JobStore::count_results(const std::string& job, std::int64_t total) const {
  JobCounts counts;
  counts.total = total;
  std::string after;
  for (;;) {
    auto page = results(job, "", after, 4096);
    if (!page) return std::move(page).error();
    for (const auto& result : *page) {
      const auto status = result.value("status", "");
      if (status == "ok")
        ++counts.ok;
      else if (status == "timeout")
        ++counts.timeout;
      else if (status == "cancelled")
        ++counts.cancelled;
      else if (status == "skipped")
        ++counts.skipped;
      else
        ++counts.failed;
    }
    if (page->size() < 4096) break;
    after = page->back().value("device", "");
  }
  counts.pending = std::max<std::int64_t>(0, total - counts.finished());
  return counts;
}

Result<std::set<std::string>> JobStore::recorded_devices(const std::string& job) const {
  std::set<std::string> devices;
  std::string after;
  for (;;) {
    auto page = results(job, "", after, 4096);
    if (!page) return std::move(page).error();
    for (const auto& result : *page)
      devices.insert(result.value("device", ""));
    if (page->size() < 4096) break;
    after = page->back().value("device", "");
  }
  return devices;
}

Result<std::vector<std::string>> JobStore::mark_interrupted(std::vector<json>* resumable) {
  std::vector<std::string> interrupted;
  store::ScanOptions scan;
  scan.limit = 100000;
  auto page = store_.scan(kJobsTable, scan);
  if (!page) return std::move(page).error();
  for (const auto& [key, value] : *page) {
    auto doc = bus::from_body(value);
    if (!doc || doc->value("state", "") != "running") continue;
    if (resumable && doc->contains("remote")) {
      resumable->push_back(std::move(*doc));
      continue;
    }
    auto counts = count_results(key, (*doc)["counts"].value("total", std::int64_t{0}));
    if (!counts) return std::move(counts).error();
    (*doc)["state"] = job_state_name(JobState::Interrupted);
    (*doc)["counts"] = to_json(*counts);
    (*doc)["finished_us"] = now_us();
    (*doc)["note"] = "nautod stopped while the job ran; " + std::to_string(counts->finished()) +
                     " devices had finished (nauto job logs " + key + "), " +
                     std::to_string(counts->pending) + " had not";
    if (auto written = put_job(*doc); !written) return std::move(written).error();
    interrupted.push_back(key);
  }
  return interrupted;
}

}  // namespace nauto::devices
