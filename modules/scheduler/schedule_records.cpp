#include "schedule_records.h"

#include <sstream>

namespace nauto::scheduler {

using nlohmann::json;

namespace {

std::string text_of(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string{};
}

}  // namespace

json to_json(const LastFiring& last) {
  json out = {{"nominal", last.nominal}, {"reason", last.reason},
              {"service", last.service}, {"id", last.id},
              {"chain", last.chain},     {"started_at", last.started_at},
              {"outcome", last.outcome}, {"ended_at", last.ended_at}};
  if (last.devices) out["devices"] = *last.devices;
  return out;
}

json to_json(const ScheduleState& state) {
  json out = {{"paused", state.paused}};
  if (state.cursor) out["cursor_s"] = state.cursor->time_since_epoch().count();
  if (state.last) out["last"] = to_json(*state.last);
  return out;
}

ScheduleState schedule_state_from_json(const json& stored) {
  ScheduleState state;
  if (!stored.is_object()) return state;
  if (auto cursor = stored.find("cursor_s"); cursor != stored.end() && cursor->is_number_integer())
    state.cursor = Seconds{std::chrono::seconds{cursor->get<std::int64_t>()}};
  if (auto paused = stored.find("paused"); paused != stored.end() && paused->is_boolean())
    state.paused = paused->get<bool>();
  if (auto last = stored.find("last"); last != stored.end() && last->is_object()) {
    LastFiring l;
    l.nominal = text_of(*last, "nominal");
    l.reason = text_of(*last, "reason");
    l.service = text_of(*last, "service");
    l.id = text_of(*last, "id");
    l.chain = text_of(*last, "chain");
    l.started_at = text_of(*last, "started_at");
    l.outcome = text_of(*last, "outcome");
    l.ended_at = text_of(*last, "ended_at");
    if (auto devices = last->find("devices");
        devices != last->end() && devices->is_number_integer())
      l.devices = devices->get<std::int64_t>();
    state.last = std::move(l);
  }
  return state;
}

json to_json(const AddedSchedule& added) {
  return {
      {"definition", added.definition}, {"added_by", added.added_by}, {"added_at", added.added_at}};
}

std::optional<AddedSchedule> added_schedule_from_json(const json& stored) {
  if (!stored.is_object()) return std::nullopt;
  auto definition = stored.find("definition");
  if (definition == stored.end() || !definition->is_object()) return std::nullopt;
  return AddedSchedule{*definition, text_of(stored, "added_by"), text_of(stored, "added_at")};
}

Result<ScheduleDefinition> parse_added_definition(const json& definition,
                                                  const std::string& origin) {
  if (!definition.is_object())
    return fail(Errc::InvalidArgument, "definition: expected a map, as a schedule file holds");
  // A JSON map is YAML too: the file format's reader checks it, with the same messages.
  static const std::string kFile = "definition";
  auto parsed = parse_schedule_file("schedules:\n  - " + definition.dump() + "\n", kFile);
  if (!parsed) {
    // "definition:2: cron: ..." -> "cron: ...": there is no file and no line to point at.
    std::string message, line;
    std::istringstream lines(parsed.error().message);
    while (std::getline(lines, line)) {
      if (line.rfind(kFile + ":", 0) == 0) {
        if (auto colon = line.find(": "); colon != std::string::npos) line.erase(0, colon + 2);
      }
      message += (message.empty() ? "" : "\n") + line;
    }
    return fail(Errc::InvalidArgument, message);
  }
  if (parsed->size() != 1) return fail(Errc::InvalidArgument, "definition: expected one schedule");
  auto schedule = std::move(parsed->front());
  schedule.origin = origin;
  return schedule;
}

}  // namespace nauto::scheduler
