// YAML runbooks: compiled to Lua and run by the same engine; schema errors name file and line.

#include <catch2/catch.hpp>

#include "engine_harness.h"
#include "nauto/runbook/yaml_compiler.h"

using namespace nauto;
using namespace nauto::runbook;
using namespace nauto::runbook::testing;
using nlohmann::json;

namespace {

void install_devices(ScriptedBus& bus, std::map<std::string, int>& calls) {
  bus.services["device.call"] = [&calls](const json& body) -> Answer {
    const auto device = body.value("device", "");
    ++calls[device];
    if (device == "leaf3") return {fail(Errc::Unreachable, "leaf3: connection refused"), 5};
    if (body.value("kind", "") == "push") {
      return {json{{"changed", true},
                   {"dry_run", body.value("dry_run", false)},
                   {"diff", "+" + body.value("config", "")}},
              5};
    }
    json outputs = json::array();
    for (const auto& c : body["commands"]) {
      std::string text = "BGP neighbor is 192.0.2.1, state = Idle";
      if (device == "r1" && c.get<std::string>().find("neighbor") != std::string::npos)
        text = "BGP neighbor is " + c.get<std::string>().substr(21) + ", state = Established";
      outputs.push_back({{"command", c}, {"text", text}});
    }
    return {outputs, 5};
  };
  bus.services["inventory.select"] = [](const json& body) -> Answer {
    json hosts = json::array();
    if (body.value("selector", "") == "role=leaf") {
      for (const char* name : {"leaf1", "leaf2", "leaf3"})
        hosts.push_back({{"name", name}});
    } else if (body.value("selector", "").rfind("name=", 0) == 0) {
      hosts.push_back({{"name", body.value("selector", "").substr(5)}});
    }
    return {json{{"hosts", hosts}}, 1};
  };
}

}  // namespace

TEST_CASE("a YAML runbook runs with conditions, templates and saved outputs", "[runbook][yaml]") {
  std::map<std::string, int> calls;
  Harness h;
  install_devices(h.bus, calls);
  const std::string bgp = R"(name: troubleshoot-bgp
description: Diagnose a BGP neighbor
params:
  - {name: neighbor_ip, type: ip, required: true}
  - {name: device, type: device, required: true}
steps:
  - name: Check specific neighbor
    type: command
    command: "show ip bgp neighbor {{ neighbor_ip }}"
    save_output: neighbor_detail
  - name: Check route table
    type: command
    command: show ip route bgp
    condition: "{{ 'Established' not in neighbor_detail }}"
    save_output: routes
  - name: Established
    type: set
    vars:
      up: "{{ 'Established' in neighbor_detail }}"
      peer_count: "{{ find_all(neighbor_detail, 'neighbor is (\\S+),') | length }}"
  - name: Say so
    type: log
    message: "neighbor {{ neighbor_ip }} up={{ up }} on {{ device }}"
  - name: Must be up
    type: assert
    that:
      - up
      - peer_count == 1
)";
  auto up = h.run(bgp, json{{"neighbor_ip", "192.0.2.1"}, {"device", "r1"}}, "bgp.yaml");
  INFO(up.dump());
  REQUIRE(up["state"] == "succeeded");
  CHECK(up["result"]["up"] == true);
  CHECK(up["result"]["peer_count"] == 1);
  CHECK_FALSE(up["result"].contains("routes"));  // the condition was false
  CHECK(calls["r1"] == 1);

  auto down = h.run(bgp, json{{"neighbor_ip", "192.0.2.1"}, {"device", "r2"}}, "bgp.yaml");
  CHECK(down["state"] == "failed");
  CHECK(down["error"].get<std::string>().find("step \"Must be up\" failed: assertion failed: up") !=
        std::string::npos);
  CHECK(calls["r2"] == 2);  // the route table was checked
}

