#include "nauto/bus/topic_match.h"

#include <catch2/catch.hpp>

using nauto::bus::topic_matches;
using nauto::bus::validate_pattern;

TEST_CASE("plain patterns are prefixes", "[bus][topics]") {
  CHECK(topic_matches("", "anything.at.all"));
  CHECK(topic_matches("device.", "device.config.changed"));
  CHECK(topic_matches("device", "device.config.changed"));
  CHECK_FALSE(topic_matches("device.", "devices.x"));
  CHECK_FALSE(topic_matches("kernel.module", "kernel.heart"));
}

TEST_CASE("'*' matches one segment, '>' the rest", "[bus][topics]") {
  CHECK(topic_matches("device.*.changed", "device.config.changed"));
  CHECK_FALSE(topic_matches("device.*.changed", "device.config.saved"));
  CHECK_FALSE(topic_matches("device.*.changed", "device.a.b.changed"));
  CHECK_FALSE(topic_matches("device.*", "device"));
  CHECK(topic_matches("device.*", "device.up"));
  CHECK(topic_matches("kernel.>", "kernel.module.failed"));
  CHECK(topic_matches("kernel.>", "kernel.heartbeat"));
  CHECK_FALSE(topic_matches("kernel.>", "kernel"));
  CHECK(topic_matches("*.iface.*", "telemetry.iface.down"));
}

TEST_CASE("bad wildcard patterns are rejected with an example", "[bus][topics]") {
  CHECK(validate_pattern("device.*.changed"));
  CHECK(validate_pattern("kernel.>"));
  CHECK(validate_pattern("plain.prefix"));
  auto mixed = validate_pattern("device.con*");
  REQUIRE_FALSE(mixed);
  CHECK(mixed.error().message.find("stand alone") != std::string::npos);
  auto middle = validate_pattern("a.>.b");
  REQUIRE_FALSE(middle);
  CHECK(middle.error().message.find("last segment") != std::string::npos);
}
