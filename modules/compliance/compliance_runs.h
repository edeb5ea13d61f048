#pragma once
// ComplianceRuns: compliance runs in progress, from start to record.
//   1. inventory.select the target, and each rule's scope, so every device has the rules that
//      apply to it;
//   2. fetch each device's inputs, a window at a time: its latest archived config
//      (configs.show), or in a live run its running config, the show commands and the facts its
//      rules need (device.call on one kept session);
//   3. evaluate fetched devices in batches on a thread of its own (Offload) - config checks,
//      TextFSM parses, NAPALM getters - and store each batch's results;
//   4. at the end, compare with the policy's state (violations, resolutions: events), write the
//      run's record and publish compliance.run.finished.
// A live run's results have the platform's secret patterns redacted from their lines: the
// module reads configs whole (a default SNMP community is a secret) and keeps none of them.
//
// Thread: the module's, for every member.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compliance_records.h"
#include "nauto/drivers/platform.h"
#include "nauto/sdk/module.h"
#include "nauto/sdk/offload.h"
#include "nauto/text/textfsm/template_library.h"
#include "policy.h"
#include "scope_selection.h"

namespace nauto::compliance {

struct RunAsk {
  std::string target = "all";
  bool live = false;
  bool wait = false;
  int max_parallel = 20;
  std::string by;
};

class ComplianceRuns {
 public:
  ComplianceRuns(ComplianceRecords& records, const drivers::PlatformCatalog& catalog,
                 std::shared_ptr<textfsm::TemplateLibrary> templates);
  Result<void> start(Context& ctx) { return evaluator_.start(ctx); }
  /// Runs that were running when nautod stopped are recorded as interrupted.
  void close_interrupted(Context& ctx);
  /// Starts a run; the reply gets {id, devices} once the devices are known, or (wait) the
  /// record when the run ends.
  void run(Context& ctx, std::shared_ptr<const Policy> policy, RunAsk ask, Reply reply);
  /// The oldest run still going ("" when none), which retention must keep.
  std::string oldest_running() const;
  void stop(Context& ctx) noexcept;

 private:
  struct Fetched {
    std::string device, platform, site;
    std::vector<const Rule*> rules;
    std::optional<std::string> config;
    std::string config_error;
    std::string device_error;
    nlohmann::json outputs = nlohmann::json::array();  ///< [{command, text}]
    std::optional<nlohmann::json> facts;
  };
  struct Live {
    std::shared_ptr<const Policy> policy;
    RunAsk ask;
    nlohmann::json record;
    std::vector<nlohmann::json> hosts;
    std::map<std::string, std::vector<const Rule*>> rules_of;  // device -> applicable rules
    std::size_t next = 0, in_flight = 0, evaluating = 0, done = 0;
    bool fetching = false;  // fetch_more's loop is running
    std::deque<Fetched> ready;
    std::optional<Reply> waiting;
    std::int64_t pass = 0, fail = 0, error = 0, skipped = 0;
    std::vector<nlohmann::json> statuses;  // {device, statuses} of the devices evaluated
  };
  struct Batch {
    std::string run;
    std::vector<nlohmann::json> docs;
  };

  void devices_known(Context& ctx, const std::string& id, Selection selection);
  void fetch_more(Context& ctx, const std::string& id);
  void fetch_archived(Context& ctx, const std::string& id, Fetched fetched);
  void fetch_live(Context& ctx, const std::string& id, Fetched fetched);
  // Call `index` of a live device's calls (get_config, commands, facts), then the next.
  void live_step(Context& ctx, const std::string& id, std::shared_ptr<Fetched> holder,
                 std::shared_ptr<const std::vector<nlohmann::json>> steps, std::size_t index);
  void fetched(Context& ctx, const std::string& id, Fetched fetched);
  void evaluate_more(Context& ctx);
  void evaluated(Context& ctx, Batch batch);
  void finish(Context& ctx, const std::string& id, std::optional<Error> failure);
  // On the evaluator's thread: reads only the policy, the catalog and the templates.
  std::vector<nlohmann::json> evaluate_batch(const Policy& policy, bool is_live,
                                             std::vector<Fetched> batch) const;

  ComplianceRecords& records_;
  const drivers::PlatformCatalog& catalog_;
  std::shared_ptr<textfsm::TemplateLibrary> templates_;
  std::map<std::string, Live> live_;
  Offload<Batch> evaluator_;
};

}  // namespace nauto::compliance
