// The scheduler module: schedules from files fire runbooks, jobs and other services.
//   - reads every schedule file (modules.scheduler.files, and *.yaml in modules.scheduler.dirs)
//     at start, and again when one changes (checked every reload_interval); a file with
//     problems is logged and the schedules in force stay;
//   - sleeps until the next firing (a timer, at most a minute ahead so a wall clock set forward
//     is noticed), then lets ScheduleEngine decide and calls each firing's service: run.start
//     (with the firing's causal chain), job.run, or what a call: names;
//   - publishes schedule.fired with the run's or job's id, schedule.skipped with the reason,
//     schedule.missed, schedule.reloaded;
//   - follows run.finished and job.finished for the overlap policies;
//   - keeps each schedule's cursor and pause in the store table schedule_state (one entry per
//     schedule, erased with it), so a restart resumes where it stopped and applies the missed
//     policy to what fell in between;
//   - serves schedule.list, schedule.next, schedule.run_now, schedule.pause, schedule.resume and
//     schedule.validate.

#include <date/tz.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "nauto/base/ids.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/registry.h"
#include "nauto/sdk/yaml_files.h"
#include "nauto/store/store.h"
#include "schedule_file.h"

namespace nauto::mod::scheduler {

using namespace nauto::scheduler;
using nlohmann::json;

namespace {

constexpr const char* kStateTable = "schedule_state";
// A timer never sleeps longer than this: a wall clock set forward is noticed within it.
constexpr std::chrono::seconds kLongestSleep{60};
// Runs that ended before their start's reply was handled, remembered this many.
constexpr std::size_t kEarlyEndsKept = 1000;
// A firing whose service nobody serves yet is sent again a second later, this many times in all.
constexpr int kStartAttempts = 10;

struct SchedulerSettings {
  std::vector<std::string> files;
  std::vector<std::string> dirs;
  std::int64_t reload_interval_ms = 2000;
};

Result<SchedulerSettings> read_settings(const json& config) {
  SchedulerSettings s;
  ConfigReader r(config, "modules.scheduler");
  s.files = r.strings("files");
  s.dirs = r.strings("dirs");
  s.reload_interval_ms = r.duration_ms("reload_interval", 2000, 100);
  if (auto done = r.finish(); !done) return std::move(done).error();
  return s;
}

// Every schedule of every file; all problems at once.
Result<std::vector<ScheduleDefinition>> load_schedules(YamlFiles& files) {
  return load_definitions<ScheduleDefinition>(
      files, "schedule", parse_schedule_file,
      [](const ScheduleDefinition& schedule) { return schedule.name; },
      [](const ScheduleDefinition& schedule) { return schedule.origin; });
}

Seconds wall_now() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string iso(Seconds when) {
  return date::format("%Y-%m-%dT%H:%M:%SZ", when);
}

const char* reason_name(Firing::Reason reason) {
  switch (reason) {
    case Firing::Reason::OnTime:
      return "on_time";
    case Firing::Reason::CatchUp:
      return "catch_up";
    case Firing::Reason::Queued:
      return "queued";
    case Firing::Reason::RunNow:
      return "run_now";
  }
  return "?";
}

std::string timing_text(const TimingSpec& timing) {
  if (!timing.cron.empty()) return "cron " + timing.cron;
  if (!timing.every.empty())
    return "every " + timing.every + (timing.start.empty() ? "" : " from " + timing.start);
  return "at " + timing.at;
}

}  // namespace

class SchedulerModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "scheduler", "cron, interval and one-shot schedules that start runbooks and jobs",
        {bus::schema::RunFinishedEvent::kTopic, bus::schema::JobFinishedEvent::kTopic},
        {kStateTable});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    YamlFiles files(s->files, s->dirs, "modules.scheduler.dirs");
    auto schedules = load_schedules(files);
    if (!schedules) return std::move(schedules).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = std::move(*s);
    files_ = std::make_unique<YamlFiles>(settings_.files, settings_.dirs, "modules.scheduler.dirs");
    restore_state(ctx);
    if (auto loaded = reload(ctx); !loaded) return loaded;
    ctx.every(std::chrono::milliseconds(settings_.reload_interval_ms), [this, &ctx] {
      if (files_->changed()) (void)reload(ctx);
    });
    return ok();
  }

  void on_event(const bus::Envelope& event, Context& ctx) override {
    namespace schema = bus::schema;
    std::string id;
    if (event.topic == schema::RunFinishedEvent::kTopic) {
      auto ended = schema::decode_body<schema::RunFinishedEvent>(event.body);
      if (ended) id = ended->id;
    } else if (event.topic == schema::JobFinishedEvent::kTopic) {
      auto ended = schema::decode_body<schema::JobFinishedEvent>(event.body);
      if (ended) id = ended->id;
    }
    if (id.empty()) return;  // malformed: nothing of ours to end
    if (!known_runs_.count(id)) {
      remember_early_end(id);
      return;
    }
    known_runs_.erase(id);
    engine_.run_finished(id);
    tick(ctx);  // a queued firing may start now
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    namespace schema = bus::schema;
    const auto& topic = request.topic;
    if (topic == schema::ScheduleListRequest::kTopic) return reply.ok_json(list());
    if (topic == schema::ScheduleValidateRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleValidateRequest>(request.body);
      if (!args) return reply.fail(args.error());
      auto parsed = parse_schedule_file(args->text, args->file);
      if (!parsed) return reply.fail(parsed.error());
      return reply.ok_json({{"schedules", parsed->size()}});
    }
    if (topic == schema::ScheduleNextRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleNextRequest>(request.body);
      if (!args) return reply.fail(args.error());
      auto found = definition(args->name, topic);
      if (!found) return reply.fail(found.error());
      return reply.ok_json(next_firings(**found, std::clamp<std::int64_t>(args->count, 1, 100)));
    }
    // run_now, pause, resume: {name}.
    std::string name;
    if (topic == schema::ScheduleRunNowRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleRunNowRequest>(request.body);
      if (!args) return reply.fail(args.error());
      name = args->name;
    } else if (topic == schema::SchedulePauseRequest::kTopic) {
      auto args = schema::decode_body<schema::SchedulePauseRequest>(request.body);
      if (!args) return reply.fail(args.error());
      name = args->name;
    } else if (topic == schema::ScheduleResumeRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleResumeRequest>(request.body);
      if (!args) return reply.fail(args.error());
      name = args->name;
    } else {
      return reply.fail(fail(Errc::Unsupported, "the scheduler has no service '" + topic + "'"));
    }
    if (auto found = definition(name, topic); !found) return reply.fail(found.error());
    const auto now = wall_now();
    if (topic == schema::ScheduleRunNowRequest::kTopic) {
      auto decisions = engine_.run_now(name, now);
      const bool started = !decisions.fire.empty();
      carry_out(ctx, std::move(decisions));
      return reply.ok_json({{"started", started}});
    }
    if (topic == schema::SchedulePauseRequest::kTopic)
      engine_.pause(name);
    else
      engine_.resume(name, now);
    save_state(ctx, name);
    arm(ctx);
    reply.ok_json({{"paused", engine_.paused(name)}});
  }

  void stop(Context& ctx) noexcept override {
    if (timer_) ctx.cancel(*timer_);
  }

 private:
  struct SavedState {
    std::optional<Seconds> cursor;
    bool paused = false;
  };

  Result<const ScheduleDefinition*> definition(const std::string& name, const std::string& where) {
    auto it = definitions_.find(name);
    if (it == definitions_.end())
      return fail(Errc::NotFound, "no schedule named '" + name + "'", where);
    return &it->second;
  }

  void restore_state(Context& ctx) {
    if (!ctx.store()) return;
    store::ScanOptions options;
    options.limit = 1'000'000;
    auto entries = ctx.store()->scan(kStateTable, options);
    if (!entries) {
      ctx.log().error("schedule state not read: {}", entries.error().message);
      return;
    }
    for (const auto& [name, value] : *entries) {
      auto state = bus::from_body(value);
      if (!state || !state->is_object()) continue;
      SavedState saved;  // fields of the wrong type (a damaged entry) are left out
      if (auto cursor = state->find("cursor_s");
          cursor != state->end() && cursor->is_number_integer())
        saved.cursor = Seconds{std::chrono::seconds{cursor->get<std::int64_t>()}};
      if (auto paused = state->find("paused"); paused != state->end() && paused->is_boolean())
        saved.paused = paused->get<bool>();
      saved_[name] = saved;
    }
  }

  void save_state(Context& ctx, const std::string& name) {
    if (!ctx.store()) return;
    store::WriteBatch batch;
    if (!engine_.contains(name)) {
      batch.erase(kStateTable, name);
    } else {
      json state = {{"paused", engine_.paused(name)}};
      if (auto cursor = engine_.cursor(name))
        state["cursor_s"] = cursor->time_since_epoch().count();
      batch.put(kStateTable, name, bus::to_body(state));
    }
    ctx.store()->write(std::move(batch), [log = logger("mod." + ctx.name())](Result<void> done) {
      if (!done) log->error("schedule state not saved: {}", done.error().message);
    });
  }

  Result<void> reload(Context& ctx) {
    auto schedules = load_schedules(*files_);
    if (!schedules) {
      ctx.log().error("schedules not reloaded, the ones in force stay: {}",
                      schedules.error().message);
      return std::move(schedules).error();
    }
    const auto now = wall_now();
    std::map<std::string, ScheduleDefinition> fresh;
    for (auto& schedule : *schedules) {
      auto timing = ScheduleTiming::parse(schedule.timing);
      if (!timing) continue;  // parse_schedule_file checked it
      const auto name = schedule.name;
      const bool known = engine_.contains(name);
      std::optional<Seconds> cursor;
      bool paused = schedule.paused;
      if (!known) {
        if (auto saved = saved_.find(name); saved != saved_.end()) {
          cursor = saved->second.cursor;
          paused = paused || saved->second.paused;
        }
      }
      engine_.put(name, std::move(*timing), schedule.policy, cursor, now);
      if (!known && paused) engine_.pause(name);
      fresh.emplace(name, std::move(schedule));
    }
    for (const auto& [name, old] : definitions_) {
      if (fresh.count(name)) continue;
      engine_.remove(name);
      save_state(ctx, name);  // erased with the schedule
    }
    definitions_ = std::move(fresh);
    saved_.clear();
    ctx.log().info("schedules loaded: {}", definitions_.size());
    (void)ctx.publish(bus::schema::ScheduleReloadedEvent::kTopic,
                      bus::to_body(json{{"schedules", definitions_.size()}}));
    tick(ctx);
    return ok();
  }

  void tick(Context& ctx) { carry_out(ctx, engine_.advance(wall_now())); }

  void carry_out(Context& ctx, Decisions decisions) {
    std::set<std::string> advanced;
    for (const auto& missed : decisions.missed) {
      ctx.log().warn("schedule '{}': {} firing(s) missed, {} to {}", missed.schedule, missed.count,
                     iso(missed.first), iso(missed.last));
      (void)ctx.publish(bus::schema::ScheduleMissedEvent::kTopic,
                        bus::to_body(json{{"schedule", missed.schedule},
                                          {"count", missed.count},
                                          {"first", iso(missed.first)},
                                          {"last", iso(missed.last)}}));
      advanced.insert(missed.schedule);
    }
    for (const auto& skipped : decisions.skipped) {
      ctx.log().info("schedule '{}' skipped the firing of {}: {}", skipped.schedule,
                     iso(skipped.nominal), skipped.reason);
      publish_skipped(ctx, skipped.schedule, skipped.nominal, skipped.reason);
      advanced.insert(skipped.schedule);
    }
    for (const auto& firing : decisions.fire) {
      start_firing(ctx, firing);
      advanced.insert(firing.schedule);
    }
    for (const auto& name : advanced)
      save_state(ctx, name);
    arm(ctx);
  }

  void publish_skipped(Context& ctx, const std::string& name, Seconds nominal,
                       const std::string& reason) {
    (void)ctx.publish(
        bus::schema::ScheduleSkippedEvent::kTopic,
        bus::to_body(json{{"schedule", name}, {"nominal", iso(nominal)}, {"reason", reason}}));
  }

  void start_firing(Context& ctx, const Firing& firing) {
    const auto& definition = definitions_.at(firing.schedule);
    json body = definition.action.body;
    const auto chain = new_id();
    const auto& service = definition.action.service;
    if (service == bus::schema::RunStartRequest::kTopic) body["chain"] = chain;
    if (service == bus::schema::RunStartRequest::kTopic ||
        service == bus::schema::JobRunRequest::kTopic)
      body["started_by"] = "schedule " + firing.schedule;
    const auto token = new_id();
    starting_.insert(token);
    send(ctx, Start{firing, service, bus::to_body(body), chain, token, 1});
  }

  // A firing's request, and how many times it was sent.
  struct Start {
    Firing firing;
    std::string service;
    std::string body;
    std::string chain;
    std::string token;  // in starting_ until the start is answered
    int attempt;
  };

  void send(Context& ctx, Start start) {
    const auto service = start.service, body = start.body;
    ctx.request(service, body, 30'000, [this, &ctx, start](Result<std::string> reply) mutable {
      if (!engine_.contains(start.firing.schedule)) {  // removed meanwhile
        starting_.erase(start.token);
        return;
      }
      auto answer = reply ? bus::from_body(*reply) : Result<json>(reply.error());
      if (!answer && answer.error().code == Errc::Unavailable && start.attempt < kStartAttempts) {
        // Nobody serves it yet: at nautod's start the module that does may still be starting.
        ++start.attempt;
        ctx.after(std::chrono::seconds{1}, [this, &ctx, start] { send(ctx, start); });
        return;
      }
      starting_.erase(start.token);
      const auto& firing = start.firing;
      if (!answer) {
        engine_.start_failed(firing.schedule);
        ctx.log().warn("schedule '{}' could not start {}: {}", firing.schedule, start.service,
                       answer.error().message);
        publish_skipped(ctx, firing.schedule, firing.nominal,
                        "could not start: " + answer.error().message);
        return tick(ctx);
      }
      std::string id;
      if (answer->is_object() && answer->contains("id") && (*answer)["id"].is_string())
        id = (*answer)["id"].get<std::string>();
      engine_.run_started(firing.schedule, id.empty() ? start.token : id);
      ctx.log().info("schedule '{}' fired ({}) for {}: {} {}", firing.schedule,
                     reason_name(firing.reason), iso(firing.nominal), start.service, id);
      (void)ctx.publish(bus::schema::ScheduleFiredEvent::kTopic,
                        bus::to_body(json{{"schedule", firing.schedule},
                                          {"nominal", iso(firing.nominal)},
                                          {"reason", reason_name(firing.reason)},
                                          {"service", start.service},
                                          {"id", id},
                                          {"chain", start.chain}}));
      if (id.empty() || early_ends_.erase(id)) {
        // Nothing to wait for (a call: without an id), or it already ended.
        engine_.run_finished(id.empty() ? start.token : id);
        return tick(ctx);
      }
      known_runs_.insert(id);
    });
  }

  void remember_early_end(const std::string& id) {
    if (starting_.empty()) return;  // nothing of ours can be waiting for it
    early_ends_.insert(id);
    early_order_.push_back(id);
    if (early_order_.size() > kEarlyEndsKept) {
      early_ends_.erase(early_order_.front());
      early_order_.pop_front();
    }
  }

  void arm(Context& ctx) {
    if (timer_) ctx.cancel(*timer_);
    timer_.reset();
    const auto wake = engine_.next_wake();
    if (!wake) return;
    const auto now = std::chrono::system_clock::now();
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*wake - now);
    delay =
        std::clamp<std::chrono::milliseconds>(delay, std::chrono::milliseconds{0}, kLongestSleep);
    timer_ = ctx.after(delay, [this, &ctx] {
      timer_.reset();
      tick(ctx);
    });
  }

  json list() const {
    json out = json::array();
    for (const auto& [name, definition] : definitions_) {
      const auto next = engine_.next_start(name);
      out.push_back({{"name", name},
                     {"description", definition.description},
                     {"timing", timing_text(definition.timing)},
                     {"time_zone", definition.timing.time_zone},
                     {"service", definition.action.service},
                     {"paused", engine_.paused(name)},
                     {"running", engine_.running(name)},
                     {"next", next ? iso(*next) : ""},
                     {"origin", definition.origin}});
    }
    return {{"schedules", out}};
  }

  json next_firings(const ScheduleDefinition& definition, std::int64_t count) const {
    json out = json::array();
    auto timing = ScheduleTiming::parse(definition.timing);
    if (!timing) return {{"firings", out}};
    const auto* zone = date::locate_zone(definition.timing.time_zone);
    auto after = std::max(wall_now(), engine_.cursor(definition.name).value_or(Seconds{}));
    for (std::int64_t i = 0; i < count; ++i) {
      auto next = timing->next_after(after);
      if (!next) break;
      const auto start = timing->start_of(*next, definition.name);
      out.push_back({{"utc", iso(start)},
                     {"local", date::format("%Y-%m-%d %H:%M:%S %Z", date::make_zoned(zone, start))},
                     {"in_window", timing->in_window(*next)}});
      after = *next;
    }
    return {{"firings", out}};
  }

  SchedulerSettings settings_;
  std::unique_ptr<YamlFiles> files_;
  ScheduleEngine engine_;
  std::map<std::string, ScheduleDefinition> definitions_;
  std::map<std::string, SavedState> saved_;  // from the store, until the schedules are loaded
  std::optional<Context::TimerId> timer_;
  std::set<std::string> starting_;    // request tokens of firings whose start is pending
  std::set<std::string> known_runs_;  // ids of runs the engine waits for
  std::set<std::string> early_ends_;  // runs that ended before their start was handled
  std::deque<std::string> early_order_;
};

NAUTO_REGISTER_MODULE(SchedulerModule, "scheduler");

}  // namespace nauto::mod::scheduler
