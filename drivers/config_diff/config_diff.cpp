#include "nauto/drivers/config_diff.h"

#include <algorithm>
#include <unordered_map>

#include "nauto/drivers/platform_patterns.h"

namespace nauto::drivers {
namespace {

std::size_t indent_of(std::string_view line) {
  return line.find_first_not_of(' ');
}

std::string trimmed(std::string_view line) {
  auto begin = line.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  auto end = line.find_last_not_of(" \t\r");
  return std::string(line.substr(begin, end - begin + 1));
}

const ConfigLine* find_line(const ConfigTree& tree, const std::string& text) {
  for (const auto& line : tree) {
    if (line.text == text) return &line;
  }
  return nullptr;
}

void render_into(const ConfigTree& tree, int depth, std::string& out) {
  for (const auto& line : tree) {
    out.append(static_cast<std::size_t>(depth), ' ');
    out += line.text + "\n";
    render_into(line.children, depth + 1, out);
  }
}

void add_all(const ConfigLine& line, int depth, std::vector<std::string>& out) {
  out.push_back(std::string(static_cast<std::size_t>(depth), ' ') + line.text);
  for (const auto& child : line.children)
    add_all(child, depth + 1, out);
  if (!line.children.empty())
    out.push_back(std::string(static_cast<std::size_t>(depth + 1), ' ') + "exit");
}

void mark_all(char mark, const ConfigLine& line, int depth, std::string& out) {
  out.push_back(mark);
  out.push_back(' ');
  out.append(static_cast<std::size_t>(depth), ' ');
  out += line.text + "\n";
  for (const auto& child : line.children)
    mark_all(mark, child, depth + 1, out);
}

// A level's lines by text (the first of equal ones), so a flat config of thousands of lines
// (Junos set commands) is compared in linear time.
std::unordered_map<std::string_view, const ConfigLine*> index_of(const ConfigTree& tree) {
  std::unordered_map<std::string_view, const ConfigLine*> index;
  index.reserve(tree.size());
  for (const auto& line : tree)
    index.emplace(line.text, &line);
  return index;
}

void describe_level(const ConfigTree& before, const ConfigTree& after, int depth,
                    std::string& out) {
  const auto before_index = index_of(before);
  const auto after_index = index_of(after);
  for (const auto& line : before) {
    if (!after_index.contains(line.text)) mark_all('-', line, depth, out);
  }
  for (const auto& line : after) {
    const auto existing = before_index.find(line.text);
    if (existing == before_index.end()) {
      mark_all('+', line, depth, out);
      continue;
    }
    std::string inner;
    describe_level(existing->second->children, line.children, depth + 1, inner);
    if (inner.empty()) continue;
    out += "  ";
    out.append(static_cast<std::size_t>(depth), ' ');
    out += line.text + "\n" + inner;
  }
}

}  // namespace

std::string ConfigDiff::hierarchical(const ConfigTree& before, const ConfigTree& after) {
  std::string out;
  describe_level(before, after, 0, out);
  return out;
}

ConfigDiff::ConfigDiff(const std::vector<std::string>& ignore,
                       const std::vector<std::string>& replace_keys) {
  ignore_ = platform_regexes(ignore);
  replace_keys_ = platform_regexes(replace_keys);
}

ConfigTree ConfigDiff::parse(std::string_view text) const {
  ConfigTree root;
  // The open sections, each with the indentation of its header line.
  std::vector<std::pair<std::size_t, ConfigTree*>> stack{{0, &root}};
  std::vector<std::size_t> header_indent;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    auto line = trimmed(raw);
    if (line.empty() || line == "!" || line == "end" || line == "exit") continue;
    bool ignored = false;
    for (const auto& pattern : ignore_) {
      if (text::matches(*pattern, line)) {
        ignored = true;
        break;
      }
    }
    if (ignored) continue;
    auto indent = indent_of(raw);
    while (header_indent.size() && indent <= header_indent.back()) {
      header_indent.pop_back();
      stack.pop_back();
    }
    auto& level = *stack.back().second;
    level.push_back(ConfigLine{line, {}});
    header_indent.push_back(indent);
    stack.push_back({indent, &level.back().children});
  }
  return root;
}

