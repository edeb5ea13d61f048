#pragma once
// What a reload changed in `auth:` (issue 30: a role change is recorded as such): the users and
// roles added, removed or changed, for the audit record of the reload and nautod's log.
//
// Any thread; a pure function.

#include <string>

#include "principals.h"

namespace nauto::kernel {

/// "" when nothing changed; else, e.g., "users: +erin, -dave, ~bob; roles: ~dc1-operator;
/// default_roles: none -> viewer" (+ added, - removed, ~ changed; entries by name). Keys are
/// never shown, only that an entry's changed.
std::string describe_auth_change(const AuthOptions& before, const AuthOptions& after);

}  // namespace nauto::kernel
