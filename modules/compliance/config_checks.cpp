#include "config_checks.h"

#include <algorithm>
#include <set>

namespace nauto::compliance {

namespace {

std::string_view trim_view(std::string_view line) {
  const auto first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = line.find_last_not_of(" \t");
  return line.substr(first, last - first + 1);
}

void keep(std::vector<std::string>& into, std::string_view line) {
  if (into.size() < kLinesKept) into.emplace_back(line);
}

RuleResult error_result(const Rule& rule, const Error& error) {
  RuleResult out;
  out.rule = rule.id;
  out.status = Status::Error;
  out.message = error.message;
  return out;
}

// Where a block of lines starts in `lines`, consecutively; npos when nowhere.
template <class Lines>
std::size_t find_block(const Lines& lines, const std::vector<std::string>& block) {
  if (block.empty() || lines.size() < block.size()) return std::string::npos;
  for (std::size_t i = 0; i + block.size() <= lines.size(); ++i) {
    std::size_t k = 0;
    while (k < block.size() && std::string_view(lines[i + k]) == block[k])
      ++k;
    if (k == block.size()) return i;
  }
  return std::string::npos;
}

// The block's lines that are nowhere in `lines`.
template <class Lines>
std::vector<std::string> absent_lines(const Lines& lines, const std::vector<std::string>& block) {
  std::set<std::string_view> present(lines.begin(), lines.end());
  std::vector<std::string> out;
  for (const auto& line : block)
    if (!present.count(line)) keep(out, line);
  return out;
}

// Every line under `node`, at any depth, in order.
void descendants(const drivers::ConfigLine& node, std::vector<std::string_view>& out) {
  for (const auto& child : node.children) {
    out.emplace_back(child.text);
    descendants(child, out);
  }
}

// Whether `regex` matches `line` of a config of this kind; a match past PCRE2's limits is none.
bool line_matches(const text::Regex& regex, std::string_view line, text::Matcher::Subject kind,
                  text::Matcher& matcher) {
  auto hit = matcher.match(regex, line, kind);
  return hit && *hit;
}

// The sections the rule applies to: every line (at any depth) whose text matches `section`,
// with a line under it matching `having` if the rule says so.
void find_sections(const Rule& rule, const drivers::ConfigTree& tree, text::Matcher::Subject kind,
                   text::Matcher& matcher, std::vector<const drivers::ConfigLine*>& out) {
  for (const auto& node : tree) {
    if (line_matches(*rule.section, node.text, kind, matcher)) {
      bool wanted = true;
      if (rule.having) {
        std::vector<std::string_view> under;
        descendants(node, under);
        wanted = std::any_of(under.begin(), under.end(), [&](std::string_view line) {
          return line_matches(*rule.having, line, kind, matcher);
        });
      }
      if (wanted) out.push_back(&node);
    }
    find_sections(rule, node.children, kind, matcher, out);
  }
}

// The lines of the whole config where the rule's pattern matches, each confirmed on its line
// alone; stops after the first when `first_only`. Returns how many there are.
Result<std::size_t> scan_lines(const Rule& rule, const ConfigView& config, text::Matcher& matcher,
                               bool first_only, std::vector<std::string>& found) {
  const std::string_view text = config.text();
  std::size_t count = 0, from = 0;
  while (from <= text.size()) {
    const auto rest = text.substr(from);
    auto hit = matcher.match(*rule.scan, rest, config.kind());
    if (!hit) return std::move(hit).error();
    if (!*hit) break;
    const auto at = from + static_cast<std::size_t>(matcher.group(0)->data() - rest.data());
    const auto newline_before = at == 0 ? std::string_view::npos : text.rfind('\n', at - 1);
    const auto start = newline_before == std::string_view::npos ? 0 : newline_before + 1;
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(start, end - start);
    auto confirmed = matcher.match(*rule.pattern, line, config.kind());
    if (!confirmed) return std::move(confirmed).error();
    if (*confirmed) {
      ++count;
      keep(found, line);
      if (first_only) break;
    }
    from = end + 1;
  }
  return count;
}

RuleResult check_whole(const Rule& rule, const ConfigView& config, text::Matcher& matcher) {
  RuleResult out;
  out.rule = rule.id;
  if (rule.kind == CheckKind::MustContainLines) {
    if (find_block(config.trimmed(), rule.block) != std::string::npos) return out;
    out.status = Status::Fail;
    out.missing = absent_lines(config.trimmed(), rule.block);
    out.message = out.missing.empty() ? "the lines are in the config, but not as this block"
                                      : "lines missing from the config";
    return out;
  }
  const bool must = rule.kind == CheckKind::MustMatch;
  auto count = scan_lines(rule, config, matcher, must && rule.at_least == 1, out.lines);
  if (!count) return error_result(rule, count.error());
  if (must && *count < static_cast<std::size_t>(rule.at_least)) {
    out.status = Status::Fail;
    out.missing.push_back(rule.pattern_text);
    out.message = *count == 0 ? "no line matches"
                              : std::to_string(*count) + " lines match, " +
                                    std::to_string(rule.at_least) + " must";
  } else if (!must && *count > 0) {
    out.status = Status::Fail;
    out.message = std::to_string(*count) + (*count == 1 ? " line matches" : " lines match");
  }
  if (must) out.lines.clear();  // a pass needs no evidence
  return out;
}

RuleResult check_sections(const Rule& rule, const ConfigView& config, text::Matcher& matcher) {
  RuleResult out;
  out.rule = rule.id;
  std::vector<const drivers::ConfigLine*> sections;
  find_sections(rule, config.tree(), config.kind(), matcher, sections);
  std::size_t failing = 0;
  std::set<std::string> missing;
  for (const auto* section : sections) {
    std::vector<std::string_view> under;
    descendants(*section, under);
    bool fails = false;
    if (rule.kind == CheckKind::MustContainLines) {
      if (find_block(under, rule.block) == std::string::npos) {
        fails = true;
        for (auto& line : absent_lines(under, rule.block))
          missing.insert(std::move(line));
      }
    } else {
      int hits = 0;
      for (const auto line : under) {
        auto hit = matcher.match(*rule.pattern, line, config.kind());
        if (!hit) return error_result(rule, hit.error());
        if (!*hit) continue;
        ++hits;
        if (rule.kind == CheckKind::MustNotMatch)
          keep(out.lines, section->text + " > " + std::string(line));
      }
      fails = rule.kind == CheckKind::MustMatch ? hits < rule.at_least : hits > 0;
    }
    if (!fails) continue;
    ++failing;
    if (rule.kind != CheckKind::MustNotMatch) keep(out.lines, section->text);
  }
  if (sections.empty() && rule.section_required) {
    out.status = Status::Fail;
    out.message = "no section matches '" + rule.section->pattern() + "'";
    out.missing.push_back(rule.section->pattern());
    return out;
  }
  if (failing == 0) return out;
  out.status = Status::Fail;
  if (rule.kind == CheckKind::MustMatch) out.missing.push_back(rule.pattern_text);
  for (const auto& line : missing)
    keep(out.missing, line);
  out.message = std::to_string(failing) + " of " + std::to_string(sections.size()) +
                (sections.size() == 1 ? " section fails" : " sections fail");
  return out;
}

}  // namespace

ConfigView::ConfigView(std::string text, const drivers::ConfigDiff& parser) {
  text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
  if (text::is_ascii(text)) {
    kind_ = text::Matcher::Subject::Ascii;
  } else {
    if (!text::is_valid_utf8(text)) text = text::to_valid_utf8(text);
    kind_ = text::Matcher::Subject::ValidUtf8;
  }
  text_ = std::move(text);
  std::string_view rest = text_;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    const auto line = rest.substr(0, end);
    lines_.push_back(line);
    trimmed_.push_back(trim_view(line));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  tree_ = parser.parse(text_);
}

RuleResult check_config(const Rule& rule, const ConfigView& config, text::Matcher& matcher) {
  return rule.section ? check_sections(rule, config, matcher) : check_whole(rule, config, matcher);
}

}  // namespace nauto::compliance
