// The rules: parsing with file:line errors, conditions, and the engine's decisions (dedup,
// threshold, debounce, cooldown, budgets, concurrency, loop guard) on a manual clock.

#include <catch2/catch.hpp>

#include "nauto/bus/body.h"
#include "rule_engine.h"

using namespace nauto;
using namespace nauto::rules;
using nlohmann::json;

namespace {

// The engine's world: a clock the test moves, timers fired when due, events and actions kept.
struct World {
  std::int64_t now = 1'000'000;
  std::map<std::uint64_t, std::pair<std::int64_t, std::function<void()>>> timers;
  std::uint64_t next_timer = 1;
  std::vector<std::pair<std::string, json>> published;
  std::vector<json> actions;
  std::unique_ptr<RuleEngine> engine;
  int event_number = 0;

  explicit World(const std::string& yaml, EngineSettings settings = {}) {
    RuleEngine::Hooks hooks;
    hooks.now_ms = [this] { return now; };
    hooks.after = [this](std::int64_t delay, std::function<void()> fn) {
      timers[next_timer] = {now + delay, std::move(fn)};
      return next_timer++;
    };
    hooks.cancel = [this](std::uint64_t id) { timers.erase(id); };
    hooks.publish = [this](const std::string& topic, json body) {
      published.emplace_back(topic, std::move(body));
    };
    hooks.act = [this](const Rule& rule, const json& event, const std::string& chain,
                       const std::string& device) {
      actions.push_back({{"rule", rule.name},
                         {"chain", chain},
                         {"device", device},
                         {"params", *fill_templates(rule.action.params, event)}});
    };
    engine = std::make_unique<RuleEngine>(settings, std::move(hooks));
    auto rules = parse_rules(yaml, "test.yaml");
    INFO((rules ? "" : rules.error().message));
    REQUIRE(rules);
    engine->replace_rules(std::move(*rules));
  }
  std::string send(const std::string& topic, json body) {
    const auto id = "e" + std::to_string(++event_number);
    // Every other event arrives as the module hands it over (msgpack bytes), the rest decoded:
    // every decision below holds on both paths.
    if (event_number % 2)
      engine->on_packed_event(topic, id, bus::to_body(body));
    else
      engine->on_event(topic, id, body);
    return id;
  }
  void advance(std::int64_t ms) {
    now += ms;
    for (bool fired = true; fired;) {
      fired = false;
      for (auto it = timers.begin(); it != timers.end(); ++it) {
        if (it->second.first <= now) {
          auto fn = std::move(it->second.second);
          timers.erase(it);
          fn();
          fired = true;
          break;
        }
      }
    }
  }
  std::size_t count(const std::string& topic) const {
    std::size_t n = 0;
    for (const auto& [t, b] : published)
      n += t == topic;
    return n;
  }
  json last(const std::string& topic) const {
    for (auto it = published.rbegin(); it != published.rend(); ++it) {
      if (it->first == topic) return it->second;
    }
    return nullptr;
  }
};

json down(const std::string& device, const std::string& interface,
          const std::string& reason = "admin") {
  return {{"device", device},
          {"severity", 5},
          {"fields", {{"interface", interface}, {"reason", reason}}}};
}

const char* kRemediate = R"Y(
rules:
  - name: shut-by-mistake
    on: device.*.interface.down
    when:
      fields.reason: admin
      fields.interface: {regex: "^(Gi|Ethernet)"}
      severity: {lte: 5}
    group_by: [device, fields.interface]
    action:
      runbook: interface_remediate
      params: {device: "{{device}}", interface: "{{ fields.interface }}", note: "on {{device}}"}
)Y";

// A cooldown on one rule; concurrency 1 and a budget of 2 per hour on the other.
const char* kHeldBack = R"Y(
rules:
  - name: cool
    on: device.*.login.failed
    cooldown: 5m
    action: {runbook: lock_out, params: {device: "{{device}}"}}
  - name: limited
    on: device.*.interface.down
    group_by: [device, fields.interface]
    concurrency: 1
    budget: {count: 2, window: 1h}
    action: {runbook: fix, params: {device: "{{device}}"}}
)Y";

}  // namespace

