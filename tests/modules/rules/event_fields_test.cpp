// Conditions read events two ways — from a decoded document (JsonEventFields) and in place from
// the msgpack body (PackedEventFields, the module's path). These tests hold the two to the same
// answers over a corpus of generated events, and show that bad bytes never fire a rule.

#include <catch2/catch.hpp>
#include <random>

#include "nauto/bus/body.h"
#include "rule_engine.h"

using namespace nauto;
using namespace nauto::rules;
using nlohmann::json;

namespace {

// Values an event may carry: text, numbers as text and as numbers, floats, booleans, null,
// nested maps and lists, an unsigned beyond int64.
json pick_value(std::mt19937& random) {
  static const std::vector<json> pool = {"admin",
                                         "link",
                                         "Gi0/1",
                                         "Ethernet49/1",
                                         "5",
                                         "65000",
                                         " 7",
                                         "",
                                         "true",
                                         "edge7",
                                         "1e3",
                                         "null",
                                         "r1",
                                         "r2",
                                         5,
                                         65000,
                                         3.5,
                                         0,
                                         -1,
                                         1000.0,
                                         1e3,
                                         true,
                                         false,
                                         nullptr,
                                         json{{"a", 1}},
                                         json::array({1, "x"}),
                                         json(std::numeric_limits<std::uint64_t>::max()),
                                         "interface down on Gi0/1"};
  return pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(random)];
}

json random_body(std::mt19937& random) {
  auto coin = [&](int in) { return std::uniform_int_distribution<int>(0, in - 1)(random) == 0; };
  if (coin(10)) return pick_value(random);  // now and then a body that is not a map
  json body = json::object();
  for (const char* key : {"device", "severity", "message", "hostname", "topic", "id", "body", "x"})
    if (coin(2)) body[key] = pick_value(random);
  if (coin(4)) {
    body["fields"] = pick_value(random);
  } else if (!coin(4)) {
    json fields = json::object();
    for (const char* key : {"interface", "reason", "remote_as"})
      if (!coin(3)) fields[key] = pick_value(random);
    body["fields"] = fields;
  }
  if (coin(20)) {  // more keys than the packed reader indexes: it reads the map as it goes
    for (int i = 0; i < 40; ++i)
      body["k" + std::to_string(i)] = i;
  }
  return body;
}

const char* const kConditions = R"Y(rules:
  - {name: c0, on: ">", when: {device: r1}, action: {emit: {topic: t}}}
  - {name: c1, on: ">", when: {device: [r1, r2, 5]}, action: {emit: {topic: t}}}
  - {name: c2, on: ">", when: {severity: 5}, action: {emit: {topic: t}}}
  - {name: c3, on: ">", when: {severity: "5"}, action: {emit: {topic: t}}}
  - {name: c4, on: ">", when: {severity: {lte: 5}}, action: {emit: {topic: t}}}
  - {name: c5, on: ">", when: {severity: {gt: "3"}}, action: {emit: {topic: t}}}
  - {name: c6, on: ">", when: {fields.remote_as: {gte: 65000}}, action: {emit: {topic: t}}}
  - {name: c7, on: ">", when: {fields.interface: {regex: "^(Gi|Ethernet)"}}, action: {emit: {topic: t}}}
  - {name: c8, on: ">", when: {fields.reason: admin}, action: {emit: {topic: t}}}
  - {name: c9, on: ">", when: {fields.reason: {not_equals: admin}}, action: {emit: {topic: t}}}
  - {name: c10, on: ">", when: {message: {contains: "down"}}, action: {emit: {topic: t}}}
  - {name: c11, on: ">", when: {fields: {exists: true}}, action: {emit: {topic: t}}}
  - {name: c12, on: ">", when: {fields.interface: {exists: false}}, action: {emit: {topic: t}}}
  - {name: c13, on: ">", when: {hostname: {regex: "^edge|5|true"}}, action: {emit: {topic: t}}}
  - {name: c14, on: ">", when: {topic: {regex: "interface"}}, action: {emit: {topic: t}}}
  - {name: c15, on: ">", when: {id: e1}, action: {emit: {topic: t}}}
  - {name: c16, on: ">", when: {body: 5}, action: {emit: {topic: t}}}
  - {name: c17, on: ">", when: {body.a: 1}, action: {emit: {topic: t}}}
  - {name: c18, on: ">", when: {severity: true}, action: {emit: {topic: t}}}
  - {name: c19, on: ">", when: {severity: 3.5}, action: {emit: {topic: t}}}
  - {name: c20, on: ">", when: {fields.remote_as: 1000}, action: {emit: {topic: t}}}
  - {name: c21, on: ">", when: {fields: '{"a":1}'}, action: {emit: {topic: t}}}
  - {name: c22, on: ">", when: {device: "null"}, action: {emit: {topic: t}}}
  - {name: c23, on: ">", when: {any: [{device: r1}, {severity: {lt: 0}}], not: {fields.reason: admin}}, action: {emit: {topic: t}}}
  - {name: c24, on: ">", when: {x: {contains: "1"}}, action: {emit: {topic: t}}}
  - {name: c25, on: ">", when: {x: {regex: "^1"}, fields.a: {exists: true}}, action: {emit: {topic: t}}}
  - {name: c26, on: ">", when: {x: [true, "null", 1000]}, action: {emit: {topic: t}}}
  - {name: c27, on: ">", when: {lua: "event.severity == 5 or event.body == 5"}, action: {emit: {topic: t}}}
  - {name: c28, on: ">", when: {fields.remote_as: {lt: 1e19}}, action: {emit: {topic: t}}}
)Y";

}  // namespace

