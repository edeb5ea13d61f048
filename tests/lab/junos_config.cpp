#include "junos_config.h"

#include <algorithm>
#include <pugixml.hpp>
#include <set>

#include "indented_config.h"

namespace nauto::lab {
namespace {

// Statements followed by a key naming one element of a list.
const std::set<std::string, std::less<>> kKeyed{
    "unit",        "group",  "neighbor",  "address",     "route",  "term", "policy-statement",
    "user",        "area",   "interface", "name-server", "server", "host", "community",
    "prefix-list", "filter", "file",      "instance",    "vlan"};
// Statements holding one value.
const std::set<std::string, std::less<>> kValue{"description",   "host-name", "peer-as",
                                                "local-as",      "type",      "autonomous-system",
                                                "router-id",     "mtu",       "vlan-id",
                                                "speed",         "next-hop",  "local-address",
                                                "encapsulation", "export",    "import",
                                                "domain-name",   "time-zone", "metric",
                                                "preference",    "class",     "encrypted-password",
                                                "full-name",     "uid",       "port",
                                                "location",      "contact",   "then",
                                                "family-type",   "hold-time"};
// Top-level statements a Junos device accepts.
const std::set<std::string, std::less<>> kTopLevel{"system",
                                                   "interfaces",
                                                   "protocols",
                                                   "routing-options",
                                                   "policy-options",
                                                   "firewall",
                                                   "snmp",
                                                   "vlans",
                                                   "security",
                                                   "chassis",
                                                   "groups",
                                                   "apply-groups",
                                                   "event-options",
                                                   "forwarding-options",
                                                   "class-of-service",
                                                   "routing-instances",
                                                   "services"};

bool needs_quotes(std::string_view value) {
  return value.empty() || value.find_first_of(" \t;{}\"#") != std::string_view::npos;
}

std::string quoted(std::string_view value) {
  return needs_quotes(value) ? "\"" + std::string(value) + "\"" : std::string(value);
}

std::vector<JunosNode>::iterator find_same(std::vector<JunosNode>& nodes, const JunosNode& probe) {
  return std::find_if(nodes.begin(), nodes.end(),
                      [&](const JunosNode& n) { return n.same_statement(probe); });
}

void merge_chain(std::vector<JunosNode>& level, std::vector<JunosNode>::const_iterator first,
                 std::vector<JunosNode>::const_iterator last) {
  if (first == last) return;
  auto it = find_same(level, *first);
  if (it == level.end()) {
    level.push_back(*first);
    it = level.end() - 1;
  } else if (first->kind == JunosNode::Kind::Value) {
    it->value = first->value;
  }
  merge_chain(it->children, first + 1, last);
}

void render_node(const JunosNode& node, int depth, std::string& out) {
  out.append(static_cast<size_t>(depth * 4), ' ');
  switch (node.kind) {
    case JunosNode::Kind::Value:
      out += node.name + " " + quoted(node.value) + ";\n";
      return;
    case JunosNode::Kind::Keyed:
      out += node.name + " " + quoted(node.value);
      break;
    case JunosNode::Kind::Container:
      out += node.name;
      break;
  }
  if (node.children.empty()) {
    out += ";\n";
    return;
  }
  out += " {\n";
  for (const auto& child : node.children)
    render_node(child, depth + 1, out);
  out.append(static_cast<size_t>(depth * 4), ' ');
  out += "}\n";
}

void render_set_lines(const std::vector<JunosNode>& nodes, const std::string& prefix,
                      std::string& out) {
  for (const auto& node : nodes) {
    std::string here = prefix + " " + node.name;
    if (node.kind != JunosNode::Kind::Container) here += " " + quoted(node.value);
    if (node.children.empty()) {
      out += here + "\n";
    } else {
      render_set_lines(node.children, here, out);
    }
  }
}

void render_xml_nodes(const std::vector<JunosNode>& nodes, pugi::xml_node parent,
                      bool named_children) {
  for (const auto& node : nodes) {
    if (named_children && node.kind == JunosNode::Kind::Container) {
      // Children of `interfaces` are interface elements keyed by <name>.
      auto element =
          parent.append_child(std::string(parent.name()) == "vlans" ? "vlan" : "interface");
      element.append_child("name").text().set(node.name.c_str());
      render_xml_nodes(node.children, element, false);
      continue;
    }
    auto element = parent.append_child(node.name.c_str());
    if (node.kind == JunosNode::Kind::Value) {
      element.text().set(node.value.c_str());
    } else {
      if (node.kind == JunosNode::Kind::Keyed) {
        element.append_child("name").text().set(node.value.c_str());
      }
      render_xml_nodes(node.children, element, node.name == "interfaces" || node.name == "vlans");
    }
  }
}

Result<void> merge_xml_children(const pugi::xml_node& element, std::vector<JunosNode>& level,
                                bool named_children) {
  for (auto child : element.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string tag = child.name();
    std::string operation = child.attribute("operation").as_string();
    if (std::string(child.attribute("delete").as_string()) == "delete") operation = "delete";
    if (std::string(child.attribute("replace").as_string()) == "replace") operation = "replace";
    auto name_element = child.child("name");
    bool has_elements = false;
    for (auto grandchild : child.children()) {
      if (grandchild.type() == pugi::node_element && std::string(grandchild.name()) != "name") {
        has_elements = true;
      }
    }
    JunosNode node;
    if (named_children && name_element) {
      node.kind = JunosNode::Kind::Container;
      node.name = name_element.text().as_string();
    } else if (name_element) {
      node.kind = JunosNode::Kind::Keyed;
      node.name = tag;
      node.value = name_element.text().as_string();
    } else if (!has_elements && !std::string(child.text().as_string()).empty()) {
      node.kind = JunosNode::Kind::Value;
      node.name = tag;
      node.value = child.text().as_string();
    } else {
      node.name = tag;
    }
    if (node.name.empty()) {
      return fail(Errc::InvalidArgument, "element <" + tag + "> has an empty <name>");
    }
    auto it = find_same(level, node);
    if (operation == "delete" || operation == "remove") {
      if (it == level.end()) {
        if (operation == "delete") {
          return fail(Errc::NotFound, "statement not found: " + junos_label(node));
        }
        continue;
      }
      level.erase(it);
      continue;
    }
    if (operation == "create" && it != level.end()) {
      return fail(Errc::InvalidArgument, "statement already exists: " + junos_label(node));
    }
    if (it == level.end()) {
      level.push_back(node);
      it = level.end() - 1;
    } else if (operation == "replace") {
      *it = node;
    } else if (node.kind == JunosNode::Kind::Value) {
      it->value = node.value;
    }
    if (node.kind != JunosNode::Kind::Value) {
      auto result = merge_xml_children(child, it->children, tag == "interfaces" || tag == "vlans");
      if (!result) return result;
    }
  }
  return ok();
}

void compare_level(const std::vector<JunosNode>& before, const std::vector<JunosNode>& after,
                   const std::string& path, std::string& out) {
  std::string lines;
  auto emit = [&](char sign, const JunosNode& node) {
    std::string text;
    render_node(node, 0, text);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      lines += sign;
      lines += "   ";
      lines += text.substr(pos, end - pos);
      lines += '\n';
      pos = end + 1;
    }
  };
  for (const auto& node : before) {
    auto it = std::find_if(after.begin(), after.end(),
                           [&](const JunosNode& n) { return n.same_statement(node); });
    if (it == after.end()) emit('-', node);
  }
  for (const auto& node : after) {
    auto it = std::find_if(before.begin(), before.end(),
                           [&](const JunosNode& n) { return n.same_statement(node); });
    if (it == before.end()) {
      emit('+', node);
    } else if (node.kind == JunosNode::Kind::Value && it->value != node.value) {
      emit('-', *it);
      emit('+', node);
    }
  }
  if (!lines.empty()) out += "[edit" + path + "]\n" + lines;
  for (const auto& node : after) {
    auto it = std::find_if(before.begin(), before.end(),
                           [&](const JunosNode& n) { return n.same_statement(node); });
    if (it != before.end() && node.kind != JunosNode::Kind::Value && !(*it == node)) {
      compare_level(it->children, node.children, path + " " + junos_label(node), out);
    }
  }
}

}  // namespace

