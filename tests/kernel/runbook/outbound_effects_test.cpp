// Runbooks that reach out: http{}, notify{} and ai.analyze{} as journaled effects — the answer
// replayed after a restart, a POST in flight not sent again, dry runs sending nothing, and the
// example runbook earlier tools' users write (troubleshoot-bgp) running unchanged.

#include <catch2/catch.hpp>

#include "engine_harness.h"

using namespace nauto;
using namespace nauto::runbook;
using namespace nauto::runbook::testing;
using nlohmann::json;

namespace {

struct Receiver {
  std::vector<json> requests;
  std::int64_t delay_ms = 5;
  void install(ScriptedBus& bus) {
    bus.services["http.request"] = [this](const json& body) -> Answer {
      requests.push_back(body);
      return {json{{"status", 200}, {"text", "ok"}, {"attempts", 1}, {"headers", json::object()}},
              delay_ms};
    };
    bus.services["notify.send"] = [this](const json& body) -> Answer {
      requests.push_back(body);
      return {json{{"channel", body.value("channel", "")}, {"type", "slack"}, {"status", 200}},
              delay_ms};
    };
    bus.services["ai.analyze"] = [this](const json& body) -> Answer {
      requests.push_back(body);
      const auto prompt = body.value("prompt", "");
      const auto text = prompt.find("Idle") != std::string::npos
                            ? "The BGP session is DOWN: the neighbor is Idle (Admin)."
                            : "The session is healthy.";
      return {json{{"text", text}, {"model", "stub"}, {"prompt", prompt}}, delay_ms};
    };
  }
  std::size_t count(const std::string& field, const std::string& value) const {
    std::size_t n = 0;
    for (const auto& r : requests)
      n += r.value(field, "") == value;
    return n;
  }
};

void install_bgp_devices(ScriptedBus& bus, std::map<std::string, int>& calls) {
  bus.services["device.call"] = [&calls](const json& body) -> Answer {
    const auto device = body.value("device", "");
    json outputs = json::array();
    for (const auto& c : body["commands"]) {
      const auto command = c.get<std::string>();
      ++calls[device + "|" + command];
      std::string text = "BGP router identifier 10.0.0.1, local AS number 65001";
      if (command.find("neighbor") != std::string::npos)
        text = "BGP neighbor is 10.0.0.2,  remote AS 65002\n  BGP state = " +
               std::string(device == "r1" ? "Established, up for 01:02:03" : "Idle (Admin)");
      outputs.push_back({{"command", command}, {"text", text}});
    }
    return {outputs, 5};
  };
  bus.services["inventory.select"] = [](const json& body) -> Answer {
    return {json{{"hosts", json::array({{{"name", body.value("selector", "").substr(5)}}})}}, 1};
  };
}

// The earlier roadmap's example, as its users wrote it.
const char* const kTroubleshootBgp = R"(name: troubleshoot-bgp
description: Diagnose BGP neighbor issues
version: "1.0"
author: network-team
parameters:
  - name: neighbor_ip
    type: string
    required: true
    description: IP address of BGP neighbor
  - name: target_device
    type: device
    required: true

steps:
  - name: Check BGP summary
    type: command
    command: "show ip bgp summary"
    save_output: bgp_summary

  - name: Check specific neighbor
    type: command
    command: "show ip bgp neighbor {{ neighbor_ip }}"
    save_output: neighbor_detail

  - name: Check route table
    type: command
    command: "show ip route bgp"
    condition: "{{ 'Established' not in neighbor_detail }}"

  - name: AI Analysis
    type: ai_analyze
    prompt: |
      Analyze why BGP neighbor {{ neighbor_ip }} might be down.
      BGP Summary: {{ bgp_summary }}
      Neighbor Detail: {{ neighbor_detail }}
    save_output: analysis

  - name: Notify on failure
    type: webhook
    url: "{{ slack_webhook }}"
    condition: "{{ 'down' in analysis.lower() }}"
    payload:
      text: "BGP issue detected: {{ analysis }}"
)";

EngineOptions with_site() {
  EngineOptions options;
  options.vars = json{{"slack_webhook", "https://hooks.example.net/services/T0/B0/XYZ"}};
  options.ai.url = "http://127.0.0.1:9/v1/chat/completions";
  return options;
}

}  // namespace

TEST_CASE("the troubleshoot-bgp example runs unchanged: AI on the outputs, webhook when down",
          "[runbook][outbound]") {
  std::map<std::string, int> calls;
  Receiver receiver;
  Harness h(with_site());
  install_bgp_devices(h.bus, calls);
  receiver.install(h.bus);

  auto up = h.run(kTroubleshootBgp, json{{"neighbor_ip", "10.0.0.2"}, {"target_device", "r1"}},
                  "troubleshoot-bgp.yaml");
  INFO(up.dump());
  REQUIRE(up["state"] == "succeeded");
  CHECK(calls["r1|show ip route bgp"] == 0);  // Established: the route step was skipped
  REQUIRE(receiver.requests.size() == 1);     // the AI only: "healthy" sends no webhook
  const auto prompt = receiver.requests[0].value("prompt", "");
  CHECK(prompt.find("BGP router identifier 10.0.0.1") != std::string::npos);
  CHECK(prompt.find("BGP state = Established") != std::string::npos);

  auto down = h.run(kTroubleshootBgp, json{{"neighbor_ip", "10.0.0.2"}, {"target_device", "r2"}},
                    "troubleshoot-bgp.yaml");
  INFO(down.dump());
  REQUIRE(down["state"] == "succeeded");
  CHECK(calls["r2|show ip route bgp"] == 1);
  REQUIRE(receiver.requests.size() == 3);
  const auto& webhook = receiver.requests[2];
  CHECK(webhook["method"] == "POST");
  CHECK(webhook["url"] == "https://hooks.example.net/services/T0/B0/XYZ");
  CHECK(webhook["json"]["text"] ==
        "BGP issue detected: The BGP session is DOWN: the neighbor is Idle (Admin).");
  // The step's summary in the journal names the origin only: the path is the secret.
  auto steps = h.engine().journal().entries(down["id"].get<std::string>());
  REQUIRE(steps);
  bool summarized = false;
  for (const auto& [key, entry] : *steps) {
    if (entry.value("kind", "") == "http")
      summarized = entry.value("summary", "") == "POST https://hooks.example.net/…";
  }
  CHECK(summarized);
}

