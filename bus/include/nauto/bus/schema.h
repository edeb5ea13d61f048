#pragma once
// The bus declared as data: every service and event, its owner and its typed fields, written
// once in bus/schema/*.yaml. bus/schema/generate.py turns those files into
// nauto/bus/schema_types.h (one struct per request and event, with decode() and to_json(), and
// the topic constants) and the tables this header reads; docs/bus.md is generated from the
// same files.
//
// decode() and check() never throw: a body that is not an object, a missing required field, a
// wrongly typed one or an unknown one is Errc::InvalidArgument naming the service, the field
// and the type expected. The module runner checks every request against its service's fields
// before the module sees it, so no request body can throw inside a module.
//
// Immutable tables; any thread.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/bus/body.h"

namespace nauto::bus::schema {

enum class FieldType : std::uint8_t {
  String,
  Integer,
  Number,  ///< integer or floating point
  Boolean,
  Object,
  Array,
  Strings,   ///< an array of strings
  Duration,  ///< "250ms", "30s", "15m", "2h", "7d", or an integer of milliseconds
  Any,
};

/// "a string", "an integer", ...: how errors name a type.
std::string_view describe(FieldType type);
/// Whether `value` has `type` (Duration: a string or an integer; the string's form is checked
/// where it is used, with the key in the message).
bool has_type(const nlohmann::json& value, FieldType type);

/// Who may call a service; the router checks it against the caller's roles (issue 30).
enum class Access : std::uint8_t {
  Read,     ///< shows or checks something; nothing changes, no device is contacted
  Operate,  ///< acts on devices or starts work (jobs, pushes, runs)
  Approve,  ///< decides an approval
  Admin,    ///< changes who may do what, or what nauto is (vault, inventory, rules, schedules)
  Module,   ///< only modules (in-process code), never a user: vault.resolve
  /// Only a worker node (its CURVE key with the builtin role `worker`): joining a pool and the
  /// credentials of that pool's devices. Granted by "@worker" alone, never by a glob ("*").
  Worker,
};
/// "read", "operate", ...: as the schema files spell it.
std::string_view access_name(Access access);

struct Field {
  const char* name;
  FieldType type;
  bool required;
  const char* doc;
};

/// A request body, a reply body or an event body.
struct Message {
  const char* topic;  ///< the service or event topic (an event may have <placeholders>)
  const char* owner;  ///< the module that serves the service or publishes the event
  const Field* fields;
  std::size_t field_count;
  const char* doc;
  bool open;  ///< fields beyond those declared are allowed (example.echo sends back anything)
  Access access = Access::Read;  ///< requests: who may call it (events: unused)
  /// requests: whether the router records each call for the audit trail: every service that
  /// changes something (by default those whose access is not read; `audit:` in the schema).
  bool audited = false;
};

/// The request of a service, or nullptr when it is not declared.
const Message* find_request(std::string_view service);
/// Every declared service's request, in topic order.
std::vector<const Message*> requests();

/// Every declared event, in topic order.
std::vector<const Message*> events();
/// The event a published topic is an instance of: its declared topic, where a <placeholder>
/// stands for one segment, or for the rest of the topic when it is the last
/// (device.<device>.<kind> covers device.r1.interface.down); nullptr when none is declared
/// (a runbook's or a rule's own topics).
const Message* find_event(std::string_view topic);

/// The services a module serves, the events it publishes and the services it calls, as its
/// schema file declares them (empty for an unknown module).
struct ModuleInterface {
  std::vector<std::string> serves;
  std::vector<std::string> publishes;
  std::vector<std::string> calls;
};
ModuleInterface module_interface(std::string_view module);

/// msgpack bytes decoded into a generated type (schema_types.h): Errc::Malformed for bytes that
/// are not msgpack, the type's invalid_argument for a wrong field.
template <typename T>
Result<T> decode_body(std::string_view body) {
  auto document = from_body(body);
  if (!document) return std::move(document).error();
  return T::decode(*document);
}

/// Checks a body against `message`: an object (null counts as {}) whose fields have their
/// declared types, with every required field present and no undeclared field (unless open).
Result<void> check(const Message& message, const nlohmann::json& body);

}  // namespace nauto::bus::schema
