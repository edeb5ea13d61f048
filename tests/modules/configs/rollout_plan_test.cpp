// RolloutPlan: waves and failure thresholds of staged rollouts (issue 27).
#include "rollout_plan.h"

#include <catch2/catch.hpp>

using namespace nauto::configs;
using nlohmann::json;

namespace {

std::vector<json> fleet(int count) {
  std::vector<json> hosts;
  for (int i = count; i >= 1; --i)  // reversed: the plan orders them
    hosts.push_back(json{{"name", "r" + std::to_string(i)},
                         {"vars",
                          {{"site", i % 3 == 0   ? "dc3"
                                    : i % 2 == 0 ? "dc2"
                                                 : "dc1"}}}});
  return hosts;
}

std::vector<std::size_t> sizes(const Waves& waves) {
  std::vector<std::size_t> out;
  for (const auto& wave : waves)
    out.push_back(wave.size());
  return out;
}

}  // namespace

TEST_CASE("a canary, then sizes as Ansible's serial: the last repeats", "[rollout]") {
  auto waves = plan_waves(fleet(20), WaveRules{1, {"10%", "30%", "100%"}, ""});
  REQUIRE(waves);
  // 10% of 20 = 2, 30% = 6, then the 11 left.
  CHECK(sizes(*waves) == std::vector<std::size_t>{1, 2, 6, 11});
  CHECK((*waves)[0] == std::vector<std::string>{"r1"});
  CHECK((*waves)[1] == std::vector<std::string>{"r2", "r3"});  // r2 before r10
  CHECK(sizes(*plan_waves(fleet(20), WaveRules{0, {"5"}, ""})) ==
        std::vector<std::size_t>{5, 5, 5, 5});
  CHECK(sizes(*plan_waves(fleet(7), WaveRules{2, {}, ""})) == std::vector<std::size_t>{2, 5});
  // A percentage rounds up and is at least one device.
  CHECK(sizes(*plan_waves(fleet(3), WaveRules{0, {"1%"}, ""})) ==
        std::vector<std::size_t>{1, 1, 1});
  // A canary larger than the fleet is the whole fleet.
  CHECK(sizes(*plan_waves(fleet(3), WaveRules{10, {"1"}, ""})) == std::vector<std::size_t>{3});
  CHECK(plan_waves({}, WaveRules{1, {}, ""})->empty());
}

TEST_CASE("waves by an inventory key, the canary from the first", "[rollout]") {
  auto waves = plan_waves(fleet(12), WaveRules{1, {"2"}, "site"});
  REQUIRE(waves);
  // dc1: 1 5 7 11; dc2: 2 4 8 10; dc3: 3 6 9 12. Sizes do not apply.
  REQUIRE(waves->size() == 4);
  CHECK((*waves)[0] == std::vector<std::string>{"r1"});
  CHECK((*waves)[1] == std::vector<std::string>{"r5", "r7", "r11"});
  CHECK((*waves)[2] == std::vector<std::string>{"r2", "r4", "r8", "r10"});
  CHECK((*waves)[3] == std::vector<std::string>{"r3", "r6", "r9", "r12"});
  // A field before a variable; a device without the key is in the wave of "".
  std::vector<json> hosts{json{{"name", "a"}, {"platform", "eos"}}, json{{"name", "b"}}};
  auto by_platform = plan_waves(hosts, WaveRules{0, {}, "platform"});
  REQUIRE(by_platform);
  CHECK(*by_platform == Waves{{"b"}, {"a"}});
}

TEST_CASE("wave sizes and max_fail that are not counts or percentages are refused", "[rollout]") {
  for (const char* bad : {"", "x", "10%%", "-1", "101%", "5 "}) {
    auto waves = plan_waves(fleet(3), WaveRules{0, {bad}, ""});
    REQUIRE_FALSE(waves);
    CHECK(waves.error().code == nauto::Errc::InvalidArgument);
    CHECK(waves.error().message.find("waves") != std::string::npos);
  }
  CHECK_FALSE(tolerated_failures("lots", 20));
}

TEST_CASE("failures tolerated: a count, or a percentage rounded down", "[rollout]") {
  CHECK(*tolerated_failures("0", 20) == 0);
  CHECK(*tolerated_failures("", 20) == 0);
  CHECK(*tolerated_failures("3", 20) == 3);
  CHECK(*tolerated_failures("5%", 20) == 1);
  CHECK(*tolerated_failures("5%", 19) == 0);
  CHECK(*tolerated_failures("100%", 20) == 20);
}
