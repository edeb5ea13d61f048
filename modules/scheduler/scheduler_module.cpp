// The scheduler module: schedules from files fire runbooks, jobs and other services.
//   - reads every schedule file (modules.scheduler.files, and *.yaml in modules.scheduler.dirs)
//     at start, and again when one changes (checked every reload_interval), on a thread of its
//     own (Offload) so the module's thread answers and beats while 100,000 schedules parse; a
//     file with problems is logged and the schedules in force stay;
//   - sleeps until the next firing (a timer, at most a minute ahead so a wall clock set forward
//     is noticed), then lets ScheduleEngine decide and calls each firing's service: run.start
//     (with the firing's causal chain), job.run, or what a call: names;
//   - publishes schedule.fired with the run's or job's id, schedule.skipped with the reason,
//     schedule.missed, schedule.reloaded;
//   - follows run.finished and job.finished for the overlap policies;
//   - keeps each schedule's cursor and pause in the store table schedule_state (one entry per
//     schedule, erased with it), so a restart resumes where it stopped and applies the missed
//     policy to what fell in between;
//   - keeps the schedules `nauto schedule add` makes in the store table schedule_added, beside
//     the files' (a name is defined once: a file's schedule is changed in its file);
//   - checks at load, add and validate that each runbook: names a runbook nautod knows;
//   - serves schedule.list, schedule.show, schedule.next, schedule.run_now, schedule.pause,
//     schedule.resume, schedule.add, schedule.remove and schedule.validate;
//   - in a passive nautod (one `nauto` started for a command or a shell) fires nothing.

#include <date/tz.h>
#include <malloc.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "nauto/base/ids.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/offload.h"
#include "nauto/sdk/registry.h"
#include "nauto/sdk/yaml_files.h"
#include "nauto/store/store.h"
#include "schedule_file.h"
#include "schedule_records.h"

