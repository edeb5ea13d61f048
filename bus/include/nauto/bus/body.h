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
/// How deeply a body may nest (arrays and maps within each other).
constexpr int kMaxBodyDepth = 100;

/// Parses msgpack bytes; an empty body is null. Errors: Malformed for bad bytes, for nesting
/// deeper than kMaxBodyDepth and for a count larger than the bytes that remain. The bytes are
/// walked first with a bounded skip (check_msgpack), because nlohmann's parser recurses once a
/// level without a bound: one deeply nested event would overflow the stack of every module
/// that reads it, and of every journal query that returns it.
Result<nlohmann::json> from_body(std::string_view bytes);
/// A request's answer as a document: the reply body parsed (from_body), or the error the
/// request ended with.
Result<nlohmann::json> from_reply(const Result<std::string>& reply);
/// The walk alone: one well-formed msgpack value, nothing after it, within kMaxBodyDepth.
Result<void> check_msgpack(std::string_view bytes);

}  // namespace nauto::bus
