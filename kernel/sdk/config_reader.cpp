#include "nauto/sdk/config_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>
#include <limits>

#include "nauto/sdk/config_key_recording.h"
#include "nauto/sdk/listen_socket.h"

namespace nauto {
namespace {

std::string shown(const nlohmann::json& value) {
  auto text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// Splits "30s" into 30 and "s"; fails on a missing number or trailing junk in the number.
bool split_number(const std::string& text, std::int64_t& number, std::string& unit) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
    ++i;
  if (i == 0) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, number);
  if (ec != std::errc()) return false;
  unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ')
    unit.erase(unit.begin());
  return true;
}

}  // namespace

Result<void> config_problems(const std::vector<std::string>& problems) {
  if (problems.empty()) return ok();
  std::string message;
  for (const auto& problem : problems)
    message += (message.empty() ? "" : "\n") + problem;
  return fail(Errc::InvalidConfig, std::move(message));
}

Result<std::int64_t> parse_duration_ms(const std::string& text) {
  std::int64_t n = 0;
  std::string unit;
  if (!split_number(text, n, unit)) {
    return fail(Errc::InvalidConfig, "expected a duration like 500ms, 30s, 15m, 2h or 7d");
  }
  static const std::pair<const char*, std::int64_t> kUnits[] = {
      {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      if (n > INT64_MAX / factor) return fail(Errc::InvalidConfig, "duration too large");
      return n * factor;
    }
  }
  return fail(Errc::InvalidConfig, "unknown duration unit '" + unit + "'; use ms, s, m, h or d");
}

Result<std::uint64_t> parse_size_bytes(const std::string& text) {
  std::int64_t n = 0;
  std::string unit;
  if (!split_number(text, n, unit)) {
    return fail(Errc::InvalidConfig, "expected a size like 4096, 512KiB, 64MiB or 1GiB");
  }
  static const std::pair<const char*, std::uint64_t> kUnits[] = {{"", 1},
                                                                 {"B", 1},
                                                                 {"KiB", 1ull << 10},
                                                                 {"MiB", 1ull << 20},
                                                                 {"GiB", 1ull << 30},
                                                                 {"TiB", 1ull << 40}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) return static_cast<std::uint64_t>(n) * factor;
  }
  return fail(Errc::InvalidConfig, "unknown size unit '" + unit + "'; use B, KiB, MiB, GiB or TiB");
}

ConfigReader::ConfigReader(const nlohmann::json& section, std::string path)
    : section_(section), path_(std::move(path)) {
  if (!section_.is_null() && !section_.is_object()) {
    problems_.push_back(path_ + ": expected a mapping of keys to values (got " + shown(section_) +
                        ")");
  }
}

namespace {
thread_local ConfigKeyRecording* t_recording = nullptr;

// 90000 -> "90s", 3600000 -> "1h": a default as nauto.yaml would spell it.
std::string duration_text(std::int64_t ms) {
  struct Unit {
    std::int64_t ms;
    const char* suffix;
  };
  for (const Unit unit :
       {Unit{86400000, "d"}, Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}}) {
    if (ms > 0 && ms % unit.ms == 0) return std::to_string(ms / unit.ms) + unit.suffix;
  }
  return std::to_string(ms) + "ms";
}

std::string full_path(const std::string& section, const std::string& key) {
  return section.empty() ? key : section + "." + key;
}

std::string size_text(std::uint64_t bytes) {
  for (const auto& [shift, suffix] : {std::pair{30, "GiB"}, {20, "MiB"}, {10, "KiB"}}) {
    const auto unit = std::uint64_t{1} << shift;
    if (bytes > 0 && bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
  }
  return std::to_string(bytes);
}
}  // namespace

ConfigKeyRecording::ConfigKeyRecording() {
  t_recording = this;
}

ConfigKeyRecording::~ConfigKeyRecording() {
  t_recording = nullptr;
}

void ConfigKeyRecording::note(std::string path, std::string form, std::string fallback) {
  if (t_recording != nullptr)
    t_recording->keys_.push_back({std::move(path), std::move(form), std::move(fallback)});
}

const nlohmann::json* ConfigReader::lookup(const std::string& key) {
  known_.insert(key);
  if (!section_.is_object()) return nullptr;
  auto it = section_.find(key);
  if (it == section_.end() || it->is_null()) return nullptr;
  return &*it;
}

void ConfigReader::problem(const std::string& key, const std::string& expected,
                           const nlohmann::json& got) {
  problems_.push_back((path_.empty() ? key : path_ + "." + key) + ": " + expected + " (got " +
                      shown(got) + ")");
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) {
  ConfigKeyRecording::note(full_path(path_, key), "string", fallback.empty() ? "\"\"" : fallback);
  const auto* v = lookup(key);
  if (!v) return fallback;
  if (!v->is_string()) {
    problem(key, "expected a string", *v);
    return fallback;
  }
  return v->get<std::string>();
}

std::int64_t ConfigReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) {
  ConfigKeyRecording::note(
      full_path(path_, key),
      max == std::numeric_limits<std::int64_t>::max()
          ? "integer, at least " + std::to_string(min)
          : "integer from " + std::to_string(min) + " to " + std::to_string(max),
      std::to_string(fallback));
  const auto* v = lookup(key);
  if (!v) return fallback;
  std::int64_t n = 0;
  if (v->is_number_integer()) {
    n = v->get<std::int64_t>();
  } else if (v->is_string() && !v->get<std::string>().empty()) {
    const auto& s = v->get_ref<const std::string&>();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      problem(key, "expected an integer", *v);
      return fallback;
    }
  } else {
    problem(key, "expected an integer", *v);
    return fallback;
  }
  if (n < min || n > max) {
    problem(key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max),
            *v);
    return fallback;
  }
  return n;
}

