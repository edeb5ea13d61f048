// The schema's runtime: which declared event a topic is, and the field checks.
#include "nauto/bus/schema.h"

#include <catch2/catch.hpp>

#include "nauto/bus/schema_types.h"

using namespace nauto::bus::schema;
using nlohmann::json;

TEST_CASE("a published topic finds its declared event, placeholders included") {
  REQUIRE(find_event("run.finished") != nullptr);
  CHECK(std::string(find_event("run.finished")->topic) == "run.finished");
  // <device> is one segment; the last <kind> is the rest.
  const auto* device_event = find_event("device.r1.interface.down");
  REQUIRE(device_event != nullptr);
  CHECK(std::string(device_event->topic) == "device.<device>.<kind>");
  CHECK(find_event("device.r1.bgp") != nullptr);
  CHECK(find_event("device.r1") == nullptr);
  CHECK(find_event("audit.secret.read") != nullptr);
  CHECK(find_event("alerts.interface") == nullptr);  // a rule's own topic
  CHECK(find_event("run.finished.late") == nullptr);
}

TEST_CASE("check: required, typed and known fields, each named in the error") {
  const auto* request = find_request("rules.test");
  REQUIRE(request != nullptr);
  CHECK(check(*request, json{{"rule", "x"}}));
  CHECK(check(*request, nullptr).error().message ==
        "rules.test: field 'rule' is required (a string)");
  auto wrong = check(*request, json{{"rule", 5}});
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == nauto::Errc::InvalidArgument);
  CHECK(wrong.error().message == "rules.test: field 'rule' must be a string (got number 5)");
  CHECK(check(*request, json{{"rule", "x"}, {"rul", 1}}).error().message ==
        "rules.test: unknown field 'rul' (fields: rule, event)");
  CHECK(check(*request, json::array()).error().message.find("must be an object") !=
        std::string::npos);
  // Events are open: a field the schema does not name is allowed.
  CHECK(RunFinishedEvent::decode(json{{"id", "r1"}, {"new_field", true}}));
  CHECK_FALSE(RunFinishedEvent::decode(json{{"id", 5}}));
}

TEST_CASE("decode fills defaults and to_json writes every field") {
  auto list = JobListRequest::decode(json::object());
  REQUIRE(list);
  CHECK(list->limit == 50);
  auto select = InventorySelectRequest::decode(nullptr);
  REQUIRE(select);
  CHECK(select->selector == "all");
  CHECK(select->to_json() == json{{"selector", "all"}});
  CHECK(has_type(json("30s"), FieldType::Duration));
  CHECK(has_type(json(30000), FieldType::Duration));
  CHECK_FALSE(has_type(json(1.5), FieldType::Duration));
  CHECK_FALSE(has_type(json{"a", 1}, FieldType::Strings));
}
