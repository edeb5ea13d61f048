#pragma once
// ScheduleEngine: the scheduler's decisions — what fires now, what is skipped and why, what was
// missed — for a set of schedules, on a clock the caller gives it. No threads, no bus and no
// store: the module feeds it the time, the runs it started and the runs that ended, and keeps
// each schedule's cursor (the last nominal firing dealt with) in the store so a restart
// resumes where it stopped.
//
// Rules:
// - A schedule's nominal firings come from its timing (schedule_timing.h); each starts at its
//   nominal time plus its jitter, and is dealt with once: fired, skipped or missed. The cursor
//   only moves forward, so a clock set back never fires a firing again; it waits for the clock
//   to pass the cursor.
// - A firing is on time while it is less than `late_after` past its start. Older ones were
//   missed: nautod was stopped, or the clock jumped forward. The schedule's missed policy then
//   decides: `skip` (none runs), `run_once` (the newest runs, the default) or `run_all` (each
//   runs, oldest first, at most `max_catch_up`; the rest are reported missed). run_all's
//   catch-ups run one after another, whatever the overlap policy, unless it is `allow`.
// - A firing outside the schedule's window is skipped ("outside the window").
// - While a schedule's previous run is going, its overlap policy decides: `skip` (the default),
//   `queue` (starts when the runs before it have ended; at most `max_queued` wait, more are
//   skipped) or `allow`.
// - A paused schedule has no firings; resuming it starts from the time of the resume.
//
// Thread-compatible: one thread (the module's) calls everything.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "schedule_timing.h"

namespace nauto::scheduler {

enum class MissedPolicy { Skip, RunOnce, RunAll };
enum class OverlapPolicy { Skip, Queue, Allow };

struct SchedulePolicy {
  MissedPolicy missed = MissedPolicy::RunOnce;
  OverlapPolicy overlap = OverlapPolicy::Skip;
  int max_catch_up = 10;  // run_all: firings caught up at most
  int max_queued = 10;    // queue: firings waiting at most
  std::chrono::seconds late_after{300};
};

/// One firing to start: the schedule, its nominal time, and why it runs now.
struct Firing {
  enum class Reason { OnTime, CatchUp, Queued, RunNow };
  std::string schedule;
  Seconds nominal;
  Reason reason = Reason::OnTime;
};

/// One firing that does not run, with the reason in words (for schedule.skipped and the log).
struct Skipped {
  std::string schedule;
  Seconds nominal;
  std::string reason;
};

/// Firings of one schedule that were not dealt with in time and do not run (what the missed
/// policy leaves): how many, the first and the last.
struct Missed {
  std::string schedule;
  Seconds first;
  Seconds last;
  std::int64_t count = 0;
};

/// What advance() decided, each list in time order per schedule.
struct Decisions {
  std::vector<Firing> fire;
  std::vector<Skipped> skipped;  // by the window or the overlap policy
  std::vector<Missed> missed;
};

class ScheduleEngine {
 public:
  /// Adds or replaces schedule `name`. `cursor`: the last nominal firing dealt with (from the
  /// store), or nullopt for a new schedule, which starts at `now`. Replacing keeps the cursor
  /// and the runs in flight.
  void put(const std::string& name, ScheduleTiming timing, SchedulePolicy policy,
           std::optional<Seconds> cursor, Seconds now);
  void remove(const std::string& name);
  void pause(const std::string& name);
  void resume(const std::string& name, Seconds now);

  /// Deals with every firing whose start is at or before `now`.
  Decisions advance(Seconds now);
  /// The earliest start not yet dealt with: when advance() next has something to do.
  std::optional<Seconds> next_wake() const;
  /// Fires schedule `name` at `now` outside its timing (`nauto schedule run-now`); its overlap
  /// policy applies. Empty for an unknown schedule.
  Decisions run_now(const std::string& name, Seconds now);
  /// The schedule's next start (nominal plus jitter); nullopt when paused or never again.
  std::optional<Seconds> next_start(const std::string& name) const;
  /// How many of the schedule's runs are going (or starting).
  int running(const std::string& name) const;

  /// The module started a firing's run (for the overlap policy), or could not.
  void run_started(const std::string& name, const std::string& run_id);
  void start_failed(const std::string& name);
  /// A run ended; queued firings of its schedule become due at the next advance().
  void run_finished(const std::string& run_id);

  /// The schedule's cursor, to persist after advance().
  std::optional<Seconds> cursor(const std::string& name) const;
  bool paused(const std::string& name) const;
  bool contains(const std::string& name) const { return schedules_.count(name) != 0; }

 private:
  struct Entry {
    ScheduleTiming timing;
    SchedulePolicy policy;
    Seconds cursor;
    bool paused = false;
    std::optional<Seconds> next_start{};  // of the first firing after the cursor; in wake_order_
    std::set<std::string> running{};      // run ids
    int starting = 0;                     // firings handed out whose run has not started yet
    // Firings waiting for the runs to end: queued by the overlap policy, or run_all's catch-ups.
    std::vector<std::pair<Seconds, Firing::Reason>> queued{};
    bool busy() const { return !running.empty() || starting > 0; }
  };

  void decide(const std::string& name, Entry& entry, Seconds now, Decisions& out);
  void start_or_hold(const std::string& name, Entry& entry, Seconds nominal, Firing::Reason reason,
                     Decisions& out);
  void fire(const std::string& name, Entry& entry, Seconds nominal, Firing::Reason reason,
            Decisions& out);
  void schedule_next(const std::string& name, Entry& entry);

  std::map<std::string, Entry> schedules_;
  std::set<std::pair<Seconds, std::string>> wake_order_;  // next starts of unpaused schedules
  std::set<std::string> queue_ready_;                     // idle schedules with queued firings
  std::map<std::string, std::string> run_owner_;          // run id -> schedule
};

}  // namespace nauto::scheduler
