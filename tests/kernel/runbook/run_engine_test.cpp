// The runbook engine against a scripted bus: sandbox, limits, the Lua API, parameters, YAML
// runbooks, approvals, sub-runbooks, and durable re-execution after a restart.

#include <catch2/catch.hpp>
#include <fstream>

#include "engine_harness.h"
#include "nauto/base/digest.h"

using namespace nauto;
using namespace nauto::runbook;
using namespace nauto::runbook::testing;
using nlohmann::json;

namespace {

// A device service that answers `show` commands with "<device>: <command>", counts calls per
// device+command, and fails devices whose name starts with "bad".
struct FakeDevices {
  std::map<std::string, int> calls;
  std::int64_t delay_ms = 20;
  void install(ScriptedBus& bus) {
    bus.services["device.call"] = [this](const json& body) -> Answer {
      const auto device = body.value("device", "");
      const auto kind = body.value("kind", "");
      std::string what = kind;
      if (kind == "commands") what = body["commands"][0].get<std::string>();
      ++calls[device + "|" + what];
      if (device.rfind("bad", 0) == 0) {
        return {fail(Errc::Timeout, device + ": no answer within 1s"), delay_ms};
      }
      if (kind == "commands") {
        json outputs = json::array();
        for (const auto& c : body["commands"])
          outputs.push_back({{"command", c}, {"text", device + ": " + c.get<std::string>()}});
        return {outputs, delay_ms};
      }
      if (kind == "push") {
        return {json{{"changed", true},
                     {"dry_run", body.value("dry_run", false)},
                     {"diff", "+" + body.value("config", "")},
                     {"commands", json::array()}},
                delay_ms};
      }
      if (kind == "get_config") return {json{{"config", "hostname " + device}}, delay_ms};
      return {json{{"hostname", device}, {"vendor", "lab"}}, delay_ms};
    };
    bus.services["inventory.select"] = [](const json& body) -> Answer {
      const auto selector = body.value("selector", "");
      if (selector == "bad syntax(") return {fail(Errc::InvalidArgument, "unbalanced"), 0};
      json hosts = json::array();
      if (selector == "role=leaf" || selector == "all") {
        for (const char* name : {"leaf1", "leaf2", "leaf3", "bad-leaf4"})
          hosts.push_back({{"name", name}, {"platform", "cisco_ios"}, {"site", "dc1"}});
      } else if (selector.rfind("name=", 0) == 0 && selector != "name=ghost") {
        hosts.push_back({{"name", selector.substr(5)}});
      }
      return {json{{"hosts", hosts}}, 1};
    };
  }
};

std::string lua(const std::string& body, const std::string& params = "{}") {
  return "return runbook{ name = 't', params = " + params + ", run = function(p)\n" + body +
         "\nend }";
}

}  // namespace

