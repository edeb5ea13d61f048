#pragma once
// A compliance report (compliance.report's answer) as text: an aligned table for the terminal,
// CSV for spreadsheets (one table, its first column the section: device, rule, site, trend),
// or a self-contained HTML page. JSON is the answer itself.
// Pure functions; any thread.

#include <nlohmann/json.hpp>
#include <string>

namespace nauto::cli {

std::string compliance_report_table(const nlohmann::json& report);
std::string compliance_report_csv(const nlohmann::json& report);
std::string compliance_report_html(const nlohmann::json& report);

}  // namespace nauto::cli