TEST_CASE("http{}: a POST in flight at a crash is not sent again; a recorded answer is replayed",
          "[runbook][outbound][durable]") {
  Receiver receiver;
  Harness h;
  receiver.install(h.bus);
  const auto source = R"LUA(return runbook{ name = "hook", run = function()
    local r = http{ url = "https://hooks.example.net/a", json = { n = 1 } }
    wait(0.3)
    return r.status end })LUA";
  auto id = h.start(source);
  REQUIRE(id);
  REQUIRE(h.bus.run_until([&] {
    auto entries = h.engine().journal().entries(*id);
    return entries && entries->size() >= 2 && h.bus.in_flight == 0;
  }));
  h.restart();
  receiver.install(h.bus);
  REQUIRE(h.engine().resume_unfinished());
  auto r = h.finish(*id);
  CHECK(r["state"] == "succeeded");
  CHECK(r["result"] == 200);
  CHECK(receiver.requests.size() == 1);  // replayed from the journal, not sent twice

  receiver.delay_ms = 5000;
  auto hanging = h.start(source);
  REQUIRE(hanging);
  h.bus.run_until([&] { return receiver.requests.size() == 2; });
  h.restart();
  receiver.delay_ms = 5;
  receiver.install(h.bus);
  REQUIRE(h.engine().resume_unfinished());
  auto p = h.finish(*hanging);
  CHECK(p["state"] == "failed");
  CHECK(p.value("error", "")
            .find("POST https://hooks.example.net/…: the request was in flight "
                  "when nautod stopped") != std::string::npos);
  CHECK(receiver.requests.size() == 2);

  // A GET in flight is asked again: reading twice changes nothing.
  receiver.delay_ms = 5000;
  auto get = h.start(R"LUA(return runbook{ name = "get", run = function()
    return http{ url = "https://api.example.net/v1/status" }.status end })LUA");
  REQUIRE(get);
  h.bus.run_until([&] { return receiver.requests.size() == 3; });
  h.restart();
  receiver.delay_ms = 5;
  receiver.install(h.bus);
  REQUIRE(h.engine().resume_unfinished());
  CHECK(h.finish(*get)["state"] == "succeeded");
  CHECK(receiver.count("method", "GET") == 2);
}

TEST_CASE("dry runs send nothing; no AI provider fails or skips; vault() stays a reference",
          "[runbook][outbound]") {
  Receiver receiver;
  Harness h;
  receiver.install(h.bus);
  auto dry = h.start(R"LUA(return runbook{ name = "dry", run = function()
    local posted = http{ url = "https://hooks.example.net/a", json = { n = 1 } }
    local notified = notify("netops", "hello")
    return { posted.dry_run, notified.dry_run } end })LUA",
                     json::object(), "dry.lua", true);
  REQUIRE(dry);
  auto d = h.finish(*dry);
  CHECK(d["result"] == json::array({true, true}));
  CHECK(receiver.requests.empty());

  auto no_ai = h.run(R"LUA(return runbook{ name = "ai", run = function()
    return ai.analyze{ prompt = "why?" } end })LUA");
  CHECK(no_ai["state"] == "failed");
  CHECK(no_ai.value("error", "").find("no AI provider configured (modules.runbooks.ai)") !=
        std::string::npos);
  auto optional = h.run(R"(name: ai
steps:
  - {name: ask, type: ai_analyze, prompt: "why?", optional: true, save_output: analysis}
  - {name: tell, type: log, message: "{{ 'down' in analysis }}"}
)",
                        json::object(), "ai.yaml");
  CHECK(optional["state"] == "succeeded");

  auto typo = h.run(R"LUA(return runbook{ name = "m", run = function()
    return http{ url = "https://api.example.net/x", method = 5, retry_unsafe = "yes" } end })LUA");
  CHECK(typo.value("error", "").find("http{method = ...}: expected a string") != std::string::npos);

  auto referenced = h.run(R"LUA(return runbook{ name = "v", run = function()
    http{ url = "https://hooks.example.net/x", headers = { Authorization = "Bearer " .. vault("api").password } }
    return device("r1"):run("show " .. vault("api").password) end })LUA");
  REQUIRE(receiver.requests.size() == 1);
  CHECK(receiver.requests[0]["headers"]["Authorization"] == "Bearer ${vault:api:password}");
  CHECK(referenced["state"] == "failed");
  CHECK(referenced.value("error", "").find("a vault reference cannot be sent to a device") !=
        std::string::npos);
}
