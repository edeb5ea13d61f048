#pragma once
// Records checks: assertions on the records a show command's output parses into (TextFSM with
// the ntc-templates index, or JSON from eAPI / NX-API).
//   {field: F, OP: value}: holds for every record (vacuously when there is none), or with
//     `any: true` for one at least. Fields are found case-insensitively (ntc-templates' Values
//     are upper case, their JSON keys lower case).
//   {count: {OP: n}}: on the number of records.
// == and != compare as numbers when both sides read as numbers, else as text; < <= > >= need
// numbers (a field that is not one fails the assertion); `in` takes a list; `regex` searches.
// Thread: any (a thread-local Matcher for regex).

#include <nlohmann/json.hpp>

#include "policy.h"
#include "rule_result.h"

namespace nauto::compliance {

/// Records from a show command's output: a list of objects (TextFSM's records) is itself; one
/// object (eAPI's or NX-API's JSON) is the list of its one record, whose nested fields an
/// assertion names by a dotted path ("memTotal", "vrfs.default.routerId").
nlohmann::json records_of(const nlohmann::json& parsed);

RuleResult check_records(const Rule& rule, const nlohmann::json& records);

/// One comparison, as a records check and NAPALM's value checks make it: `actual` OP `operand`.
bool compare_values(const nlohmann::json& actual, const std::string& op,
                    const nlohmann::json& operand, const text::Regex* regex);

}  // namespace nauto::compliance
