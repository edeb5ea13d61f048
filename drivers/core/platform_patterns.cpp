#include "nauto/drivers/platform_patterns.h"

#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace nauto::drivers {

const text::Regex* platform_regex(const std::string& pattern, text::Regex::Anchor anchor) {
  static std::mutex mutex;
  static std::map<std::pair<std::string, text::Regex::Anchor>, std::unique_ptr<text::Regex>>
      compiled;
  std::lock_guard lock(mutex);
  auto [it, added] = compiled.try_emplace({pattern, anchor});
  if (added) {
    if (auto regex = text::Regex::compile(pattern, anchor))
      it->second = std::make_unique<text::Regex>(std::move(*regex));
  }
  return it->second.get();
}

std::vector<const text::Regex*> platform_regexes(const std::vector<std::string>& patterns) {
  std::vector<const text::Regex*> compiled;
  for (const auto& pattern : patterns) {
    if (const auto* regex = platform_regex(pattern)) compiled.push_back(regex);
  }
  return compiled;
}

std::string host_prompt_pattern(std::string_view pattern) {
  std::string out;
  bool first = true;
  for (std::size_t at = 0;;) {
    const auto found = pattern.find("{host}", at);
    out.append(pattern.substr(at, found == std::string_view::npos ? found : found - at));
    if (found == std::string_view::npos) return out;
    out +=
        first ? "(?P<" + std::string(kHostGroup) + ">.+?)" : "(?P=" + std::string(kHostGroup) + ")";
    first = false;
    at = found + 6;
  }
}

}  // namespace nauto::drivers