TEST_CASE("a matching event fires the rule with parameters from the event", "[rules]") {
  World w(kRemediate);
  const auto id = w.send("device.r1.interface.down", down("r1", "Gi0/1"));
  REQUIRE(w.actions.size() == 1);
  CHECK(w.actions[0]["chain"] == id);
  CHECK(w.actions[0]["device"] == "r1");
  CHECK(w.actions[0]["params"] ==
        json{{"device", "r1"}, {"interface", "Gi0/1"}, {"note", "on r1"}});
  CHECK(w.count("rule.fired") == 1);
  CHECK(w.last("rule.fired")["chain"] == id);

  // Conditions that do not hold, and topics that do not match, do nothing.
  w.send("device.r2.interface.down", down("r2", "Gi0/1", "link"));
  w.send("device.r2.interface.down", down("r2", "Loopback0"));
  w.send("device.r2.interface.up", down("r2", "Gi0/1"));
  json loud = down("r2", "Gi0/1");
  loud["severity"] = 6;
  w.send("device.r2.interface.down", loud);
  CHECK(w.actions.size() == 1);
}

TEST_CASE("the loop guard: a remediation's own consequences never re-trigger it", "[rules]") {
  EngineSettings settings;
  settings.settle_ms = 5000;
  World w(kRemediate, settings);
  const auto chain = w.send("device.r1.interface.down", down("r1", "Gi0/1"));
  w.engine->action_started("shut-by-mistake", chain, "run-1");
  // The remediation bounces the interface: the device logs another admin down.
  w.send("device.r1.interface.down", down("r1", "Gi0/1"));
  CHECK(w.actions.size() == 1);
  REQUIRE(w.count("rule.suppressed") == 1);
  CHECK(w.last("rule.suppressed")["chain"] == chain);
  // Another device is not held back.
  w.send("device.r2.interface.down", down("r2", "Gi0/1"));
  CHECK(w.actions.size() == 2);
  // The run ends; its echoes are still suppressed while things settle, then not.
  w.engine->run_finished("run-1");
  w.advance(4000);
  w.send("device.r1.interface.down", down("r1", "Gi0/1"));
  CHECK(w.count("rule.suppressed") == 2);
  w.advance(2000);
  w.send("device.r1.interface.down", down("r1", "Gi0/1"));
  CHECK(w.actions.size() == 3);
}

