#pragma once
// A YAML node as JSON, the way nauto.yaml and module files are read: plain scalars that read as
// whole numbers, true/false or null (`~`, `null`) become those; quoted scalars stay strings, so
// `name: "0123"` keeps its zero; everything else is a string. Map keys are strings (a key that
// is a map or a list, as `{[a]: 1}`, its YAML text). Never throws.
// Thread-safe (no state).

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace nauto {

nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace nauto
