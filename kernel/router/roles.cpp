#include "roles.h"

#include <fnmatch.h>

#include <algorithm>
#include <unordered_map>

#include "nauto/sdk/config_reader.h"

namespace nauto::kernel {

using bus::schema::Access;
using nlohmann::json;

namespace {

bool glob_matches(const std::string& pattern, std::string_view text) {
  return ::fnmatch(pattern.c_str(), std::string(text).c_str(), 0) == 0;
}

bool grants(const RoleDefinition& role, std::string_view service, Access access) {
  if (access == Access::Module) return false;
  // A worker service hands out device secrets: only a role that names the class grants it.
  if (access == Access::Worker)
    return std::find(role.services.begin(), role.services.end(), "@worker") != role.services.end();
  const auto by_class = "@" + std::string(bus::schema::access_name(access));
  return std::any_of(role.services.begin(), role.services.end(), [&](const std::string& entry) {
    return entry == by_class || (entry[0] != '@' && glob_matches(entry, service));
  });
}

const std::vector<std::string>& access_classes() {
  static const std::vector<std::string> classes = {"@read", "@operate", "@approve", "@admin",
                                                   "@worker"};
  return classes;
}

}  // namespace

const std::vector<RoleDefinition>& builtin_role_definitions() {
  static const std::vector<RoleDefinition> roles = {
      {"viewer", {"@read"}, {}, "", true},
      {"operator", {"@read", "@operate"}, {}, "", true},
      {"approver", {"@read", "@approve"}, {}, "", true},
      {"admin", {"*"}, {"*"}, "", true},
      // A module run elsewhere (its CURVE key mapped to this role): it registers, serves its
      // own services (only a schema's owner may), reads and publishes its events.
      {"module", {"@read"}, {"*"}, "", true},
      // A worker node (nautod --worker, its CURVE key mapped to this role): it joins its pool
      // and asks for the credentials of the devices its items name; nothing else.
      {"worker",
       {"@worker", "bus.register", "bus.unregister"},
       {"kernel.heartbeat", "kernel.module.error"},
       "",
       true},
  };
  return roles;
}

Result<std::map<std::string, RoleDefinition, std::less<>>> read_role_definitions(
    const json& section) {
  std::map<std::string, RoleDefinition, std::less<>> out;
  for (const auto& role : builtin_role_definitions())
    out.emplace(role.name, role);
  if (section.is_null()) return out;
  if (!section.is_object())
    return fail(Errc::InvalidConfig, "auth.roles: must be a map of role name -> definition");
  std::vector<std::string> problems;
  for (const auto& [name, spec] : section.items()) {
    const auto at = "auth.roles." + name;
    if (out.count(name) && out.at(name).builtin) {
      problems.push_back(at + ": a builtin role cannot be redefined");
      continue;
    }
    if (!spec.is_object()) {
      problems.push_back(at + ": must be a map {services, topics, devices}");
      continue;
    }
    ConfigReader reader(spec, at);
    RoleDefinition role;
    role.name = name;
    role.services = reader.strings("services");
    role.topics = reader.strings("topics");
    role.devices = reader.string("devices", "");
    if (auto finished = reader.finish(); !finished) problems.push_back(finished.error().message);
    for (const auto& entry : role.services) {
      const auto& classes = access_classes();
      if (entry.empty() ||
          (entry[0] == '@' && std::find(classes.begin(), classes.end(), entry) == classes.end()))
        problems.push_back(at + ".services: '" + entry +
                           "' is neither a service (glob) nor @read, @operate, @approve, @admin");
    }
    if (role.services.empty() && role.topics.empty())
      problems.push_back(at + ": grants nothing (give services or topics)");
    out.emplace(name, std::move(role));
  }
  if (auto checked = config_problems(problems); !checked) return std::move(checked).error();
  return out;
}

AccessPolicy::AccessPolicy(std::map<std::string, RoleDefinition, std::less<>> roles)
    : roles_(std::move(roles)) {}

Grant AccessPolicy::service(const std::vector<std::string>& roles, std::string_view service,
                            Access access) const {
  Grant grant;
  std::vector<std::string> selectors;
  bool unlimited = false;
  for (const auto& name : roles) {
    const auto role = roles_.find(name);
    if (role == roles_.end() || !grants(role->second, service, access)) continue;
    grant.allowed = true;
    if (role->second.devices.empty()) {
      unlimited = true;
    } else if (std::find(selectors.begin(), selectors.end(), role->second.devices) ==
               selectors.end()) {
      selectors.push_back(role->second.devices);
    }
  }
  if (unlimited || selectors.empty()) return grant;
  if (selectors.size() == 1) {
    grant.scope = selectors.front();
    return grant;
  }
  for (const auto& selector : selectors)
    grant.scope += (grant.scope.empty() ? "(" : " or (") + selector + ")";
  return grant;
}

std::vector<std::string> AccessPolicy::roles_granting(std::string_view service,
                                                      Access access) const {
  std::vector<std::string> out;
  for (const auto& [name, role] : roles_)
    if (grants(role, service, access)) out.push_back(name);
  return out;
}

bool AccessPolicy::may_publish(const std::vector<std::string>& roles,
                               std::string_view topic) const {
  for (const auto& name : roles) {
    const auto role = roles_.find(name);
    if (role == roles_.end()) continue;
    for (const auto& pattern : role->second.topics)
      if (glob_matches(pattern, topic)) return true;
  }
  return false;
}

const bus::schema::Message* declared_service(std::string_view service) {
  // Asked for every request the router routes: a hash lookup, not the schema's linear search.
  static const std::unordered_map<std::string_view, const bus::schema::Message*> declared = [] {
    std::unordered_map<std::string_view, const bus::schema::Message*> table;
    for (const auto* request : bus::schema::requests())
      table.emplace(request->topic, request);
    return table;
  }();
  const auto found = declared.find(service);
  return found != declared.end() ? found->second : nullptr;
}

Access access_of(std::string_view service) {
  const auto* declared = declared_service(service);
  return declared ? declared->access : Access::Admin;
}

}  // namespace nauto::kernel
