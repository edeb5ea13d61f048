#include "nauto/sdk/yaml_json.h"

#include <charconv>
#include <cstdint>

namespace nauto {

nlohmann::json yaml_to_json(const YAML::Node& node) {
  using nlohmann::json;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node)
        out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      // A key that is itself a map or a list (legal YAML, never meant) becomes its YAML text.
      for (const auto& kv : node)
        out[kv.first.IsScalar() ? kv.first.Scalar() : YAML::Dump(kv.first)] =
            yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const auto& text = node.Scalar();
      if (node.Tag() == "!") return text;  // quoted
      if (text == "true" || text == "false") return text == "true";
      if (text == "~" || text == "null") return nullptr;
      std::int64_t n = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty()) return n;
      return text;
    }
  }
  return nullptr;
}

}  // namespace nauto
