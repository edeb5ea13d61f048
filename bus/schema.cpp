#include "nauto/bus/schema.h"

namespace nauto::bus::schema {

std::string_view access_name(Access access) {
  switch (access) {
    case Access::Read:
      return "read";
    case Access::Operate:
      return "operate";
    case Access::Approve:
      return "approve";
    case Access::Admin:
      return "admin";
    case Access::Module:
      return "module";
    case Access::Worker:
      return "worker";
  }
  return "module";
}

std::string_view describe(FieldType type) {
  switch (type) {
    case FieldType::String:
      return "a string";
    case FieldType::Integer:
      return "an integer";
    case FieldType::Number:
      return "a number";
    case FieldType::Boolean:
      return "true or false";
    case FieldType::Object:
      return "an object";
    case FieldType::Array:
      return "an array";
    case FieldType::Strings:
      return "an array of strings";
    case FieldType::Duration:
      return "a duration such as \"30s\" or an integer of milliseconds";
    case FieldType::Any:
      return "any value";
  }
  return "a value";
}

bool has_type(const nlohmann::json& value, FieldType type) {
  switch (type) {
    case FieldType::String:
      return value.is_string();
    case FieldType::Integer:
      return value.is_number_integer();
    case FieldType::Number:
      return value.is_number();
    case FieldType::Boolean:
      return value.is_boolean();
    case FieldType::Object:
      return value.is_object();
    case FieldType::Array:
      return value.is_array();
    case FieldType::Strings:
      if (!value.is_array()) return false;
      for (const auto& item : value)
        if (!item.is_string()) return false;
      return true;
    case FieldType::Duration:
      return value.is_string() || value.is_number_integer();
    case FieldType::Any:
      return true;
  }
  return false;
}

namespace {

// What a received value was, for the error: the JSON type and a short rendering.
std::string shown(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return std::string(value.type_name()) + " " + text;
}

std::string field_names(const Message& message) {
  std::string names;
  for (std::size_t i = 0; i < message.field_count; ++i)
    names += std::string(names.empty() ? "" : ", ") + message.fields[i].name;
  return names.empty() ? "none" : names;
}

Error invalid(const Message& message, const std::string& what) {
  return Error{Errc::InvalidArgument, std::string(message.topic) + ": " + what, message.owner};
}

// Whether `topic` is an instance of the declared `pattern` (see find_event).
bool instance_of(std::string_view topic, std::string_view pattern) {
  while (!pattern.empty()) {
    const auto pattern_dot = pattern.find('.');
    const auto segment = pattern.substr(0, pattern_dot);
    const bool last = pattern_dot == std::string_view::npos;
    const auto topic_dot = topic.find('.');
    if (topic.empty()) return false;
    if (segment.size() > 2 && segment.front() == '<' && segment.back() == '>') {
      if (last) return true;  // the rest, one segment or more
      if (topic_dot == std::string_view::npos || topic_dot == 0) return false;
    } else if (topic.substr(0, topic_dot) != segment) {
      return false;
    }
    if (last) return topic_dot == std::string_view::npos;
    if (topic_dot == std::string_view::npos) return false;
    topic.remove_prefix(topic_dot + 1);
    pattern.remove_prefix(pattern_dot + 1);
  }
  return topic.empty();
}

}  // namespace

const Message* find_event(std::string_view topic) {
  for (const auto* event : events()) {
    if (topic == event->topic) return event;
  }
  for (const auto* event : events()) {
    if (std::string_view(event->topic).find('<') != std::string_view::npos &&
        instance_of(topic, event->topic))
      return event;
  }
  return nullptr;
}

Result<void> check(const Message& message, const nlohmann::json& body) {
  if (body.is_null()) {
    for (std::size_t i = 0; i < message.field_count; ++i) {
      const auto& field = message.fields[i];
      if (field.required)
        return invalid(message, std::string("field '") + field.name + "' is required (" +
                                    std::string(describe(field.type)) + ")");
    }
    return ok();
  }
  if (!body.is_object())
    return invalid(message, "the body must be an object with the fields " + field_names(message) +
                                " (got " + shown(body) + ")");
  for (std::size_t i = 0; i < message.field_count; ++i) {
    const auto& field = message.fields[i];
    const auto it = body.find(field.name);
    if (it == body.end()) {
      if (field.required)
        return invalid(message, std::string("field '") + field.name + "' is required (" +
                                    std::string(describe(field.type)) + ")");
      continue;
    }
    if (!has_type(*it, field.type))
      return invalid(message, std::string("field '") + field.name + "' must be " +
                                  std::string(describe(field.type)) + " (got " + shown(*it) + ")");
  }
  if (message.open) return ok();
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (std::size_t i = 0; i < message.field_count && !known; ++i)
      known = key == message.fields[i].name;
    if (!known)
      return invalid(message, "unknown field '" + key + "' (fields: " + field_names(message) + ")");
  }
  return ok();
}

}  // namespace nauto::bus::schema
