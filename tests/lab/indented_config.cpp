#include "indented_config.h"

#include <algorithm>
#include <array>

namespace nauto::lab {
namespace {

bool node_equal(const ConfigNode& a, const ConfigNode& b) {
  if (a.line != b.line || a.children.size() != b.children.size()) return false;
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!node_equal(a.children[i], b.children[i])) return false;
  }
  return true;
}

void render_nodes(const std::vector<ConfigNode>& nodes, int depth, int indent, bool bang,
                  std::string& out) {
  for (const auto& node : nodes) {
    out.append(static_cast<size_t>(depth * indent), ' ');
    out += node.line;
    out += '\n';
    if (!node.children.empty()) {
      render_nodes(node.children, depth + 1, indent, bang, out);
      if (bang && depth == 0) out += "!\n";
    }
  }
}

bool starts_with_words(std::string_view line, std::string_view prefix) {
  return line == prefix || (line.size() > prefix.size() &&
                            line.substr(0, prefix.size()) == prefix && line[prefix.size()] == ' ');
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t'))
      ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t')
      ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

std::string join_words(const std::vector<std::string>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += words[i];
  }
  return out;
}

IndentedConfig IndentedConfig::parse(std::string_view text) {
  IndentedConfig config;
  // Stack of (indent, children vector) for the current chain of open sections.
  std::vector<std::pair<int, std::vector<ConfigNode>*>> stack{{-1, &config.top_}};
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == ' '))
      raw.remove_suffix(1);
    int indent = 0;
    while (static_cast<size_t>(indent) < raw.size() && raw[indent] == ' ')
      ++indent;
    std::string_view line = raw.substr(static_cast<size_t>(indent));
    if (line.empty() || line[0] == '!' || (indent == 0 && line == "end")) {
      if (end == text.size()) break;
      continue;
    }
    while (stack.size() > 1 && stack.back().first >= indent)
      stack.pop_back();
    auto* siblings = stack.back().second;
    siblings->push_back(ConfigNode{std::string(line), {}});
    stack.emplace_back(indent, &siblings->back().children);
    if (end == text.size()) break;
  }
  return config;
}

std::string IndentedConfig::render(int indent, bool bang_separators) const {
  std::string out;
  render_nodes(top_, 0, indent, bang_separators, out);
  return out;
}

const std::vector<ConfigNode>* IndentedConfig::children(const ConfigPath& path) const {
  return const_cast<IndentedConfig*>(this)->mutable_children(path);
}

const ConfigNode* IndentedConfig::find(const ConfigPath& path) const {
  if (path.empty()) return nullptr;
  ConfigPath parent(path.begin(), path.end() - 1);
  const auto* siblings = children(parent);
  if (siblings == nullptr) return nullptr;
  for (const auto& node : *siblings) {
    if (node.line == path.back()) return &node;
  }
  return nullptr;
}

std::vector<ConfigNode>* IndentedConfig::mutable_children(const ConfigPath& path) {
  std::vector<ConfigNode>* level = &top_;
  for (const auto& line : path) {
    auto it = std::find_if(level->begin(), level->end(),
                           [&](const ConfigNode& n) { return n.line == line; });
    if (it == level->end()) return nullptr;
    level = &it->children;
  }
  return level;
}

void IndentedConfig::ensure(const ConfigPath& path) {
  std::vector<ConfigNode>* level = &top_;
  for (const auto& line : path) {
    auto it = std::find_if(level->begin(), level->end(),
                           [&](const ConfigNode& n) { return n.line == line; });
    if (it == level->end()) {
      level->push_back(ConfigNode{line, {}});
      it = level->end() - 1;
    }
    level = &it->children;
  }
}

std::string IndentedConfig::key_of(std::string_view line) {
  // Settings that hold one value: a new value replaces the old. The number is how many
  // leading words name the setting; everything else is keyed by the whole line.
  struct Rule {
    std::string_view prefix;
    size_t words;
  };
  static constexpr std::array<Rule, 25> kRules{{
      {"hostname", 1},
      {"description", 1},
      {"mtu", 1},
      {"speed", 1},
      {"duplex", 1},
      {"bandwidth", 1},
      {"encapsulation", 1},
      {"switchport mode", 2},
      {"switchport access vlan", 3},
      {"bgp router-id", 2},
      {"router-id", 1},
      {"remote-as", 1},
      {"enable secret", 2},
      {"ip domain-name", 2},
      {"ip domain name", 3},
      {"name", 1},
      {"vrf member", 2},
      {"vrf forwarding", 2},
      {"channel-group", 1},
      {"ip ospf cost", 3},
      {"logging buffered", 2},
      {"clock timezone", 2},
      {"banner motd", 2},
      {"banner login", 2},
      {"transport input", 2},
  }};
  auto words = split_words(line);
  if (words.size() >= 3 && words[0] == "neighbor" &&
      (words[2] == "remote-as" || words[2] == "description" || words[2] == "update-source")) {
    return join_words({words[0], words[1], words[2]});
  }
  if (words.size() >= 2 && (words[0] == "ip" || words[0] == "ipv6") && words[1] == "address" &&
      (words.empty() || words.back() != "secondary")) {
    return words[0] + " address";
  }
  for (const auto& rule : kRules) {
    if (starts_with_words(line, rule.prefix)) {
      words.resize(std::min(words.size(), rule.words));
      return join_words(words);
    }
  }
  return std::string(line);
}

void IndentedConfig::set(const ConfigPath& path, const std::string& line) {
  ensure(path);
  auto* level = mutable_children(path);
  std::string key = key_of(line);
  for (auto& node : *level) {
    if (node.line == line) return;
    if (key != line && key_of(node.line) == key) {
      node.line = line;
      return;
    }
  }
  level->push_back(ConfigNode{line, {}});
}

int IndentedConfig::unset(const ConfigPath& path, std::string_view line) {
  auto* level = mutable_children(path);
  if (level == nullptr) return 0;
  std::string key = key_of(line);
  auto before = level->size();
  std::erase_if(*level, [&](const ConfigNode& node) {
    return starts_with_words(node.line, line) || (key != line && key_of(node.line) == key);
  });
  return static_cast<int>(before - level->size());
}

bool IndentedConfig::operator==(const IndentedConfig& other) const {
  if (top_.size() != other.top_.size()) return false;
  for (size_t i = 0; i < top_.size(); ++i) {
    if (!node_equal(top_[i], other.top_[i])) return false;
  }
  return true;
}

}  // namespace nauto::lab