TEST_CASE("dedup, threshold windows and debounce", "[rules]") {
  World w(R"Y(
rules:
  - name: dedup
    on: device.*.bgp.down
    dedup: 10s
    action: {emit: {topic: alert.bgp, body: {peer: "{{fields.neighbor}}"}}}
  - name: flapping
    on: device.*.interface.down
    threshold: {count: 3, window: 60s}
    action: {runbook: flap_report, params: {device: "{{device}}"}}
  - name: settle-config
    on: device.*.config.changed
    debounce: 2s
    action: {runbook: backup, params: {device: "{{device}}", user: "{{fields.user}}"}}
)Y");
  json bgp = {{"device", "r1"}, {"fields", {{"neighbor", "10.0.0.2"}}}};
  w.send("device.r1.bgp.down", bgp);
  w.send("device.r1.bgp.down", bgp);
  w.advance(11'000);
  w.send("device.r1.bgp.down", bgp);
  CHECK(w.actions.size() == 2);

  w.actions.clear();
  w.send("device.r1.interface.down", down("r1", "Gi0/1", "link"));
  w.advance(30'000);
  w.send("device.r1.interface.down", down("r1", "Gi0/1", "link"));
  CHECK(w.actions.empty());
  w.advance(40'000);  // the first one left the 60 s window
  w.send("device.r1.interface.down", down("r1", "Gi0/1", "link"));
  CHECK(w.actions.empty());
  w.advance(1000);
  w.send("device.r1.interface.down", down("r1", "Gi0/1", "link"));
  REQUIRE(w.actions.size() == 1);
  CHECK(w.actions[0]["rule"] == "flapping");

  w.actions.clear();
  for (const char* user : {"alice", "bob", "carol"}) {
    w.send("device.r1.config.changed", {{"device", "r1"}, {"fields", {{"user", user}}}});
    w.advance(500);
  }
  CHECK(w.actions.empty());
  w.advance(2000);
  REQUIRE(w.actions.size() == 1);
  CHECK(w.actions[0]["params"]["user"] == "carol");  // the last event of the burst
}

TEST_CASE("cooldown, budgets and concurrency hold a rule back, and say so", "[rules]") {
  EngineSettings settings;
  settings.device_budget = {3, 3'600'000};
  settings.settle_ms = 0;
  World w(kHeldBack, settings);
  const auto locked = w.send("device.r1.login.failed", {{"device", "r1"}});
  w.engine->action_started("cool", locked, "run-c");
  w.engine->run_finished("run-c");  // settle 0: the loop guard ends with the run
  w.send("device.r1.login.failed", {{"device", "r1"}});
  CHECK(w.actions.size() == 1);
  REQUIRE(w.count("rule.skipped") == 1);
  CHECK(w.last("rule.skipped")["reason"] == "cooldown");
  w.advance(5 * 60'000 + 1);
  w.send("device.r1.login.failed", {{"device", "r1"}});
  CHECK(w.actions.size() == 2);

  // Concurrency 1: a second firing while the first run goes is skipped.
  w.actions.clear();
  auto first = w.send("device.r5.interface.down", down("r5", "Gi0/1"));
  w.engine->action_started("limited", first, "run-a");
  w.send("device.r6.interface.down", down("r6", "Gi0/1"));
  CHECK(w.actions.size() == 1);
  CHECK(w.last("rule.skipped")["reason"] == "concurrency");
  w.engine->run_finished("run-a");
  auto second = w.send("device.r6.interface.down", down("r6", "Gi0/1"));
  w.engine->run_finished("none");
  w.engine->action_failed("limited", second, "r6", "runbook 'fix' not found");
  CHECK(w.count("rule.action_failed") == 1);
  CHECK(w.actions.size() == 2);
  // The rule's budget (2 per hour) is spent: the third firing is refused and announced once.
  w.send("device.r7.interface.down", down("r7", "Gi0/1"));
  w.send("device.r8.interface.down", down("r8", "Gi0/1"));
  CHECK(w.actions.size() == 2);
  CHECK(w.last("rule.skipped")["reason"] == "budget");
  CHECK(w.count("rule.budget_exhausted") == 1);
  CHECK(w.last("rule.budget_exhausted")["scope"] == "rule");
}

TEST_CASE("the device budget stops a remediation storm across rules", "[rules]") {
  EngineSettings settings;
  settings.device_budget = {2, 3'600'000};
  World w(R"Y(
rules:
  - {name: a, on: device.*.interface.down, action: {runbook: x, params: {}}}
  - {name: b, on: device.*.interface.down, action: {runbook: y, params: {}}}
  - {name: c, on: device.*.interface.down, action: {runbook: z, params: {}}}
)Y",
          settings);
  w.send("device.r1.interface.down", down("r1", "Gi0/1"));
  CHECK(w.actions.size() == 2);
  REQUIRE(w.count("rule.budget_exhausted") == 1);
  CHECK(w.last("rule.budget_exhausted")["scope"] == "device");
  CHECK(w.last("rule.budget_exhausted")["device"] == "r1");
  w.send("device.r2.interface.down", down("r2", "Gi0/1"));
  CHECK(w.actions.size() == 4);
}

TEST_CASE("rules.test explains why a rule would or would not fire", "[rules]") {
  World w(kRemediate);
  auto yes = w.engine->test("shut-by-mistake",
                            {{"topic", "device.r1.interface.down"}, {"body", down("r1", "Gi0/3")}});
  CHECK(yes["would_fire"] == true);
  CHECK(yes["action"]["does"] == "runbook interface_remediate");
  CHECK(yes["action"]["sends"]["interface"] == "Gi0/3");
  auto no = w.engine->test("shut-by-mistake", {{"topic", "device.r1.interface.down"},
                                               {"body", down("r1", "Loopback0")}});
  CHECK(no["would_fire"] == false);
  const auto why = no["why"].dump();
  CHECK(why.find("fields.interface ~ /^(Gi|Ethernet)/: no (it is Loopback0)") != std::string::npos);
  CHECK(why.find("fields.reason == admin: yes") != std::string::npos);
  CHECK(w.actions.empty());  // testing changes nothing
}

TEST_CASE("rule files: every problem at once, with file and line", "[rules]") {
  auto bad = parse_rules(R"Y(rules:
  - name: one
    on: device.*.interface.down
    dedup: soon
    when: {severity: {lte: high}, fields.x: {matches: y}}
    action: {runbook: x}
    colour: red
  - name: one
    action: {webhook: {url: "ftp://example.net/secret-token", tokens: 1}}
  - on: "device.>.x"
    action: {emit: {topic: run.fake}}
)Y",
                         "r.yaml");
  REQUIRE_FALSE(bad);
  const auto& m = bad.error().message;
  INFO(m);
  CHECK(m.find("r.yaml:4: rules[0].dedup: 'soon' is not a duration") != std::string::npos);
  CHECK(m.find("rules[0].when.severity.lte: expected a number") != std::string::npos);
  CHECK(m.find("r.yaml:7: rules[0].colour: unknown key") != std::string::npos);
  CHECK(m.find("rules[1].on: which events?") != std::string::npos);
  CHECK(m.find("rules[1].action.webhook.url: 'ftp://example.net/…' is not an http:// or https:// "
               "URL") != std::string::npos);
  CHECK(m.find("rules[1].action.webhook.tokens: unknown key (url, body, credential, timeout)") !=
        std::string::npos);
  CHECK(m.find("secret-token") == std::string::npos);  // a URL's path is often its secret
  CHECK(m.find("'one' is used twice") != std::string::npos);
  CHECK(m.find("rules[2].name: every rule needs a name") != std::string::npos);
  CHECK(m.find("'run.fake' is reserved") != std::string::npos);

  auto broken = parse_rules("rules: [", "b.yaml");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message.rfind("b.yaml:", 0) == 0);

  CHECK(parse_duration_ms("250ms") == 250);
  CHECK(parse_duration_ms("1.5m") == 90'000);
  CHECK(parse_duration_ms("2h") == 7'200'000);
  CHECK(parse_duration_ms("x") == -1);
}

TEST_CASE("conditions: any, not, in, exists, numbers given as text", "[rules]") {
  auto rules = parse_rules(R"Y(rules:
  - name: c
    on: ">"
    when:
      any: [{device: [r1, r2]}, {hostname: {regex: "^edge"}}]
      not: {fields.vrf: mgmt}
      fields.remote_as: {gte: 65000}
      msgid: {exists: true}
    action: {emit: {topic: x.y}}
)Y",
                           "c.yaml");
  REQUIRE(rules);
  const auto& when = (*rules)[0].when;
  json event = {{"device", "r2"}, {"msgid", "x"}, {"fields", {{"remote_as", "65001"}}}};
  CHECK(when.evaluate(event));
  event["fields"]["vrf"] = "mgmt";
  CHECK_FALSE(when.evaluate(event));
  event["fields"].erase("vrf");
  event["device"] = "r9";
  CHECK_FALSE(when.evaluate(event));
  event["hostname"] = "edge7";
  CHECK(when.evaluate(event));
  event["fields"]["remote_as"] = "64999";
  CHECK_FALSE(when.evaluate(event));
  event["fields"]["remote_as"] = 65000;
  event.erase("msgid");
  CHECK_FALSE(when.evaluate(event));

  auto missing = fill_templates(json{{"x", "{{fields.nope}}"}}, event);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("the event has no fields.nope") != std::string::npos);
  CHECK(*fill_templates(json("{{fields.remote_as}}"), event) == 65000);
}

