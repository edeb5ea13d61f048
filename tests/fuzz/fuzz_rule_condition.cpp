// Rule conditions: YAML in, a Condition out, evaluated against a decoded and a packed event.
#include <yaml-cpp/yaml.h>

#include "condition.h"
#include "event_fields.h"
#include "fuzz_input.h"
#include "nauto/bus/body.h"

using namespace nauto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const nlohmann::json event = {{"topic", "device.r1.interface.down"},
                                       {"body",
                                        {{"device", "r1"},
                                         {"severity", 3},
                                         {"fields", {{"interface", "Gi0/1"}, {"reason", "admin"}}},
                                         {"tags", {"core", "dc1"}}}}};
  static const std::string packed = bus::to_body(event["body"]);
  YAML::Node node;
  try {
    node = YAML::Load(std::string(fuzz::text_of(data, size)));
  } catch (const YAML::Exception&) {
    return 0;  // yaml-cpp's own errors; the rules loader reports them with the file's line
  }
  auto condition = rules::Condition::parse(node, "fuzz");
  if (!condition) return 0;
  (void)condition->evaluate(event);
  const std::string topic = "device.r1.interface.down", id = "1";
  rules::PackedEventFields fields(topic, id, packed);
  (void)condition->evaluate(fields);
  return 0;
}
