// What a reload changed in `auth:`, as its audit record says it (issue 30).
#include "router/auth_change.h"

#include <catch2/catch.hpp>

using namespace nauto::kernel;

namespace {
AuthOptions with_users(std::vector<AuthEntry> users) {
  AuthOptions options;
  options.users = std::move(users);
  return options;
}
}  // namespace

TEST_CASE("an unchanged auth section is no change", "[auth]") {
  const auto options = with_users({{"alice", 1001, std::nullopt, "", {"viewer"}}});
  CHECK(describe_auth_change(options, options).empty());
  CHECK(describe_auth_change(AuthOptions{}, AuthOptions{}).empty());
}

TEST_CASE("users and roles added, removed and changed are named; keys are not shown", "[auth]") {
  auto before = with_users({{"alice", 1001, std::nullopt, "", {"viewer"}},
                            {"bob", 1002, std::nullopt, "", {"operator"}},
                            {"ci", std::nullopt, std::nullopt, "KEY-OLD-SECRET", {"operator"}}});
  auto after = with_users({{"alice", 1001, std::nullopt, "", {"admin"}},
                           {"ci", std::nullopt, std::nullopt, "KEY-NEW-SECRET", {"operator"}},
                           {"erin", 1005, std::nullopt, "", {"approver"}}});
  after.roles.emplace("dc1", RoleDefinition{"dc1", {"@read", "@operate"}, {}, "site=dc1", false});
  CHECK(describe_auth_change(before, after) == "users: ~alice, ~ci, +erin, -bob; roles: +dc1");

  // A role's services, topics or devices changed; default roles.
  auto narrowed = after;
  narrowed.roles["dc1"].devices = "site=dc1 and role=leaf";
  narrowed.default_roles = {"viewer"};
  const auto change = describe_auth_change(after, narrowed);
  CHECK(change == "roles: ~dc1; default_roles: none -> viewer");
  CHECK(describe_auth_change(narrowed, after).find("-dc1") == std::string::npos);
  CHECK(describe_auth_change(before, after).find("KEY") == std::string::npos);
}