TEST_CASE("Lua predicates say what YAML tests cannot", "[rules][lua]") {
  World w(R"Y(rules:
  - name: error-burst
    on: device.*.counters
    when:
      known: true
      lua: tonumber(event.fields.errors) > 10 * tonumber(event.fields.baseline)
    action: {runbook: inspect, params: {device: "{{device}}"}}
  - name: uplinks
    on: device.*.interface.down
    when:
      lua: |
        local name = event.fields.interface or ""
        return name:match("^Ethernet4[89]") ~= nil and event.severity <= 3
    action: {runbook: uplink, params: {device: "{{device}}"}}
  - name: runaway
    on: device.*.loop
    when: {lua: "while true do end"}
    action: {runbook: never, params: {}}
  - name: escape
    on: device.*.escape
    when: {lua: "os.execute('true') or io.open('/etc/passwd')"}
    action: {runbook: never, params: {}}
)Y");
  auto counters = [](const char* errors) {
    return json{
        {"device", "r1"}, {"known", true}, {"fields", {{"errors", errors}, {"baseline", "4"}}}};
  };
  w.send("device.r1.counters", counters("30"));
  CHECK(w.actions.empty());  // 30 is not over 40
  w.send("device.r1.counters", counters("41"));
  REQUIRE(w.actions.size() == 1);
  CHECK(w.actions[0]["rule"] == "error-burst");

  w.send("device.r2.interface.down",
         {{"device", "r2"}, {"severity", 3}, {"fields", {{"interface", "Ethernet49/1"}}}});
  w.send("device.r2.interface.down",
         {{"device", "r2"}, {"severity", 3}, {"fields", {{"interface", "Ethernet1"}}}});
  REQUIRE(w.actions.size() == 2);
  CHECK(w.actions[1]["rule"] == "uplinks");

  // A runaway predicate is stopped by its instruction budget and does not hold; the next
  // evaluation starts with a fresh budget, and the other predicates go on working.
  w.send("device.r1.loop", {{"device", "r1"}});
  w.send("device.r1.loop", {{"device", "r1"}});
  w.send("device.r1.escape", {{"device", "r1"}});
  CHECK(w.actions.size() == 2);
  std::vector<std::string> why;
  auto runaway =
      w.engine->test("runaway", {{"topic", "device.r1.loop"}, {"body", {{"device", "r1"}}}});
  INFO(runaway.dump());
  CHECK(runaway["would_fire"] == false);
  CHECK(runaway.dump().find("instruction budget") != std::string::npos);
  auto escape =
      w.engine->test("escape", {{"topic", "device.r1.escape"}, {"body", {{"device", "r1"}}}});
  CHECK(escape.dump().find("attempt to index a nil value (global 'os')") != std::string::npos);
  auto still_works =
      w.engine->test("error-burst", {{"topic", "device.r1.counters"}, {"body", counters("99")}});
  CHECK(still_works["matches"] == true);
  auto explained =
      w.engine->test("error-burst", {{"topic", "device.r1.counters"}, {"body", counters("1")}});
  CHECK(explained.dump().find("lua `tonumber(event.fields.errors) > 10 * ") != std::string::npos);
  CHECK(explained.dump().find(": no") != std::string::npos);
}