TEST_CASE("the sandbox has no way out", "[runbook][sandbox]") {
  Harness h;
  auto r = h.run(lua(R"LUA(
    local escaped = {}
    for _, name in ipairs({"os", "io", "require", "dofile", "loadfile", "debug", "package",
                           "collectgarbage", "coroutine"}) do
      if _G[name] ~= nil then escaped[#escaped + 1] = name end
    end
    if string.dump ~= nil then escaped[#escaped + 1] = "string.dump" end
    local f, err = load("\27Lua\84\0\25\147\13\10\26\10", "binary", "b")
    if f ~= nil then escaped[#escaped + 1] = "bytecode" end
    local g = load("return 1 + 1")
    return { escaped = escaped, text_load = g(), binary_error = err })LUA"));
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  CHECK(r["result"]["escaped"].empty());
  CHECK(r["result"]["text_load"] == 2);
  CHECK(r["result"]["binary_error"].get<std::string>().find("binary") != std::string::npos);
}

TEST_CASE("limits stop runaway runbooks with a clear reason", "[runbook][limits]") {
  EngineOptions options;
  options.limits.instruction_budget = 2'000'000;
  options.limits.max_memory_bytes = 8u << 20;
  Harness h(options);

  auto loop = h.run(lua("while true do end"));
  CHECK(loop["state"] == "failed");
  CHECK(loop["error"].get<std::string>().find("instruction budget of 2000000 exceeded") !=
        std::string::npos);

  // Catching the limit's error does not help: it is raised again at the next check.
  auto caught = h.run(lua("pcall(function() while true do end end) while true do end"));
  CHECK(caught["state"] == "failed");
  CHECK(caught["error"].get<std::string>().find("instruction budget") != std::string::npos);

  auto memory = h.run(lua("local t = {} for i = 1, 1e7 do t[i] = string.rep('x', 64) .. i end"));
  INFO(memory.dump());
  CHECK(memory["state"] == "failed");
  CHECK(memory["error"].get<std::string>().find("memory limit of 8.0 MiB exceeded") !=
        std::string::npos);

  // Its own engine, so that the short deadline cannot cut the runs above short on a loaded
  // machine (they would fail as timed out instead of over their limit).
  options.run_timeout_ms = 400;
  Harness deadline(options);
  auto slow = deadline.run(lua("wait(30) return 'never'"));
  CHECK(slow["state"] == "timed_out");
  CHECK(slow["error"].get<std::string>().find("deadline") != std::string::npos);
}

TEST_CASE("parameters are checked before the run starts", "[runbook][params]") {
  FakeDevices devices;
  Harness h;
  devices.install(h.bus);
  const auto source = lua("return p.count * 2",
                          "{ count = {type = 'int', required = true}, peer = {type = 'ip'},"
                          " dev = {type = 'device'}, sel = {type = 'selector'},"
                          " vlans = {type = 'list', default = {}}, on = {type = 'bool'} }");
  auto bad = h.start(source, json{{"count", "many"}, {"peer", "10.0.0.300"}, {"cuont", 1}});
  REQUIRE_FALSE(bad);
  const auto message = bad.error().message;
  CHECK(message.find("param 'count': expected an integer, got 'many'") != std::string::npos);
  CHECK(message.find("param 'peer': expected an IPv4 or IPv6 address") != std::string::npos);
  CHECK(message.find("did you mean 'count'?") != std::string::npos);

  auto missing = h.start(source, json::object());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("param 'count' is required") != std::string::npos);

  auto ghost = h.start(source, json{{"count", "2"}, {"dev", "ghost"}, {"sel", "bad syntax("}});
  REQUIRE_FALSE(ghost);
  INFO(ghost.error().message);
  CHECK(ghost.error().message.find("no device named 'ghost'") != std::string::npos);
  CHECK(ghost.error().message.find("param 'sel'") != std::string::npos);

  auto good = h.run(source, json{{"count", "21"}, {"vlans", "10, 20"}, {"on", "yes"}});
  CHECK(good["state"] == "succeeded");
  CHECK(good["result"] == 42);
  CHECK(good["params"]["vlans"] == json::array({"10", "20"}));
  CHECK(good["params"]["on"] == true);

  auto not_a_runbook = h.start("return 42");
  REQUIRE_FALSE(not_a_runbook);
  CHECK(not_a_runbook.error().message.find("a runbook ends with `return runbook{") !=
        std::string::npos);
}

TEST_CASE("device calls, parallel fan-out, retry and failures", "[runbook][api]") {
  FakeDevices devices;
  Harness h;
  devices.install(h.bus);
  auto r = h.run(lua(R"LUA(
    local leaves = inventory.select("role=leaf")
    local versions, failures = parallel(leaves, function(d)
      return d:run("show version")
    end, { max = 2 })
    local tries = 0
    local flaky = retry(function()
      tries = tries + 1
      if tries < 3 then error("not yet") end
      return "third time"
    end, { attempts = 3, delay = 0.01 })
    local facts = device("leaf1"):facts()
    local diff = device("leaf2"):diff({ "hostname leaf2" })
    local ok, err = pcall(function() local x = device("bad-x"):run("show clock") return x end)
    log.info("checked %d devices", #leaves)
    return { versions = versions, failed = #failures, failed_device = failures[1].item.name,
             failed_error = failures[1].error, flaky = flaky, tries = tries,
             vendor = facts.vendor, diff = diff, pcall_ok = ok, pcall_error = err })LUA"));
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  const auto& result = r["result"];
  CHECK(result["versions"][0] == "leaf1: show version");
  CHECK(result["versions"][2] == "leaf3: show version");
  CHECK(result["failed"] == 1);
  CHECK(result["failed_device"] == "bad-leaf4");
  CHECK(result["failed_error"].get<std::string>().find("bad-leaf4: no answer") !=
        std::string::npos);
  CHECK(result["flaky"] == "third time");
  CHECK(result["tries"] == 3);
  CHECK(result["vendor"] == "lab");
  CHECK(result["diff"] == "+hostname leaf2");
  CHECK(result["pcall_ok"] == false);
  // The error names the runbook line that made the call.
  CHECK(result["pcall_error"].get<std::string>().find("test.lua:") != std::string::npos);
  CHECK(h.bus.peak_in_flight <= 2);
  CHECK(h.bus.count("run.log") == 1);
  CHECK(h.bus.count("run.finished") == 1);

  // Text helpers on device output.
  auto text = h.run(lua(R"LUA(
    local out = "interface Gi1\n description uplink\n shutdown\ninterface Gi2\n description x\n"
    return { first = re.match(out, "^interface (\\S+)"),
             all = re.find_all(out, "^interface (\\S+)"),
             pairs = re.find_all("a=1 b=2", "(\\w)=(\\d)"),
             gi1 = section(out, "^interface Gi1$"), n = #lines(out),
             down = re.test(section(out, "Gi1$"), "^\\s+shutdown") })LUA"));
  REQUIRE(text["state"] == "succeeded");
  CHECK(text["result"]["first"] == "Gi1");
  CHECK(text["result"]["all"] == json::array({"Gi1", "Gi2"}));
  CHECK(text["result"]["pairs"] == json::parse(R"([["a","1"],["b","2"]])"));
  CHECK(text["result"]["gi1"] == "interface Gi1\n description uplink\n shutdown");
  CHECK(text["result"]["n"] == 5);
  CHECK(text["result"]["down"] == true);

  auto failing = h.run(lua("fail('BGP peer 192.0.2.1 is down')"));
  CHECK(failing["state"] == "failed");
  CHECK(failing["error"] == "BGP peer 192.0.2.1 is down");
}

TEST_CASE("dry runs never change a device", "[runbook][api]") {
  FakeDevices devices;
  Harness h;
  devices.install(h.bus);
  bool pushed_for_real = false;
  auto inner = h.bus.services["device.call"];
  h.bus.services["device.call"] = [&](const json& body) {
    if (body.value("kind", "") == "push" && !body.value("dry_run", false)) pushed_for_real = true;
    return inner(body);
  };
  auto id = h.start(lua("return device('leaf1'):push('ntp server 192.0.2.1').dry_run"),
                    json::object(), "t.lua", true);
  REQUIRE(id);
  auto r = h.finish(*id);
  CHECK(r["state"] == "succeeded");
  CHECK(r["result"] == true);
  CHECK_FALSE(pushed_for_real);
}

TEST_CASE("approvers may be named by role", "[runbook][approval]") {
  Harness h;
  const auto source = lua(R"LUA(
    local decision = approve{ message = "go?", approvers = { "role:approver", "carol" },
                              timeout = 60 }
    return decision.by)LUA");
  auto id = h.start(source);
  REQUIRE(id);
  h.bus.run_until([&] { return h.bus.count("run.approval") == 1; });
  // A name is not a role, and another role does not count.
  CHECK(h.engine().decide(*id, "", true, "approver", "").error().code == Errc::PermissionDenied);
  CHECK(h.engine().decide(*id, "", true, "dan", {"operator", "viewer"}, "").error().code ==
        Errc::PermissionDenied);
  REQUIRE(h.engine().decide(*id, "", true, "dan", {"viewer", "approver"}, "has the role"));
  auto r = h.finish(*id);
  CHECK(r["state"] == "succeeded");
  CHECK(r["result"] == "dan");
  // A principal named in the list still decides without the role.
  auto named = h.start(source);
  REQUIRE(named);
  h.bus.run_until([&] { return h.bus.count("run.approval") == 2; });
  REQUIRE(h.engine().decide(*named, "", true, "carol", "named"));
  CHECK(h.finish(*named)["result"] == "carol");
}

TEST_CASE("approvals wait for an approver", "[runbook][approval]") {
  FakeDevices devices;
  Harness h;
  devices.install(h.bus);
  const auto source = lua(R"LUA(
    local decision = approve{ message = "push NTP to leaf1?", approvers = { "alice" },
                              timeout = 60 }
    return decision.by)LUA");
  auto id = h.start(source);
  REQUIRE(id);
  h.bus.run_until([&] { return h.bus.count("run.approval") == 1; });
  CHECK(h.engine().decide(*id, "", true, "mallory", "").error().code == Errc::PermissionDenied);
  REQUIRE(h.engine().decide(*id, "", true, "alice", "looks fine"));
  auto r = h.finish(*id);
  CHECK(r["state"] == "succeeded");
  CHECK(r["result"] == "alice");

  auto rejected = h.start(source);
  REQUIRE(rejected);
  h.bus.run_until([&] { return h.bus.count("run.approval") == 2; });
  REQUIRE(h.engine().decide(*rejected, "", false, "alice", "not during business hours"));
  auto r2 = h.finish(*rejected);
  CHECK(r2["state"] == "failed");
  CHECK(r2["error"].get<std::string>().find("rejected by alice (not during business hours)") !=
        std::string::npos);

  auto expiring = h.run(lua("approve{ message = 'x', timeout = 0.2 }"));
  CHECK(expiring["state"] == "failed");
  CHECK(expiring["error"].get<std::string>().find("nobody approved within") != std::string::npos);
}

// A device whose running config can drift between the approval and the push: the diff it
// would apply is "+<config><drift>"; a push that names an approved diff hash fails with
// Errc::Conflict when the diff it would apply now has another hash, as the devices module does.
struct DriftingDevice {
  std::string drift;
  std::vector<json> real_pushes;
  void install(ScriptedBus& bus) {
    bus.services["device.call"] = [this](const json& body) -> Answer {
      const auto diff = "+" + body.value("config", "") + drift;
      if (body.value("dry_run", false)) {
        return {json{{"changed", true},
                     {"dry_run", true},
                     {"diff", diff},
                     {"diff_sha256", sha256_hex(diff)}},
                5};
      }
      const auto approved = body.value("approved_diff_sha256", "");
      if (!approved.empty() && approved != sha256_hex(diff))
        return {fail(Errc::Conflict, "leaf1: the change differs from the approved diff"), 5};
      real_pushes.push_back(body);
      return {json{{"changed", true},
                   {"dry_run", false},
                   {"diff", diff},
                   {"diff_sha256", sha256_hex(diff)}},
              5};
    };
  }
};

TEST_CASE("an approved push goes out only as the diff that was approved", "[runbook][approval]") {
  DriftingDevice device;
  Harness h;
  device.install(h.bus);
  const auto source = lua(R"LUA(
    local result = device('leaf1'):push('ntp server 192.0.2.1',
      { approval = { message = "NTP on leaf1", approvers = { "alice" } } })
    return { by = result.approved_by, diff = result.diff })LUA");
  auto id = h.start(source);
  REQUIRE(id);
  h.bus.run_until([&] { return h.bus.count("run.approval") == 1; });
  auto pending = h.engine().pending_approvals();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0]["device"] == "leaf1");
  CHECK(pending[0]["diff"] == "+ntp server 192.0.2.1");
  CHECK(pending[0]["diff_sha256"] == sha256_hex("+ntp server 192.0.2.1"));
  CHECK(pending[0]["message"] == "NTP on leaf1");
  const auto first = pending[0]["id"].get<std::string>();
  CHECK(first.rfind(*id + "/", 0) == 0);
  CHECK(pending[0].contains("expires_us"));

  // The device changes while the approver reads: the approved diff is not what would be pushed
  // now, so nothing is pushed and the new diff is put to the approver.
  device.drift = "\n+logging host 192.0.2.9";
  REQUIRE(h.engine().decide(*id, pending[0]["key"], true, "alice", "ok"));
  h.bus.run_until([&] { return h.bus.count("run.approval") == 2; });
  CHECK(device.real_pushes.empty());
  pending = h.engine().pending_approvals();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0]["diff"] == "+ntp server 192.0.2.1\n+logging host 192.0.2.9");
  CHECK(pending[0]["id"] != first);
  REQUIRE(h.engine().decide(*id, pending[0]["key"], true, "alice", "seen the new one"));
  auto r = h.finish(*id);
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  CHECK(r["result"]["by"] == "alice");
  REQUIRE(device.real_pushes.size() == 1);
  CHECK(device.real_pushes[0]["approved_diff_sha256"] ==
        sha256_hex("+ntp server 192.0.2.1\n+logging host 192.0.2.9"));
  CHECK(h.bus.count("run.approval.decided") == 2);

  // Denied: nothing is pushed and the run fails with who and why.
  auto denied = h.start(source);
  REQUIRE(denied);
  h.bus.run_until([&] { return h.bus.count("run.approval") == 3; });
  REQUIRE(h.engine().decide(*denied, "", false, "alice", "change freeze"));
  auto d = h.finish(*denied);
  CHECK(d["state"] == "failed");
  CHECK(d["error"].get<std::string>().find("rejected by alice (change freeze)") !=
        std::string::npos);
  CHECK(device.real_pushes.size() == 1);

  // Under `nauto run --dry-run` an approval-bound push is only previewed, never asked for.
  auto dry = h.start(source, json::object(), "t.lua", true);
  REQUIRE(dry);
  CHECK(h.finish(*dry)["state"] == "succeeded");
  CHECK(h.bus.count("run.approval") == 3);
}

TEST_CASE("a restarted engine resumes a run without repeating finished device calls",
          "[runbook][durable]") {
  FakeDevices devices;
  devices.delay_ms = 50;
  Harness h;
  devices.install(h.bus);
  const auto source = lua(R"LUA(
    local a = device("r1"):run("show version")
    local b = device("r2"):run("show version")
    wait(0.3)
    local c = device("r3"):run("show version")
    store.put("last", c)
    return { a, b, c, store.get("last") })LUA");
  auto id = h.start(source);
  REQUIRE(id);
  // Stop the world while the run waits: r1 and r2 are done, r3 not yet asked.
  h.bus.run_until(
      [&] { return devices.calls.count("r2|show version") == 1 && h.bus.in_flight == 0; });
  // ...and the journal holds both results and the wait, written in that order: a slow machine
  // (the sanitizer pass) must not crash it before they are stored.
  REQUIRE(h.bus.run_until([&] {
    auto entries = h.engine().journal().entries(*id);
    return entries && entries->size() >= 3;
  }));
  CHECK(devices.calls["r1|show version"] == 1);
  h.restart();
  devices.install(h.bus);
  auto resumed = h.engine().resume_unfinished();
  REQUIRE(resumed);
  CHECK(*resumed == 1);
  auto r = h.finish(*id);
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  CHECK(r["result"] == json::array({"r1: show version", "r2: show version", "r3: show version",
                                    "r3: show version"}));
  CHECK(devices.calls["r1|show version"] == 1);  // replayed from the journal
  CHECK(devices.calls["r2|show version"] == 1);
  CHECK(devices.calls["r3|show version"] == 1);
  CHECK(r["resumes"] == 1);
  CHECK(r["replayed"].get<int>() >= 2);

  // A push in flight at the crash is not repeated blindly.
  devices.delay_ms = 5000;
  auto push = h.start(lua("device('r1'):run('show clock') device('r1'):push('hostname x')"));
  REQUIRE(push);
  h.bus.run_until([&] { return devices.calls.count("r1|push") == 1; });
  h.restart();
  devices.delay_ms = 10;
  devices.install(h.bus);
  REQUIRE(h.engine().resume_unfinished());
  auto p = h.finish(*push);
  CHECK(p["state"] == "failed");
  CHECK(p["error"].get<std::string>().find("a config push was in flight when nautod stopped") !=
        std::string::npos);
  CHECK(devices.calls["r1|show clock"] == 1);
  CHECK(devices.calls["r1|push"] == 1);

  // A run started after the restart but before the journal is scanned is live, not unfinished:
  // resuming it too would run its device calls twice.
  devices.delay_ms = 100;
  auto live = h.start(lua("return device('r9'):run('show users')"));
  REQUIRE(live);
  auto rescanned = h.engine().resume_unfinished();
  REQUIRE(rescanned);
  CHECK(*rescanned == 0);
  CHECK(h.finish(*live)["state"] == "succeeded");
  CHECK(devices.calls["r9|show users"] == 1);
}

TEST_CASE("runbooks call other runbooks from the catalog", "[runbook][call]") {
  const auto dir = std::filesystem::temp_directory_path() / "nauto-runbook-catalog";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "double.lua")
      << lua("return p.n * 2", "{ n = {type = 'int', required = true} }");
  FakeDevices devices;
  Harness h({}, {dir.string()});
  devices.install(h.bus);
  auto r = h.run(lua("return call('double', { n = 21 }) + 0"));
  CHECK(r["state"] == "succeeded");
  CHECK(r["result"] == 42);
  auto missing = h.run(lua("return call('nope', {})"));
  CHECK(missing["state"] == "failed");
  CHECK(missing["error"].get<std::string>().find("no runbook named 'nope'") != std::string::npos);
  auto bad_params = h.run(lua("return call('double', { m = 1 })"));
  CHECK(bad_params["error"].get<std::string>().find("param 'n' is required") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a run that computes is paused between slices and fails alone", "[runbook][limits]") {
  EngineOptions options;
  options.limits.instruction_budget = 1'000'000'000'000ULL;
  options.run_timeout_ms = 2'500;
  options.slice_ms = 20;
  Harness h(options);
  auto spin = h.start(lua("while true do end"));
  REQUIRE(spin);
  // While one run spins, others start, run and finish.
  const auto started = steady_us();
  auto ok = h.run(lua("return 'ok'"));
  CHECK(ok["state"] == "succeeded");
  CHECK(steady_us() - started < 1'000'000);
  // The poison runbook of issue 24: Lua's own matcher would hold the thread for hours. Here
  // the stretch it cannot be paused in is cut at 1 s, long before the run's deadline.
  auto poison = h.run(lua(R"LUA(return ("a"):rep(30000):find(("a*"):rep(10) .. "b"))LUA"));
  INFO(poison.dump());
  CHECK(poison["state"] == "failed");
  CHECK(poison["error"].get<std::string>().find(
            "string.find: computed for over 1000 ms where the engine cannot pause it") !=
        std::string::npos);
  CHECK(h.run(lua("return 'still ok'"))["result"] == "still ok");
  // The deadline ends it: the engine's timer or the hook, whichever sees it first.
  auto s = h.finish(*spin, 5'000);
  CHECK(s["state"] != "running");
  CHECK(s["error"].get<std::string>().find("deadline") != std::string::npos);
  CHECK(steady_us() - started < 5'000'000);
}

TEST_CASE("a run computing when the engine died is quarantined, not replayed",
          "[runbook][durable]") {
  EngineOptions options;
  options.limits.instruction_budget = 1'000'000'000'000ULL;
  options.slice_ms = 10;
  Harness h(options);
  auto spin = h.start(lua("log.info('spinning') while true do end"));
  REQUIRE(spin);
  auto waiting = h.start(lua("wait(0.3) return 'after the wait'"));
  REQUIRE(waiting);
  // The stored record names the run as computing once it was first paused.
  auto computing = [&] {
    auto stored = h.engine().journal().run(*spin);
    return stored && *stored && (*stored)->contains("computing_since_us");
  };
  REQUIRE(h.bus.run_until(computing));
  h.restart();  // as after kill -9: no orderly stop
  auto resumed = h.engine().resume_unfinished();
  REQUIRE(resumed);
  CHECK(*resumed == 1);  // the waiting run only
  auto q = h.record(*spin);
  CHECK(q["state"] == "failed");
  CHECK(q["error"].get<std::string>().find("stopped the runbook engine; quarantined") !=
        std::string::npos);
  CHECK(q["quarantined"] == true);
  CHECK(h.bus.count("run.quarantined") == 1);
  CHECK(h.finish(*waiting)["result"] == "after the wait");

  // An orderly stop clears the mark: the run is replayed (and cancelled here).
  auto again = h.start(lua("while true do end"));
  REQUIRE(again);
  REQUIRE(h.bus.run_until(
      [&] { return h.engine().journal().run(*again).value()->contains("computing_since_us"); }));
  h.engine().stopping();
  h.restart();
  REQUIRE(h.engine().resume_unfinished().value() == 1);
  CHECK(h.bus.count("run.quarantined") == 1);
  REQUIRE(h.engine().cancel(*again, "tester"));
  CHECK(h.record(*again)["state"] == "cancelled");
}

TEST_CASE("retention sweeps old runs and their steps, and caps how many are kept",
          "[runbook][retention]") {
  Harness h;
  auto& journal = h.engine().journal();
  const auto now = now_us();
  const std::int64_t day = 24ll * 3600 * 1'000'000;
  // Five runs 40, 39, ... 36 days old and five from today, each with two steps.
  std::vector<std::string> old_ids, new_ids;
  for (int i = 0; i < 10; ++i) {
    const auto started = i < 5 ? now - (40 - i) * day : now - (5 - (i - 5)) * 60'000'000ll;
    const auto id = RunJournal::id_prefix_at(started) + "-00000" + std::to_string(i);
    (i < 5 ? old_ids : new_ids).push_back(id);
    REQUIRE(
        journal.put_run(json{{"id", id}, {"state", "succeeded"}, {"started_us", started}}, true));
    REQUIRE(journal.put_entry(id, "m#1", json{{"kind", "device"}}, true));
    REQUIRE(journal.put_entry(id, "m#2", json{{"kind", "wait"}}, true));
  }
  RunRetention keep;  // 30 days, 100,000 runs
  auto swept = journal.sweep(keep, now);
  REQUIRE(swept);
  CHECK(*swept == 5);
  for (const auto& id : old_ids) {
    CHECK_FALSE(*journal.run(id));
    CHECK(journal.entries(id)->empty());
  }
  for (const auto& id : new_ids) {
    CHECK(*journal.run(id));
    CHECK(journal.entries(id)->size() == 2);
  }
  // A cap on the count takes the oldest first.
  keep.max_runs = 2;
  swept = journal.sweep(keep, now);
  REQUIRE(swept);
  CHECK(*swept == 3);
  CHECK_FALSE(*journal.run(new_ids[2]));
  CHECK(*journal.run(new_ids[3]));
  CHECK(*journal.run(new_ids[4]));
  CHECK(journal.entries(new_ids[4])->size() == 2);
  CHECK(*journal.sweep(keep, now) == 0);
  // A live run is never swept, nor anything after it, whatever the limits say.
  keep.max_runs = 1;
  CHECK(*journal.sweep(keep, now, new_ids[3]) == 0);
  CHECK(*journal.run(new_ids[3]));
  // Run steps over their byte limit take the oldest runs, whole; the newest is kept even when
  // its steps alone are over the limit.
  keep.max_runs = 100;
  keep.max_step_bytes = 1;
  CHECK(*journal.sweep(keep, now) == 1);
  CHECK(journal.entries(new_ids[3])->empty());
  CHECK(journal.entries(new_ids[4])->size() == 2);
}

TEST_CASE("parallel branches that compute take turns", "[runbook][limits]") {
  EngineOptions options;
  options.limits.instruction_budget = 1'000'000'000ULL;
  options.slice_ms = 5;
  Harness h(options);
  // Each branch counts to 4 million; the first records how far the second got when it was
  // done. Taking turns, the second is well along; without turns it would be at a few thousand.
  auto r = h.run(lua(R"LUA(
    local counts = { 0, 0 }
    local seen
    parallel({ 1, 2 }, function(i)
      for _ = 1, 4e6 do counts[i] = counts[i] + 1 end
      if i == 1 then seen = counts[2] end
    end)
    return seen)LUA"));
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  CHECK(r["result"].get<double>() > 1e6);
}
