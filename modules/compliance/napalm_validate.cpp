#include "napalm_validate.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "nauto/sdk/json_text.h"
#include "nauto/text/regex.h"

namespace nauto::compliance {

using nlohmann::json;

namespace {

struct Mode {
  bool strict = false;
};

Mode mode_of(json& expected) {
  Mode mode;
  if (!expected.is_object() || !expected.contains("_mode")) return mode;
  const auto words = expected["_mode"].is_string() ? expected["_mode"].get<std::string>() : "";
  std::istringstream in(words);
  for (std::string word; in >> word;)
    if (word == "strict") mode.strict = true;
  expected.erase("_mode");
  return mode;
}

bool complies(const json& result) {
  if (result.is_object()) return result.value("complies", false);
  return result.is_boolean() && result.get<bool>();
}

// Python's str() of a value, which NAPALM searches its regexes in.
std::string python_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_null()) return "None";
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (number == std::floor(number) && std::fabs(number) < 1e16) {
      std::ostringstream out;
      out << static_cast<long long>(number) << ".0";
      return out.str();
    }
  }
  return json_text(value);
}

std::optional<double> number_of(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_boolean()) return value.get<bool>() ? 1.0 : 0.0;
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  double out = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return out;
}

// "<15.0", ">=2", "==3", "!=0": NAPALM accepts an operator and an unsigned decimal number.
bool compare_numeric(const std::string& expected, const json& actual) {
  const auto value = number_of(actual);
  if (!value) return false;
  std::size_t op_length = (expected.size() > 1 && expected[1] == '=') ? 2 : 1;
  const std::string op = expected.substr(0, op_length);
  const std::string number = expected.substr(op_length);
  if (number.empty() || number.find_first_not_of("0123456789.") != std::string::npos ||
      number.front() == '.' || number.back() == '.')
    return false;
  const auto limit_value = number_of(json(number));
  if (!limit_value) return false;
  const double limit = *limit_value;
  if (op == "<") return *value < limit;
  if (op == ">") return *value > limit;
  if (op == "<=") return *value <= limit;
  if (op == ">=") return *value >= limit;
  return false;  // "==" and "!=" never start with < or >
}

bool compare_range(const std::string& expected, const json& actual) {
  const auto at = expected.find("<->");
  const auto low = number_of(json(expected.substr(0, at)));
  const auto high = number_of(json(expected.substr(at + 3)));
  const auto value = number_of(actual);
  return low && high && value && *low <= *value && *value <= *high;
}

bool is_tolerance(const std::string& text) {
  const auto percent = text.find('%');
  if (percent == std::string::npos || percent == 0 || percent + 1 == text.size()) return false;
  return text.find_first_not_of("0123456789%") == std::string::npos &&
         text.find('%', percent + 1) == std::string::npos;
}

// "10%50": 50 give or take 10 percent of it.
bool compare_tolerance(const std::string& expected, const json& actual) {
  const auto percent = expected.find('%');
  const auto tolerance = number_of(json(expected.substr(0, percent)));
  const auto target = number_of(json(expected.substr(percent + 1)));
  const auto value = number_of(actual);
  return tolerance && target && value &&
         std::fabs(*value - *target) <= *target * *tolerance / 100.0;
}

bool search(const std::string& pattern, const std::string& subject) {
  auto regex = text::Regex::compile(pattern, text::Regex::Anchor::Anywhere);
  return regex && text::matches(*regex, subject);
}

bool compare_text(const std::string& expected, const json& actual) {
  if (expected.starts_with("<") || expected.starts_with(">"))
    return compare_numeric(expected, actual);
  if (const auto at = expected.find("<->");
      at != std::string::npos && expected.find("<->", at + 3) == std::string::npos)
    return compare_range(expected, actual);
  if (is_tolerance(expected)) return compare_tolerance(expected, actual);
  if (search(expected, python_text(actual))) return true;
  return actual.is_string() && actual.get<std::string>() == expected;
}

