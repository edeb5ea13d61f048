#include "event_fields.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "nauto/bus/body.h"
#include "nauto/bus/msgpack_reader.h"

namespace nauto::rules {

using nlohmann::json;

namespace {

// Bodies nest a few levels (fields, structured_data); skipping deeper values is refused rather
// than recursing without bound on hostile input.
constexpr int kMaxDepth = 64;

FieldValue string_value(std::string_view text) {
  FieldValue out;
  out.type = FieldValue::Type::String;
  out.text = text;
  return out;
}

json scalar_json(const FieldValue& value) {
  switch (value.type) {
    case FieldValue::Type::Null:
      return nullptr;
    case FieldValue::Type::Boolean:
      return value.boolean;
    case FieldValue::Type::Integer:
      return value.integer;
    case FieldValue::Type::Float:
      return value.number;
    case FieldValue::Type::String:
      return std::string(value.text);
    case FieldValue::Type::Composite:
      return value.composite;
    case FieldValue::Type::Absent:
      break;
  }
  return json();
}

// JSON equality (nlohmann's): same kind and value; integers and floats compare as numbers.
bool equal_as_json(const FieldValue& a, const FieldValue& b) {
  using Type = FieldValue::Type;
  if (a.type == Type::Composite || b.type == Type::Composite)
    return scalar_json(a) == scalar_json(b);
  if (a.type == Type::Integer && b.type == Type::Float)
    return static_cast<double>(a.integer) == b.number;
  if (a.type == Type::Float && b.type == Type::Integer)
    return a.number == static_cast<double>(b.integer);
  if (a.type != b.type) return false;
  switch (a.type) {
    case Type::Null:
      return true;
    case Type::Boolean:
      return a.boolean == b.boolean;
    case Type::Integer:
      return a.integer == b.integer;
    case Type::Float:
      return a.number == b.number;
    case Type::String:
      return a.text == b.text;
    default:
      return false;
  }
}

// The value the reader is at; the reader's bytes end with the body.
FieldValue value_at(bus::MsgpackReader reader) {
  using Type = bus::MsgpackReader::Type;
  FieldValue out;
  switch (reader.peek()) {
    case Type::Nil:
      out.type = FieldValue::Type::Null;
      return out;
    case Type::Boolean:
      if (reader.boolean(out.boolean)) out.type = FieldValue::Type::Boolean;
      return out;
    case Type::Float:
      if (reader.floating(out.number)) out.type = FieldValue::Type::Float;
      return out;
    case Type::String: {
      std::string_view text;
      return reader.string(text) ? string_value(text) : out;
    }
    case Type::Integer: {
      bus::MsgpackReader probe = reader;
      if (probe.integer(out.integer)) {
        out.type = FieldValue::Type::Integer;
        return out;
      }
      break;  // an unsigned beyond int64: decoded as JSON does
    }
    case Type::End:
      return out;
    default:
      break;
  }
  const char* start = reader.position();
  if (!reader.skip(kMaxDepth)) return out;
  auto decoded = bus::from_body(std::string_view(start, reader.position() - start));
  if (!decoded) return out;
  out.type = FieldValue::Type::Composite;
  out.composite = std::move(*decoded);
  return out;
}

}  // namespace

json event_view(const std::string& topic, const std::string& id, json body) {
  json view = body.is_object() ? std::move(body) : json{{"body", std::move(body)}};
  view["topic"] = topic;
  view["id"] = id;
  return view;
}

FieldPath split_path(const std::string& dotted) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::uint32_t> ids;
  FieldPath path;
  {
    std::lock_guard lock(mutex);
    path.id = ids.emplace(dotted, static_cast<std::uint32_t>(ids.size())).first->second;
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = dotted.find('.', start);
    path.segments.push_back(
        dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return path;
    start = dot + 1;
  }
}

FieldValue FieldValue::of(const json& value) {
  FieldValue out;
  switch (value.type()) {
    case json::value_t::null:
      out.type = Type::Null;
      break;
    case json::value_t::boolean:
      out.type = Type::Boolean;
      out.boolean = value.get<bool>();
      break;
    case json::value_t::number_integer:
      out.type = Type::Integer;
      out.integer = value.get<std::int64_t>();
      break;
    case json::value_t::number_unsigned:
      if (value.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX)) {
        out.type = Type::Integer;
        out.integer = value.get<std::int64_t>();
      } else {
        out.type = Type::Composite;
        out.composite = value;
      }
      break;
    case json::value_t::number_float:
      out.type = Type::Float;
      out.number = value.get<double>();
      break;
    case json::value_t::string:
      out = string_value(value.get_ref<const std::string&>());
      break;
    default:
      out.type = Type::Composite;
      out.composite = value;
      break;
  }
  return out;
}

