#include "prompt_matcher.h"

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

PromptMatcher::PromptMatcher(const PlatformDefinition& platform) : platform_(platform) {
  if (auto compiled = text::Regex::compile(platform.host_pattern, text::Regex::Anchor::Whole))
    host_regex_.emplace(std::move(*compiled));
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
  patterns_.clear();
  auto escaped = regex_escape(host);
  auto expand = [&](std::string pattern) {
    for (auto at = pattern.find("{host}"); at != std::string::npos; at = pattern.find("{host}")) {
      pattern.replace(at, 6, escaped);
    }
    return pattern;
  };
  // Config first: its prompt is the most specific (r1(config)# also ends in #).
  for (auto [mode, pattern] : {std::pair{CliMode::Config, &platform_.config_prompt},
                               std::pair{CliMode::Privileged, &platform_.privileged_prompt},
                               std::pair{CliMode::User, &platform_.user_prompt}}) {
    if (pattern->empty()) continue;
    auto source = expand(*pattern);
    if (auto compiled = text::Regex::compile(source, text::Regex::Anchor::Whole))
      patterns_.push_back({mode, source, std::move(*compiled)});
  }
}

std::optional<CliMode> PromptMatcher::match(std::string_view line) const {
  for (const auto& pattern : patterns_) {
    if (text::matches(pattern.regex, line)) return pattern.mode;
  }
  return std::nullopt;
}

std::string PromptMatcher::describe() const {
  if (patterns_.empty())
    return "host_pattern '" + platform_.host_pattern + "' (prompt not yet learned)";
  std::string out;
  for (const auto& pattern : patterns_) {
    out += (out.empty() ? "" : ", ") + std::string(mode_name(pattern.mode)) + " '" +
           pattern.source + "'";
  }
  return out;
}

}  // namespace nauto::drivers::cli
