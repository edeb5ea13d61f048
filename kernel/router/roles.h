#pragma once
// Roles: what a principal may do on the bus, declared as data (issue 30).
//
// A role is an allow-list of services (by access class, "@read", or by name with globs,
// "configs.*"), of event topics it may publish, and optionally a device selector that limits
// the devices its services may act on ("site=dc1"). The builtin roles:
//   viewer    @read
//   operator  @read @operate
//   approver  @read @approve
//   admin     every service and every topic
//   module    @read, and every topic: for a module run on another host (its CURVE key)
//   worker    @worker (and registering): a worker node (nautod --worker) joining its pool and asking for
//             its devices' credentials. No other role grants @worker, "*" included.
// `auth.roles` adds custom ones (a builtin cannot be redefined):
//   auth:
//     roles:
//       dc1-operator: {services: ["@read", "@operate"], devices: "site=dc1"}
//       auditor:      {services: ["@read", "audit.*"]}
// No role grants a `module` service (vault.resolve): only code inside nautod may call one.
// A service no schema declares counts as `admin`.
//
// Immutable after construction; any thread.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/bus/schema.h"

namespace nauto::kernel {

struct RoleDefinition {
  std::string name;
  std::vector<std::string> services;  ///< "@<access>" or service names/globs
  std::vector<std::string> topics;    ///< event topic globs it may publish
  std::string devices;                ///< an inventory selector; empty for every device
  bool builtin = false;
};

/// The builtin roles, least privilege first.
const std::vector<RoleDefinition>& builtin_role_definitions();

/// Reads `auth.roles` (null: none) into the builtin roles plus the custom ones. Problems are
/// named by key path.
Result<std::map<std::string, RoleDefinition, std::less<>>> read_role_definitions(
    const nlohmann::json& section);

/// What the roles of one caller allow for one service.
struct Grant {
  bool allowed = false;
  /// The devices it may act on: empty for all; else the selectors of the granting roles, or'ed.
  std::string scope;
};

class AccessPolicy {
 public:
  explicit AccessPolicy(std::map<std::string, RoleDefinition, std::less<>> roles);

  /// Whether `roles` allow calling `service` (its access class as the schema declares it).
  Grant service(const std::vector<std::string>& roles, std::string_view service,
                bus::schema::Access access) const;
  /// The roles that would allow it, for a refusal's message.
  std::vector<std::string> roles_granting(std::string_view service,
                                          bus::schema::Access access) const;
  /// Whether `roles` allow publishing an event on `topic`.
  bool may_publish(const std::vector<std::string>& roles, std::string_view topic) const;

  const std::map<std::string, RoleDefinition, std::less<>>& roles() const { return roles_; }

 private:
  std::map<std::string, RoleDefinition, std::less<>> roles_;
};

/// A service's declaration, or nullptr for an undeclared one (a hash lookup).
const bus::schema::Message* declared_service(std::string_view service);
/// The access class of a service as the schema declares it; `admin` for an undeclared one.
bus::schema::Access access_of(std::string_view service);

}  // namespace nauto::kernel