std::optional<double> number_of(const FieldValue& value) {
  switch (value.type) {
    case FieldValue::Type::Integer:
      return static_cast<double>(value.integer);
    case FieldValue::Type::Float:
      return value.number;
    case FieldValue::Type::Composite:
      if (value.composite.is_number()) return value.composite.get<double>();
      return std::nullopt;
    case FieldValue::Type::String:
      break;
    default:
      return std::nullopt;
  }
  if (value.text.empty()) return std::nullopt;
  // strtod wants a terminated string; most numbers fit the stack buffer.
  char small[64];
  std::string large;
  const char* text = small;
  if (value.text.size() < sizeof small) {
    std::memcpy(small, value.text.data(), value.text.size());
    small[value.text.size()] = '\0';
  } else {
    large.assign(value.text);
    text = large.c_str();
  }
  char* end = nullptr;
  const double number = std::strtod(text, &end);
  if (end && *end == '\0') return number;
  return std::nullopt;
}

std::string text_of(const FieldValue& value) {
  if (value.type == FieldValue::Type::String) return std::string(value.text);
  if (value.type == FieldValue::Type::Absent) return "";
  return scalar_json(value).dump();
}

bool same(const FieldValue& field, const FieldValue& constant) {
  if (equal_as_json(field, constant)) return true;
  const auto x = number_of(field);
  if (x) {
    if (const auto y = number_of(constant); y) return *x == *y;
  }
  using Type = FieldValue::Type;
  // Two strings that are not equal have no other way to be the same.
  if (field.type == Type::String && constant.type == Type::String) return false;
  return text_of(field) == text_of(constant);
}

FieldValue JsonEventFields::find(const FieldPath& path) const {
  const json* at = &event_;
  for (const auto& key : path.segments) {
    if (!at->is_object()) return {};
    const auto it = at->find(key);
    if (it == at->end()) return {};
    at = &*it;
  }
  return FieldValue::of(*at);
}

namespace {

// The value of `key` in the map the reader is at (the last one, if the key is given twice, as
// when the body is decoded); nullptr if it is absent or the map is malformed.
const char* find_in_map(bus::MsgpackReader& reader, std::string_view key) {
  std::uint32_t count = 0;
  if (!reader.map_size(count)) return nullptr;
  const char* found = nullptr;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string_view name;
    if (!reader.string(name)) return nullptr;  // JSON has string keys only: not decodable
    if (name == key) found = reader.position();
    if (!reader.skip(kMaxDepth)) return nullptr;
  }
  return found;
}

}  // namespace

// Many rules test the same event: the body's top-level keys are found once (where each value
// starts), so a test reads its field without walking the map again.
void PackedEventFields::index_body() const {
  indexed_ = true;
  static constexpr char kNil = '\xc0';
  bytes_ = body_.empty() ? std::string_view(&kNil, 1) : body_;
  bus::MsgpackReader reader(bytes_);
  body_is_map_ = reader.peek() == bus::MsgpackReader::Type::Map;
  if (!body_is_map_) return;
  std::uint32_t count = 0;
  if (!reader.map_size(count) || count > keys_.size()) return;  // a large map: read as it goes
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string_view name;
    if (!reader.string(name)) return;
    keys_[i] = {name, reader.position()};
    if (!reader.skip(kMaxDepth)) return;
  }
  key_count_ = count;
  key_index_valid_ = true;
}

FieldValue PackedEventFields::find(const FieldPath& field) const {
  for (std::size_t i = 0; i < found_count_; ++i) {
    if (found_[i].path == field.id) return found_[i].value;
  }
  auto value = read(field.segments);
  if (found_count_ < found_.size()) found_[found_count_++] = {field.id, value};
  return value;
}

FieldValue PackedEventFields::read(const std::vector<std::string>& path) const {
  if (path.empty()) return {};
  if (path[0] == "topic" || path[0] == "id")
    return path.size() == 1 ? string_value(path[0] == "topic" ? topic_ : id_) : FieldValue{};
  if (!indexed_) index_body();
  const char* const end = bytes_.data() + bytes_.size();
  auto from = [end](const char* at) {
    return bus::MsgpackReader(std::string_view(at, static_cast<std::size_t>(end - at)));
  };
  bus::MsgpackReader reader(bytes_);
  std::size_t index = 0;
  if (!body_is_map_) {
    if (path[0] != "body") return {};
    index = 1;
  } else if (key_index_valid_) {
    const char* found = nullptr;
    for (std::size_t i = key_count_; i-- > 0;) {
      if (keys_[i].first == path[0]) {
        found = keys_[i].second;
        break;
      }
    }
    if (!found) return {};
    reader = from(found);
    index = 1;
  }
  for (; index < path.size(); ++index) {
    const char* found = find_in_map(reader, path[index]);
    if (!found) return {};
    reader = from(found);
  }
  return value_at(reader);
}

const json* PackedEventFields::document() const {
  if (document_) return &*document_;
  if (undecodable_) return nullptr;
  auto body = bus::from_body(body_);
  if (!body) {
    undecodable_ = true;
    return nullptr;
  }
  document_ = event_view(topic_, id_, std::move(*body));
  return &*document_;
}

}  // namespace nauto::rules