namespace nauto::mod::scheduler {

using namespace nauto::scheduler;
using nlohmann::json;

namespace {

constexpr const char* kStateTable = "schedule_state";
constexpr const char* kAddedTable = "schedule_added";
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

std::int64_t milliseconds_since(std::chrono::steady_clock::time_point began) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               began)
      .count();
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

const char* missed_name(MissedPolicy policy) {
  switch (policy) {
    case MissedPolicy::Skip:
      return "skip";
    case MissedPolicy::RunOnce:
      return "run_once";
    case MissedPolicy::RunAll:
      return "run_all";
  }
  return "?";
}

const char* overlap_name(OverlapPolicy policy) {
  switch (policy) {
    case OverlapPolicy::Skip:
      return "skip";
    case OverlapPolicy::Queue:
      return "queue";
    case OverlapPolicy::Allow:
      return "allow";
  }
  return "?";
}

// A problem per schedule name: what is wrong with it, beginning with its origin.
using Problems = std::map<std::string, std::string>;

// Asks the runbooks module whether each runbook: of `schedules` names a runbook it can run (one
// runbook.validate per runbook); `done` gets the problems, on the module's thread. A check
// nobody answers (no runbooks module) leaves its schedules unchecked: the firing reports it.
void check_runbooks(Context& ctx, const std::vector<const ScheduleDefinition*>& schedules,
                    std::function<void(Problems)> done) {
  std::map<std::string, std::vector<const ScheduleDefinition*>> users;
  for (const auto* schedule : schedules) {
    if (schedule->action.service == bus::schema::RunStartRequest::kTopic)
      users[schedule->action.body.value("runbook", "")].push_back(schedule);
  }
  struct Pending {
    std::size_t left = 0;
    Problems problems;
    std::function<void(Problems)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = users.size();
  pending->done = std::move(done);
  if (users.empty()) return pending->done({});
  for (auto& [runbook, named_by] : users) {
    std::vector<std::pair<std::string, std::string>> names;  // name, origin
    for (const auto* schedule : named_by)
      names.emplace_back(schedule->name, schedule->origin);
    ctx.request(bus::schema::RunbookValidateRequest::kTopic,
                bus::to_body(json{{"runbook", runbook}}), 10'000,
                [pending, runbook = runbook, names](Result<std::string> reply) {
                  const auto code = reply ? Errc::Bug : reply.error().code;
                  if (!reply && code != Errc::Unavailable && code != Errc::Timeout) {
                    const auto what =
                        code == Errc::NotFound
                            ? "runbook: '" + runbook +
                                  "' is not a runbook nautod knows; `nauto runbook list` names "
                                  "them: fix the name, or put the runbook in a folder of "
                                  "modules.runbooks.dirs"
                            : "runbook: '" + runbook + "' cannot run: " + reply.error().message;
                    for (const auto& [name, origin] : names)
                      pending->problems[name] = origin + ": " + what;
                  }
                  if (--pending->left == 0) pending->done(std::move(pending->problems));
                });
  }
}

std::string joined(const Problems& problems) {
  std::string out;
  for (const auto& [name, problem] : problems)
    out += (out.empty() ? "" : "\n") + problem;
  return out;
}

}  // namespace

class SchedulerModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "scheduler", "cron, interval and one-shot schedules that start runbooks and jobs",
        {bus::schema::RunFinishedEvent::kTopic, bus::schema::JobFinishedEvent::kTopic},
        {kStateTable, kAddedTable});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    // The files must be there and readable. Their schedules are checked when the module loads
    // them (problems logged, the schedules in force kept) and by `nauto schedule validate`:
    // parsing 100,000 schedules here, twice at each start, would hold nautod up for seconds.
    YamlFiles files(s->files, s->dirs, "modules.scheduler.dirs");
    auto contents = files.read();
    if (!contents.problems.empty()) {
      std::string all;
      for (const auto& problem : contents.problems)
        all += (all.empty() ? "" : "\n") + problem;
      return fail(Errc::InvalidConfig, all);
    }
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = std::move(*s);
    files_ = std::make_unique<YamlFiles>(settings_.files, settings_.dirs, "modules.scheduler.dirs");
    if (ctx.passive())
      ctx.log().info("passive nautod: schedules are listed and checked here, none fires");
    restore_state(ctx);
    if (auto started = loader_.start(ctx); !started) return started;
    reload(ctx);
    // While a load is in flight its thread owns files_: the next check waits for it.
    ctx.every(std::chrono::milliseconds(settings_.reload_interval_ms), [this, &ctx] {
      if (!loader_.busy() && files_->changed()) reload(ctx);
    });
    return ok();
  }

  void on_event(const bus::Envelope& event, Context& ctx) override {
    namespace schema = bus::schema;
    std::string id, outcome;
    if (event.topic == schema::RunFinishedEvent::kTopic) {
      auto ended = schema::decode_body<schema::RunFinishedEvent>(event.body);
      if (ended) id = ended->id, outcome = ended->state;
    } else if (event.topic == schema::JobFinishedEvent::kTopic) {
      auto ended = schema::decode_body<schema::JobFinishedEvent>(event.body);
      if (ended) id = ended->id, outcome = ended->state;
    }
    if (id.empty()) return;  // malformed: nothing of ours to end
    auto owner = known_runs_.find(id);
    if (owner == known_runs_.end()) {
      remember_early_end(id, outcome);
      return;
    }
    const auto schedule = owner->second;
    known_runs_.erase(owner);
    ended(ctx, schedule, id, outcome);
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    namespace schema = bus::schema;
    const auto& topic = request.topic;
    if (topic == schema::ScheduleListRequest::kTopic) return reply.ok_json(list());
    if (topic == schema::ScheduleValidateRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleValidateRequest>(request.body);
      if (!args) return reply.fail(args.error());
      return validate_text(ctx, args->text, args->file, std::move(reply));
    }
    if (topic == schema::ScheduleAddRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleAddRequest>(request.body);
      if (!args) return reply.fail(args.error());
      if (auto refused = refuse_if_passive(ctx, topic); !refused)
        return reply.fail(refused.error());
      const auto by = args->by.empty() ? request.header.source : args->by;
      return add(ctx, args->definition, args->replace, by, std::move(reply));
    }
    std::string name;  // every other service names one schedule
    std::int64_t count = 5;
    if (topic == schema::ScheduleNextRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleNextRequest>(request.body);
      if (!args) return reply.fail(args.error());
      name = args->name;
      count = std::clamp<std::int64_t>(args->count, 1, 100);
    } else if (topic == schema::ScheduleShowRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleShowRequest>(request.body);
      if (!args) return reply.fail(args.error());
      name = args->name;
    } else if (topic == schema::ScheduleRunNowRequest::kTopic) {
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
    } else if (topic == schema::ScheduleRemoveRequest::kTopic) {
      auto args = schema::decode_body<schema::ScheduleRemoveRequest>(request.body);
      if (!args) return reply.fail(args.error());
      name = args->name;
    } else {
      return reply.fail(fail(Errc::Unsupported, "the scheduler has no service '" + topic + "'"));
    }
    auto found = definition(name, topic);
    if (!found) return reply.fail(found.error());
    if (topic == schema::ScheduleNextRequest::kTopic)
      return reply.ok_json(next_firings(**found, count));
    if (topic == schema::ScheduleShowRequest::kTopic) return reply.ok_json(show(**found));
    if (auto refused = refuse_if_passive(ctx, topic); !refused) return reply.fail(refused.error());
    if (topic == schema::ScheduleRemoveRequest::kTopic) return remove(ctx, name, std::move(reply));
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
    loader_.stop(ctx);
  }

 private:
  Result<void> refuse_if_passive(Context& ctx, const std::string& topic) const {
    if (!ctx.passive()) return ok();
    return fail(Errc::Unsupported,
                "this nautod was started by nauto for one command and fires no schedule; start "
                "nautod (systemctl start nautod) to change schedules",
                topic);
  }

  Result<const ScheduleDefinition*> definition(const std::string& name, const std::string& where) {
    auto it = definitions_.find(name);
    if (it == definitions_.end())
      return fail(Errc::NotFound, "no schedule named '" + name + "' (`nauto schedule list`)",
                  where);
    return &it->second;
  }

  void restore_state(Context& ctx) {
    if (!ctx.store()) return;
    store::ScanOptions options;
    options.limit = 10'000'000;
    if (auto states = ctx.store()->scan(kStateTable, options); !states) {
      ctx.log().error("schedule state not read: {}", states.error().message);
    } else {
      for (const auto& [name, value] : *states) {
        auto stored = bus::from_body(value);
        if (stored) saved_[name] = schedule_state_from_json(*stored);
      }
    }
    auto added = ctx.store()->scan(kAddedTable, options);
    if (!added) {
      ctx.log().error("added schedules not read: {}", added.error().message);
      return;
    }
    for (const auto& [name, value] : *added) {
      auto stored = bus::from_body(value);
      auto schedule = stored ? added_schedule_from_json(*stored) : std::nullopt;
      if (!schedule) {
        ctx.log().error("added schedule '{}' is damaged in the store; left out", name);
        continue;
      }
      added_[name] = std::move(*schedule);
    }
  }

  void save_state(Context& ctx, const std::string& name) {
    if (!ctx.store() || ctx.passive()) return;
    store::WriteBatch batch;
    if (!engine_.contains(name)) {
      batch.erase(kStateTable, name);
    } else {
      ScheduleState state;
      state.paused = engine_.paused(name);
      state.cursor = engine_.cursor(name);
      if (auto last = last_.find(name); last != last_.end()) state.last = last->second;
      batch.put(kStateTable, name, bus::to_body(to_json(state)));
    }
    ctx.store()->write(std::move(batch), [log = logger("mod." + ctx.name())](Result<void> done) {
      if (!done) log->error("schedule state not saved: {}", done.error().message);
    });
  }

  // The added schedules a file's schedule of the same name does not shadow.
  std::vector<ScheduleDefinition> added_definitions(Context& ctx,
                                                    const std::set<std::string>& file_names) {
    std::vector<ScheduleDefinition> out;
    for (const auto& [name, added] : added_) {
      auto parsed = parse_added_definition(added.definition, "added by " + added.added_by);
      if (!parsed) {
        ctx.log().error("added schedule '{}' no longer reads: {}", name, parsed.error().message);
      } else if (file_names.count(name)) {
        ctx.log().warn("added schedule '{}' is shadowed by the file's ({})", name,
                       definitions_.count(name) ? definitions_.at(name).origin : "a file");
      } else {
        out.push_back(std::move(*parsed));
      }
    }
    return out;
  }

  // What a load read: the files' schedules, or every problem; and how long reading took.
  struct Loaded {
    Result<std::vector<ScheduleDefinition>> schedules;
    std::int64_t read_ms = 0;
  };

  // Reads the files on the loader's thread (100,000 schedules take seconds of YAML), then puts
  // them in force on the module's thread.
  void reload(Context& ctx) {
    loader_.run(
        [files = files_.get()] {
          const auto began = std::chrono::steady_clock::now();
          auto schedules = load_schedules(*files);
          return Loaded{std::move(schedules), milliseconds_since(began)};
        },
        [this, &ctx](Loaded loaded) {
          read_ms_ = loaded.read_ms;
          if (!loaded.schedules) {
            ctx.log().error("schedules not reloaded, the ones in force stay: {}",
                            loaded.schedules.error().message);
            return;
          }
          apply(ctx, std::move(*loaded.schedules));
          (void)ctx.publish(bus::schema::ScheduleReloadedEvent::kTopic,
                            bus::to_body(json{{"schedules", definitions_.size()}}));
        });
  }

  // The files' schedules in force, for apply() after an add or a remove (a copy for a moment:
  // definitions_ holds the one that stays).
  std::vector<ScheduleDefinition> file_definitions() const {
    std::vector<ScheduleDefinition> out;
    out.reserve(file_names_.size());
    for (const auto& name : file_names_)
      if (auto it = definitions_.find(name); it != definitions_.end()) out.push_back(it->second);
    return out;
  }

  // Puts the files' schedules and the added ones in force: new ones start from their saved
  // cursor (or now), changed ones keep theirs, gone ones are erased with their state.
  void apply(Context& ctx, std::vector<ScheduleDefinition> all) {
    const auto began = std::chrono::steady_clock::now();
    const auto now = wall_now();
    file_names_.clear();
    for (const auto& schedule : all)
      file_names_.insert(schedule.name);
    for (auto& schedule : added_definitions(ctx, file_names_))
      all.push_back(std::move(schedule));
    std::map<std::string, ScheduleDefinition> fresh;
    for (auto& schedule : all) {
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
          if (saved->second.last) last_[name] = *saved->second.last;
          saved_.erase(saved);
        }
      }
      engine_.put(name, std::move(*timing), schedule.policy, cursor, now);
      if (!known && paused) engine_.pause(name);
      // A copy, not a move: what stays is allocated here, so the loader thread's memory (the
      // YAML tree, the definitions as parsed) is all freed below and can go back to the system.
      fresh.emplace(name, schedule);
    }
    for (const auto& [name, old] : definitions_) {
      if (fresh.count(name)) continue;
      engine_.remove(name);
      last_.erase(name);
      problems_.erase(name);
      save_state(ctx, name);  // erased with the schedule
    }
    definitions_ = std::move(fresh);
    all.clear();
    all.shrink_to_fit();
    // A large file's YAML tree and the copies made here are freed: give the pages back, so
    // nautod's resident memory is what the schedules hold, not what reading them took.
    ::malloc_trim(0);
    ctx.log().info("schedules in force: {} (files read in {} ms, next firings computed in {} ms)",
                   definitions_.size(), read_ms_, milliseconds_since(began));
    std::vector<const ScheduleDefinition*> loaded;
    for (const auto& [name, schedule] : definitions_)
      loaded.push_back(&schedule);
    const auto generation = ++generation_;
    check_runbooks(ctx, loaded, [this, &ctx, generation](Problems problems) {
      if (generation != generation_) return;  // a newer load checks again
      for (const auto& [name, problem] : problems)
        ctx.log().error("schedule '{}': {}", name, problem);
      problems_ = std::move(problems);
    });
    tick(ctx);
  }

  void validate_text(Context& ctx, const std::string& text, const std::string& file, Reply reply) {
    auto parsed = parse_schedule_file(text, file);
    if (!parsed) return reply.fail(parsed.error());
    auto schedules = std::make_shared<std::vector<ScheduleDefinition>>(std::move(*parsed));
    std::vector<const ScheduleDefinition*> pointers;
    for (const auto& schedule : *schedules)
      pointers.push_back(&schedule);
    auto shared_reply = std::make_shared<Reply>(std::move(reply));
    check_runbooks(ctx, pointers, [schedules, shared_reply](Problems problems) {
      if (!problems.empty()) return shared_reply->fail(fail(Errc::InvalidConfig, joined(problems)));
      shared_reply->ok_json({{"schedules", schedules->size()}});
    });
  }

  void add(Context& ctx, const json& definition, bool replace, const std::string& by, Reply reply) {
    auto parsed = parse_added_definition(definition, "added by " + by);
    if (!parsed) return reply.fail(parsed.error());
    auto schedule = std::make_shared<ScheduleDefinition>(std::move(*parsed));
    auto shared_reply = std::make_shared<Reply>(std::move(reply));
    check_runbooks(
        ctx, {schedule.get()},
        [this, &ctx, schedule, definition, replace, by, shared_reply](Problems problems) {
          if (!problems.empty())
            return shared_reply->fail(fail(Errc::InvalidArgument, joined(problems)));
          const auto& name = schedule->name;
          auto existing = definitions_.find(name);
          if (existing != definitions_.end() && !added_.count(name)) {
            return shared_reply->fail(
                fail(Errc::Conflict, "schedule '" + name + "' is defined in " +
                                         existing->second.origin + "; change it there"));
          }
          if (existing != definitions_.end() && !replace) {
            return shared_reply->fail(fail(Errc::Conflict, "schedule '" + name + "' exists (" +
                                                               existing->second.origin +
                                                               "); --replace changes it"));
          }
          AddedSchedule added{definition, by, iso(wall_now())};
          if (ctx.store()) {
            store::WriteBatch batch;
            batch.put(kAddedTable, name, bus::to_body(to_json(added)));
            // Acknowledged means durable: the reply waits for the commit (a few milliseconds).
            if (auto written = ctx.store()->write(std::move(batch)).wait(); !written)
              return shared_reply->fail(written.error());
          }
          added_[name] = std::move(added);
          apply(ctx, file_definitions());
          save_state(ctx, name);
          const auto next = engine_.next_start(name);
          ctx.log().info("schedule '{}' added by {}", name, by);
          shared_reply->ok_json({{"name", name}, {"next", next ? iso(*next) : ""}});
        });
  }

  void remove(Context& ctx, const std::string& name, Reply reply) {
    if (!added_.count(name)) {
      return reply.fail(fail(Errc::Conflict, "schedule '" + name + "' is defined in " +
                                                 definitions_.at(name).origin +
                                                 "; remove it from that file"));
    }
    if (ctx.store()) {
      store::WriteBatch batch;
      batch.erase(kAddedTable, name);
      if (auto written = ctx.store()->write(std::move(batch)).wait(); !written)
        return reply.fail(written.error());
    }
    added_.erase(name);
    apply(ctx, file_definitions());
    ctx.log().info("schedule '{}' removed", name);
    reply.ok_json({{"removed", name}});
  }

  void tick(Context& ctx) {
    if (ctx.passive()) return;  // the daemon fires them; its cursors are not ours to move
    carry_out(ctx, engine_.advance(wall_now()));
  }

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
    const bool run = service == bus::schema::RunStartRequest::kTopic;
    const bool job = service == bus::schema::JobRunRequest::kTopic;
    if (run || job) {
      body["chain"] = chain;
      body["started_by"] = "schedule " + firing.schedule;
    }
    // A schedule over a group that is empty tonight records a job of 0 devices, not a failure.
    if (job && !body.contains("allow_empty")) body["allow_empty"] = true;
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
      auto answer = bus::from_reply(reply);
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
      started(ctx, start, *answer);
    });
  }

  void started(Context& ctx, const Start& start, const json& answer) {
    const auto& firing = start.firing;
    LastFiring last;
    last.nominal = iso(firing.nominal);
    last.reason = reason_name(firing.reason);
    last.service = start.service;
    last.chain = start.chain;
    last.started_at = iso(wall_now());
    if (answer.is_object() && answer.contains("id") && answer["id"].is_string())
      last.id = answer["id"].get<std::string>();
    if (answer.is_object() && answer.contains("devices") && answer["devices"].is_number_integer())
      last.devices = answer["devices"].get<std::int64_t>();
    const auto id = last.id;
    json fired = {{"schedule", firing.schedule},
                  {"nominal", last.nominal},
                  {"reason", last.reason},
                  {"service", start.service},
                  {"id", id},
                  {"chain", start.chain}};
    if (last.devices) fired["devices"] = *last.devices;
    engine_.run_started(firing.schedule, id.empty() ? start.token : id);
    ctx.log().info("schedule '{}' fired ({}) for {}: {} {}{}", firing.schedule, last.reason,
                   last.nominal, start.service, id,
                   last.devices ? ", " + std::to_string(*last.devices) + " devices" : "");
    (void)ctx.publish(bus::schema::ScheduleFiredEvent::kTopic, bus::to_body(fired));
    last_[firing.schedule] = std::move(last);
    if (id.empty())
      return ended(ctx, firing.schedule, start.token, "started");  // nothing to wait for
    if (auto early = early_ends_.find(id); early != early_ends_.end()) {
      const auto outcome = early->second;
      early_ends_.erase(early);
      return ended(ctx, firing.schedule, id, outcome);
    }
    known_runs_[id] = firing.schedule;
    save_state(ctx, firing.schedule);
  }

  // Run or job `id` of `schedule` ended with `outcome`.
  void ended(Context& ctx, const std::string& schedule, const std::string& id,
             const std::string& outcome) {
    if (auto last = last_.find(schedule);
        last != last_.end() && (last->second.id == id || last->second.id.empty())) {
      last->second.outcome = outcome;
      last->second.ended_at = iso(wall_now());
      save_state(ctx, schedule);
    }
    engine_.run_finished(id);
    tick(ctx);  // a queued firing may start now
  }

  void remember_early_end(const std::string& id, const std::string& outcome) {
    if (starting_.empty()) return;  // nothing of ours can be waiting for it
    early_ends_[id] = outcome;
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
    if (!wake || ctx.passive()) return;
    const auto now = std::chrono::system_clock::now();
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(*wake - now);
    delay =
        std::clamp<std::chrono::milliseconds>(delay, std::chrono::milliseconds{0}, kLongestSleep);
    timer_ = ctx.after(delay, [this, &ctx] {
      timer_.reset();
      tick(ctx);
    });
  }

  json summary(const ScheduleDefinition& definition) const {
    const auto& name = definition.name;
    const auto next = engine_.next_start(name);
    json out = {{"name", name},
                {"description", definition.description},
                {"timing", timing_text(definition.timing)},
                {"time_zone", definition.timing.time_zone},
                {"service", definition.action.service},
                {"paused", engine_.paused(name)},
                {"running", engine_.running(name)},
                {"next", next ? iso(*next) : ""},
                {"origin", definition.origin},
                {"added", added_.count(name) != 0},
                {"problem", problems_.count(name) ? problems_.at(name) : ""}};
    if (auto last = last_.find(name); last != last_.end()) out["last"] = to_json(last->second);
    return out;
  }

  json list() const {
    json out = json::array();
    for (const auto& [name, definition] : definitions_)
      out.push_back(summary(definition));
    return {{"schedules", out}};
  }

  json show(const ScheduleDefinition& definition) const {
    auto out = summary(definition);
    const auto& timing = definition.timing;
    out["timing_fields"] = {{"cron", timing.cron},     {"every", timing.every},
                            {"start", timing.start},   {"at", timing.at},
                            {"jitter", timing.jitter}, {"between", timing.between}};
    const auto& policy = definition.policy;
    out["policy"] = {{"missed", missed_name(policy.missed)},
                     {"max_catch_up", policy.max_catch_up},
                     {"overlap", overlap_name(policy.overlap)},
                     {"max_queued", policy.max_queued},
                     {"late_after_s", policy.late_after.count()}};
    out["body"] = definition.action.body;
    if (auto added = added_.find(definition.name); added != added_.end()) {
      out["added_by"] = added->second.added_by;
      out["added_at"] = added->second.added_at;
    }
    out["firings"] = next_firings(definition, 5)["firings"];
    return out;
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
  std::unique_ptr<YamlFiles> files_;  // the loader's while it is busy
  Offload<Loaded> loader_;
  ScheduleEngine engine_;
  std::set<std::string> file_names_;  // of the schedules the files define, at the last load
  std::map<std::string, AddedSchedule> added_;             // by `nauto schedule add`, as stored
  std::map<std::string, ScheduleDefinition> definitions_;  // in force: files' and added
  std::map<std::string, ScheduleState> saved_;  // from the store, until the schedule is loaded
  std::map<std::string, LastFiring> last_;
  Problems problems_;             // runbooks that did not check out, at the last load
  std::int64_t read_ms_ = 0;      // the last reading of the files, for the log
  std::uint64_t generation_ = 0;  // of loads, so an old runbook check does not overwrite a newer
  std::optional<Context::TimerId> timer_;
  std::set<std::string> starting_;                 // request tokens of firings being started
  std::map<std::string, std::string> known_runs_;  // run or job id -> its schedule
  std::map<std::string, std::string> early_ends_;  // ended before their start was answered
  std::deque<std::string> early_order_;
};

NAUTO_REGISTER_MODULE(SchedulerModule, "scheduler");

}  // namespace nauto::mod::scheduler