TEST_CASE("conditions answer the same over packed bytes as over the decoded event",
          "[rules][fields]") {
  auto rules = parse_rules(kConditions, "conditions.yaml");
  INFO((rules ? "" : rules.error().message));
  REQUIRE(rules);
  std::mt19937 random(20261203);
  std::vector<int> held(rules->size(), 0), failed(rules->size(), 0);
  for (int n = 0; n < 4000; ++n) {
    const json body = random_body(random);
    const std::string topic = n % 3 ? "device.r1.interface.down" : "device.r2.syslog";
    const std::string id = n % 7 ? "e2" : "e1";
    const json view = event_view(topic, id, body);
    const std::string packed = bus::to_body(body);
    const JsonEventFields decoded_fields(view);
    const PackedEventFields packed_fields(topic, id, packed);
    for (std::size_t i = 0; i < rules->size(); ++i) {
      const auto& when = (*rules)[i].when;
      const bool over_json = when.evaluate(decoded_fields);
      const bool over_bytes = when.evaluate(packed_fields);
      INFO((*rules)[i].name << " on " << topic << " " << id << " " << body.dump());
      REQUIRE(over_json == over_bytes);
      (over_json ? held : failed)[i]++;
    }
  }
  // Each condition both held and failed somewhere in the corpus: the comparison meant something.
  for (std::size_t i = 0; i < rules->size(); ++i) {
    INFO((*rules)[i].name << " held " << held[i] << ", failed " << failed[i]);
    CHECK(held[i] > 0);
    CHECK(failed[i] > 0);
  }
}

TEST_CASE("packed fields: a key given twice counts as decoding counts it", "[rules][fields]") {
  // {"device": "r1", "device": "r2"} — msgpack allows it, JSON documents keep one.
  const std::string packed =
      "\x82\xa6"
      "device\xa2r1\xa6"
      "device\xa2r2";
  auto decoded = bus::from_body(packed);
  REQUIRE(decoded);
  const PackedEventFields fields("device.x.y", "e1", packed);
  const auto found = fields.find(split_path("device"));
  REQUIRE(found.type == FieldValue::Type::String);
  CHECK(found.text == (*decoded)["device"].get<std::string>());
}

TEST_CASE("bad bytes never fire a rule, and never read past the body", "[rules][fields]") {
  std::vector<std::string> fired;
  RuleEngine::Hooks hooks;
  hooks.now_ms = [] { return 1000; };
  hooks.after = [](std::int64_t, std::function<void()>) { return std::uint64_t{1}; };
  hooks.cancel = [](std::uint64_t) {};
  hooks.publish = [](const std::string&, json) {};
  hooks.act = [&](const Rule& rule, const json&, const std::string&, const std::string&) {
    fired.push_back(rule.name);
  };
  RuleEngine engine({{1000, 3'600'000}, {1000, 3'600'000}, 0, 1000}, std::move(hooks));
  auto rules = parse_rules(R"Y(rules:
  - {name: absent, on: ">", when: {device: r1, fields.interface: {exists: false}}, action: {emit: {topic: t}}}
  - {name: admin, on: ">", when: {fields.reason: admin}, action: {emit: {topic: t}}}
)Y",
                           "bad.yaml");
  REQUIRE(rules);
  engine.replace_rules(std::move(*rules));
  const std::string whole = bus::to_body(
      {{"device", "r1"}, {"fields", {{"reason", "admin"}}}, {"message", std::string(40, 'x')}});
  // Every truncation of a good body: the fields read may still hold, but the body does not
  // decode, so nothing fires. (Under ASan, any read past the end fails the test.)
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    const std::string truncated(whole.data(), cut);
    engine.on_packed_event("device.r1.interface.down", "e" + std::to_string(cut), truncated);
  }
  CHECK(fired.empty());
  // A map key that is not a string: JSON cannot hold it, so the event is not decodable either.
  engine.on_packed_event("device.r1.interface.down", "e-int-key", std::string("\x81\x01\x02", 3));
  CHECK(fired.empty());
  // Garbage of every first byte (no device r1 in any of it).
  for (int tag = 0; tag < 256; ++tag) {
    const std::string bytes = {static_cast<char>(tag), '\xff', '\xff', '\xff'};
    engine.on_packed_event("device.r1.interface.down", "g" + std::to_string(tag), bytes);
  }
  // The whole body fires both rules (interface is absent, reason is admin).
  engine.on_packed_event("device.r1.interface.down", "e-whole", whole);
  CHECK(fired == std::vector<std::string>{"absent", "admin"});
}

// Found by fuzzing (tests/fuzz/corpus/rule_condition/regression-*): an integer literal beyond
// int64 was cast from double, which is undefined (the sanitizer pass aborts on it).
TEST_CASE("an integer literal too large for int64 is compared as a number", "[rules][fuzz]") {
  auto rules = parse_rules(R"Y(rules:
  - {name: huge, on: ">", when: {fields.count: 55555555555555555555555555555555555},
     action: {emit: {topic: t}}}
  - {name: below, on: ">", when: {fields.count: {lt: 99999999999999999999}},
     action: {emit: {topic: t}}}
)Y",
                           "huge.yaml");
  REQUIRE(rules);
  const json view = event_view("device.r1.syslog", "e1", json{{"fields", {{"count", 7}}}});
  const JsonEventFields fields(view);
  CHECK_FALSE((*rules)[0].when.evaluate(fields));
  CHECK((*rules)[1].when.evaluate(fields));
}
