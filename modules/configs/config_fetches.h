#pragma once
// ConfigFetches: the jobs the configs module starts (get_config for a backup or a drift check,
// push for a confirmed push), and their results read back page by page once each job ended.
//
// A job's results are read from the devices module's job.logs, not from job.device events:
// events may be shed under load, while results are stored before the job's end is announced,
// so when job.finished arrives every device's result is there. A job whose end came before the
// reply to job.run was handled is remembered, so its end is never missed.
//
// Thread: the module's, for every member.

#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/sdk/context.h"

namespace nauto::configs {

class ConfigFetches {
 public:
  /// One page of device results ({device, status, error, output: {config, platform}, ...}).
  using OnPage = std::function<void(const std::string& job, std::vector<nlohmann::json> results)>;
  /// After the last page; an error when the results could not be read.
  using OnDone = std::function<void(const std::string& job, Result<void> read)>;
  /// The job started (its id and device count), or why it did not.
  using OnStarted = std::function<void(Result<std::pair<std::string, std::int64_t>> started)>;

  /// Results are read this many devices at a time.
  static constexpr std::int64_t kPageSize = 100;

  /// Starts a job with `job_body` (job.run's fields; kind get_config unless it says another).
  void start(Context& ctx, nlohmann::json job_body, OnStarted started, OnPage page, OnDone done);
  /// Follows a job started earlier (before a restart): read when it has ended.
  void follow(Context& ctx, const std::string& job, OnPage page, OnDone done);
  /// From the module's on_event, for job.finished.
  void job_ended(Context& ctx, const std::string& job);
  bool following(const std::string& job) const { return followed_.contains(job); }

 private:
  struct Followed {
    OnPage page;
    OnDone done;
  };
  void read_from(Context& ctx, const std::string& job, const std::string& after);
  void remember_early_end(const std::string& job);

  std::map<std::string, Followed> followed_;
  std::set<std::string> early_ends_;
  std::deque<std::string> early_order_;
};

}  // namespace nauto::configs
