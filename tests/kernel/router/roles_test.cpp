// Roles (issue 30): allow-lists of services, topics and devices, declared as data.

#include "router/roles.h"

#include <catch2/catch.hpp>

#include "nauto/bus/schema.h"
#include "router/principals.h"

using namespace nauto;
using namespace nauto::kernel;
using nauto::bus::schema::Access;
using nlohmann::json;

namespace {
AccessPolicy policy_of(const char* roles) {
  auto read = read_role_definitions(json::parse(roles));
  REQUIRE(read);
  return AccessPolicy(std::move(*read));
}
}  // namespace

TEST_CASE("every declared service names who may call it", "[router][auth]") {
  for (const auto* request : bus::schema::requests())
    CHECK(access_of(request->topic) == request->access);
  CHECK(access_of("job.list") == Access::Read);
  CHECK(access_of("job.run") == Access::Operate);
  CHECK(access_of("run.approve") == Access::Approve);
  CHECK(access_of("vault.set") == Access::Admin);
  CHECK(access_of("vault.resolve") == Access::Module);
  // A service no schema declares is an admin's.
  CHECK(access_of("custom.thing") == Access::Admin);
  CHECK(declared_service("custom.thing") == nullptr);
  // What is recorded for the audit trail: what changes something, secrets read included; not
  // reads, and not the audit module's own reads although they are admin's.
  CHECK(declared_service("job.run")->audited);
  CHECK(declared_service("vault.resolve")->audited);
  CHECK(declared_service("run.approve")->audited);
  CHECK_FALSE(declared_service("job.list")->audited);
  CHECK_FALSE(declared_service("audit.list")->audited);
  CHECK(declared_service("audit.list")->access == Access::Admin);
}

TEST_CASE("the builtin roles grant by access class; no role grants a module service",
          "[router][auth]") {
  const AccessPolicy policy(*read_role_definitions(nullptr));
  auto allowed = [&](const char* role, const char* service) {
    return policy.service({role}, service, access_of(service)).allowed;
  };
  CHECK(allowed("viewer", "job.list"));
  CHECK_FALSE(allowed("viewer", "job.run"));
  CHECK_FALSE(allowed("viewer", "run.start"));
  CHECK_FALSE(allowed("viewer", "run.approve"));
  CHECK(allowed("operator", "job.run"));
  CHECK(allowed("operator", "configs.push"));
  CHECK_FALSE(allowed("operator", "run.approve"));
  CHECK_FALSE(allowed("operator", "vault.set"));
  CHECK(allowed("approver", "run.approve"));
  CHECK_FALSE(allowed("approver", "run.start"));
  CHECK(allowed("admin", "vault.set"));
  CHECK(allowed("admin", "custom.thing"));
  for (const char* role : {"viewer", "operator", "approver", "admin"})
    CHECK_FALSE(allowed(role, "vault.resolve"));
  CHECK_FALSE(policy.service({}, "job.list", Access::Read).allowed);
  CHECK_FALSE(policy.service({"nonexistent"}, "job.list", Access::Read).allowed);
  // Roles add up.
  CHECK(policy.service({"viewer", "approver"}, "run.approve", Access::Approve).allowed);
  // Who could, for a refusal's message.
  CHECK(policy.roles_granting("run.approve", Access::Approve) ==
        std::vector<std::string>{"admin", "approver"});
  CHECK(policy.roles_granting("vault.resolve", Access::Module).empty());
  // Events: only admin publishes, by default.
  CHECK(policy.may_publish({"admin"}, "syslog.message"));
  CHECK_FALSE(policy.may_publish({"operator"}, "syslog.message"));
}

TEST_CASE("custom roles: service globs, topics and a device selector", "[router][auth]") {
  const auto policy = policy_of(R"({
    "dc1-operator": {"services": ["@read", "@operate"], "devices": "site=dc1"},
    "dc2-pusher": {"services": ["configs.push"], "devices": "site=dc2"},
    "backup": {"services": ["configs.backup*"]},
    "ingest": {"topics": ["syslog.*"]}})");
  auto grant = policy.service({"dc1-operator"}, "job.run", Access::Operate);
  CHECK(grant.allowed);
  CHECK(grant.scope == "site=dc1");
  CHECK(policy.service({"dc1-operator"}, "job.list", Access::Read).scope == "site=dc1");
  // Two limited roles that both grant: either's devices.
  grant = policy.service({"dc1-operator", "dc2-pusher"}, "configs.push", Access::Operate);
  CHECK(grant.scope == "(site=dc1) or (site=dc2)");
  // Only dc1-operator grants job.run: only its devices.
  CHECK(policy.service({"dc1-operator", "dc2-pusher"}, "job.run", Access::Operate).scope ==
        "site=dc1");
  // One unlimited role that grants it lifts the limit.
  grant = policy.service({"dc1-operator", "operator"}, "job.run", Access::Operate);
  CHECK(grant.allowed);
  CHECK(grant.scope.empty());
  CHECK(policy.service({"backup"}, "configs.backups", Access::Read).allowed);
  CHECK_FALSE(policy.service({"backup"}, "configs.push", Access::Operate).allowed);
  CHECK(policy.may_publish({"ingest"}, "syslog.message"));
  CHECK_FALSE(policy.may_publish({"ingest"}, "device.r1.down"));
  CHECK_FALSE(policy.service({"ingest"}, "job.list", Access::Read).allowed);
}

TEST_CASE("auth.roles problems are named by their path", "[router][auth]") {
  auto bad = read_role_definitions(json::parse(R"({
    "viewer": {"services": ["*"]},
    "empty": {},
    "typo": {"services": ["@reed"]},
    "odd": {"services": ["job.run"], "device": "site=dc1"},
    "flat": "operator"})"));
  REQUIRE_FALSE(bad);
  const auto& message = bad.error().message;
  CHECK(message.find("auth.roles.viewer: a builtin role cannot be redefined") != std::string::npos);
  CHECK(message.find("auth.roles.empty: grants nothing") != std::string::npos);
  CHECK(message.find("auth.roles.typo.services: '@reed'") != std::string::npos);
  CHECK(message.find("auth.roles.odd") != std::string::npos);
  CHECK(message.find("device") != std::string::npos);
  CHECK(message.find("auth.roles.flat: must be a map") != std::string::npos);
  // Users may name custom roles, and only roles that exist.
  CHECK(read_auth_options(json::parse(R"({
    "roles": {"dc1-operator": {"services": ["@operate"], "devices": "site=dc1"}},
    "users": [{"name": "bob", "uid": 1002, "roles": ["dc1-operator"]}]})")));
  auto unknown = read_auth_options(json::parse(R"({
    "users": [{"name": "bob", "uid": 1002, "roles": ["dc1-operator"]}]})"));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("unknown role \"dc1-operator\"") != std::string::npos);
}
