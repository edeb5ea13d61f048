#include "nauto/runbook/params.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace nauto::runbook {

using nlohmann::json;

namespace {

constexpr std::pair<ParamType, std::string_view> kTypeNames[] = {
    {ParamType::String, "string"}, {ParamType::Int, "int"},       {ParamType::Bool, "bool"},
    {ParamType::Ip, "ip"},         {ParamType::Device, "device"}, {ParamType::Selector, "selector"},
    {ParamType::List, "list"}};

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string shown(const json& value) {
  return value.is_string() ? "'" + value.get<std::string>() + "'" : value.dump();
}

bool is_ip(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start])))
    ++start;
  return text.substr(start);
}

// The value as the declared type, or a sentence saying what was expected.
Result<json> convert(ParamType type, const json& value) {
  const std::string text = value.is_string() ? value.get<std::string>() : "";
  switch (type) {
    case ParamType::String:
    case ParamType::Device:
    case ParamType::Selector:
      if (!value.is_string() || text.empty()) {
        return fail(
            Errc::InvalidArgument,
            "expected a non-empty " + std::string(param_type_name(type)) + ", got " + shown(value));
      }
      return value;
    case ParamType::Int:
      if (value.is_number_integer()) return value;
      if (value.is_string() && !text.empty()) {
        std::size_t used = 0;
        try {
          const long long number = std::stoll(text, &used);
          if (used == text.size()) return json(number);
        } catch (const std::exception&) {
        }
      }
      return fail(Errc::InvalidArgument, "expected an integer, got " + shown(value));
    case ParamType::Bool:
      if (value.is_boolean()) return value;
      if (text == "true" || text == "yes" || text == "on" || text == "1") return json(true);
      if (text == "false" || text == "no" || text == "off" || text == "0") return json(false);
      return fail(Errc::InvalidArgument, "expected true or false, got " + shown(value));
    case ParamType::Ip:
      if (value.is_string() && is_ip(text)) return value;
      return fail(Errc::InvalidArgument,
                  "expected an IPv4 or IPv6 address such as 192.0.2.1, got " + shown(value));
    case ParamType::List:
      if (value.is_array()) return value;
      if (value.is_string()) {
        json list = json::array();
        std::size_t start = 0;
        while (start <= text.size()) {
          const auto comma = std::min(text.find(',', start), text.size());
          if (auto item = trimmed(text.substr(start, comma - start)); !item.empty())
            list.push_back(item);
          start = comma + 1;
        }
        return list;
      }
      return fail(Errc::InvalidArgument, "expected a list (a,b,c), got " + shown(value));
  }
  return fail(Errc::Bug, "unknown parameter type");
}

}  // namespace

std::string_view param_type_name(ParamType type) {
  for (const auto& [t, name] : kTypeNames)
    if (t == type) return name;
  return "?";
}

Result<std::vector<ParamSpec>> parse_param_specs(const json& declared, const std::string& where) {
  std::vector<ParamSpec> specs;
  std::vector<std::string> problems;
  std::vector<std::pair<std::string, json>> entries;
  if (declared.is_null()) return specs;
  if (declared.is_object()) {
    for (const auto& [name, body] : declared.items())
      entries.emplace_back(name, body);
  } else if (declared.is_array()) {
    for (const auto& body : declared) {
      entries.emplace_back(body.is_object() ? body.value("name", "") : "", body);
    }
  } else {
    return fail(Errc::InvalidArgument, "params: expected a table of declarations", where);
  }
  std::set<std::string> seen;
  for (auto& [name, body] : entries) {
    const std::string at = "params." + (name.empty() ? "?" : name);
    if (name.empty()) {
      problems.push_back(where + ": params: every parameter needs a name");
      continue;
    }
    if (!seen.insert(name).second) problems.push_back(where + ": " + at + ": declared twice");
    ParamSpec spec;
    spec.name = name;
    if (body.is_string()) body = json{{"type", body}};  // `site = "string"` shorthand
    if (!body.is_object()) {
      problems.push_back(where + ": " + at + ": expected {type = ..., required = ...}");
      continue;
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "name" && key != "type" && key != "required" && key != "default" &&
          key != "description") {
        problems.push_back(where + ": " + at + ": unknown key '" + key +
                           "' (name, type, required, default, description)");
      }
    }
    const auto type = body.value("type", "string");
    bool known = false;
    for (const auto& [t, type_name] : kTypeNames) {
      if (type == type_name) spec.type = t, known = true;
    }
    if (!known) {
      problems.push_back(where + ": " + at + ": unknown type '" + type +
                         "' (string, int, bool, ip, device, selector, list)");
    }
    spec.required = body.value("required", false);
    spec.description = body.value("description", "");
    if (body.contains("default") && !body["default"].is_null()) {
      auto value = convert(spec.type, body["default"]);
      if (!value)
        problems.push_back(where + ": " + at + ".default: " + value.error().message);
      else
        spec.default_value = *value;
    }
    specs.push_back(std::move(spec));
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidArgument, message);
  }
  return specs;
}

json to_json(const std::vector<ParamSpec>& specs) {
  json out = json::array();
  for (const auto& s : specs) {
    json p = {{"name", s.name}, {"type", param_type_name(s.type)}, {"required", s.required}};
    if (!s.default_value.is_null()) p["default"] = s.default_value;
    if (!s.description.empty()) p["description"] = s.description;
    out.push_back(std::move(p));
  }
  return out;
}

Result<json> bind_params(const std::vector<ParamSpec>& specs, const json& given,
                         const std::string& runbook) {
  std::vector<std::string> problems;
  json bound = json::object();
  const json& values = given.is_object() ? given : json::object();
  for (const auto& [name, value] : values.items()) {
    const auto spec =
        std::find_if(specs.begin(), specs.end(),
                     [&wanted = name](const ParamSpec& s) { return s.name == wanted; });
    if (spec == specs.end()) {
      std::string hint;
      std::size_t best = 3;
      for (const auto& s : specs) {
        if (const auto d = edit_distance(name, s.name); d < best) best = d, hint = s.name;
      }
      std::string known;
      for (const auto& s : specs)
        known += (known.empty() ? "" : ", ") + s.name;
      problems.push_back("param '" + name + "': " + runbook + " has no such parameter" +
                         (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                         (known.empty() ? "; it takes none" : "; it takes " + known));
      continue;
    }
    auto converted = convert(spec->type, value);
    if (!converted)
      problems.push_back("param '" + name + "': " + converted.error().message);
    else
      bound[name] = std::move(*converted);
  }
  for (const auto& spec : specs) {
    if (bound.contains(spec.name) || values.contains(spec.name)) continue;
    if (!spec.default_value.is_null()) {
      bound[spec.name] = spec.default_value;
    } else if (spec.required) {
      problems.push_back("param '" + spec.name + "' is required (" +
                         std::string(param_type_name(spec.type)) +
                         (spec.description.empty() ? "" : ": " + spec.description) +
                         "); pass --param " + spec.name + "=...");
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidArgument, message, runbook);
  }
  return bound;
}

}  // namespace nauto::runbook
