#include "config/config.h"

#include <catch2/catch.hpp>

#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/registry.h"

using namespace nauto;
using namespace nauto::kernel;

namespace {
// A module so that `modules:` entries have something to validate against.
class ConfigProbeModule final : public Module {
 public:
  Manifest manifest() const override { return {"probe", "test", {}, {}, {}, {}, {}}; }
  Result<void> validate(const nlohmann::json& config) const override {
    ConfigReader r(config, "modules.probe");
    r.integer("level", 1, 1, 5);
    return r.finish();
  }
  Result<void> start(Context&) override { return ok(); }
};
NAUTO_REGISTER_MODULE(ConfigProbeModule, "probe");

Result<KernelConfig> parse(const std::string& text, std::map<std::string, std::string> env = {}) {
  return parse_config(text, "test.yaml", env);
}
}  // namespace

TEST_CASE("an empty file gives the documented defaults", "[config]") {
  auto c = parse("");
  REQUIRE(c);
  CHECK(c->data_dir == "/var/lib/nauto");
  CHECK(c->run_dir == "/run/nauto");
  CHECK(c->log.level == "info");
  CHECK(c->store_map_size == (64ull << 20));
  CHECK(c->store_max_size == (4ull << 30));
  CHECK(c->router_peer_high_water_mark == 1000);
  CHECK(c->router_request_timeout_ms == 30000);
  CHECK(c->supervisor.heartbeat_timeout_ms == 5000);
  CHECK(c->modules.empty());
}

TEST_CASE("values are read with units", "[config]") {
  auto c = parse(R"(
data_dir: /srv/nauto
log: {level: debug, format: json, file: /tmp/n.log}
store: {map_size: 64MiB}
router: {peer_high_water_mark: 50, request_timeout: 2m, scheduling: batch}
supervisor: {heartbeat_interval: 100ms, heartbeat_timeout: 1s, backoff_max: 1h}
modules:
  probe: {level: 3, isolation: process, scheduling: batch}
)");
  REQUIRE(c);
  CHECK(c->data_dir == "/srv/nauto");
  CHECK(c->log.level == "debug");
  CHECK(c->log.console_format == LogFormat::Json);
  CHECK(c->store_map_size == 64ull << 20);
  CHECK(c->router_request_timeout_ms == 120000);
  CHECK(c->supervisor.backoff_max_ms == 3600000);
  CHECK(c->router_scheduling == Scheduling::Batch);
  REQUIRE(c->modules.size() == 1);
  CHECK(c->modules[0].out_of_process);
  CHECK(c->modules[0].scheduling == Scheduling::Batch);
  CHECK(c->modules[0].config == nlohmann::json{{"level", 3}});
}

TEST_CASE("every problem is named with its key path and expected form", "[config]") {
  auto c = parse(R"(
log: {level: loud}
store: {map_size: lots}
router: {peer_high_water_mark: -3, request_timout: 5s}
supervisor: {heartbeat_interval: soon}
modules:
  probe: {level: 9, scheduling: realtime}
  nosuch: {}
colour: blue
)");
  REQUIRE_FALSE(c);
  const auto& m = c.error().message;
  INFO(m);
  CHECK(c.error().code == Errc::InvalidConfig);
  CHECK(c.error().where == "test.yaml");
  CHECK(m.find("log.level: expected one of trace, debug, info") != std::string::npos);
  CHECK(m.find("store.map_size: expected a size like") != std::string::npos);
  CHECK(m.find("router.peer_high_water_mark: expected an integer from 1") != std::string::npos);
  CHECK(m.find("router.request_timout: unknown key; known keys here:") != std::string::npos);
  CHECK(m.find("supervisor.heartbeat_interval: expected a duration like") != std::string::npos);
  CHECK(m.find("modules.probe.level: expected an integer from 1 to 5 (got 9)") !=
        std::string::npos);
  CHECK(m.find("modules.nosuch: no such module; available:") != std::string::npos);
  CHECK(m.find("modules.probe.scheduling: expected one of normal, batch") != std::string::npos);
  CHECK(m.find("colour: unknown key") != std::string::npos);
}

TEST_CASE("YAML syntax errors say where", "[config]") {
  auto c = parse("log:\n  level: info\n bad indent: [\n");
  REQUIRE_FALSE(c);
  CHECK(c.error().message.find("line ") != std::string::npos);
  auto not_a_map = parse("- a\n- b\n");
  REQUIRE_FALSE(not_a_map);
  CHECK(not_a_map.error().message.find("top level must be a mapping") != std::string::npos);
}

TEST_CASE("environment variables override the file", "[config]") {
  auto c = parse("log: {level: info}\ndata_dir: /a\n", {{"NAUTO_LOG_LEVEL", "debug"},
                                                        {"NAUTO_DATA_DIR", "/b"},
                                                        {"NAUTO_ROUTER_REQUEST_TIMEOUT", "7s"},
                                                        {"NAUTO_UNRELATED", "x"}});
  REQUIRE(c);
  CHECK(c->log.level == "debug");
  CHECK(c->data_dir == "/b");
  CHECK(c->router_request_timeout_ms == 7000);
  auto bad = parse("", {{"NAUTO_STORE_MAP_SIZE", "huge"}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("store.map_size") != std::string::npos);
}

TEST_CASE("cross-key rules are checked", "[config]") {
  auto c = parse(
      "supervisor: {heartbeat_interval: 2s, heartbeat_timeout: 1s}\n"
      "router: {tcp_endpoint: 127.0.0.1:5555}\n");
  REQUIRE_FALSE(c);
  CHECK(c.error().message.find("heartbeat_timeout: must be longer") != std::string::npos);
  CHECK(c.error().message.find("router.tcp_endpoint: expected tcp://HOST:PORT") !=
        std::string::npos);
}

TEST_CASE("duration and size parsing", "[config]") {
  CHECK(*parse_duration_ms("250ms") == 250);
  CHECK(*parse_duration_ms("30s") == 30000);
  CHECK(*parse_duration_ms("7d") == 604800000);
  CHECK(*parse_duration_ms("15") == 15);
  CHECK_FALSE(parse_duration_ms("5 fortnights"));
  CHECK_FALSE(parse_duration_ms("s"));
  CHECK(*parse_size_bytes("1GiB") == (1ull << 30));
  CHECK(*parse_size_bytes("4096") == 4096);
  CHECK_FALSE(parse_size_bytes("1GB"));
}

TEST_CASE("the embedded defaults are valid", "[config]") {
  // journal is not linked into this test, so drop the modules section for the check.
  std::string text = embedded_default_config();
  text = text.substr(0, text.find("modules:"));
  CHECK(parse(text));
}
