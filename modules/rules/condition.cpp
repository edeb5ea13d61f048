#include "condition.h"

#include "event_fields.h"
#include "lua_predicate.h"
#include "nauto/text/regex.h"

namespace nauto::rules {

using nlohmann::json;

namespace {

std::string at_line(const YAML::Node& node) {
  return "line " + std::to_string(node.Mark().line + 1);
}

json scalar_value(const YAML::Node& node) {
  const auto& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: a string, always
  if (text == "true" || text == "yes") return true;
  if (text == "false" || text == "no") return false;
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (!text.empty() && end && *end == '\0') {
    // An integer beyond int64 stays a double: the cast would be undefined (found by fuzzing).
    const bool integral = text.find_first_of(".eE") == std::string::npos;
    if (integral && number >= -9.2e18 && number <= 9.2e18) return static_cast<std::int64_t>(number);
    return number;
  }
  return text;
}

std::string text_of(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

const json* field_of(const json& event, const std::string& path) {
  const json* at = &event;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto dot = path.find('.', start);
    const auto key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object()) return nullptr;
    const auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return at;
}

struct Condition::Node {
  enum class Kind {
    All,
    Any,
    Not,
    Equals,
    NotEquals,
    In,
    Regex,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
    Exists,
    Contains,
    Lua
  };
  Kind kind = Kind::All;
  std::string path;
  FieldPath field_path;
  json value;
  std::vector<FieldValue> constants;  // `value` (a list's items for In), read once
  std::shared_ptr<text::Regex> regex;
  std::shared_ptr<LuaPredicate> lua;
  std::vector<std::unique_ptr<Node>> children;

  std::string describe() const {
    switch (kind) {
      case Kind::Equals:
        return path + " == " + text_of(value);
      case Kind::NotEquals:
        return path + " != " + text_of(value);
      case Kind::In:
        return path + " in " + value.dump();
      case Kind::Regex:
        return path + " ~ /" + text_of(value) + "/";
      case Kind::Greater:
        return path + " > " + text_of(value);
      case Kind::GreaterEqual:
        return path + " >= " + text_of(value);
      case Kind::Less:
        return path + " < " + text_of(value);
      case Kind::LessEqual:
        return path + " <= " + text_of(value);
      case Kind::Exists:
        return path + (value.get<bool>() ? " exists" : " is absent");
      case Kind::Contains:
        return path + " contains " + text_of(value);
      case Kind::Lua: {
        auto code = lua->code();
        for (auto& c : code)
          if (c == '\n') c = ' ';
        return "lua `" + (code.size() > 60 ? code.substr(0, 57) + "..." : code) + "`";
      }
      case Kind::All:
        return "all";
      case Kind::Any:
        return "any";
      case Kind::Not:
        return "not";
    }
    return "?";
  }

  // Once `value` is final: the constants a test compares with, and the path split.
  void prepare() {
    field_path = split_path(path);
    constants.clear();
    if (value.is_array()) {
      for (const auto& item : value)
        constants.push_back(FieldValue::of(item));
    } else {
      constants.push_back(FieldValue::of(value));
    }
  }