bool JunosNode::same_statement(const JunosNode& other) const {
  if (kind != other.kind || name != other.name) return false;
  return kind != Kind::Keyed || value == other.value;
}

std::string junos_label(const JunosNode& node) {
  return node.kind == JunosNode::Kind::Container ? node.name : node.name + " " + quoted(node.value);
}

std::vector<std::string> junos_words(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    if (i >= line.size()) break;
    std::string word;
    if (line[i] == '"') {
      ++i;
      while (i < line.size() && line[i] != '"')
        word += line[i++];
      if (i < line.size()) ++i;
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t')
        word += line[i++];
    }
    words.push_back(std::move(word));
  }
  return words;
}

Result<std::vector<JunosNode>> JunosConfig::to_chain(const std::vector<std::string>& words) const {
  std::vector<JunosNode> chain;
  for (size_t i = 0; i < words.size(); ++i) {
    JunosNode node;
    node.name = words[i];
    bool keyed = kKeyed.contains(words[i]);
    bool value = kValue.contains(words[i]);
    // `interface` and `vlan` are keyed only inside protocols; under `interfaces` the
    // element name itself is the statement.
    if (!chain.empty() && (chain.back().name == "interfaces" || chain.back().name == "vlans")) {
      keyed = value = false;
    }
    if (keyed || value) {
      if (i + 1 >= words.size()) {
        return fail(Errc::InvalidArgument, "missing argument after '" + words[i] + "'");
      }
      node.kind = keyed ? JunosNode::Kind::Keyed : JunosNode::Kind::Value;
      node.value = words[++i];
      if (value) {
        // A value statement ends the path; anything after it is one value with spaces.
        for (++i; i < words.size(); ++i)
          node.value += " " + words[i];
      }
    }
    chain.push_back(std::move(node));
  }
  return chain;
}

