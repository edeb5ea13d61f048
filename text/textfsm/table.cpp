#include "nauto/text/textfsm/table.h"

#include <cctype>

namespace nauto::textfsm {

namespace {

nlohmann::json optional_text(const std::optional<std::string>& text) {
  return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
}

std::string lower_ascii(std::string text) {
  for (char& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Python's repr() of a str, for the keys and values of a map item.
std::string python_repr(const std::string& text) {
  const char quote =
      (text.find('\'') != std::string::npos && text.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : text) {
    if (c == '\\' || c == quote) out += '\\';
    out += c;
  }
  out += quote;
  return out;
}

std::string python_str(const ListItem& item) {
  if (!item.is_map) return item.text ? *item.text : "None";
  std::string out = "{";
  for (std::size_t i = 0; i < item.groups.size(); ++i) {
    if (i > 0) out += ", ";
    out += python_repr(item.groups[i].first) + ": " +
           (item.groups[i].second ? python_repr(*item.groups[i].second) : "None");
  }
  return out + "}";
}

}  // namespace

void stringify_list_items(Table& table) {
  for (auto& row : table.rows)
    for (auto& cell : row)
      if (auto* list = std::get_if<std::vector<ListItem>>(&cell))
        for (auto& item : *list)
          if (item.is_map || !item.text) item = ListItem{python_str(item), {}, false};
}

bool is_set(const Cell& cell) noexcept {
  if (const auto* text = std::get_if<std::string>(&cell)) return !text->empty();
  return !std::get<std::vector<ListItem>>(cell).empty();
}

nlohmann::json to_json(const Cell& cell) {
  if (const auto* text = std::get_if<std::string>(&cell)) return *text;
  auto list = nlohmann::json::array();
  for (const auto& item : std::get<std::vector<ListItem>>(cell)) {
    if (!item.is_map) {
      list.push_back(optional_text(item.text));
      continue;
    }
    auto map = nlohmann::json::object();
    for (const auto& [name, text] : item.groups)
      map[name] = optional_text(text);
    list.push_back(std::move(map));
  }
  return list;
}

nlohmann::json to_json(const Table& table) {
  std::vector<std::string> keys;
  keys.reserve(table.header.size());
  for (const auto& name : table.header)
    keys.push_back(lower_ascii(name));
  auto records = nlohmann::json::array();
  for (const auto& row : table.rows) {
    auto record = nlohmann::json::object();
    for (std::size_t i = 0; i < row.size() && i < keys.size(); ++i)
      record[keys[i]] = to_json(row[i]);
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace nauto::textfsm