  bool test(const EventFields& event, std::vector<std::string>* why, int depth) const {
    auto note = [&](bool result, const std::string& got) {
      if (why) {
        why->push_back(std::string(static_cast<std::size_t>(depth) * 2, ' ') + describe() + ": " +
                       (result ? "yes" : "no") + got);
      }
      return result;
    };
    switch (kind) {
      case Kind::All:
      case Kind::Any: {
        if (why && depth > 0) why->push_back(std::string(depth * 2, ' ') + describe() + ":");
        bool result = kind == Kind::All;
        for (const auto& child : children) {
          const bool passed = child->test(event, why, depth + 1);
          if (kind == Kind::All && !passed) {
            result = false;
            if (!why) break;
          }
          if (kind == Kind::Any && passed) {
            result = true;
            if (!why) break;
          }
        }
        return result;
      }
      case Kind::Not: {
        if (why) why->push_back(std::string(depth * 2, ' ') + "not:");
        return !children.front()->test(event, why, depth + 1);
      }
      case Kind::Lua: {
        const json* document = event.document();
        if (!document) return note(false, " (the event's body cannot be decoded)");
        auto holds = lua->test(*document);
        if (!holds) return note(false, " (" + holds.error().message + ")");
        return note(*holds, "");
      }
      default:
        break;
    }
    const FieldValue field = event.find(field_path);
    // Only an explanation shows the value; evaluating builds no text.
    const std::string got = !why             ? ""
                            : field.absent() ? " (absent)"
                                             : " (it is " + rules::text_of(field) + ")";
    if (kind == Kind::Exists) return note(!field.absent() == value.get<bool>(), got);
    if (field.absent()) return note(kind == Kind::NotEquals, got);
    switch (kind) {
      case Kind::Equals:
        return note(same(field, constants.front()), got);
      case Kind::NotEquals:
        return note(!same(field, constants.front()), got);
      case Kind::In: {
        for (const auto& item : constants) {
          if (same(field, item)) return note(true, got);
        }
        return note(false, got);
      }
      case Kind::Regex: {
        thread_local text::Matcher matcher;
        const bool is_text = field.type == FieldValue::Type::String;
        auto matched = is_text ? matcher.test(*regex, field.text)
                               : matcher.test(*regex, rules::text_of(field));
        return note(matched && *matched, got);
      }
      case Kind::Contains: {
        const auto& needle = constants.front();
        if (field.type == FieldValue::Type::String && needle.type == FieldValue::Type::String)
          return note(field.text.find(needle.text) != std::string_view::npos, got);
        return note(rules::text_of(field).find(rules::text_of(needle)) != std::string::npos, got);
      }
      default: {
        auto x = number_of(field);
        auto y = number_of(constants.front());
        if (!x || !y) return note(false, got + ", not a number");
        const bool result = kind == Kind::Greater        ? *x > *y
                            : kind == Kind::GreaterEqual ? *x >= *y
                            : kind == Kind::Less         ? *x < *y
                                                         : *x <= *y;
        return note(result, got);
      }
    }
  }
};

static Result<std::unique_ptr<Condition::Node>> parse_map(const YAML::Node& node,
                                                          const std::string& where);

static Result<std::unique_ptr<Condition::Node>> parse_field(const std::string& path,
                                                            const YAML::Node& node,
                                                            const std::string& where) {
  using Kind = Condition::Node::Kind;
  auto leaf = std::make_unique<Condition::Node>();
  leaf->path = path;
  if (node.IsScalar()) {
    leaf->kind = Kind::Equals;
    leaf->value = scalar_value(node);
    return leaf;
  }
  if (node.IsSequence()) {
    leaf->kind = Kind::In;
    leaf->value = json::array();
    for (const auto& item : node) {
      if (!item.IsScalar())
        return fail(Errc::InvalidConfig, at_line(item) + ": " + where + ": a list of values");
      leaf->value.push_back(scalar_value(item));
    }
    return leaf;
  }
  if (!node.IsMap() || node.size() != 1) {
    return fail(Errc::InvalidConfig,
                at_line(node) + ": " + where +
                    ": expected a value, a list (in), or one test such as {regex: ...}, "
                    "{gte: 3}, {exists: true}");
  }
  // A copy, not a reference: yaml-cpp's iterator hands out a pair that lives inside the iterator.
  const auto entry = node.begin();
  const std::string op = entry->first.Scalar();
  const YAML::Node operand = entry->second;
  static const std::map<std::string, Kind> kinds = {
      {"equals", Kind::Equals},    {"not_equals", Kind::NotEquals}, {"in", Kind::In},
      {"regex", Kind::Regex},      {"gt", Kind::Greater},           {"gte", Kind::GreaterEqual},
      {"lt", Kind::Less},          {"lte", Kind::LessEqual},        {"exists", Kind::Exists},
      {"contains", Kind::Contains}};
  const auto it = kinds.find(op);
  if (it == kinds.end()) {
    return fail(Errc::InvalidConfig, at_line(node) + ": " + where + ": unknown test '" + op +
                                         "' (equals, not_equals, in, regex, gt, gte, lt, lte, "
                                         "exists, contains)");
  }
  leaf->kind = it->second;
  if (leaf->kind == Kind::In) {
    auto list = parse_field(path, operand, where + ".in");
    if (!list) return list;
    if ((*list)->kind != Kind::In)
      return fail(Errc::InvalidConfig, at_line(operand) + ": " + where + ".in: expected a list");
    return list;
  }
  if (!operand.IsScalar())
    return fail(Errc::InvalidConfig,
                at_line(operand) + ": " + where + "." + op + ": expected a value");
  leaf->value = scalar_value(operand);
  if (leaf->kind == Kind::Exists && !leaf->value.is_boolean())
    return fail(Errc::InvalidConfig, at_line(operand) + ": " + where + ".exists: true or false");
  if (leaf->kind == Kind::Regex) {
    auto regex = text::Regex::compile(operand.Scalar(), text::Regex::Anchor::Anywhere);
    if (!regex)
      return fail(Errc::InvalidConfig,
                  at_line(operand) + ": " + where + ".regex: " + regex.error().message);
    leaf->regex = std::make_shared<text::Regex>(std::move(*regex));
    leaf->value = operand.Scalar();
  }
  if ((leaf->kind == Kind::Greater || leaf->kind == Kind::GreaterEqual ||
       leaf->kind == Kind::Less || leaf->kind == Kind::LessEqual) &&
      !number_of(FieldValue::of(leaf->value))) {
    return fail(Errc::InvalidConfig,
                at_line(operand) + ": " + where + "." + op + ": expected a number");
  }
  return leaf;
}

static Result<std::unique_ptr<Condition::Node>> parse_map(const YAML::Node& node,
                                                          const std::string& where) {
  using Kind = Condition::Node::Kind;
  if (!node.IsMap()) {
    return fail(Errc::InvalidConfig,
                at_line(node) + ": " + where + ": expected a map of field: test");
  }
  auto all = std::make_unique<Condition::Node>();
  all->kind = Kind::All;
  for (const auto& entry : node) {
    const auto key = entry.first.Scalar();
    const auto& value = entry.second;
    const auto path = where + "." + key;
    if (key == "all" || key == "any") {
      if (!value.IsSequence())
        return fail(Errc::InvalidConfig,
                    at_line(value) + ": " + path + ": expected a list of maps");
      auto group = std::make_unique<Condition::Node>();
      group->kind = key == "all" ? Kind::All : Kind::Any;
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto child = parse_map(value[i], path + "[" + std::to_string(i) + "]");
        if (!child) return child;
        group->children.push_back(std::move(*child));
      }
      all->children.push_back(std::move(group));
    } else if (key == "lua") {
      if (!value.IsScalar() || value.Scalar().empty())
        return fail(Errc::InvalidConfig, at_line(value) + ": " + path +
                                             ": expected Lua code (an expression, or a chunk "
                                             "that returns true or false)");
      auto predicate = LuaPredicate::compile(value.Scalar(), "lua");
      if (!predicate)
        return fail(Errc::InvalidConfig,
                    at_line(value) + ": " + path + ": " + predicate.error().message);
      auto leaf = std::make_unique<Condition::Node>();
      leaf->kind = Kind::Lua;
      leaf->lua = std::move(*predicate);
      all->children.push_back(std::move(leaf));
    } else if (key == "not") {
      auto child = parse_map(value, path);
      if (!child) return child;
      auto negation = std::make_unique<Condition::Node>();
      negation->kind = Kind::Not;
      negation->children.push_back(std::move(*child));
      all->children.push_back(std::move(negation));
    } else {
      auto leaf = parse_field(key, value, path);
      if (!leaf) return leaf;
      (*leaf)->prepare();
      all->children.push_back(std::move(*leaf));
    }
  }
  return all;
}

Condition::Condition() = default;
Condition::Condition(Condition&&) noexcept = default;
Condition& Condition::operator=(Condition&&) noexcept = default;
Condition::~Condition() = default;

Result<Condition> Condition::parse(const YAML::Node& node, const std::string& where) {
  Condition condition;
  if (!node || node.IsNull()) return condition;
  auto root = parse_map(node, where);
  if (!root) return std::move(root).error();
  condition.root_ = std::move(*root);
  return condition;
}

bool Condition::evaluate(const EventFields& event) const {
  return !root_ || root_->test(event, nullptr, 0);
}

bool Condition::evaluate(const json& event) const {
  return evaluate(JsonEventFields(event));
}

bool Condition::explain(const json& event, std::vector<std::string>& why) const {
  return !root_ || root_->test(JsonEventFields(event), &why, 0);
}

bool Condition::empty() const {
  return !root_;
}

}  // namespace nauto::rules
