#include "nauto/sdk/yaml_fields.h"

namespace nauto {

void YamlFields::problem(const YAML::Node& node, const std::string& what) {
  problems_.push_back(file_ + ":" + std::to_string(node.Mark().line + 1) + ": " + what);
}

std::string YamlFields::text(const YAML::Node& item, const char* key) {
  const auto node = item[key];
  if (!node) return {};
  if (!node.IsScalar()) {
    problem(node, std::string(key) + ": expected text");
    return {};
  }
  return node.Scalar();
}

bool YamlFields::flag(const YAML::Node& item, const char* key) {
  if (!item[key]) return false;
  const auto value = text(item, key);
  if (value == "true" || value == "false") return value == "true";
  problem(item[key], std::string(key) + ": expected true or false");
  return false;
}

}  // namespace nauto
