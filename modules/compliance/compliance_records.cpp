#include "compliance_records.h"

#include <set>

#include "nauto/bus/body.h"
#include "nauto/store/retention.h"

namespace nauto::compliance {

using nlohmann::json;

namespace {

std::string state_prefix(const std::string& policy) {
  return policy + "/";
}

// The first key after every key that starts with `prefix`.
std::string after_prefix(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

}  // namespace

char status_letter(const std::string& status) {
  if (status == "pass") return 'p';
  if (status == "fail") return 'f';
  if (status == "error") return 'e';
  if (status == "skipped") return 's';
  return '-';
}

Result<void> ComplianceRecords::save_run(const json& record) {
  store::WriteBatch batch;
  batch.put(kRunsTable, record.at("id").get<std::string>(), bus::to_body(record));
  return store_.write_and_wait(std::move(batch));
}

Result<std::optional<json>> ComplianceRecords::run(const std::string& id) const {
  auto raw = store_.get(kRunsTable, id);
  if (!raw) return std::move(raw).error();
  if (!*raw) return std::optional<json>{};
  auto record = bus::from_body(**raw);
  if (!record) return std::move(record).error();
  return std::optional<json>{std::move(*record)};
}

Result<json> ComplianceRecords::runs(const std::string& policy, std::size_t limit) const {
  json out = json::array();
  store::ScanOptions scan;
  scan.reverse = true;
  auto entries = store_.scan(kRunsTable, scan);
  if (!entries) return std::move(entries).error();
  for (const auto& [id, value] : *entries) {
    if (out.size() >= limit) break;
    auto record = bus::from_body(value);
    if (!record) continue;
    if (!policy.empty() && record->value("policy", "") != policy) continue;
    out.push_back(std::move(*record));
  }
  return out;
}

Result<std::optional<json>> ComplianceRecords::latest_finished(const std::string& policy) const {
  store::ScanOptions scan;
  scan.reverse = true;
  auto entries = store_.scan(kRunsTable, scan);
  if (!entries) return std::move(entries).error();
  for (const auto& [id, value] : *entries) {
    auto record = bus::from_body(value);
    if (record && record->value("policy", "") == policy && record->value("state", "") == "finished")
      return std::optional<json>{std::move(*record)};
  }
  return std::optional<json>{};
}

Result<void> ComplianceRecords::save_results(const std::string& run,
                                             const std::vector<json>& devices) {
  if (devices.empty()) return ok();
  store::WriteBatch batch;
  for (const auto& device : devices)
    batch.put(kResultsTable, run + "/" + device.at("device").get<std::string>(),
              bus::to_body(device));
  return store_.write_and_wait(std::move(batch));
}

Result<std::vector<json>> ComplianceRecords::results(const std::string& run,
                                                     const std::string& device,
                                                     std::size_t limit) const {
  std::vector<json> out;
  if (!device.empty()) {
    auto raw = store_.get(kResultsTable, run + "/" + device);
    if (!raw) return std::move(raw).error();
    if (*raw)
      if (auto doc = bus::from_body(**raw)) out.push_back(std::move(*doc));
    return out;
  }
  store::ScanOptions scan;
  scan.from = run + "/";
  scan.until = after_prefix(run + "/");
  scan.limit = limit;
  auto entries = store_.scan(kResultsTable, scan);
  if (!entries) return std::move(entries).error();
  for (const auto& [key, value] : *entries)
    if (auto doc = bus::from_body(value)) out.push_back(std::move(*doc));
  return out;
}

Result<std::vector<Transition>> ComplianceRecords::apply_state(
    const std::string& policy, const std::string& run, const std::vector<std::string>& rules,
    const std::vector<std::string>& severities, const std::vector<json>& devices,
    std::int64_t now_us) {
  // What fails now, before this run: "<rule>/<device>".
  std::set<std::string> failing;
  store::ScanOptions scan;
  scan.from = state_prefix(policy);
  scan.until = after_prefix(state_prefix(policy));
  auto entries = store_.scan(kStateTable, scan);
  if (!entries) return std::move(entries).error();
  for (const auto& [key, value] : *entries)
    failing.insert(key.substr(scan.from.size()));

  std::vector<Transition> out;
  store::WriteBatch batch;
  for (const auto& doc : devices) {
    const auto& device = doc.at("device").get_ref<const std::string&>();
    const auto& statuses = doc.at("statuses").get_ref<const std::string&>();
    for (std::size_t i = 0; i < rules.size() && i < statuses.size(); ++i) {
      const std::string key = rules[i] + "/" + device;
      const bool was_failing = failing.count(key) > 0;
      if (statuses[i] == 'f' && !was_failing) {
        batch.put(kStateTable, state_prefix(policy) + key,
                  bus::to_body(json{{"since_us", now_us},
                                    {"run", run},
                                    {"severity", i < severities.size() ? severities[i] : ""}}));
        out.push_back({rules[i], device, true});
      } else if (was_failing && (statuses[i] == 'p' || statuses[i] == '-')) {
        // Passing again, or no longer in the rule's scope: nothing fails there any more.
        batch.erase(kStateTable, state_prefix(policy) + key);
        out.push_back({rules[i], device, false});
      }
    }
  }
  // A rule no longer in the policy fails nowhere: its entries go without an event.
  const std::set<std::string> current(rules.begin(), rules.end());
  for (const auto& key : failing) {
    const auto rule = key.substr(0, key.find('/'));
    if (!current.count(rule)) batch.erase(kStateTable, state_prefix(policy) + key);
  }
  if (!batch.empty())
    if (auto written = store_.write_and_wait(std::move(batch)); !written)
      return std::move(written).error();
  return out;
}

Result<std::vector<std::string>> ComplianceRecords::failing(const std::string& policy,
                                                            const std::string& rule) const {
  const auto prefix = state_prefix(policy) + rule + "/";
  store::ScanOptions scan;
  scan.from = prefix;
  scan.until = after_prefix(prefix);
  auto entries = store_.scan(kStateTable, scan);
  if (!entries) return std::move(entries).error();
  std::vector<std::string> out;
  for (const auto& [key, value] : *entries)
    out.push_back(key.substr(prefix.size()));
  return out;
}

Result<std::uint64_t> ComplianceRecords::sweep(std::uint64_t keep_runs, std::int64_t now_us,
                                               const std::string& keep_from) {
  store::Retention kept;
  kept.max_entries = keep_runs;
  return store::sweep_records(store_, kRunsTable, kResultsTable, kept, 0, now_us, keep_from);
}

}  // namespace nauto::compliance
