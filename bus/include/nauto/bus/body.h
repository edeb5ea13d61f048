#pragma once
// Message bodies as JSON values: bodies travel as msgpack; these helpers convert for code that
// wants a document (the CLI, control messages). Hot paths may keep the raw bytes instead.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::bus {

/// msgpack bytes of a JSON value.
std::string to_body(const nlohmann::json& value);
/// Parses msgpack bytes; an empty body is null; bad bytes are Errc::Malformed.
Result<nlohmann::json> from_body(std::string_view bytes);

}  // namespace nauto::bus
