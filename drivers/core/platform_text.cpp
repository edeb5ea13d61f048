#include "nauto/drivers/driver.h"
#include "nauto/drivers/platform.h"
#include "nauto/drivers/platform_patterns.h"
#include "nauto/text/regex.h"

namespace nauto::drivers {

Timeouts effective_timeouts(const DeviceTarget& target, const PlatformDefinition& platform) {
  return target.timeouts ? *target.timeouts : platform.timeouts;
}

std::string drop_volatile_lines(const std::string& text, const PlatformDefinition& platform) {
  if (platform.volatile_lines.empty()) return text;
  // Checked when the platform was loaded (platform.cpp); one that does not compile is left out.
  std::vector<const text::Regex*> patterns;
  for (const auto& pattern : platform.volatile_lines) {
    if (const auto* compiled = platform_regex(pattern)) patterns.push_back(compiled);
  }
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    bool drop = false;
    for (const auto* pattern : patterns) {
      if (text::matches(*pattern, line)) {
        drop = true;
        break;
      }
    }
    if (!drop) {
      out.append(line);
      out.push_back('\n');
    }
    start = end + 1;
  }
  return out;
}

void extract_facts(const std::string& output, const PlatformDefinition& platform, Facts& facts) {
  facts.vendor = platform.vendor;
  for (const auto& [field, pattern] : platform.facts_patterns) {
    // ^ and $ match at each line of the output.
    const auto* compiled = platform_regex("(?m)" + pattern);
    if (!compiled) continue;
    auto match = text::match_groups(*compiled, output);
    if (!match) continue;
    std::string value = match->size() > 1 ? (*match)[1] : (*match)[0];
    while (!value.empty() && (value.back() == '\r' || value.back() == ' '))
      value.pop_back();
    if (field == "hostname") facts.hostname = value;
    if (field == "model") facts.model = value;
    if (field == "os_version") facts.os_version = value;
    if (field == "serial") facts.serial = value;
    if (field == "uptime") facts.uptime = value;
  }
}

}  // namespace nauto::drivers
