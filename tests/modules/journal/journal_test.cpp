#include <catch2/catch.hpp>
#include <filesystem>

#include "kernel.h"
#include "support/bus_fixture.h"

using namespace nauto;
using namespace nauto::test;
using nlohmann::json;

namespace {

struct KernelFixture {
  std::string dir;
  std::unique_ptr<kernel::Kernel> kernel;

  explicit KernelFixture(const std::string& journal_yaml) {
    char pattern[] = "/tmp/nauto-journal-XXXXXX";
    dir = ::mkdtemp(pattern);
    auto config =
        kernel::parse_config("data_dir: " + dir + "/data\nrun_dir: " + dir + "/run\n" +
                                 "supervisor: {heartbeat_interval: 50ms, heartbeat_timeout: 2s}\n" +
                                 "modules:\n  journal: " + journal_yaml + "\n",
                             "test", {});
    REQUIRE(config);
    auto started = kernel::Kernel::start(*config, "");
    REQUIRE(started);
    kernel = std::move(*started);
  }
  ~KernelFixture() {
    kernel.reset();
    std::filesystem::remove_all(dir);
  }
  bus::BusClient client() {
    auto c = bus::BusClient::connect(*kernel->context(), kernel->ipc_endpoint(), "test");
    REQUIRE(c);
    return std::move(*c);
  }
  json query(bus::BusClient& c, const json& filter) {
    auto r = c.call("journal.query", filter, 2000);
    REQUIRE(r);
    return (*r)["events"];
  }
};

}  // namespace

TEST_CASE("the journal stores events and answers by topic, limit and time", "[journal]") {
  KernelFixture fx("{}");
  auto c = fx.client();
  REQUIRE(eventually([&] { return bool(c.call("journal.query", json::object(), 200)); }));
  const auto before = now_us();
  for (int i = 0; i < 5; ++i)
    REQUIRE(c.publish("device.iface.down", {{"n", i}}));
  REQUIRE(c.publish("telemetry.cpu.high", {{"cpu", 97}}));
  REQUIRE(eventually([&] { return fx.query(c, {{"topic", "device."}}).size() == 5; }));

  auto latest_two = fx.query(c, {{"topic", "device."}, {"limit", 2}});
  REQUIRE(latest_two.size() == 2);
  CHECK(latest_two[0]["body"]["n"] == 3);  // oldest first, and the latest two
  CHECK(latest_two[1]["body"]["n"] == 4);
  CHECK(latest_two[1]["src"] == "test");

  auto wildcard = fx.query(c, {{"topic", "*.cpu.*"}});
  REQUIRE(wildcard.size() == 1);
  CHECK(wildcard[0]["body"]["cpu"] == 97);

  auto in_range = fx.query(c, {{"since_us", before}, {"until_us", now_us() + 1}});
  CHECK(in_range.size() >= 6);
  auto future = fx.query(c, {{"since_us", now_us() + 60000000}});
  CHECK(future.empty());

  // Heartbeats are excluded by default.
  CHECK(fx.query(c, {{"topic", "kernel.heartbeat"}}).empty());
}

TEST_CASE("bad queries get errors naming the key", "[journal]") {
  KernelFixture fx("{}");
  auto c = fx.client();
  REQUIRE(eventually([&] { return bool(c.call("journal.query", json::object(), 200)); }));
  auto bad_limit = c.call("journal.query", {{"limit", 0}}, 2000);
  REQUIRE_FALSE(bad_limit);
  CHECK(bad_limit.error().code == Errc::InvalidArgument);
  CHECK(bad_limit.error().message.find("limit is 1 to") != std::string::npos);
  auto unknown = c.call("journal.query", {{"topik", "x"}}, 2000);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::InvalidArgument);
  CHECK(unknown.error().message.find("journal.query: unknown field 'topik'") != std::string::npos);
  auto mistyped = c.call("journal.query", {{"limit", "ten"}}, 2000);
  REQUIRE_FALSE(mistyped);
  CHECK(mistyped.error().code == Errc::InvalidArgument);
  CHECK(mistyped.error().message.find("field 'limit' must be an integer") != std::string::npos);
  auto pattern = c.call("journal.query", {{"topic", "a.>.b"}}, 2000);
  REQUIRE_FALSE(pattern);
}

TEST_CASE("retention keeps at most max_count events", "[journal]") {
  KernelFixture fx("{max_count: 10, retention_interval: 50ms}");
  auto c = fx.client();
  REQUIRE(eventually([&] { return bool(c.call("journal.query", json::object(), 200)); }));
  for (int i = 0; i < 50; ++i)
    REQUIRE(c.publish("flood.x", {{"n", i}}));
  json all;
  const bool trimmed = eventually(
      [&] {
        all = fx.query(c, {{"limit", 1000}});
        return all.size() <= 10 && !all.empty() && all.back()["body"]["n"] == 49;
      },
      15000);
  INFO(all.dump());
  CHECK(trimmed);
}

TEST_CASE("retention drops events older than max_age", "[journal]") {
  KernelFixture fx("{max_age: 1s, retention_interval: 50ms}");
  auto c = fx.client();
  REQUIRE(eventually([&] { return bool(c.call("journal.query", json::object(), 200)); }));
  REQUIRE(c.publish("old.news", json::object()));
  REQUIRE(eventually([&] { return fx.query(c, {{"topic", "old."}}).size() == 1; }));
  REQUIRE(eventually([&] { return fx.query(c, {{"topic", "old."}}).empty(); }, 4000));
}

TEST_CASE("journal config errors name the key", "[journal]") {
  auto c = kernel::parse_config("modules:\n  journal: {max_age: forever, keep: 1}\n", "t", {});
  REQUIRE_FALSE(c);
  CHECK(c.error().message.find("modules.journal.max_age: expected a duration") !=
        std::string::npos);
  CHECK(c.error().message.find("modules.journal.keep: unknown key") != std::string::npos);
}
