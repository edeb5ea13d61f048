#pragma once
// PollSchedule: when each target is next polled. A target's polls keep the cadence of its
// interval from a phase of its own (a hash of its name), so a thousand targets on a 60 s
// interval are spread over the minute instead of all polled at once. A poll that comes due
// while the target's previous one is still running is an overrun: counted by the caller, and
// skipped rather than stretching the cadence.
// Thread: one, the module's.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace nauto::telemetry {

class PollSchedule {
 public:
  /// Adds or keeps `name` at `interval_us`; a changed interval starts a new cadence.
  void set(const std::string& name, std::int64_t interval_us, std::int64_t now_us);
  /// Removes every target not in `keep`.
  void retain(const std::set<std::string>& keep);
  /// The targets due at `now_us`, each moved to its next slot after now. `missed` counts
  /// the slots a late wake-up skipped (the module's thread was held up), per target.
  std::vector<std::string> take_due(std::int64_t now_us,
                                    std::map<std::string, int>* missed = nullptr);
  /// The earliest due time; 0 when there is no target.
  std::int64_t next_due_us() const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::int64_t interval_us = 0;
    std::int64_t due_us = 0;
  };
  std::map<std::string, Entry> entries_;
  std::set<std::pair<std::int64_t, std::string>> queue_;
};

}  // namespace nauto::telemetry
