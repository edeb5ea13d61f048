// Compliance policy files (modules.compliance.dirs, compliance.validate): YAML in, rules out
// (Lua rules run their chunk); every rule then evaluated on a fixed device - config, parsed
// show output, facts - and on the input itself taken as a config (and as the text after a NUL,
// when there is one).
#include "evaluate.h"
#include "fuzz_input.h"
#include "policy.h"

using namespace nauto::compliance;
using nlohmann::json;

namespace {

const char* kConfig =
    "hostname r1\nntp server 10.0.0.1\nntp server 10.0.0.2\ninterface Gi0/1\n description up\n"
    " ip address 10.0.0.1 255.255.255.0\n no shutdown\nline vty 0 4\n transport input ssh\n";

DeviceInput device_input(std::string config, const nauto::drivers::ConfigDiff& parser) {
  DeviceInput input;
  input.device = "r1";
  input.live = true;
  input.data.platform = "cisco_ios";
  input.data.facts = json{{"hostname", "r1"}, {"vendor", "Cisco"}, {"uptime", "1 week, 2 days"}};
  input.data.parsed["show ip bgp summary"] = json::parse(
      R"([{"bgp_neighbor": "10.0.0.2", "neighbor_as": "65001", "state_or_prefixes_received": "7"}])");
  input.data.parsed["show interfaces"] = json::parse(
      R"([{"interface": "Gi0/1", "link_status": "up", "protocol_status": "up", "mtu": "1500"}])");
  input.config.emplace(std::move(config), parser);
  return input;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const nauto::drivers::ConfigDiff parser({}, {});
  static nauto::text::Matcher matcher;
  const auto input = nauto::fuzz::text_of(data, size);
  const auto [policy_text, config_text] = nauto::fuzz::split_at_nul(input);
  auto policy = parse_policy(std::string(policy_text), "fuzz.yaml");
  if (!policy) return 0;
  std::vector<const Rule*> rules;
  for (const auto& rule : policy->rules)
    rules.push_back(&rule);
  (void)evaluate(rules, device_input(kConfig, parser), matcher);
  (void)evaluate(rules, device_input(std::string(policy_text), parser), matcher);
  if (!config_text.empty())
    (void)evaluate(rules, device_input(std::string(config_text), parser), matcher);
  return 0;
}
