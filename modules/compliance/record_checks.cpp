#include "record_checks.h"

#include <cctype>
#include <charconv>
#include <optional>

#include "nauto/sdk/json_text.h"

namespace nauto::compliance {

using nlohmann::json;

namespace {

std::optional<double> number_of(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty()) return std::nullopt;
  double out = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return out;
}

std::string text_of(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return json_text(value);
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The field at a dotted path, names compared without case; null when absent.
const json* field_of(const json& record, std::string_view path) {
  const json* at = &record;
  while (!path.empty()) {
    if (!at->is_object()) return nullptr;
    // A key may itself hold dots (an IP address): the longest key that matches wins.
    const json* next = nullptr;
    std::size_t used = 0;
    for (const auto& [key, value] : at->items()) {
      if (key.size() > path.size() || key.size() <= used) continue;
      if (!same_name(key, path.substr(0, key.size()))) continue;
      if (key.size() < path.size() && path[key.size()] != '.') continue;
      next = &value;
      used = key.size();
    }
    if (!next) return nullptr;
    at = next;
    path.remove_prefix(std::min(path.size(), used + 1));
  }
  return at;
}

std::string describe(const json& record) {
  std::string out = json_text(record);
  if (out.size() > 200) out = out.substr(0, 197) + "...";
  return out;
}

}  // namespace

json records_of(const json& parsed) {
  if (parsed.is_array()) return parsed;
  if (parsed.is_null()) return json::array();
  return json::array({parsed});
}

bool compare_values(const json& actual, const std::string& op, const json& operand,
                    const text::Regex* regex) {
  if (op == "regex") return regex && text::matches(*regex, text_of(actual));
  if (op == "in") {
    if (!operand.is_array()) return false;
    for (const auto& candidate : operand)
      if (compare_values(actual, "==", candidate, nullptr)) return true;
    return false;
  }
  const auto a = number_of(actual), b = number_of(operand);
  if (op == "==" || op == "!=") {
    const bool equal = (a && b) ? *a == *b : text_of(actual) == text_of(operand);
    return (op == "==") == equal;
  }
  if (!a || !b) return false;
  if (op == "<") return *a < *b;
  if (op == "<=") return *a <= *b;
  if (op == ">") return *a > *b;
  if (op == ">=") return *a >= *b;
  return false;
}

RuleResult check_records(const Rule& rule, const json& records) {
  RuleResult out;
  out.rule = rule.id;
  std::vector<std::string> failed;  // the assertions that do not hold
  for (const auto& assertion : rule.expect) {
    if (assertion.count) {
      const json count = records.size();
      if (!compare_values(count, assertion.op, assertion.operand, nullptr)) {
        failed.push_back(assertion.text);
        out.lines.push_back(assertion.text + ": " + std::to_string(records.size()) + " records");
      }
      continue;
    }
    std::size_t holding = 0, missing_field = 0;
    std::vector<std::string> offending;
    for (const auto& record : records) {
      const json* value = field_of(record, assertion.field);
      if (!value) ++missing_field;
      const bool holds =
          value && compare_values(*value, assertion.op, assertion.operand, assertion.regex.get());
      if (holds) {
        ++holding;
      } else if (offending.size() < kLinesKept) {
        offending.push_back(assertion.text + ": " + describe(record));
      }
    }
    const bool holds = assertion.any ? holding > 0 : holding == records.size();
    if (holds) continue;
    failed.push_back(assertion.text);
    if (assertion.any && offending.empty()) out.lines.push_back(assertion.text + ": no records");
    for (auto& line : offending)
      if (out.lines.size() < kLinesKept) out.lines.push_back(std::move(line));
    if (missing_field == records.size() && !records.empty())
      out.missing.push_back("field '" + assertion.field + "'");
  }
  if (failed.empty()) return out;
  out.status = Status::Fail;
  out.message = "does not hold: ";
  for (std::size_t i = 0; i < failed.size(); ++i)
    out.message += (i ? "; " : "") + failed[i];
  return out;
}

}  // namespace nauto::compliance