TEST_CASE("YAML loops, parallel, retry and on_failure", "[runbook][yaml]") {
  std::map<std::string, int> calls;
  Harness h;
  install_devices(h.bus, calls);
  const std::string fleet = R"(name: fleet
steps:
  - name: versions
    type: command
    foreach: {select: "role=leaf"}
    parallel: {max: 2}
    command: show version
    save_output: versions
    retry: {attempts: 2, delay: 0.01}
    on_failure: continue
  - name: count
    type: set
    vars: {answered: "{{ versions | length }}"}
  - name: push that fails
    type: config
    device: leaf3
    lines: [ntp server 192.0.2.9]
    on_failure:
      - name: note it
        type: log
        level: warn
        message: "push failed: {{ error }}"
      - name: remember
        type: set
        vars: {handled: true}
  - name: loop over a list
    type: config
    loop: [leaf1, leaf2]
    device: "{{ item }}"
    lines: "hostname {{ item }}-{{ index }}"
    dry_run: true
    save_output: diffs
)";
  auto r = h.run(fleet, json::object(), "fleet.yaml");
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  CHECK(r["result"]["versions"][0] == "BGP neighbor is 192.0.2.1, state = Idle");
  CHECK(r["result"]["handled"] == true);
  CHECK(r["result"]["diffs"][1]["diff"] == "+hostname leaf2-1");
  CHECK(r["result"]["diffs"][0]["dry_run"] == true);
  CHECK(calls["leaf3"] == 3);  // two tries in the loop, one push
  CHECK(h.bus.peak_in_flight <= 2);

  const std::string rollback = R"(name: with-rollback
steps:
  - name: change
    type: config
    device: leaf3
    lines: [ntp server 192.0.2.9]
    on_failure: rollback
rollback:
  - name: undo
    type: log
    message: rolling back
)";
  auto rolled = h.run(rollback, json::object(), "rollback.yaml");
  CHECK(rolled["state"] == "failed");
  CHECK(rolled["error"].get<std::string>().find("step \"change\" failed") != std::string::npos);
  bool logged = false;
  for (const auto& [topic, body] : h.bus.events)
    logged |= topic == "run.log" && body.value("message", "") == "rolling back";
  CHECK(logged);
}

TEST_CASE("YAML schema errors point to file, line and key", "[runbook][yaml]") {
  auto compiled = compile_yaml_runbook(R"(name: broken
steps:
  - name: typo
    type: comand
    command: show version
  - name: bad key
    type: command
    device: r1
    comand: show version
  - name: bad expression
    type: command
    device: r1
    command: show clock
    condition: "'a' in"
  - name: webhook
    type: webhook
    payload: {text: hi}
)",
                                       "broken.yaml");
  REQUIRE_FALSE(compiled);
  const auto& m = compiled.error().message;
  INFO(m);
  CHECK(m.find("broken.yaml:4: steps[0].type: unknown type 'comand'") != std::string::npos);
  CHECK(m.find("broken.yaml:9: steps[1].comand: unknown key for a command step") !=
        std::string::npos);
  CHECK(m.find("broken.yaml:14: steps[2].condition:") != std::string::npos);
  CHECK(m.find("broken.yaml:15: steps[3]: a webhook step needs url:") != std::string::npos);

  auto no_device =
      compile_yaml_runbook("name: x\nsteps:\n  - {name: a, type: command, command: x}\n", "x.yaml");
  REQUIRE_FALSE(no_device);
  CHECK(no_device.error().message.find("x.yaml:3: steps[0].device: which device?") !=
        std::string::npos);
}

TEST_CASE("a YAML runtime error names the step's YAML line", "[runbook][yaml]") {
  std::map<std::string, int> calls;
  Harness h;
  install_devices(h.bus, calls);
  auto r = h.run(
      "name: x\nsteps:\n  - name: count\n    type: set\n    vars:\n"
      "      n: \"{{ 'abc' * 'x' }}\"\n",
      json::object(), "math.yaml");
  CHECK(r["state"] == "failed");
  // The error names the file, the line and the expression, in Python's words.
  CHECK(r.value("error", "")
            .find("math.yaml:6: '{{ 'abc' * 'x' }}': unsupported operand "
                  "type(s) for *: 'str' and 'str'") != std::string::npos);
}

