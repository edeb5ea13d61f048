#include "schedule_engine.h"

#include <algorithm>
#include <deque>
#include <utility>

namespace nauto::scheduler {

void ScheduleEngine::put(const std::string& name, ScheduleTiming timing, SchedulePolicy policy,
                         std::optional<Seconds> cursor, Seconds now) {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) {
    it = schedules_.emplace(name, Entry{std::move(timing), policy, cursor.value_or(now)}).first;
  } else {
    it->second.timing = std::move(timing);
    it->second.policy = policy;
    if (cursor) it->second.cursor = *cursor;
  }
  Entry& entry = it->second;
  schedule_next(name, entry);
}

void ScheduleEngine::remove(const std::string& name) {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return;
  if (it->second.next_start) wake_order_.erase({*it->second.next_start, name});
  queue_ready_.erase(name);
  for (const auto& run : it->second.running)
    run_owner_.erase(run);
  schedules_.erase(it);
}

void ScheduleEngine::pause(const std::string& name) {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return;
  it->second.paused = true;
  it->second.queued.clear();
  queue_ready_.erase(name);
  schedule_next(name, it->second);
}

void ScheduleEngine::resume(const std::string& name, Seconds now) {
  auto it = schedules_.find(name);
  if (it == schedules_.end() || !it->second.paused) return;
  it->second.paused = false;
  it->second.cursor = std::max(it->second.cursor, now);  // what fell into the pause is not owed
  schedule_next(name, it->second);
}

void ScheduleEngine::schedule_next(const std::string& name, Entry& entry) {
  if (entry.next_start) wake_order_.erase({*entry.next_start, name});
  entry.next_start.reset();
  if (entry.paused) return;
  if (auto nominal = entry.timing.next_after(entry.cursor)) {
    entry.next_start = entry.timing.start_of(*nominal, name);
    wake_order_.insert({*entry.next_start, name});
  }
}

std::optional<Seconds> ScheduleEngine::next_wake() const {
  if (!queue_ready_.empty()) return Seconds{};  // at once
  if (wake_order_.empty()) return std::nullopt;
  return wake_order_.begin()->first;
}

