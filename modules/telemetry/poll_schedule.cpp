#include "poll_schedule.h"

#include <functional>

namespace nauto::telemetry {

void PollSchedule::set(const std::string& name, std::int64_t interval_us, std::int64_t now_us) {
  auto [it, inserted] = entries_.try_emplace(name);
  Entry& e = it->second;
  if (!inserted && e.interval_us == interval_us) return;
  if (!inserted) queue_.erase({e.due_us, name});
  e.interval_us = interval_us;
  // The phase: a fixed point of the interval for this name, the first slot after now.
  const auto phase = static_cast<std::int64_t>(std::hash<std::string>{}(name) %
                                               static_cast<std::uint64_t>(interval_us));
  auto due = now_us - (now_us % interval_us) + phase;
  if (due <= now_us) due += interval_us;
  e.due_us = due;
  queue_.emplace(e.due_us, name);
}

void PollSchedule::retain(const std::set<std::string>& keep) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    queue_.erase({it->second.due_us, it->first});
    it = entries_.erase(it);
  }
}

std::vector<std::string> PollSchedule::take_due(std::int64_t now_us,
                                                std::map<std::string, int>* missed) {
  std::vector<std::string> due;
  while (!queue_.empty() && queue_.begin()->first <= now_us) {
    auto name = queue_.begin()->second;
    queue_.erase(queue_.begin());
    Entry& e = entries_[name];
    e.due_us += e.interval_us;
    int skipped = 0;
    while (e.due_us <= now_us) {
      e.due_us += e.interval_us;
      ++skipped;
    }
    if (skipped && missed) (*missed)[name] += skipped;
    queue_.emplace(e.due_us, name);
    due.push_back(std::move(name));
  }
  return due;
}

std::int64_t PollSchedule::next_due_us() const {
  return queue_.empty() ? 0 : queue_.begin()->first;
}

}  // namespace nauto::telemetry