TEST_CASE("an expression nested without end is an error, not a stack overflow", "[runbook][yaml]") {
  for (const char* open : {"(", "not ", "-", "["}) {
    std::string deep;
    for (int i = 0; i < 100'000; ++i)
      deep += open;
    auto compiled = compile_yaml_runbook(
        "name: x\nsteps:\n  - {name: a, type: log, message: \"{{ " + deep + "1 }}\"}\n",
        "deep.yaml");
    REQUIRE_FALSE(compiled);
    CHECK(compiled.error().message.find("nested more than 200 levels deep") != std::string::npos);
  }
}

// Found by fuzzing (tests/fuzz/corpus/yaml_runbook/regression-*): yaml-cpp threw out of the
// compiler for a parameter list of scalars, and would end nautod's runbook module.
TEST_CASE("odd YAML shapes are errors, never exceptions", "[runbook][yaml][fuzz]") {
  for (const char* text : {"name: x\nparams:\n- 'device: {type: device}'\nsteps: []\n",
                           "name: x\nparams: {[a, b]: {type: string}}\nsteps: []\n",
                           "name: x\nsteps: [[1, 2]]\n", "[1, 2, 3]\n", "name: {a: b}\n"}) {
    INFO(text);
    Result<std::string> compiled = fail(Errc::Bug, "not run");
    REQUIRE_NOTHROW(compiled = compile_yaml_runbook(text, "odd.yaml"));
    CHECK_FALSE(compiled);
  }
}

// The schema earlier tools' users write: `parameters:` with version/author, one device
// parameter that every command step uses, and site variables for what is not declared.
TEST_CASE("a YAML runbook with one device parameter needs no device: on its steps",
          "[runbook][yaml]") {
  std::map<std::string, int> calls;
  EngineOptions options;
  options.vars = json{{"greeting", "hello from the site"}};
  Harness h(options);
  install_devices(h.bus, calls);
  const std::string text = R"(name: troubleshoot-bgp
version: "1.0"
author: network-team
parameters:
  - name: neighbor_ip
    type: string
    required: true
  - name: target_device
    type: device
    required: true
steps:
  - name: Check specific neighbor
    type: command
    command: "show ip bgp neighbor {{ neighbor_ip }}"
    save_output: neighbor_detail
  - name: Check route table
    type: command
    command: "show ip route bgp"
    condition: "{{ 'Established' not in neighbor_detail }}"
  - name: site
    type: set
    vars:
      said: "{{ greeting.upper() }} {{ neighbor_detail.split()[3] }}"
)";
  auto r = h.run(text, json{{"neighbor_ip", "192.0.2.7"}, {"target_device", "r1"}},
                 "troubleshoot-bgp.yaml");
  INFO(r.dump());
  REQUIRE(r["state"] == "succeeded");
  CHECK(calls["r1"] == 1);  // Established on r1: the route step was skipped
  CHECK(r["result"]["said"] == "HELLO FROM THE SITE 192.0.2.7,");

  auto down = h.run(text, json{{"neighbor_ip", "192.0.2.7"}, {"target_device", "r2"}},
                    "troubleshoot-bgp.yaml");
  CHECK(down["state"] == "succeeded");
  CHECK(calls["r2"] == 2);  // Idle on r2: the route step ran on the same device

  StartRequest request;
  request.runbook = "troubleshoot-bgp.yaml";
  request.source = text;
  request.language = "yaml";
  auto described = h.engine().validate(request);
  REQUIRE(described);
  CHECK((*described)["version"] == "1.0");
  CHECK((*described)["author"] == "network-team");
  CHECK((*described)["params"][1]["type"] == "device");
}

TEST_CASE("YAML: two device parameters name both, an undefined variable names itself",
          "[runbook][yaml]") {
  auto two = compile_yaml_runbook(R"(name: x
parameters:
  - {name: a_end, type: device}
  - {name: z_end, type: device}
steps:
  - {name: a, type: command, command: show version}
)",
                                  "two.yaml");
  REQUIRE_FALSE(two);
  CHECK(two.error().message.find("two.yaml:6: steps[0].device: which device? the parameters "
                                 "a_end, z_end are all devices") != std::string::npos);

  std::map<std::string, int> calls;
  Harness h;
  install_devices(h.bus, calls);
  auto r = h.run(R"(name: notify
steps:
  - name: to slack
    type: log
    message: "{{ slack_webhook }}"
  - name: never
    type: log
    message: "{{ later | default('unset') }} {{ later is defined }}"
    save_output: later
)",
                 json::object(), "notify.yaml");
  CHECK(r["state"] == "failed");
  CHECK(r.value("error", "")
            .find("notify.yaml:5: '{{ slack_webhook }}': 'slack_webhook' is "
                  "undefined") != std::string::npos);
}
