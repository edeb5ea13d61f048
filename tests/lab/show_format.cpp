#include "show_format.h"

#include <chrono>
#include <ctime>
#include <vector>

namespace nauto::lab {

std::string format(const char* pattern, ...) {
  va_list args;
  va_start(args, pattern);
  char small[512];
  va_list copy;
  va_copy(copy, args);
  int size = std::vsnprintf(small, sizeof small, pattern, copy);
  va_end(copy);
  std::string out;
  if (size < static_cast<int>(sizeof small)) {
    out.assign(small, static_cast<size_t>(std::max(size, 0)));
  } else {
    out.resize(static_cast<size_t>(size) + 1);
    std::vsnprintf(out.data(), out.size(), pattern, args);
    out.resize(static_cast<size_t>(size));
  }
  va_end(args);
  return out;
}

std::string cisco_age(int64_t s) {
  if (s < 86400)
    return format("%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  if (s < 7 * 86400)
    return format("%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s / 3600 % 24));
  if (s < 365 * 86400)
    return format("%lldw%lldd", static_cast<long long>(s / (7 * 86400)),
                  static_cast<long long>(s / 86400 % 7));
  return format("%lldy%lldw", static_cast<long long>(s / (365 * 86400)),
                static_cast<long long>(s % (365 * 86400) / (7 * 86400)));
}

namespace {
std::vector<std::string> uptime_parts(int64_t s) {
  struct Unit {
    int64_t seconds;
    const char* name;
  };
  const Unit units[] = {
      {365 * 86400, "year"}, {7 * 86400, "week"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}};
  std::vector<std::string> parts;
  for (const auto& unit : units) {
    int64_t count = s / unit.seconds;
    s %= unit.seconds;
    if (count == 0 && parts.empty()) continue;
    parts.push_back(std::to_string(count) + " " + unit.name + (count == 1 ? "" : "s"));
  }
  if (parts.empty()) parts.push_back("0 minutes");
  return parts;
}
}  // namespace

std::string ios_uptime(int64_t seconds) {
  std::string out;
  for (const auto& part : uptime_parts(seconds))
    out += (out.empty() ? "" : ", ") + part;
  return out;
}

std::string eos_uptime(int64_t seconds) {
  auto parts = uptime_parts(seconds);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

std::string junos_age(int64_t s) {
  if (s < 86400)
    return format("%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return format("%lldw%lldd %lld:%02lld:%02lld", static_cast<long long>(s / (7 * 86400)),
                static_cast<long long>(s / 86400 % 7), static_cast<long long>(s / 3600 % 24),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
}

std::string short_interface(const std::string& name, bool nxos) {
  struct Abbreviation {
    const char* full;
    const char* brief;
  };
  const Abbreviation table[] = {{"GigabitEthernet", "Gi"}, {"TenGigabitEthernet", "Te"},
                                {"Ethernet", nullptr},     {"Loopback", "Lo"},
                                {"loopback", "Lo"},        {"Management", "Ma"},
                                {"Port-channel", "Po"},    {"Port-Channel", "Po"},
                                {"port-channel", "Po"},    {"Vlan", "Vl"}};
  for (const auto& entry : table) {
    std::string full = entry.full;
    if (name.compare(0, full.size(), full) == 0) {
      std::string brief = entry.brief ? entry.brief : (nxos ? "Eth" : "Et");
      return brief + name.substr(full.size());
    }
  }
  return name;
}

std::string clock_text(int64_t time_us, const char* pattern) {
  std::time_t seconds = static_cast<std::time_t>(time_us / 1000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[128];
  std::strftime(buffer, sizeof buffer, pattern, &tm);
  return buffer;
}

int64_t wall_us_from_uptime(int64_t uptime_s) {
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return now - uptime_s * 1000000;
}

}  // namespace nauto::lab
