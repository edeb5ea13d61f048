#pragma once
// What the scheduler keeps in the store, and its JSON form (stored as msgpack):
//   - table schedule_state: per schedule, its cursor, whether it is paused and its last firing
//     (what it started and, once that ended, how it ended);
//   - table schedule_added: the schedules `nauto schedule add` made, as the same map a schedule
//     file holds (schedule_file.h), with who added them and when.
// Reading is forgiving: a field of the wrong type (a damaged entry) is left out, never thrown.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "nauto/base/result.h"
#include "schedule_file.h"

namespace nauto::scheduler {

/// The last firing that started something.
struct LastFiring {
  std::string nominal;     ///< ISO 8601 UTC
  std::string reason;      ///< on_time, catch_up, queued, run_now
  std::string service;     ///< what it called
  std::string id;          ///< the run's or job's id
  std::string chain;       ///< its causal chain
  std::string started_at;  ///< ISO 8601 UTC
  std::optional<std::int64_t> devices;
  std::string outcome;  ///< the run's or job's end state; empty while it goes on
  std::string ended_at;
};

struct ScheduleState {
  std::optional<Seconds> cursor;
  bool paused = false;
  std::optional<LastFiring> last;
};

nlohmann::json to_json(const LastFiring& last);
nlohmann::json to_json(const ScheduleState& state);
ScheduleState schedule_state_from_json(const nlohmann::json& stored);

/// A schedule added from the command line.
struct AddedSchedule {
  nlohmann::json definition;  ///< the map a schedule file's list item holds
  std::string added_by;
  std::string added_at;  ///< ISO 8601 UTC
};

nlohmann::json to_json(const AddedSchedule& added);
std::optional<AddedSchedule> added_schedule_from_json(const nlohmann::json& stored);

/// Reads an added schedule's definition with the file format's rules and messages; its origin
/// is `origin` (such as "added by alice"). Errc::InvalidArgument naming the field otherwise.
Result<ScheduleDefinition> parse_added_definition(const nlohmann::json& definition,
                                                  const std::string& origin);

}  // namespace nauto::scheduler
