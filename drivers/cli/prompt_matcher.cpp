#include "prompt_matcher.h"

#include "nauto/drivers/platform_patterns.h"

namespace nauto::drivers::cli {

std::string_view mode_name(CliMode mode) {
  switch (mode) {
    case CliMode::User:
      return "user";
    case CliMode::Privileged:
      return "privileged";
    case CliMode::Config:
      return "config";
  }
  return "unknown";
}

std::string regex_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

PromptMatcher::PromptMatcher(const PlatformDefinition& platform)
    : platform_(platform),
      host_regex_(platform_regex(platform.host_pattern, text::Regex::Anchor::Whole)) {
  // Config first: its prompt is the most specific (r1(config)# also ends in #).
  for (auto [mode, pattern] : {std::pair{CliMode::Config, &platform_.config_prompt},
                               std::pair{CliMode::Privileged, &platform_.privileged_prompt},
                               std::pair{CliMode::User, &platform_.user_prompt}}) {
    if (pattern->empty()) continue;
    const auto* regex = platform_regex(host_prompt_pattern(*pattern), text::Regex::Anchor::Whole);
    if (!regex) continue;
    std::uint32_t group = 0;
    for (const auto& [name, number] : regex->named_groups())
      if (name == kHostGroup) group = number;
    patterns_.push_back({mode, pattern, regex, group});
  }
}

std::optional<std::string> PromptMatcher::learn(std::string_view line) {
  if (!host_regex_) return std::nullopt;
  auto groups = text::match_groups(*host_regex_, line);
  if (!groups || groups->size() < 2) return std::nullopt;
  set_host((*groups)[1]);
  return host_;
}

void PromptMatcher::set_host(const std::string& host) {
  host_ = host;
}

std::optional<CliMode> PromptMatcher::match(std::string_view line) const {
  if (host_.empty()) return std::nullopt;
  for (const auto& pattern : patterns_) {
    auto groups = text::match_groups(*pattern.regex, line);
    if (groups && (pattern.host_group == 0 || (*groups)[pattern.host_group] == host_))
      return pattern.mode;
  }
  return std::nullopt;
}

std::string PromptMatcher::describe() const {
  if (host_.empty())
    return "host_pattern '" + platform_.host_pattern + "' (prompt not yet learned)";
  std::string out;
  for (const auto& pattern : patterns_) {
    std::string source = *pattern.source;
    for (auto at = source.find("{host}"); at != std::string::npos; at = source.find("{host}"))
      source.replace(at, 6, regex_escape(host_));
    out += (out.empty() ? "" : ", ") + std::string(mode_name(pattern.mode)) + " '" + source + "'";
  }
  return out;
}

}  // namespace nauto::drivers::cli