Result<void> JunosConfig::set(const std::vector<std::string>& edit_path,
                              const std::vector<std::string>& words) {
  std::vector<std::string> all = edit_path;
  all.insert(all.end(), words.begin(), words.end());
  if (all.empty()) return fail(Errc::InvalidArgument, "missing statement");
  if (!kTopLevel.contains(all.front())) {
    return fail(Errc::InvalidArgument, "syntax error.", all.front());
  }
  auto chain = to_chain(all);
  if (!chain) return chain.error();
  merge_chain(top_, chain->cbegin(), chain->cend());
  return ok();
}

Result<void> JunosConfig::erase(const std::vector<std::string>& edit_path,
                                const std::vector<std::string>& words) {
  std::vector<std::string> all = edit_path;
  all.insert(all.end(), words.begin(), words.end());
  if (all.empty()) {
    top_.clear();
    return ok();
  }
  auto chain = to_chain(all);
  if (!chain) return chain.error();
  std::vector<JunosNode>* level = &top_;
  for (size_t i = 0; i < chain->size(); ++i) {
    auto probe = (*chain)[i];
    auto it = find_same(*level, probe);
    if (it == level->end()) return fail(Errc::NotFound, "statement not found");
    if (i + 1 == chain->size()) {
      level->erase(it);
      return ok();
    }
    level = &it->children;
  }
  return ok();
}

const JunosNode* JunosConfig::find(const std::vector<std::string>& labels) const {
  const std::vector<JunosNode>* level = &top_;
  const JunosNode* found = nullptr;
  for (const auto& label : labels) {
    auto it = std::find_if(level->begin(), level->end(),
                           [&](const JunosNode& n) { return junos_label(n) == label; });
    if (it == level->end()) return nullptr;
    found = &*it;
    level = &it->children;
  }
  return found;
}

std::string JunosConfig::value_at(const std::vector<std::string>& labels,
                                  std::string_view name) const {
  const std::vector<JunosNode>* level = &top_;
  if (!labels.empty()) {
    const auto* node = find(labels);
    if (node == nullptr) return {};
    level = &node->children;
  }
  for (const auto& node : *level) {
    if (node.kind == JunosNode::Kind::Value && node.name == name) return node.value;
  }
  return {};
}

std::string JunosConfig::render_text(const std::vector<std::string>& path) const {
  std::string out;
  const std::vector<JunosNode>* level = &top_;
  if (!path.empty()) {
    const auto* node = find(path);
    if (node == nullptr) return out;
    level = &node->children;
  }
  for (const auto& node : *level)
    render_node(node, 0, out);
  return out;
}

std::string JunosConfig::render_set() const {
  std::string out;
  render_set_lines(top_, "set", out);
  return out;
}

void JunosConfig::render_xml(pugi::xml_node parent) const {
  render_xml_nodes(top_, parent, false);
}

Result<void> JunosConfig::merge_xml(const pugi::xml_node& configuration, bool replace_all) {
  std::vector<JunosNode> next = replace_all ? std::vector<JunosNode>{} : top_;
  auto result = merge_xml_children(configuration, next, false);
  if (!result) return result;
  top_ = std::move(next);
  return ok();
}

std::string JunosConfig::compare_to(const JunosConfig& before) const {
  std::string out;
  compare_level(before.top_, top_, "", out);
  return out;
}

JunosConfig JunosConfig::parse_set_lines(std::string_view text) {
  JunosConfig config;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto words = junos_words(text.substr(pos, end - pos));
    pos = end + 1;
    if (words.size() < 2 || words[0] != "set") continue;
    words.erase(words.begin());
    (void)config.set({}, words);
  }
  return config;
}

}  // namespace nauto::lab
