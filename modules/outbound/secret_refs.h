#pragma once
// Secret references: how a runbook names a vault secret it may send without ever holding it.
// `{{ vault('slack').password }}` renders as the reference `${vault:slack:password}`; only this
// module, just before a request leaves, puts the value in its place (after checking that the
// credential may go to that host), and takes every such value out of what it answers.
// Thread-safe (pure).

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::outbound {

/// The credentials referenced in `text`, in a JSON document's strings, or in both.
std::set<std::string> referenced_credentials(std::string_view text);
void collect_credentials(const nlohmann::json& value, std::set<std::string>& names);

/// The references in `text` replaced by the fields of `resolved` (credential -> {field:
/// value}). Errc::NotFound naming a credential or field the vault did not give.
Result<std::string> substitute_secrets(std::string_view text,
                                       const std::map<std::string, nlohmann::json>& resolved);

/// Every value in `secrets` (at least 4 bytes long) replaced by "<redacted>" in `text`.
std::string redact_values(std::string text, const std::set<std::string>& secrets);
/// The string fields of the resolved credentials: what redact_values takes out.
std::set<std::string> secret_values(const std::map<std::string, nlohmann::json>& resolved);

}  // namespace nauto::outbound
