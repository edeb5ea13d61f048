#pragma once
// ChangeGuard: what a change must get past before any device sees it (issue 27).
//   - Change windows (modules.devices.change_windows): devices a rule matches (by inventory
//     attributes: site, role, a tag...) may be pushed to only inside that rule's weekly windows,
//     in the rule's time zone. A push that reaches any device outside its windows is refused
//     whole, naming the devices and when their next window opens, unless it carries
//     override_window with a reason (kept in the job's record). Dry runs are never refused.
//   - Dangerous commands (each platform's dangerous_commands: reload, write erase, no router
//     bgp, request system zeroize...): a commands job or a push holding one is refused unless it
//     carries allow_dangerous with a reason, or is a push whose diff a person approved
//     (approved_diff_sha256, d:push{approval=}). So a script cannot reload a fleet by accident.
//
// Immutable once parsed; any thread.

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "job.h"
#include "nauto/base/result.h"
#include "nauto/drivers/platform.h"

namespace date {
class time_zone;
}

namespace nauto::devices {

/// One span of the week, in minutes from Monday 00:00 local time; `end` < `start` wraps
/// over Sunday midnight.
struct WeeklySpan {
  int start = 0;
  int end = 0;
};

struct ChangeWindowRule {
  std::map<std::string, std::string> match;  ///< attribute -> value; "tag" matches a tag
  std::vector<WeeklySpan> spans;
  std::vector<std::string> texts;  ///< the windows as written, for messages
  std::string time_zone = "UTC";
  const date::time_zone* zone = nullptr;
};

class ChangeGuard {
 public:
  /// Parses modules.devices.change_windows: [{match: {site: dc1}, windows: ["Sat 22:00-Sun
  /// 04:00", "01:00-05:00"], time_zone: Europe/Berlin}]. Errors name the rule and the window.
  static Result<ChangeGuard> parse(const nlohmann::json& rules);

  /// Refuses a push outside the windows of the hosts' rules (see above).
  Result<void> check_windows(const JobSpec& spec, const std::vector<nlohmann::json>& hosts,
                             std::chrono::system_clock::time_point now) const;

 private:
  std::vector<ChangeWindowRule> rules_;
};

/// Refuses a commands job or a push holding a line one of the hosts' platforms calls dangerous.
Result<void> check_dangerous(const JobSpec& spec, const std::vector<nlohmann::json>& hosts,
                             const drivers::PlatformCatalog& catalog);

}  // namespace nauto::devices
