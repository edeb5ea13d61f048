#pragma once
// EventFields: the fields of one event as rule conditions read them — `topic` and `id` from the
// envelope, everything else from the body, by dotted path (`fields.interface`).
//
// Two ways to hold an event, one meaning:
//   JsonEventFields   over a decoded document (rules.test, the engine's tests, Lua predicates);
//   PackedEventFields over the msgpack body as it came off the bus. Most events match no rule,
//                     and building a JSON document for each (a map node and a string per key)
//                     was most of the rules module's time under a flood: this reads the few
//                     fields the conditions test in place and decodes the whole body only
//                     when something needs the document (a Lua predicate, a rule that matched).
// A condition gives the same answer over either (tests/modules/rules check this on a corpus).

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nauto::rules {

/// The event as rules see it: the body's keys plus `topic` and `id` (which win over body keys of
/// the same name); a body that is not a map is under `body`.
nlohmann::json event_view(const std::string& topic, const std::string& id, nlohmann::json body);

/// A dotted field path, split once when the rule is loaded. Equal paths get the same `id`
/// (process-wide), so the fields of one event are looked up once however many rules test them.
struct FieldPath {
  std::vector<std::string> segments;
  std::uint32_t id = 0;
};
FieldPath split_path(const std::string& dotted);

/// One field's value. Scalars are read in place (`text` points into the event, valid while the
/// EventFields lives); maps, lists and integers beyond int64 are decoded into `composite`.
struct FieldValue {
  enum class Type { Absent, Null, Boolean, Integer, Float, String, Composite };
  Type type = Type::Absent;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0;
  std::string_view text;
  nlohmann::json composite;

  bool absent() const { return type == Type::Absent; }
  static FieldValue of(const nlohmann::json& value);
};

/// The number a value stands for: numbers, and strings that are wholly a number ("65000").
std::optional<double> number_of(const FieldValue& value);
/// The value as text: a string as it is, anything else as JSON ("5", "true", {"a":1}).
std::string text_of(const FieldValue& value);
/// Compares like an engineer reads YAML: 5 equals "5", true equals "true".
bool same(const FieldValue& field, const FieldValue& constant);

class EventFields {
 public:
  virtual ~EventFields() = default;
  virtual FieldValue find(const FieldPath& path) const = 0;
  /// The whole event as a document ({topic, id, body's keys...}); nullptr if the body cannot be
  /// decoded.
  virtual const nlohmann::json* document() const = 0;
};

class JsonEventFields final : public EventFields {
 public:
  /// `event` is the rules' view ({topic, id, body's keys...}); it must outlive this.
  explicit JsonEventFields(const nlohmann::json& event) : event_(event) {}
  FieldValue find(const FieldPath& path) const override;
  const nlohmann::json* document() const override { return &event_; }

 private:
  const nlohmann::json& event_;
};

class PackedEventFields final : public EventFields {
 public:
  /// All three must outlive this; `body` is msgpack bytes.
  PackedEventFields(const std::string& topic, const std::string& id, std::string_view body)
      : topic_(topic), id_(id), body_(body) {}
  FieldValue find(const FieldPath& path) const override;
  /// Decoded on first use and kept.
  const nlohmann::json* document() const override;

 private:
  void index_body() const;
  FieldValue read(const std::vector<std::string>& path) const;

  const std::string& topic_;
  const std::string& id_;
  std::string_view body_;
  mutable std::optional<nlohmann::json> document_;
  mutable bool undecodable_ = false;
  // The body's top-level keys and where their values start (index_body, on the first find).
  mutable bool indexed_ = false, body_is_map_ = false, key_index_valid_ = false;
  mutable std::string_view bytes_;
  mutable std::array<std::pair<std::string_view, const char*>, 32> keys_{};
  mutable std::size_t key_count_ = 0;
  // Fields found so far, by path id: rules tend to test the same few fields.
  struct Found {
    std::uint32_t path;
    FieldValue value;
  };
  mutable std::array<Found, 8> found_{};
  mutable std::size_t found_count_ = 0;
};

}  // namespace nauto::rules