std::string ConfigDiff::render(const ConfigTree& tree) {
  std::string out;
  render_into(tree, 0, out);
  return out;
}

std::string ConfigDiff::normalize(std::string_view text) const {
  return render(parse(text));
}

std::string ConfigDiff::key_of(const std::string& line) const {
  for (const auto& pattern : replace_keys_) {
    if (auto groups = text::match_groups(*pattern, line))
      return groups->size() > 1 && !(*groups)[1].empty() ? (*groups)[1] : (*groups)[0];
  }
  return {};
}

std::vector<std::string> ConfigDiff::commands(const ConfigTree& current,
                                              const ConfigTree& intended) const {
  std::vector<std::string> out;
  diff_level(current, intended, 0, out);
  return out;
}

void ConfigDiff::diff_level(const ConfigTree& current, const ConfigTree& intended, int depth,
                            std::vector<std::string>& out) const {
  const std::string pad(static_cast<std::size_t>(depth), ' ');
  std::vector<std::string> replaced_keys;
  for (const auto& line : intended) {
    if (find_line(current, line.text)) continue;
    if (auto key = key_of(line.text); !key.empty()) replaced_keys.push_back(key);
  }
  // Removals first: a stale line may conflict with its replacement (two addresses, say). In
  // reverse order: later lines often depend on earlier ones (a neighbour's description on its
  // remote-as), and removing the earlier one first would take the later with it.
  for (auto it = current.rbegin(); it != current.rend(); ++it) {
    const auto& line = *it;
    if (find_line(intended, line.text)) continue;
    if (line.text.rfind("no ", 0) == 0) continue;  // a negated default goes away by adding
    auto key = key_of(line.text);
    if (!key.empty() &&
        std::find(replaced_keys.begin(), replaced_keys.end(), key) != replaced_keys.end()) {
      continue;  // the intended line with this key overwrites it
    }
    out.push_back(pad + "no " + line.text);
  }
  for (const auto& line : intended) {
    const ConfigLine* existing = find_line(current, line.text);
    if (!existing) {
      add_all(line, depth, out);
      continue;
    }
    std::vector<std::string> inner;
    diff_level(existing->children, line.children, depth + 1, inner);
    if (inner.empty()) continue;
    out.push_back(pad + line.text);
    out.insert(out.end(), inner.begin(), inner.end());
    out.push_back(pad + " exit");
  }
}

ConfigTree ConfigDiff::merge(const ConfigTree& current, const ConfigTree& change) const {
  ConfigTree result = current;
  merge_level(result, change);
  return result;
}

void ConfigDiff::merge_level(ConfigTree& into, const ConfigTree& change) const {
  for (const auto& line : change) {
    if (line.text.rfind("no ", 0) == 0) {
      // `no X` removes X itself, or the line X stands for (`no description` drops `description
      // foo`).
      std::string target = line.text.substr(3);
      std::erase_if(into, [&](const ConfigLine& existing) {
        return existing.text == target || existing.text.rfind(target + " ", 0) == 0;
      });
      continue;
    }
    auto existing = std::find_if(into.begin(), into.end(),
                                 [&](const ConfigLine& l) { return l.text == line.text; });
    if (existing != into.end()) {
      merge_level(existing->children, line.children);
      continue;
    }
    auto key = key_of(line.text);
    if (!key.empty()) {
      auto same_key = std::find_if(into.begin(), into.end(),
                                   [&](const ConfigLine& l) { return key_of(l.text) == key; });
      if (same_key != into.end()) {
        same_key->text = line.text;
        merge_level(same_key->children, line.children);
        continue;
      }
    }
    into.push_back(line);
  }
}

}  // namespace nauto::drivers
