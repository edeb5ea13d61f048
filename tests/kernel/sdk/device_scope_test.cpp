// Who asked, and what a caller limited to some devices may stop (issue 30).
#include "nauto/sdk/device_scope.h"

#include <catch2/catch.hpp>

#include "nauto/bus/body.h"
#include "nauto/sdk/caller.h"

using namespace nauto;

namespace {
bus::Header user(std::string principal, std::string scope) {
  bus::Header header;
  header.source = "cli#1";
  header.principal = std::move(principal);
  header.scope = std::move(scope);
  return header;
}
}  // namespace

TEST_CASE("a caller without a scope stops anyone's work") {
  CHECK(check_own_work(user("root", ""), "cancel", {"run", "r1", "alice"}, "run.cancel"));
}

TEST_CASE("a caller limited to some devices stops only the work it started") {
  const auto dave = user("dave", "site=dc1");
  CHECK(check_own_work(dave, "pause", {"rollout", "ro1", "dave"}, "configs.rollout.pause"));
  auto refused = check_own_work(dave, "cancel", {"job", "j7", "root"}, "job.cancel");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::PermissionDenied);
  CHECK(refused.error().message ==
        "'dave' is limited to the devices 'site=dc1' and may cancel only the jobs it started; "
        "job j7 was started by 'root'");
  // A run's device calls are the engine's: the user cancels the run instead.
  auto engine_calls =
      check_own_work(dave, "cancel", {"device call", "j8", "module:runbooks"}, "device.cancel");
  REQUIRE_FALSE(engine_calls);
  CHECK(engine_calls.error().message.find("only the device calls it started") != std::string::npos);
}

TEST_CASE(
    "the caller is the verified principal; a request that did not cross the router is its "
    "source's") {
  CHECK(caller_of(user("carol", "")) == "carol");
  CHECK(caller_of(user("", "")) == "cli#1");
  CHECK(acts_for_others(user("module:runbooks", "")));
  CHECK(acts_for_others(user("", "")));
  CHECK_FALSE(acts_for_others(user("carol", "")));
}

TEST_CASE("a user's `by` is replaced by the user; a module's is kept") {
  bus::Envelope request;
  request.header = user("carol", "");
  request.body = bus::to_body(nlohmann::json{{"by", "admin"}, {"why", "x"}});
  attribute_body(request);
  CHECK(bus::from_body(request.body)->at("by") == "carol");
  request.header = user("module:runbooks", "");
  request.body = bus::to_body(nlohmann::json{{"by", "alice"}});
  attribute_body(request);
  CHECK(bus::from_body(request.body)->at("by") == "alice");
}

TEST_CASE("the devices a target picks outside a scope") {
  CHECK(outside_scope_selector("all", "site=dc1") == "(all) and not (site=dc1)");
}
