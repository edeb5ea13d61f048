#include "value_printer.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "../output.h"

namespace nauto::cli::shell {

using nlohmann::json;

namespace {

using ansi::kCyan;
using ansi::kGreen;
using ansi::kRed;
using ansi::kReset;

const std::string kMarker = "$shell";

bool is_marker(const json& value) {
  return value.is_object() && value.contains(kMarker);
}

// Plain data: markers become what they stand for, keyed tables become objects.
json unwrap(const json& value) {
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value)
      out.push_back(unwrap(item));
    return out;
  }
  if (!value.is_object()) return value;
  if (!is_marker(value)) {
    json out = json::object();
    for (const auto& [key, item] : value.items())
      out[key] = unwrap(item);
    return out;
  }
  const auto kind = value.value(kMarker, "");
  if (kind == "device") return "device(\"" + value.value("name", "") + "\")";
  if (kind == "table") {
    json out = json::object();
    for (const auto& [key, item] : value["fields"].items())
      out[key] = unwrap(item);
    return out;
  }
  if (kind == "records") return unwrap(value["rows"]);
  return value.value("text", kind);
}

std::string scalar_text(const json& value) {
  if (value.is_null()) return "nil";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (std::isfinite(number) && number == std::floor(number) && std::fabs(number) < 1e15) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", number);
      return text;
    }
  }
  return value.dump();
}

bool scalar(const json& value) {
  if (value.is_object() || value.is_array()) return false;
  return !value.is_string() || value.get_ref<const std::string&>().find('\n') == std::string::npos;
}

bool blank(const json& value) {
  return value.is_null() || (value.is_string() && value.get_ref<const std::string&>().empty()) ||
         ((value.is_array() || value.is_object()) && value.empty());
}

// A record's cells: scalars as they are, a nested table of scalars (an inventory host's vars)
// spread into its own columns, a list of scalars joined with commas. nullopt: not a record.
std::optional<std::vector<std::pair<std::string, std::string>>> record_cells(const json& value) {
  if (!value.is_object() || value.empty()) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> cells;
  for (const auto& [key, item] : value.items()) {
    if (blank(item)) continue;
    if (scalar(item)) {
      cells.emplace_back(key, cell(item));
    } else if (item.is_object()) {
      for (const auto& [inner, leaf] : item.items()) {
        if (!scalar(leaf)) return std::nullopt;
        cells.emplace_back(inner, cell(leaf));
      }
    } else {
      std::string joined;
      for (const auto& leaf : item) {
        if (!scalar(leaf)) return std::nullopt;
        joined += (joined.empty() ? "" : ",") + cell(leaf);
      }
      cells.emplace_back(key, joined);
    }
  }
  return cells;
}

