#pragma once
// NAPALM validate: a document of expected getter values compared with what the device's getters
// return, giving the report NAPALM's compliance_report gives (docs/validate in NAPALM), so
// validation files written for NAPALM mean the same here:
//   - a map checks only the keys it names; `_mode: strict` at a level also fails on keys the
//     device has and the map does not name ("extra"). Nested maps give nested reports
//     ({complies, present, missing, extra}); a value that differs gives expected_value and
//     actual_value.
//   - a list is written as {list: [...]} (with `_mode: strict` beside it when the device must
//     have no other element); each expected element must match a distinct actual element.
//   - a value text starting with < or > compares numbers ("<15.0", ">=2", "!=0" after them);
//     "10<->20" is a range, "10%50" is 50 within 10 percent; any other text is a regex searched
//     in the actual value as text (falling back to equality); other values compare equal.
//   - `_name` renames a getter's entry in the report; a getter the device's platform cannot
//     answer is skipped (listed in "skipped", not counted against compliance).
// Pure functions; any thread.

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nauto::compliance {

/// NAPALM's compare(expected, actual): a bool for values, a report object for maps and lists.
nlohmann::json napalm_compare(const nlohmann::json& expected, const nlohmann::json& actual);

/// A getter's value for this device, or nullopt when it cannot be had (skipped).
using GetterSource = std::function<std::optional<nlohmann::json>(const std::string& getter)>;

/// The compliance report of a validation document (a list of {getter: expected}).
nlohmann::json napalm_compliance_report(const nlohmann::json& validation,
                                        const GetterSource& getters);

}  // namespace nauto::compliance