bool ConfigReader::boolean(const std::string& key, bool fallback) {
  ConfigKeyRecording::note(full_path(path_, key), "true or false", fallback ? "true" : "false");
  const auto* v = lookup(key);
  if (!v) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  problem(key, "expected true or false", *v);
  return fallback;
}

// A quantity with a unit (duration, size): a bare non-negative integer is taken in the base
// unit, a string goes through `parse`; below `min` is a problem naming `min_text`.
template <typename T, typename Parse>
T ConfigReader::quantity(const std::string& key, T fallback, T min, Parse parse,
                         const char* expected, const std::string& min_text) {
  const auto* v = lookup(key);
  if (!v) return fallback;
  Result<T> parsed = fail(Errc::InvalidConfig, "");
  if (v->is_number_integer() && v->get<std::int64_t>() >= 0) {
    parsed = v->get<T>();
  } else if (v->is_string()) {
    parsed = parse(v->get<std::string>());
  }
  if (!parsed) {
    problem(key, expected, *v);
    return fallback;
  }
  if (*parsed < min) {
    problem(key, "expected at least " + min_text, *v);
    return fallback;
  }
  return *parsed;
}

std::int64_t ConfigReader::duration_ms(const std::string& key, std::int64_t fallback_ms,
                                       std::int64_t min_ms) {
  ConfigKeyRecording::note(full_path(path_, key), "duration, at least " + duration_text(min_ms),
                           duration_text(fallback_ms));
  return quantity<std::int64_t>(key, fallback_ms, min_ms, parse_duration_ms,
                                "expected a duration like 500ms, 30s, 15m, 2h or 7d",
                                std::to_string(min_ms) + "ms");
}

std::uint64_t ConfigReader::size_bytes(const std::string& key, std::uint64_t fallback,
                                       std::uint64_t min) {
  ConfigKeyRecording::note(full_path(path_, key), "size, at least " + size_text(min),
                           size_text(fallback));
  return quantity<std::uint64_t>(key, fallback, min, parse_size_bytes,
                                 "expected a size like 4096, 512KiB, 64MiB or 1GiB",
                                 std::to_string(min) + " bytes");
}

std::string ConfigReader::choice(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& choices) {
  std::string form = "one of";
  for (std::size_t i = 0; i < choices.size(); ++i)
    form += (i ? ", " : " ") + choices[i];
  ConfigKeyRecording::note(full_path(path_, key), form, fallback);
  const auto* v = lookup(key);
  if (!v) return fallback;
  if (v->is_string()) {
    for (const auto& c : choices) {
      if (c == v->get<std::string>()) return c;
    }
  }
  std::string expected = "expected one of";
  for (std::size_t i = 0; i < choices.size(); ++i)
    expected += (i ? ", " : " ") + choices[i];
  problem(key, expected, *v);
  return fallback;
}

std::vector<std::string> ConfigReader::strings(const std::string& key) {
  ConfigKeyRecording::note(full_path(path_, key), "list of strings", "[]");
  const auto* v = lookup(key);
  std::vector<std::string> out;
  if (!v) return out;
  if (!v->is_array()) {
    problem(key, "expected a list of strings", *v);
    return out;
  }
  for (const auto& item : *v) {
    if (!item.is_string()) {
      problem(key, "expected a list of strings", *v);
      return {};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::set<std::string> ConfigReader::addresses(const std::string& key) {
  std::set<std::string> out;
  for (const auto& text : strings(key)) {
    sockaddr_storage address{};
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    auto& v6 = reinterpret_cast<sockaddr_in6&>(address);
    if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
      address.ss_family = AF_INET;
    } else if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
      address.ss_family = AF_INET6;
    } else {
      problem(key, "expected a list of IP addresses (not host names)", nlohmann::json(text));
      return {};
    }
    out.insert(address_text(address));
  }
  return out;
}

nlohmann::json ConfigReader::section(const std::string& key) {
  ConfigKeyRecording::note(full_path(path_, key), "mapping", "");
  const auto* v = lookup(key);
  if (!v) return nullptr;
  if (!v->is_object()) {
    problem(key, "expected a mapping of keys to values", *v);
    return nullptr;
  }
  return *v;
}

void ConfigReader::allow(const std::string& key) {
  known_.insert(key);
}

Result<void> ConfigReader::finish() const {
  std::vector<std::string> all = problems_;
  if (section_.is_object()) {
    for (const auto& [key, value] : section_.items()) {
      if (known_.count(key)) continue;
      std::string known_list;
      for (const auto& k : known_)
        known_list += (known_list.empty() ? "" : ", ") + k;
      all.push_back((path_.empty() ? key : path_ + "." + key) + ": unknown key" +
                    (known_list.empty() ? "" : "; known keys here: " + known_list));
    }
  }
  if (all.empty()) return ok();
  std::string message;
  for (const auto& p : all)
    message += (message.empty() ? "" : "\n") + p;
  return fail(Errc::InvalidConfig, message);
}

}  // namespace nauto