// A list of records (TextFSM rows, inventory hosts) as a table; columns in first-seen order,
// columns empty in every row left out. nullopt when an item is not a record.
std::optional<std::string> record_table(const json& rows, const json& order) {
  std::vector<std::vector<std::pair<std::string, std::string>>> records;
  Table table;
  for (const auto& row : rows) {
    auto cells = record_cells(row);
    if (!cells) return std::nullopt;
    for (const auto& [key, text] : *cells) {
      if (std::find(table.header.begin(), table.header.end(), key) == table.header.end())
        table.header.push_back(key);
    }
    records.push_back(std::move(*cells));
  }
  // JSON objects come with sorted keys: the template's order when known, else a record's name
  // (an inventory host's) leads.
  if (order.is_array() && !order.empty()) {
    std::vector<std::string> ordered;
    for (const auto& column : order) {
      if (!column.is_string()) continue;
      const auto name = column.get<std::string>();
      if (std::find(table.header.begin(), table.header.end(), name) != table.header.end())
        ordered.push_back(name);
    }
    for (const auto& name : table.header) {
      if (std::find(ordered.begin(), ordered.end(), name) == ordered.end()) ordered.push_back(name);
    }
    table.header = std::move(ordered);
  } else if (const auto name = std::find(table.header.begin(), table.header.end(), "name");
             name != table.header.end())
    std::rotate(table.header.begin(), name, name + 1);
  for (const auto& record : records) {
    std::vector<std::string> cells(table.header.size());
    for (const auto& [key, text] : record) {
      const auto at = std::find(table.header.begin(), table.header.end(), key);
      cells[static_cast<std::size_t>(at - table.header.begin())] = text;
    }
    table.rows.push_back(std::move(cells));
  }
  // Headers as the records spell them, upper-cased like every nauto listing.
  for (auto& name : table.header) {
    for (auto& c : name)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  auto text = table.render();
  text += "(" + std::to_string(rows.size()) + (rows.size() == 1 ? " row)" : " rows)");
  return text;
}

std::string text_block(const std::string& text, const PrintStyle& style) {
  return style.color && looks_like_diff(text) ? color_diff(text) : text;
}

std::string render_plain(const json& value, const PrintStyle& style, const json& order = json()) {
  if (value.is_string()) return text_block(value.get<std::string>(), style);
  if (!value.is_object() && !value.is_array()) return scalar_text(value);
  if (value.is_array() && !value.empty()) {
    if (auto table = record_table(value, order)) return *table;
  }
  if (value.is_object()) {
    // Short fields first, in a column; long text (outputs, diffs) after, as blocks.
    std::string head, blocks;
    for (const auto& [key, item] : value.items()) {
      if (item.is_string() && item.get_ref<const std::string&>().find('\n') != std::string::npos) {
        blocks += key + ":\n" + text_block(item.get<std::string>(), style);
        if (blocks.back() != '\n') blocks += "\n";
      } else if (item.is_object() || (item.is_array() && !item.empty())) {
        std::string nested = render_document(json{{key, item}}, OutputFormat::Yaml);
        head += nested;
      } else {
        head += key + ": " + (item.is_array() ? "{}" : scalar_text(item)) + "\n";
      }
    }
    std::string text = head + blocks;
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text.empty() ? "{}" : text;
  }
  if (value.empty()) return "{}";
  auto text = render_document(value, OutputFormat::Yaml);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

bool looks_like_diff(const std::string& text) {
  if (text.rfind("--- ", 0) == 0 && text.find("\n+++ ") != std::string::npos) return true;
  return text.rfind("@@ ", 0) == 0 || text.find("\n@@ ") != std::string::npos;
}

std::string color_diff(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    const char* color = nullptr;
    if (line.rfind("+++", 0) == 0 || line.rfind("---", 0) == 0) {
      color = nullptr;
    } else if (!line.empty() && line[0] == '+') {
      color = kGreen;
    } else if (!line.empty() && line[0] == '-') {
      color = kRed;
    } else if (line.rfind("@@", 0) == 0) {
      color = kCyan;
    }
    out += color ? std::string(color) + line + kReset : line;
    out += "\n";
  }
  if (!text.empty() && text.back() != '\n' && !out.empty()) out.pop_back();
  return out;
}

std::string render_value(const json& typed_value, const PrintStyle& style) {
  if (typed_value.value("type", "") == "nil") return "nil";
  const json value = typed_value.contains("value") ? typed_value["value"] : json();
  if (is_marker(value) && value.value(kMarker, "") == "records") {
    return render_plain(unwrap(value), style,
                        value.contains("columns") ? value["columns"] : json());
  }
  return render_plain(unwrap(value), style);
}

std::string Pager::first_page(const std::string& text) {
  lines_.clear();
  next_ = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    lines_.push_back(std::move(line));
  return page();
}

std::string Pager::next_page() {
  if (!has_more()) return "(nothing more to show)\n";
  return page();
}

std::string Pager::page() {
  std::string out;
  const auto end = std::min(lines_.size(), next_ + page_lines_);
  for (; next_ < end; ++next_)
    out += lines_[next_] + "\n";
  if (has_more()) {
    out += "-- " + std::to_string(lines_.size() - next_) + " more lines: :more shows the next " +
           std::to_string(std::min(page_lines_, lines_.size() - next_)) + " --\n";
  }
  return out;
}

}  // namespace nauto::cli::shell