Decisions ScheduleEngine::advance(Seconds now) {
  Decisions out;
  // Queued firings of schedules whose runs have ended.
  for (const auto& name : std::exchange(queue_ready_, {})) {
    Entry& entry = schedules_.at(name);
    if (entry.busy() || entry.queued.empty()) continue;
    const auto [nominal, reason] = entry.queued.front();
    entry.queued.erase(entry.queued.begin());
    fire(name, entry, nominal, reason, out);
  }
  std::vector<std::string> due;
  for (auto it = wake_order_.begin(); it != wake_order_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  for (const auto& name : due) {
    Entry& entry = schedules_.at(name);
    decide(name, entry, now, out);
    schedule_next(name, entry);
  }
  return out;
}

void ScheduleEngine::decide(const std::string& name, Entry& entry, Seconds now, Decisions& out) {
  // The firings due now, in time order: those still on time, and those missed (late). Of the
  // late ones only the newest few can run (run_once: one, run_all: max_catch_up), so only they
  // are kept; the others are counted.
  std::size_t keep_late = 0;
  if (entry.policy.missed == MissedPolicy::RunOnce)
    keep_late = 2;  // the newest, and the one before
  if (entry.policy.missed == MissedPolicy::RunAll)
    keep_late = static_cast<std::size_t>(std::max(entry.policy.max_catch_up, 0));
  std::deque<Seconds> late_kept;
  std::vector<Seconds> on_time;
  std::int64_t late_count = 0;
  Seconds first_late{}, last_late{}, last_dropped{};
  auto cursor = entry.cursor;
  for (;;) {
    const auto nominal = entry.timing.next_after(cursor);
    if (!nominal) break;
    const auto start = entry.timing.start_of(*nominal, name);
    if (start > now) break;
    cursor = *nominal;
    if (now - start < entry.policy.late_after) {
      on_time.push_back(*nominal);
      continue;
    }
    if (late_count++ == 0) first_late = *nominal;
    last_late = *nominal;
    late_kept.push_back(*nominal);
    if (late_kept.size() > keep_late) {
      last_dropped = late_kept.front();
      late_kept.pop_front();
    }
  }
  entry.cursor = cursor;

  std::vector<std::pair<Seconds, Firing::Reason>> run;
  Missed missed{name, first_late, {}, 0};
  if (entry.policy.missed == MissedPolicy::RunOnce && late_count > 0) {
    // One run for everything due, the newest; every other one was missed.
    if (!on_time.empty()) {
      run.emplace_back(on_time.back(), Firing::Reason::OnTime);
      missed.count = late_count + static_cast<std::int64_t>(on_time.size()) - 1;
      missed.last = on_time.size() > 1 ? on_time[on_time.size() - 2] : last_late;
    } else {
      run.emplace_back(last_late, Firing::Reason::CatchUp);
      missed.count = late_count - 1;
      if (late_kept.size() > 1) missed.last = late_kept[late_kept.size() - 2];
    }
  } else {
    for (const auto nominal : late_kept)
      run.emplace_back(nominal, Firing::Reason::CatchUp);
    for (const auto nominal : on_time)
      run.emplace_back(nominal, Firing::Reason::OnTime);
    missed.count = late_count - static_cast<std::int64_t>(late_kept.size());
    missed.last = last_dropped;
  }
  if (missed.count > 0) out.missed.push_back(missed);
  for (const auto& [nominal, reason] : run) {
    if (!entry.timing.in_window(nominal)) {
      out.skipped.push_back({name, nominal, "outside the window " + entry.timing.window()});
      continue;
    }
    // run_all owes every kept firing: unless overlap allows runs at once, the catch-ups wait
    // for each other, oldest first (max_catch_up bounds them, not max_queued).
    if (reason == Firing::Reason::CatchUp && entry.policy.missed == MissedPolicy::RunAll &&
        entry.policy.overlap != OverlapPolicy::Allow && (entry.busy() || !entry.queued.empty())) {
      entry.queued.emplace_back(nominal, reason);
      continue;
    }
    start_or_hold(name, entry, nominal, reason, out);
  }
}

void ScheduleEngine::start_or_hold(const std::string& name, Entry& entry, Seconds nominal,
                                   Firing::Reason reason, Decisions& out) {
  const bool waiting = !entry.queued.empty();
  if ((!entry.busy() && !waiting) || entry.policy.overlap == OverlapPolicy::Allow) {
    fire(name, entry, nominal, reason, out);
    return;
  }
  if (entry.policy.overlap == OverlapPolicy::Queue) {
    if (static_cast<int>(entry.queued.size()) < entry.policy.max_queued) {
      entry.queued.emplace_back(nominal, Firing::Reason::Queued);
      return;
    }
    out.skipped.push_back({name, nominal,
                           std::to_string(entry.queued.size()) +
                               " firings already wait for the previous run to end (overlap: "
                               "queue holds at most " +
                               std::to_string(entry.policy.max_queued) + ")"});
    return;
  }
  std::string runs;
  for (const auto& run : entry.running)
    runs += (runs.empty() ? "" : ", ") + run;
  out.skipped.push_back({name, nominal,
                         "the previous run (" + (runs.empty() ? std::string("starting") : runs) +
                             ") is still going (overlap: skip)"});
}

void ScheduleEngine::fire(const std::string& name, Entry& entry, Seconds nominal,
                          Firing::Reason reason, Decisions& out) {
  ++entry.starting;
  out.fire.push_back({name, nominal, reason});
}

void ScheduleEngine::run_started(const std::string& name, const std::string& run_id) {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return;
  it->second.starting = std::max(it->second.starting - 1, 0);
  it->second.running.insert(run_id);
  run_owner_[run_id] = name;
}

void ScheduleEngine::start_failed(const std::string& name) {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return;
  it->second.starting = std::max(it->second.starting - 1, 0);
  if (!it->second.busy() && !it->second.queued.empty()) queue_ready_.insert(name);
}

void ScheduleEngine::run_finished(const std::string& run_id) {
  auto owner = run_owner_.find(run_id);
  if (owner == run_owner_.end()) return;
  auto it = schedules_.find(owner->second);
  run_owner_.erase(owner);
  if (it == schedules_.end()) return;
  it->second.running.erase(run_id);
  if (!it->second.busy() && !it->second.queued.empty()) queue_ready_.insert(it->first);
}

Decisions ScheduleEngine::run_now(const std::string& name, Seconds now) {
  Decisions out;
  auto it = schedules_.find(name);
  if (it != schedules_.end()) start_or_hold(name, it->second, now, Firing::Reason::RunNow, out);
  return out;
}

std::optional<Seconds> ScheduleEngine::next_start(const std::string& name) const {
  auto it = schedules_.find(name);
  return it == schedules_.end() ? std::nullopt : it->second.next_start;
}

int ScheduleEngine::running(const std::string& name) const {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return 0;
  return static_cast<int>(it->second.running.size()) + it->second.starting;
}

std::optional<Seconds> ScheduleEngine::cursor(const std::string& name) const {
  auto it = schedules_.find(name);
  if (it == schedules_.end()) return std::nullopt;
  return it->second.cursor;
}

bool ScheduleEngine::paused(const std::string& name) const {
  auto it = schedules_.find(name);
  return it != schedules_.end() && it->second.paused;
}

}  // namespace nauto::scheduler
