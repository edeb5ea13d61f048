#include "compliance_report.h"

#include <cstdio>
#include <sstream>
#include <vector>

#include "output.h"

namespace nauto::cli {

using nlohmann::json;

namespace {

std::string score_text(const json& value) {
  const double score = value.is_number() ? value.get<double>() : -1.0;
  if (score < 0) return "-";
  char out[16];
  std::snprintf(out, sizeof out, "%.1f%%", score);
  return out;
}

std::string count(const json& row, const char* key) {
  return std::to_string(row.value(key, std::int64_t{0}));
}

std::string when(const json& row) {
  return format_time_us(row.value("finished_us", std::int64_t{0}));
}

// RFC 4180: a field with a comma, quote or line end is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string joined(const json& list) {
  std::string out;
  for (const auto& item : list)
    out += (out.empty() ? "" : " ") + cell(item);
  return out;
}

// The four sections as rows of cells, shared by every format.
struct Sections {
  Table devices{{"DEVICE", "SITE", "PASS", "FAIL", "ERROR", "SKIPPED", "SCORE", "FAILING"}, {}};
  Table rules{{"RULE", "SEVERITY", "PASS", "FAIL", "ERROR", "SKIPPED", "SCORE", "DESCRIPTION"}, {}};
  Table sites{{"SITE", "DEVICES", "PASS", "FAIL", "SCORE"}, {}};
  Table trend{{"RUN", "FINISHED", "DEVICES", "FAIL", "SCORE"}, {}};
};

Sections sections_of(const json& report) {
  Sections s;
  for (const auto& d : report.value("devices", json::array()))
    s.devices.rows.push_back({d.value("device", ""), d.value("site", ""), count(d, "pass"),
                              count(d, "fail"), count(d, "error"), count(d, "skipped"),
                              score_text(d["score"]), joined(d.value("failing", json::array()))});
  for (const auto& r : report.value("rules", json::array()))
    s.rules.rows.push_back({r.value("rule", ""), r.value("severity", ""), count(r, "pass"),
                            count(r, "fail"), count(r, "error"), count(r, "skipped"),
                            score_text(r["score"]), r.value("description", "")});
  for (const auto& site : report.value("sites", json::array()))
    s.sites.rows.push_back({site.value("site", "").empty() ? "(none)" : site.value("site", ""),
                            count(site, "devices"), count(site, "pass"), count(site, "fail"),
                            score_text(site["score"])});
  for (const auto& t : report.value("trend", json::array()))
    s.trend.rows.push_back({t.value("id", ""), when(t), count(t, "devices"), count(t, "fail"),
                            score_text(t["score"])});
  return s;
}

std::string headline(const json& report) {
  const auto& run = report["run"];
  std::ostringstream out;
  out << "policy " << run.value("policy", "") << ": " << score_text(report["score"]) << " ("
      << count(report, "pass") << " passed, " << count(report, "fail") << " failed, "
      << count(report, "error") << " errors, " << count(report, "skipped") << " skipped) on "
      << run.value("devices", 0) << " devices, run " << run.value("id", "") << " ("
      << (run.value("live", false) ? "live" : "archived configs") << ", " << when(run) << ")";
  return out.str();
}

}  // namespace

std::string compliance_report_table(const json& report) {
  const auto s = sections_of(report);
  return headline(report) + "\n\nDevices\n" + s.devices.render() + "\nRules\n" + s.rules.render() +
         "\nSites\n" + s.sites.render() + "\nTrend\n" + s.trend.render();
}

std::string compliance_report_csv(const json& report) {
  const auto s = sections_of(report);
  std::string out = "section,name,site_or_severity,pass,fail,error,skipped,score,detail\n";
  auto line = [&out](std::vector<std::string> cells) {
    for (std::size_t i = 0; i < cells.size(); ++i)
      out += (i ? "," : "") + csv_field(cells[i]);
    out += "\n";
  };
  for (const auto& r : s.devices.rows)
    line({"device", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]});
  for (const auto& r : s.rules.rows)
    line({"rule", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]});
  for (const auto& r : s.sites.rows)
    line({"site", r[0], "", r[2], r[3], "", "", r[4], r[1] + " devices"});
  for (const auto& r : s.trend.rows)
    line({"trend", r[0], r[1], "", r[3], "", "", r[4], r[2] + " devices"});
  return out;
}

std::string compliance_report_html(const json& report) {
  const auto s = sections_of(report);
  const auto policy = report["run"].value("policy", "");
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Compliance: " +
      html_escape(policy) +
      "</title>\n<style>\nbody{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
      "margin-bottom:2em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}"
      "th{background:#eee}td.fail{color:#b00020;font-weight:bold}\n</style>\n</head>\n<body>\n<h1>"
      "Compliance: " +
      html_escape(policy) + "</h1>\n<p>" + html_escape(headline(report)) + "</p>\n";
  auto table = [&out](const char* title, const Table& t, std::size_t fail_column) {
    out += std::string("<h2>") + title + "</h2>\n<table>\n<tr>";
    for (const auto& h : t.header)
      out += "<th>" + html_escape(h) + "</th>";
    out += "</tr>\n";
    for (const auto& row : t.rows) {
      out += "<tr>";
      for (std::size_t i = 0; i < row.size(); ++i) {
        const bool failing = i == fail_column && row[i] != "0";
        out +=
            std::string(failing ? "<td class=\"fail\">" : "<td>") + html_escape(row[i]) + "</td>";
      }
      out += "</tr>\n";
    }
    out += "</table>\n";
  };
  table("Devices", s.devices, 3);
  table("Rules", s.rules, 3);
  table("Sites", s.sites, 3);
  table("Trend", s.trend, 3);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace nauto::cli
