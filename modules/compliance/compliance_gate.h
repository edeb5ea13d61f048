#pragma once
// ComplianceGate: whether a push may go (compliance.gate, asked by the devices module before any
// push that is not a dry run). For each device it reads the running config (device.call
// get_config), predicts the config after the push as the driver does - ConfigDiff::merge of the
// pushed lines into it (or the pushed config itself with replace) - and checks the rules of
// every policy marked `gate: true` on both. A rule that passes before and fails after is a
// violation and refuses the push, naming the device and the rule, unless the push carries an
// override reason; the refusal or the override is published (compliance.gate.refused /
// .overridden), so the journal keeps who pushed what past which rule. Rules that fail before as
// well do not refuse it: the gate stops changes that make a device worse, not every change to a
// device that is not compliant yet. Rules that need the device (commands, getters, `live`) are
// not checked here.
// Platforms whose configs are not indented (Junos' XML and set commands, flat ones) are predicted
// as the running config with the pushed lines after it; a `delete` is not applied.
// Thread: the module's, for every member.

#include <memory>
#include <string>
#include <vector>

#include "nauto/drivers/platform.h"
#include "nauto/sdk/module.h"
#include "policy.h"

namespace nauto::compliance {

struct GateAsk {
  std::vector<std::string> devices;
  std::string config;
  bool replace = false;
  std::string override_reason;
  std::string by;
};

class ComplianceGate {
 public:
  explicit ComplianceGate(const drivers::PlatformCatalog& catalog) : catalog_(catalog) {}

  void check(Context& ctx, std::vector<std::shared_ptr<const Policy>> gates, GateAsk ask,
             Reply reply);

 private:
  struct Pending;
  void decide(Context& ctx, Pending& pending);

  const drivers::PlatformCatalog& catalog_;
};

}  // namespace nauto::compliance