json compare_list(const json& expected, json actual, Mode mode) {
  json result = {{"complies", true},
                 {"present", json::array()},
                 {"missing", json::array()},
                 {"extra", json::array()}};
  for (const auto& element : expected) {
    bool found = false;
    for (std::size_t i = 0; i < actual.size(); ++i) {
      if (!complies(napalm_compare(element, actual[i]))) continue;
      found = true;
      result["present"].push_back(element);
      actual.erase(i);
      break;
    }
    if (!found) {
      result["complies"] = false;
      result["missing"].push_back(element);
    }
  }
  if (mode.strict && !actual.empty()) {
    result["extra"] = std::move(actual);
    result["complies"] = false;
  }
  return result;
}

json compare_dict(const json& expected, json actual, Mode mode) {
  json result = {{"complies", true},
                 {"present", json::object()},
                 {"missing", json::array()},
                 {"extra", json::array()}};
  if (!actual.is_object()) actual = json::object();
  for (const auto& [key, want] : expected.items()) {
    auto found = actual.find(key);
    if (found == actual.end()) {
      result["missing"].push_back(key);
      result["complies"] = false;
      continue;
    }
    json have = std::move(*found);
    actual.erase(found);
    auto compared = napalm_compare(want, have);
    json entry = json::object();
    const bool nested = compared.is_object();
    const bool ok = complies(compared);
    if (!ok) {
      if (nested) {
        entry["diff"] = std::move(compared);
      } else {
        entry["expected_value"] = want;
        entry["actual_value"] = std::move(have);
      }
      result["complies"] = false;
    }
    entry["complies"] = ok;
    entry["nested"] = nested;
    result["present"][key] = std::move(entry);
  }
  if (mode.strict && !actual.empty()) {
    for (const auto& [key, value] : actual.items())
      result["extra"].push_back(key);
    result["complies"] = false;
  }
  return result;
}

}  // namespace

json napalm_compare(const json& expected_in, const json& actual) {
  if (expected_in.is_object()) {
    json expected = expected_in;
    const Mode mode = mode_of(expected);
    if (expected.contains("list")) {
      if (!actual.is_array()) return false;
      return compare_list(expected["list"], actual, mode);
    }
    return compare_dict(expected, actual, mode);
  }
  if (expected_in.is_string()) return compare_text(expected_in.get<std::string>(), actual);
  if (expected_in.is_array() && actual.is_array()) {
    // NAPALM pairs the elements in order and searches each expected field's value in the
    // actual element's (a list without the {list: ...} form).
    for (std::size_t i = 0; i < std::min(expected_in.size(), actual.size()); ++i) {
      const auto& want = expected_in[i];
      const auto& have = actual[i];
      if (want == have) continue;
      if (!want.is_object() || !have.is_object()) return false;
      for (const auto& [key, value] : want.items())
        if (!have.contains(key) || !search(python_text(value), python_text(have[key])))
          return false;
    }
    return true;
  }
  if (expected_in.is_number() && actual.is_number())
    return expected_in.get<double>() == actual.get<double>();
  return expected_in == actual;
}

json napalm_compliance_report(const json& validation, const GetterSource& getters) {
  json report = json::object();
  json skipped = json::array();
  bool all = true;
  for (const auto& item : validation) {
    if (!item.is_object()) continue;
    for (const auto& [getter, expected_in] : item.items()) {
      json expected = expected_in;
      std::string key = getter;
      if (expected.is_object()) {
        if (expected.contains("_name") && expected["_name"].is_string() &&
            !expected["_name"].get<std::string>().empty())
          key = expected["_name"].get<std::string>();
        expected.erase("_name");
        expected.erase("_kwargs");
      }
      auto actual = getters(getter);
      if (!actual) {
        report[key] = {{"skipped", true}, {"reason", "NotImplemented"}};
        skipped.push_back(key);
        continue;
      }
      auto compared = napalm_compare(expected, *actual);
      if (!complies(compared)) all = false;
      report[key] = std::move(compared);
    }
  }
  report["skipped"] = std::move(skipped);
  report["complies"] = all;
  return report;
}

}  // namespace nauto::compliance
