#pragma once
// Subscription patterns. A pattern is either
//   - a plain prefix: "device." matches "device.config.changed"; "" matches everything;
//   - or, if it contains '*' or '>', a token pattern over dot-separated segments:
//     '*' matches exactly one segment, a final '>' matches one or more remaining segments.
//     "device.*.changed" matches "device.config.changed"; "kernel.>" matches "kernel.a.b".

#include <string_view>

#include "nauto/base/result.h"

namespace nauto::bus {

/// True if `topic` is selected by `pattern`. Pure, thread-safe.
bool topic_matches(std::string_view pattern, std::string_view topic) noexcept;

/// Checks a pattern's form: '>' only as the last whole segment, '*' only as a whole segment.
Result<void> validate_pattern(std::string_view pattern);

}  // namespace nauto::bus
