// The devices module's small parts: the credential cache and the path timing.
#include "credential_cache.h"

#include <catch2/catch.hpp>

#include "path_timing.h"

using nauto::devices::CredentialCache;
using nauto::devices::PathTiming;
using nlohmann::json;

TEST_CASE("cached credentials are fresh for their lifetime, then asked for again") {
  CredentialCache cache(10'000'000);
  std::set<std::string> missing;
  CHECK(cache.find({"lab", "core"}, missing, 0).empty());
  CHECK(missing == std::set<std::string>{"core", "lab"});
  cache.put({{"lab", {{"username", "admin"}}}}, 1'000'000);
  missing.clear();
  auto found = cache.find({"lab", "core"}, missing, 5'000'000);
  CHECK(found == json{{"lab", {{"username", "admin"}}}});
  CHECK(missing == std::set<std::string>{"core"});
  missing.clear();
  CHECK(cache.find({"lab"}, missing, 11'000'000).empty());  // expired
  CHECK(missing == std::set<std::string>{"lab"});
  cache.put({{"lab", {{"username", "admin"}}}}, 11'000'000);
  cache.clear();  // the vault announced a change
  missing.clear();
  CHECK(cache.find({"lab"}, missing, 11'000'001).empty());
  cache.put("not an object", 0);  // a malformed answer adds nothing
}

TEST_CASE("path timing: before and after the driver, with the driver as the baseline") {
  PathTiming timing;
  for (int i = 0; i < 100; ++i)  // received, driver started, driver finished, replied (µs)
    timing.add(1'000, 1'000 + 1'000 + i, 1'000 + 1'000 + i + 50'000, 1'000 + 1'000 + i + 50'300);
  timing.add(0, 0, 0, 5);  // a call whose driver never started is not a sample
  auto summary = timing.summary();
  CHECK(summary["calls"] == 100);
  CHECK(summary["before_driver_ms"]["p50"].get<double>() == Approx(1.049).margin(0.002));
  CHECK(summary["driver_ms"]["p50"] == 50.0);
  CHECK(summary["after_driver_ms"]["max"] == 0.3);
  timing.clear();
  CHECK(timing.summary()["calls"] == 0);
}
