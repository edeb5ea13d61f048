#pragma once
// RunWaits: starts runbook runs and hears how each ended (run.finished), for the configs
// module's health checks and runbook rollouts.
//
// A run can end before the reply to its run.start is handled (a short runbook, a busy module):
// ends of runs not known yet are kept a while (the latest 1,000) and matched when the start's
// reply comes. Nothing survives a restart: whoever waits re-starts what it needs.
//
// Thread: the configs module's, for every member.

#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "nauto/base/result.h"
#include "nauto/sdk/context.h"

namespace nauto::configs {

class RunWaits {
 public:
  using Started = std::function<void(Result<std::string> run)>;
  using Ended = std::function<void(const std::string& state)>;

  /// Sends run.start with `body`; `started` gets the run's id (or why it did not start), then
  /// `ended` the state it ended in (succeeded, failed, cancelled...).
  void start(Context& ctx, const nlohmann::json& body, Started started, Ended ended);
  /// `ended` gets the state run `run` (started by someone else) ends in.
  void wait(const std::string& run, Ended ended);
  /// From on_event, for run.finished.
  void run_ended(const std::string& run, const std::string& state);
  /// Forgets every wait (nautod stopping).
  void clear() noexcept;

 private:
  std::map<std::string, Ended> waits_;             // run id -> who waits for its end
  std::map<std::string, std::string> early_ends_;  // run id -> state, for a start's late reply
  std::deque<std::string> early_order_;
};

}  // namespace nauto::configs
