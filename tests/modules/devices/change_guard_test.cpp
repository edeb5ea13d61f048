#include "change_guard.h"

#include <catch2/catch.hpp>

using namespace nauto;
using namespace nauto::devices;
using nlohmann::json;

namespace {

// 2026-12-05 is a Saturday.
std::chrono::system_clock::time_point utc(int day, int hour, int minute) {
  return std::chrono::sys_days{std::chrono::year{2026} / 12 / day} + std::chrono::hours(hour) +
         std::chrono::minutes(minute);
}

JobSpec push_spec() {
  JobSpec spec;
  spec.kind = JobKind::Push;
  spec.config = "ntp server 10.0.0.1";
  return spec;
}

const json kDc1 = {{"name", "r1"}, {"platform", "cisco_ios"}, {"vars", {{"site", "dc1"}}}};
const json kDc2 = {
    {"name", "r2"}, {"platform", "cisco_ios"}, {"vars", {{"site", "dc2"}}}, {"tags", {"core"}}};

}  // namespace

TEST_CASE("pushes outside a device's change windows are refused", "[devices][guard]") {
  auto guard = ChangeGuard::parse(json::parse(R"([
    {"match": {"site": "dc1"}, "windows": ["Sat 22:00-Sun 04:00"], "time_zone": "Europe/Berlin"},
    {"match": {"tag": "core"}, "windows": ["02:00-03:00"]}])"));
  REQUIRE(guard);
  const auto spec = push_spec();
  // Saturday 20:30 UTC is 21:30 in Berlin: closed; 21:30 UTC is 22:30 there: open.
  auto closed = guard->check_windows(spec, {kDc1}, utc(5, 20, 30));
  REQUIRE_FALSE(closed);
  CHECK(closed.error().code == Errc::Rejected);
  CHECK(closed.error().message.find("r1 (Sat 22:00-Sun 04:00 Europe/Berlin)") != std::string::npos);
  CHECK(guard->check_windows(spec, {kDc1}, utc(5, 21, 30)));
  CHECK(guard->check_windows(spec, {kDc1}, utc(6, 2, 59)));  // Sunday 03:59 in Berlin: open
  CHECK_FALSE(guard->check_windows(spec, {kDc1}, utc(6, 3, 0)));
  // A daily window in UTC, by tag.
  CHECK(guard->check_windows(spec, {kDc2}, utc(9, 2, 30)));
  CHECK_FALSE(guard->check_windows(spec, {kDc2}, utc(9, 3, 30)));
  // One device out of its window refuses the whole push; overrides and dry runs pass.
  CHECK_FALSE(guard->check_windows(spec, {kDc1, kDc2}, utc(9, 2, 30)));
  auto overridden = spec;
  overridden.override_window = "CHG-42: the uplink is down";
  CHECK(guard->check_windows(overridden, {kDc1}, utc(5, 20, 30)));
  auto dry = spec;
  dry.dry_run = true;
  CHECK(guard->check_windows(dry, {kDc1}, utc(5, 20, 30)));
  // Devices no rule matches, and commands, are not held.
  const json other = {{"name", "r3"}, {"platform", "cisco_ios"}, {"vars", {{"site", "lab"}}}};
  CHECK(guard->check_windows(spec, {other}, utc(5, 20, 30)));
  JobSpec commands;
  commands.commands = {"show version"};
  CHECK(guard->check_windows(commands, {kDc1}, utc(5, 20, 30)));
}

TEST_CASE("change window mistakes name the rule and the window", "[devices][guard]") {
  auto bad = ChangeGuard::parse(
      json::parse(R"([{"match": {"site": "dc1"}, "windows": ["Sat 22-Sun 4"]}])"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("change_windows[0].windows: 'Sat 22-Sun 4' is not a window") !=
        std::string::npos);
  auto zone = ChangeGuard::parse(
      json::parse(R"([{"windows": ["01:00-02:00"], "time_zone": "Mars/Base"}])"));
  REQUIRE_FALSE(zone);
  CHECK(zone.error().message.find("unknown time zone 'Mars/Base'") != std::string::npos);
  CHECK_FALSE(ChangeGuard::parse(json::parse(R"([{"windows": [], "when": 1}])")));
}

TEST_CASE("dangerous commands need a reason or an approved diff", "[devices][guard]") {
  auto catalog = drivers::PlatformCatalog::load_default();
  REQUIRE(catalog);
  JobSpec reload;
  reload.commands = {"show version", "reload"};
  auto refused = check_dangerous(reload, {kDc1}, *catalog);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("'reload' is a dangerous command on cisco_ios") !=
        std::string::npos);
  reload.allow_dangerous = "maintenance window 12";
  CHECK(check_dangerous(reload, {kDc1}, *catalog));

  auto push = push_spec();
  push.config = "no router bgp 65001\n";
  CHECK_FALSE(check_dangerous(push, {kDc1}, *catalog));
  push.approved_diff_sha256 = "ab12";  // a person approved this diff
  CHECK(check_dangerous(push, {kDc1}, *catalog));
  auto dry = push_spec();
  dry.config = "no router bgp 65001\n";
  dry.dry_run = true;
  CHECK(check_dangerous(dry, {kDc1}, *catalog));
  JobSpec harmless;
  harmless.commands = {"show reload", "show running-config | include router bgp"};
  CHECK(check_dangerous(harmless, {kDc1}, *catalog));
  JobSpec junos;
  junos.kind = JobKind::Push;
  junos.config = "delete\nset system host-name r1\n";
  const json junos_host = {{"name", "j1"}, {"platform", "juniper_junos"}};
  CHECK_FALSE(check_dangerous(junos, {junos_host}, *catalog));
}