TEST_CASE("a Lua predicate that does not compile is refused with where", "[rules][lua]") {
  auto bad = parse_rules(R"Y(rules:
  - name: broken
    on: device.*.x
    when:
      lua: "event.fields.a >"
    action: {runbook: x}
)Y",
                         "p.yaml");
  REQUIRE_FALSE(bad);
  INFO(bad.error().message);
  CHECK(bad.error().message.find("p.yaml:5: rules[0].when.lua: lua:1:") != std::string::npos);
}

TEST_CASE("a snapshot carries cooldowns, loop guards, budgets and runs into a new engine",
          "[rules][state]") {
  EngineSettings settings;
  settings.settle_ms = 5000;
  World before(kHeldBack, settings);
  const auto locked = before.send("device.r1.login.failed", {{"device", "r1"}});
  before.engine->action_started("cool", locked, "run-c");
  before.engine->run_finished("run-c");
  const auto first = before.send("device.r5.interface.down", down("r5", "Gi0/1"));
  before.engine->action_started("limited", first, "run-a");      // still running
  before.send("device.r6.interface.down", down("r6", "Gi0/1"));  // concurrency: skipped
  CHECK(before.engine->dirty());
  const auto snapshot = before.engine->snapshot();
  CHECK_FALSE(before.engine->dirty());
  // Through msgpack, as the store keeps it.
  auto stored = bus::from_body(bus::to_body(snapshot));
  REQUIRE(stored);

  World after(kHeldBack, settings);  // a restarted module: same rules, 6 s later
  after.now = before.now + 6000;     // past r1's loop guard (settle 5 s), within its cooldown
  REQUIRE(after.engine->restore(*stored));
  // The cooldown holds after the restart.
  after.send("device.r1.login.failed", {{"device", "r1"}});
  CHECK(after.actions.empty());
  CHECK(after.last("rule.skipped")["reason"] == "cooldown");
  // The loop guard of the running remediation on r5 holds, and its concurrency slot is taken.
  after.send("device.r5.interface.down", down("r5", "Gi0/1"));
  CHECK(after.count("rule.suppressed") == 1);
  after.send("device.r7.interface.down", down("r7", "Gi0/1"));
  CHECK(after.last("rule.skipped")["reason"] == "concurrency");
  // run.finished of the run started before the restart frees the slot; the budget (2 per hour,
  // one spent before the restart) allows one more firing, then refuses.
  after.engine->run_finished("run-a");
  after.send("device.r7.interface.down", down("r7", "Gi0/1"));
  CHECK(after.actions.size() == 1);
  after.engine->run_finished("none");
  after.send("device.r8.interface.down", down("r8", "Gi0/1"));
  CHECK(after.actions.size() == 1);
  CHECK(after.last("rule.skipped")["reason"] == "budget");
  // Counters carried over.
  CHECK(after.engine->stats()["cool"]["fired"] == 1);
}

