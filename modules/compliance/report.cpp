#include "report.h"

#include <cmath>
#include <map>
#include <string>

namespace nauto::compliance {

using nlohmann::json;

namespace {

struct Counts {
  std::int64_t pass = 0, fail = 0, error = 0, skipped = 0;
  void add(char letter) {
    if (letter == 'p') ++pass;
    if (letter == 'f') ++fail;
    if (letter == 'e') ++error;
    if (letter == 's') ++skipped;
  }
  json to_json() const {
    return json{{"pass", pass},
                {"fail", fail},
                {"error", error},
                {"skipped", skipped},
                {"score", score_of(pass, fail)}};
  }
};

json trend_point(const json& run) {
  return json{{"id", run.value("id", "")},
              {"finished_us", run.value("finished_us", std::int64_t{0})},
              {"score", run.value("score", -1.0)},
              {"devices", run.value("devices", 0)},
              {"fail", run.value("fail", 0)}};
}

}  // namespace

double score_of(std::int64_t pass, std::int64_t fail) {
  if (pass + fail == 0) return -1.0;
  return std::round(1000.0 * static_cast<double>(pass) / static_cast<double>(pass + fail)) / 10.0;
}

json build_report(const json& run, const std::vector<json>& devices, const json& earlier) {
  const json rules = run.value("rules", json::array());
  std::vector<Counts> per_rule(rules.size());
  std::map<std::string, std::pair<std::int64_t, Counts>> per_site;  // site -> devices, counts
  Counts total;
  json device_rows = json::array();
  for (const auto& doc : devices) {
    const std::string statuses = doc.value("statuses", "");
    Counts counts;
    json failing = json::array();
    for (std::size_t i = 0; i < statuses.size() && i < rules.size(); ++i) {
      counts.add(statuses[i]);
      per_rule[i].add(statuses[i]);
      if (statuses[i] == 'f') failing.push_back(rules[i].value("id", ""));
    }
    auto& site = per_site[doc.value("site", "")];
    ++site.first;
    for (char letter : statuses)
      site.second.add(letter);
    for (char letter : statuses)
      total.add(letter);
    auto row = counts.to_json();
    row["device"] = doc.value("device", "");
    row["site"] = doc.value("site", "");
    row["failing"] = std::move(failing);
    device_rows.push_back(std::move(row));
  }
  json rule_rows = json::array();
  for (std::size_t i = 0; i < rules.size(); ++i) {
    auto row = per_rule[i].to_json();
    row["rule"] = rules[i].value("id", "");
    row["severity"] = rules[i].value("severity", "");
    row["description"] = rules[i].value("description", "");
    rule_rows.push_back(std::move(row));
  }
  json site_rows = json::array();
  for (const auto& [site, entry] : per_site) {
    auto row = entry.second.to_json();
    row["site"] = site;
    row["devices"] = entry.first;
    site_rows.push_back(std::move(row));
  }
  json trend = json::array();
  for (auto it = earlier.rbegin(); it != earlier.rend(); ++it)
    if (it->value("id", "") != run.value("id", "")) trend.push_back(trend_point(*it));
  trend.push_back(trend_point(run));
  return json{{"run", run},
              {"score", score_of(total.pass, total.fail)},
              {"pass", total.pass},
              {"fail", total.fail},
              {"error", total.error},
              {"skipped", total.skipped},
              {"devices", std::move(device_rows)},
              {"rules", std::move(rule_rows)},
              {"sites", std::move(site_rows)},
              {"trend", std::move(trend)}};
}

}  // namespace nauto::compliance
