#pragma once
// Table: what a TextFSM parse returns, modelled on Python TextFSM's values so results compare
// equal to ntc-templates' expected output: a header (the Value names, in declaration order) and
// one row per record.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace nauto::textfsm {

/// One item of a List value: the matched text, or (when the Value's regex has named groups) a
/// map of group name to text. A group or value that did not take part in the match is nullopt
/// (Python's None).
struct ListItem {
  std::optional<std::string> text;
  std::vector<std::pair<std::string, std::optional<std::string>>> groups;
  bool is_map = false;

  friend bool operator==(const ListItem&, const ListItem&) = default;
};

/// A record's field: text for ordinary Values ("" when nothing matched), a list for List Values.
using Cell = std::variant<std::string, std::vector<ListItem>>;

/// False for "" and for an empty list, as in Python.
bool is_set(const Cell& cell) noexcept;

/// Header plus rows; every row has exactly header.size() cells.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
};

/// Turns list items into text the way clitable stores them (Python's str()): a missing item becomes
/// "None", a map its Python repr. ntc-templates' expected output, and netmiko's, are in this form.
void stringify_list_items(Table& table);

/// Records as JSON objects keyed by the lower-cased Value name (as ntc-templates' parse_output
/// and netmiko present them), in row order.
nlohmann::json to_json(const Table& table);
nlohmann::json to_json(const Cell& cell);

}  // namespace nauto::textfsm
