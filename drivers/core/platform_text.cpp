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
  const auto patterns = platform_regexes(platform.volatile_lines);
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

namespace {

// Each group that took part, as [begin, end) offsets into `line`, in order and not overlapping.
std::vector<std::pair<std::size_t, std::size_t>> secret_spans(text::Matcher& matcher,
                                                              const text::Regex& pattern,
                                                              std::string_view line) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  auto matched = matcher.match(pattern, line, text::Matcher::Subject::ValidUtf8);
  if (!matched || !*matched) return spans;
  for (std::uint32_t g = 1; g <= pattern.capture_count(); ++g) {
    auto group = matcher.group(g);
    if (!group || group->empty()) continue;
    const auto begin = static_cast<std::size_t>(group->data() - line.data());
    if (!spans.empty() && begin < spans.back().second) continue;
    spans.emplace_back(begin, begin + group->size());
  }
  return spans;
}

}  // namespace

std::string redact_secrets(const std::string& text, const PlatformDefinition& platform,
                           std::size_t* replaced) {
  if (replaced) *replaced = 0;
  if (platform.secret_patterns.empty()) return text;
  const auto patterns = platform_regexes(platform.secret_patterns);
  // A config that is not UTF-8 is matched as repaired, so an offset always points into `source`.
  const std::string source = text::is_valid_utf8(text) ? text : text::to_valid_utf8(text);
  thread_local text::Matcher matcher;
  std::string out;
  out.reserve(source.size());
  std::size_t start = 0;
  while (start < source.size()) {
    auto end = source.find('\n', start);
    if (end == std::string::npos) end = source.size();
    std::string line(source.data() + start, end - start);
    // Every pattern sees the line as the ones before it left it, so two patterns that each
    // find one secret of a line both apply.
    for (const auto* pattern : patterns) {
      const auto spans = secret_spans(matcher, *pattern, line);
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (std::string_view(line).substr(it->first, it->second - it->first) == kRedacted) continue;
        line.replace(it->first, it->second - it->first, kRedacted);
        if (replaced) ++*replaced;
      }
    }
    out.append(line);
    if (end < source.size()) out.push_back('\n');
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
