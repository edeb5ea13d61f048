#pragma once
// ComplianceFixes: `nauto compliance fix` - a rule's remediation applied to the devices of a
// target that fail it now (the state the last runs left, compliance_records.h):
//   - remediation lines: a dry run asks each device for the diff they would make (device.call
//     push, dry_run) and changes nothing; otherwise one run of the fix runbook (the library's
//     compliance_fix) pushes them device by device, each device's diff approved first and
//     pushed only if it is still that diff;
//   - a remediation runbook: one run per device with {target = the device} (dry runs when
//     asked), which decides about approvals itself.
// The next compliance run shows what the fix resolved.
// Thread: the module's, for every member.

#include <memory>
#include <string>
#include <vector>

#include "compliance_records.h"
#include "nauto/sdk/module.h"
#include "policy.h"

namespace nauto::compliance {

struct FixAsk {
  std::string target = "all";
  bool dry_run = false;
  std::vector<std::string> approvers;
  std::string by;
};

class ComplianceFixes {
 public:
  ComplianceFixes(ComplianceRecords& records, std::string fix_runbook)
      : records_(records), fix_runbook_(std::move(fix_runbook)) {}

  void fix(Context& ctx, std::shared_ptr<const Policy> policy, const Rule& rule, FixAsk ask,
           Reply reply);

 private:
  void apply(Context& ctx, const Rule& rule, const std::string& policy,
             std::vector<std::string> devices, const FixAsk& ask, Reply reply);

  ComplianceRecords& records_;
  std::string fix_runbook_;
};

}  // namespace nauto::compliance
