#include "rollout_plan.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace nauto::configs {

using nlohmann::json;

namespace {

struct Amount {
  std::size_t value = 0;
  bool percent = false;
};

Result<Amount> parse_amount(const std::string& text, const std::string& field) {
  Amount amount;
  std::string_view digits = text;
  if (!digits.empty() && digits.back() == '%') {
    amount.percent = true;
    digits.remove_suffix(1);
  }
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), amount.value);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      (amount.percent && amount.value > 100)) {
    return fail(Errc::InvalidArgument,
                field + ": expected a count (5) or a percentage (10%), got '" + text + "'");
  }
  return amount;
}

// Names as people number them: ios2 before ios10 (digit runs compared as numbers).
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      auto a_end = i, b_end = j;
      while (a_end < a.size() && a[a_end] == '0')
        ++a_end;
      while (b_end < b.size() && b[b_end] == '0')
        ++b_end;
      auto a_start = a_end, b_start = b_end;
      while (a_end < a.size() && digit(a[a_end]))
        ++a_end;
      while (b_end < b.size() && digit(b[b_end]))
        ++b_end;
      const auto a_len = a_end - a_start, b_len = b_end - b_start;
      if (a_len != b_len) return a_len < b_len;
      if (auto c = a.compare(a_start, a_len, b, b_start, b_len); c != 0) return c < 0;
      i = a_end;
      j = b_end;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // equal but for leading zeros: any fixed order
}

}  // namespace

std::string host_value(const json& host, const std::string& key) {
  auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  if (auto it = host.find(key); it != host.end() && !it->is_null()) return text(*it);
  if (auto vars = host.find("vars"); vars != host.end() && vars->is_object()) {
    if (auto it = vars->find(key); it != vars->end() && !it->is_null()) return text(*it);
  }
  return "";
}

Result<Waves> plan_waves(const std::vector<json>& hosts, const WaveRules& rules) {
  // Groups in order: one per key value, or all devices in one.
  std::map<std::string, std::vector<std::string>, bool (*)(const std::string&, const std::string&)>
      groups(natural_less);
  for (const auto& host : hosts)
    groups[rules.wave_by.empty() ? "" : host_value(host, rules.wave_by)].push_back(
        host.value("name", ""));
  for (auto& [key, names] : groups)
    std::sort(names.begin(), names.end(), natural_less);
  Waves waves;
  if (groups.empty()) return waves;
  const auto total = hosts.size();
  auto& first = groups.begin()->second;
  const auto canary = std::min(rules.canary, first.size());
  if (canary > 0) {
    waves.emplace_back(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(canary));
    first.erase(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(canary));
  }
  if (!rules.wave_by.empty()) {
    for (auto& [key, names] : groups)
      if (!names.empty()) waves.push_back(std::move(names));
    return waves;
  }
  std::vector<std::size_t> sizes;
  for (const auto& size : rules.sizes) {
    auto amount = parse_amount(size, "waves");
    if (!amount) return std::move(amount).error();
    auto n = amount->percent ? (amount->value * total + 99) / 100 : amount->value;
    sizes.push_back(std::max<std::size_t>(n, 1));
  }
  if (sizes.empty()) sizes.push_back(std::max<std::size_t>(first.size(), 1));
  std::size_t next = 0;
  for (std::size_t i = 0; next < first.size(); ++i) {
    const auto n = std::min(sizes[std::min(i, sizes.size() - 1)], first.size() - next);
    waves.emplace_back(first.begin() + static_cast<std::ptrdiff_t>(next),
                       first.begin() + static_cast<std::ptrdiff_t>(next + n));
    next += n;
  }
  return waves;
}

Result<std::size_t> tolerated_failures(const std::string& max_fail, std::size_t devices) {
  auto amount = parse_amount(max_fail.empty() ? "0" : max_fail, "max_fail");
  if (!amount) return std::move(amount).error();
  return amount->percent ? amount->value * devices / 100 : amount->value;
}

}  // namespace nauto::configs
