#pragma once
// Condition: the `when:` part of a rule — a tree of field tests over an event body.
//
//   when:
//     fields.reason: admin                 # equals (a scalar), or in (a list)
//     severity: {lte: 5}                   # gt gte lt lte: numbers (numeric strings count)
//     fields.interface: {regex: "^Gi"}     # PCRE2 search, Python syntax
//     hostname: {exists: true}
//     any: [{device: r1}, {device: {regex: "^edge"}}]
//     not: {fields.interface: Loopback0}
//
// A field path is dotted into the body (`fields.interface`); `topic` is the event's topic.
// Keys of one map must all hold (and). Built once from YAML; evaluate() is const.

#include <yaml-cpp/yaml.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"

namespace nauto::textfsm {
class Regex;
}

namespace nauto::rules {

class EventFields;

/// Looks a dotted path up in an event: `topic` and `id` from the envelope, the rest from the body.
const nlohmann::json* field_of(const nlohmann::json& event, const std::string& path);

class Condition {
 public:
  /// Parses a `when:` map. Errors: "line N: when.severity: ..." so the file's author finds it.
  static Result<Condition> parse(const YAML::Node& node, const std::string& where);
  Condition();
  Condition(Condition&&) noexcept;
  Condition& operator=(Condition&&) noexcept;
  ~Condition();

  bool evaluate(const EventFields& event) const;
  /// `event` is {topic, id, body...} (the body's keys at the top level, plus topic and id).
  bool evaluate(const nlohmann::json& event) const;
  /// Like evaluate(), and says why: one line per test, "fields.reason == admin: yes".
  bool explain(const nlohmann::json& event, std::vector<std::string>& why) const;
  bool empty() const;

  struct Node;  ///< a test or a group of tests (condition.cpp)

 private:
  std::unique_ptr<Node> root_;
};

}  // namespace nauto::rules