TEST_CASE("a firing is saved before its action; a bad snapshot changes nothing", "[rules][state]") {
  const char* yaml = R"Y(
rules:
  - name: cool
    on: device.*.login.failed
    cooldown: 5m
    action: {emit: {topic: alerts.login}}
)Y";
  World w(yaml);
  int saved = 0;
  std::size_t actions_when_saved = 99;
  // The module's hook: the state is written before the action runs.
  RuleEngine::Hooks hooks;
  hooks.now_ms = [&w] { return w.now; };
  hooks.after = [](std::int64_t, std::function<void()>) { return std::uint64_t{0}; };
  hooks.cancel = [](std::uint64_t) {};
  hooks.publish = [](const std::string&, json) {};
  std::vector<std::string> acted;
  hooks.act = [&](const Rule& rule, const json&, const std::string&, const std::string&) {
    acted.push_back(rule.name);
  };
  hooks.fired = [&] {
    ++saved;
    actions_when_saved = acted.size();
  };
  RuleEngine engine({}, std::move(hooks));
  auto rules = parse_rules(yaml, "test.yaml");
  REQUIRE(rules);
  engine.replace_rules(std::move(*rules));
  engine.on_event("device.r1.login.failed", "e1", {{"device", "r1"}});
  CHECK(saved == 1);
  CHECK(actions_when_saved == 0);
  CHECK(acted.size() == 1);

  w.send("device.r1.login.failed", {{"device", "r1"}});
  auto good = w.engine->snapshot();
  for (const json& bad : {json(5), json{{"version", 2}}, json{{"version", 1}, {"rules", 3}}}) {
    auto restored = w.engine->restore(bad);
    REQUIRE_FALSE(restored);
    CHECK(restored.error().code == Errc::Malformed);
  }
  // Nothing was replaced: the cooldown from before still holds.
  w.send("device.r1.login.failed", {{"device", "r1"}});
  CHECK(w.actions.size() == 1);
  CHECK(w.last("rule.skipped")["reason"] == "cooldown");
  CHECK(w.engine->restore(good));
}

TEST_CASE("a rule can notify a channel directly, with the event's fields in its text", "[rules]") {
  auto rules = parse_rules(R"Y(rules:
  - name: bgp-down-page
    on: device.*.bgp.down
    action:
      notify: {channel: netops, title: "BGP down on {{ device }}", text: "{{ message }}"}
  - name: bad
    on: device.*.bgp.down
    action: {notify: {channel: netops, txt: x}}
)Y",
                           "n.yaml");
  REQUIRE_FALSE(rules);
  CHECK(rules.error().message.find("rules[1].action.notify: expected {channel: NAME, text: ...") !=
        std::string::npos);
  auto good = parse_rules(R"Y(rules:
  - name: bgp-down-page
    on: device.*.bgp.down
    action:
      notify: {channel: netops, title: "BGP down on {{ device }}", text: "{{ message }}"}
)Y",
                          "n.yaml");
  REQUIRE(good);
  const auto& action = (*good)[0].action;
  CHECK(action.kind == RuleAction::Kind::Notify);
  CHECK(action.describe() == "notify netops");
  auto payload =
      action_payload(action, json{{"device", "r1"}, {"message", "neighbor 10.0.0.2 Idle"}});
  REQUIRE(payload);
  CHECK(*payload == json{{"channel", "netops"},
                         {"title", "BGP down on r1"},
                         {"text", "neighbor 10.0.0.2 Idle"}});
}
