// Thresholds on a manual clock: for-durations, hysteresis, rates of change and absent data.
#include "thresholds.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace nauto;
using namespace nauto::telemetry;
using json = nlohmann::json;

namespace {

constexpr std::int64_t kMinute = 60'000;

struct Recorder {
  std::vector<ThresholdEvent> events;
  ThresholdEngine engine{[this](const ThresholdEvent& e) { events.push_back(e); }};
};

std::vector<Threshold> parse(const char* text) {
  auto parsed = parse_thresholds(json::parse(text));
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed);
  return *parsed;
}

SeriesKey cpu(const std::string& device) {
  return {"cpu_load_percent", device, {{"cpu", "1"}}};
}

}  // namespace

TEST_CASE("a static threshold crosses after `for` and clears below the band",
          "[telemetry][thresholds]") {
  Recorder r;
  r.engine.configure(parse(R"([{"name": "cpu-high", "metric": "cpu_load_percent",
                                "above": 80, "for": "5m", "clear": 70, "severity": "critical"}])"));
  std::int64_t t = 0;
  auto feed = [&](double v) {
    t += kMinute;
    r.engine.observe(cpu("r1"), t, v);
  };
  feed(90);
  feed(95);
  feed(75);  // not above: the 5 minutes start again
  for (int i = 0; i < 5; ++i)
    feed(85);
  CHECK(r.events.empty());
  feed(85);  // 5 minutes above since the first 85
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].crossed);
  CHECK(r.events[0].threshold->severity == "critical");
  CHECK(r.events[0].since_ms == 4 * kMinute);
  CHECK(r.events[0].series.device == "r1");
  // Hovering between 70 and 80 neither crosses again nor clears: no flapping.
  for (double v : {79.0, 81.0, 72.0, 85.0, 71.0})
    feed(v);
  CHECK(r.events.size() == 1);
  feed(69);
  REQUIRE(r.events.size() == 2);
  CHECK_FALSE(r.events[1].crossed);
  CHECK(r.events[1].value == 69);
  CHECK(r.engine.firing().empty());
  // Another device has its own state.
  r.engine.observe(cpu("r2"), t, 99);
  CHECK(r.events.size() == 2);
}

TEST_CASE("a `for` elapses on time alone when the series is quiet", "[telemetry][thresholds]") {
  Recorder r;
  r.engine.configure(
      parse(R"([{"name": "low", "metric": "cpu_load_percent", "below": 10, "for": "2m"}])"));
  r.engine.observe(cpu("r1"), kMinute, 5);
  r.engine.tick(2 * kMinute);
  CHECK(r.events.empty());
  r.engine.tick(3 * kMinute);
  REQUIRE(r.events.size() == 1);
  CHECK(r.engine.firing().size() == 1);
}

TEST_CASE("rate of change and absent data", "[telemetry][thresholds]") {
  Recorder r;
  r.engine.configure(parse(R"([
    {"name": "prefixes-collapse", "metric": "bgp_prefixes", "change_below": -100},
    {"name": "silent", "metric": "uptime_seconds", "absent": "3m"}])"));
  const SeriesKey prefixes{"bgp_prefixes", "r1", {{"peer", "192.0.2.1"}}};
  r.engine.observe(prefixes, kMinute, 5000);
  r.engine.observe(prefixes, 2 * kMinute, 4950);  // -50 a minute
  CHECK(r.events.empty());
  r.engine.observe(prefixes, 3 * kMinute, 1000);  // -3950 a minute
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].threshold->name == "prefixes-collapse");
  r.engine.observe(prefixes, 4 * kMinute, 1000);  // steady again
  REQUIRE(r.events.size() == 2);
  CHECK_FALSE(r.events[1].crossed);

  const SeriesKey up{"uptime_seconds", "r2", {}};
  r.engine.observe(up, kMinute, 100);
  r.engine.tick(3 * kMinute);
  CHECK(r.events.size() == 2);
  r.engine.tick(4 * kMinute);
  REQUIRE(r.events.size() == 3);
  CHECK(r.events[2].crossed);
  CHECK(r.events[2].since_ms == kMinute);
  r.engine.tick(10 * kMinute);
  CHECK(r.events.size() == 3);  // once
  r.engine.observe(up, 11 * kMinute, 700);
  REQUIRE(r.events.size() == 4);
  CHECK_FALSE(r.events[3].crossed);
}

TEST_CASE("threshold lists are checked with every problem named", "[telemetry][thresholds]") {
  auto bad = parse_thresholds(json::parse(R"([
    {"name": "a", "metric": "m", "above": 80, "clear": 90},
    {"name": "a", "metric": "m", "above": 1, "below": 2},
    {"metric": "m", "above": "high"},
    {"name": "d", "metric": "m", "above": 1, "labels": {"x": 1}, "colour": "red"}])"));
  REQUIRE_FALSE(bad);
  const auto& m = bad.error().message;
  CHECK_THAT(m, Catch::Contains("thresholds[0].clear: must be on the other side"));
  CHECK_THAT(m, Catch::Contains("thresholds[1]: needs exactly one of"));
  CHECK_THAT(m, Catch::Contains("'a' is used twice"));
  CHECK_THAT(m, Catch::Contains("thresholds[2].above: must be a number"));
  CHECK_THAT(m, Catch::Contains("thresholds[2].name: is required"));
  CHECK_THAT(m, Catch::Contains("thresholds[3].labels.x: must be a string"));
  CHECK_THAT(m, Catch::Contains("colour"));
}
