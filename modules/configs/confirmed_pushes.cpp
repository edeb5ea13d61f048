#include "confirmed_pushes.h"

#include "nauto/base/clock.h"
#include "nauto/base/digest.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/store/retention.h"
#include "record_tables.h"

namespace nauto::configs {

using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr std::int64_t kDeviceCallTimeoutMs = 300'000;

bool undecided(const std::string& state) {
  return state == "pushing" || state == "waiting" || state == "checking" || state == "rolling_back";
}

std::string joined_names(const json& snapshot) {
  std::string names;
  for (const auto& [device, version] : snapshot.items())
    names += (names.empty() ? "" : ",") + device;
  return names;
}

}  // namespace

Result<void> ConfirmedPushes::save(const json& record) {
  store::WriteBatch batch;
  batch.put(kTable, record.at("id").get<std::string>(), bus::to_body(record));
  return store_.write_and_wait(std::move(batch));
}

Result<json> ConfirmedPushes::stored(const std::string& id) const {
  auto value = store_.get(kTable, id);
  if (!value) return std::move(value).error();
  if (!*value) {
    return fail(Errc::NotFound, "no push '" + id + "' (`nauto config pushes` lists them)");
  }
  return bus::from_body(**value);
}

Result<json> ConfirmedPushes::list(std::size_t limit) const {
  return latest_records(store_, kTable, limit);
}

void ConfirmedPushes::push(Context& ctx, PushAsk ask, Done done) {
  const auto id = store::new_time_ordered_id();
  json record{{"id", id},
              {"target", ask.target},
              {"config_sha256", sha256_hex(ask.config)},
              {"config_bytes", ask.config.size()},
              {"replace", ask.replace},
              {"save", ask.save},
              {"confirm_ms", ask.confirm_ms},
              {"check", ask.check},
              {"check_run", ask.check_run},
              {"by", ask.by},
              {"why", ask.why},
              {"state", "snapshot"},
              {"created_us", now_us()},
              {"deadline_us", 0},
              {"snapshot", json::object()},
              {"devices", json::array()}};
  if (auto saved = save(record); !saved) return done(std::move(saved).error());
  waiting_[id] = std::move(done);
  // Copied first: the callback below takes `ask` by move, and arguments have no set order.
  const auto target = ask.target;
  const auto by = ask.by;
  snapshot_(
      ctx, target, "before push " + id, by,
      [this, &ctx, id, ask = std::move(ask)](Result<json> backup) mutable {
        auto current = stored(id);
        if (!current) return;
        auto& r = *current;
        auto finish_failed = [&](const Error& error) {
          r["state"] = "failed";
          r["error"] = error.describe();
          (void)save(r);
          if (auto w = waiting_.find(id); w != waiting_.end()) {
            auto waiting = std::move(w->second);
            waiting_.erase(w);
            waiting(error);
          }
        };
        if (!backup) return finish_failed(backup.error());
        // The versions to go back to: what this backup archived or found unchanged.
        auto statuses = archive_.statuses();
        if (!statuses) return finish_failed(statuses.error());
        for (const auto& status : *statuses) {
          if (status.job == backup->value("id", "") && status.ok && status.version > 0)
            r["snapshot"][status.device] = status.version;
        }
        for (const auto& failed : (*backup)["failed_devices"]) {
          r["devices"].push_back(json{{"device", failed.value("device", "")},
                                      {"status", "not_pushed"},
                                      {"error", "no snapshot: " + failed.value("error", "")}});
        }
        if (r["snapshot"].empty()) {
          return finish_failed(
              fail(Errc::NotFound,
                   "no device of '" + ask.target + "' could be snapshotted; nothing was pushed"));
        }
        r["state"] = "pushing";
        if (ask.confirm_ms > 0) r["deadline_us"] = now_us() + ask.confirm_ms * 1000;
        (void)save(r);
        json job{{"kind", "push"},
                 {"target", joined_names(r["snapshot"])},
                 {"config", ask.config},
                 {"replace", ask.replace},
                 {"save", ask.save && ask.confirm_ms == 0},
                 // Where the platform has it (Junos), the device keeps the window too: cut off
                 // from nautod, it rolls back by itself. In whole minutes, never shorter.
                 {"confirm_minutes", (ask.confirm_ms + 59'999) / 60'000},
                 {"redact_secrets", true},
                 {"override_window", ask.override_window},
                 {"allow_dangerous", ask.allow_dangerous},
                 {"started_by", ask.by},
                 {"chain", id}};
        // The window runs from the push's start: a push that hangs is rolled back too.
        if (ask.confirm_ms > 0) arm(ctx, r);
        fetches_.start(
            ctx, job,
            [this, &ctx, id](Result<std::pair<std::string, std::int64_t>> started) {
              auto r = stored(id);
              if (!r) return;
              if (!started) {
                // Refused before any device was touched (a change window, a dangerous line):
                // nothing to roll back.
                if (auto timer = timers_.find(id); timer != timers_.end()) {
                  ctx.cancel(timer->second);
                  timers_.erase(timer);
                }
                (*r)["error"] = started.error().describe();
                (*r)["state"] = "failed";
                (void)save(*r);
                if (auto w = waiting_.find(id); w != waiting_.end()) {
                  auto waiting = std::move(w->second);
                  waiting_.erase(w);
                  waiting(started.error());
                }
                return;
              }
              (*r)["job"] = started->first;
              (void)save(*r);
            },
            [this, &ctx, id](const std::string&, std::vector<json> results) {
              pushed(ctx, id, std::move(results));
            },
            [this, &ctx, id](const std::string&, Result<void> read) {
              auto r = stored(id);
              if (!r) return;
              if (!read) (*r)["error"] = read.error().describe();
              decided(ctx, *r);
            });
      });
}

void ConfirmedPushes::pushed(Context&, const std::string& id, std::vector<json> results) {
  auto r = stored(id);
  if (!r) return;
  for (auto& result : results) {
    auto& output = result["output"];
    (*r)["devices"].push_back(
        json{{"device", result.value("device", "")},
             {"status", result.value("status", "")},
             {"error", result.value("error", "")},
             {"changed", output.is_object() ? output.value("changed", false) : false},
             {"native_confirm", output.is_object() ? output.value("native_confirm", false) : false},
             {"diff", output.is_object() ? output.value("diff", "") : ""}});
  }
  (void)save(*r);
}

// The push job ended: without a window the push stands; with one, a check or a person decides.
void ConfirmedPushes::decided(Context& ctx, json& r) {
  const auto id = r.value("id", "");
  if (r.value("state", "") != "pushing") return;  // the window ended first: rolled back
  auto answer = [&](const json& now) {
    if (auto w = waiting_.find(id); w != waiting_.end()) {
      auto waiting = std::move(w->second);
      waiting_.erase(w);
      waiting(now);
    }
  };
  if (r.value("confirm_ms", std::int64_t{0}) == 0) {
    r["state"] = "pushed";
    r["decided_us"] = now_us();
    (void)save(r);
    return answer(r);
  }
  r["state"] = "waiting";
  (void)save(r);
  if (!r.value("check_run", "").empty()) {
    // The run that pushed waits for this answer; its own end decides.
    answer(r);
    return wait_for_run(ctx, id, r.value("check_run", ""));
  }
  if (r.value("check", "").empty()) return answer(r);
  start_check(ctx, r);
}

void ConfirmedPushes::wait_for_run(Context& ctx, const std::string& id, const std::string& run) {
  runs_.wait(run, [this, &ctx, id, run](const std::string& state) {
    auto r = stored(id);
    if (!r || r->value("state", "") != "waiting") return;
    if (state == "succeeded") return confirm(ctx, id, "run " + run, [](Result<json>) {});
    roll_back(ctx, id, "run " + run + ", which pushed it, ended " + state);
  });
}

void ConfirmedPushes::start_check(Context& ctx, json& r) {
  const auto id = r.value("id", "");
  r["state"] = "checking";
  (void)save(r);
  json body{{"runbook", r.value("check", "")},
            {"params", {{"target", joined_names(r["snapshot"])}}},
            {"started_by", "push " + id},
            {"chain", id}};
  runs_.start(
      ctx, body,
      [this, &ctx, id](Result<std::string> run) {
        if (!run)
          return roll_back(ctx, id, "the check runbook did not start: " + run.error().describe());
        auto r = stored(id);
        if (!r) return;
        (*r)["check_run"] = *run;
        (void)save(*r);
      },
      [this, &ctx, id](const std::string& state) {
        auto r = stored(id);
        if (!r || r->value("state", "") != "checking") return;
        const auto run = r->value("check_run", "");
        if (state == "succeeded") return confirm(ctx, id, "check " + run, [](Result<json>) {});
        roll_back(ctx, id, "the check runbook's run " + run + " ended " + state);
      });
}

void ConfirmedPushes::confirm(Context& ctx, const std::string& id, const std::string& by,
                              Done done) {
  auto r = stored(id);
  if (!r) return done(std::move(r).error());
  const auto state = r->value("state", "");
  if (state != "waiting" && state != "checking") {
    return done(fail(Errc::Conflict, "push " + id + " is " + state +
                                         "; only a push waiting in "
                                         "its confirm window can be confirmed"));
  }
  if (auto timer = timers_.find(id); timer != timers_.end()) {
    ctx.cancel(timer->second);
    timers_.erase(timer);
  }
  (*r)["state"] = "confirmed";
  (*r)["confirmed_by"] = by;
  (*r)["decided_us"] = now_us();
  (void)save(*r);
  // Confirmed: devices that keep a window of their own (Junos' commit confirmed) get a commit
  // that confirms it, and with save the change may now reach startup on every device.
  std::string natives;
  for (const auto& d : (*r)["devices"])
    if (d.value("native_confirm", false))
      natives += (natives.empty() ? "" : ",") + d.value("device", "");
  const bool save = r->value("save", false);
  if (save || !natives.empty()) {
    json job{{"kind", "push"},
             {"target", save ? joined_names((*r)["snapshot"]) : natives},
             {"config", ""},
             {"save", save},
             {"confirm_commit", !natives.empty()},
             // Confirming changes nothing: no change window holds it back.
             {"override_window", "confirmation of push " + id},
             {"started_by", "push " + id + " confirmed"},
             {"chain", id}};
    ctx.request(schema::JobRunRequest::kTopic, bus::to_body(job), 30'000,
                [&ctx, id](Result<std::string> answer) {
                  if (!answer)
                    ctx.log().error("push {}: the job after the confirmation did not start: {}", id,
                                    answer.error().describe());
                });
  }
  ctx.log().info("push {} confirmed by {}", id, by);
  if (auto w = waiting_.find(id); w != waiting_.end()) {
    auto waiting = std::move(w->second);
    waiting_.erase(w);
    waiting(*r);
  }
  done(*r);
}

void ConfirmedPushes::arm(Context& ctx, const json& r) {
  const auto id = r.value("id", "");
  const auto left_ms =
      std::max<std::int64_t>(0, (r.value("deadline_us", std::int64_t{0}) - now_us()) / 1000);
  timers_[id] = ctx.after(std::chrono::milliseconds(left_ms), [this, &ctx, id] {
    timers_.erase(id);
    roll_back(ctx, id, "the confirm window ended without a confirmation");
  });
}

void ConfirmedPushes::roll_back(Context& ctx, const std::string& id, const std::string& reason) {
  auto r = stored(id);
  if (!r || !undecided(r->value("state", ""))) return;
  if (auto timer = timers_.find(id); timer != timers_.end()) {
    ctx.cancel(timer->second);
    timers_.erase(timer);
  }
  ctx.log().warn("push {}: rolling back: {}", id, reason);
  (*r)["state"] = "rolling_back";
  (*r)["rollback_reason"] = reason;
  (*r)["rolled_back"] = json::array();
  (void)save(*r);
  struct Progress {
    std::size_t left = 0;
    json devices = json::array();
  };
  auto progress = std::make_shared<Progress>();
  progress->left = (*r)["snapshot"].size();
  auto finish = [this, &ctx, id, progress]() {
    auto r = stored(id);
    if (!r) return;
    (*r)["state"] = "rolled_back";
    (*r)["rolled_back"] = progress->devices;
    (*r)["decided_us"] = now_us();
    (void)save(*r);
    // The archive records where the devices are now.
    snapshot_(ctx, joined_names((*r)["snapshot"]), "rollback of push " + id, "nautod",
              [](Result<json>) {});
    if (auto w = waiting_.find(id); w != waiting_.end()) {
      auto waiting = std::move(w->second);
      waiting_.erase(w);
      waiting(*r);
    }
  };
  for (const auto& [device, version] : (*r)["snapshot"].items()) {
    // Undoing is never held back by a change window.
    rollback_device(
        ctx, device, version.get<std::uint32_t>(), false, "push " + id + " rollback",
        "rollback of push " + id + ": " + reason, [progress, finish, device](Result<json> result) {
          progress->devices.push_back(
              result
                  ? json{{"device", device}, {"status", "ok"}, {"diff", result->value("diff", "")}}
                  : json{{"device", device},
                         {"status", "failed"},
                         {"error", result.error().describe()}});
          if (--progress->left == 0) finish();
        });
  }
}

void ConfirmedPushes::rollback_device(Context& ctx, const std::string& device,
                                      std::uint32_t version, bool save, const std::string& by,
                                      const std::string& override_window, Done done) {
  auto found = archive_.find(device, VersionRef{VersionRef::Kind::Number, version, 0});
  if (!found) return done(std::move(found).error());
  auto text = archive_.text(*found);
  if (!text) return done(std::move(text).error());
  json call{{"device", device},
            {"kind", "push"},
            {"config", std::move(*text)},
            {"replace", true},
            {"restore_secrets", true},
            {"redact_secrets", true},
            {"save", save},
            {"override_window", override_window},
            {"started_by", by}};
  ctx.request(schema::DeviceCallRequest::kTopic, bus::to_body(call), kDeviceCallTimeoutMs,
              [device, version, done = std::move(done)](Result<std::string> answer) {
                auto output = bus::from_reply(answer);
                if (!output) return done(std::move(output).error());
                (*output)["device"] = device;
                (*output)["version"] = version;
                done(std::move(*output));
              });
}

void ConfirmedPushes::resume(Context& ctx) {
  auto records = list(1000);
  if (!records) return ctx.log().error("pushes: {}", records.error().describe());
  for (auto& r : *records) {
    const auto state = r.value("state", "");
    const auto id = r.value("id", "");
    if (state == "snapshot" || (state == "pushing" && r.value("confirm_ms", 0) == 0)) {
      r["state"] = "interrupted";
      r["error"] = "nautod stopped during the push";
      (void)save(r);
      continue;
    }
    if (!undecided(state)) continue;
    if (state == "rolling_back" || now_us() >= r.value("deadline_us", std::int64_t{0})) {
      // Killed during the window or its rollback: whatever reached the devices goes back.
      roll_back(ctx, id, "nautod restarted after the confirm window of push " + id + " ended");
      continue;
    }
    ctx.log().info("push {}: {} s of its confirm window left", id,
                   (r.value("deadline_us", std::int64_t{0}) - now_us()) / 1'000'000);
    arm(ctx, r);
    if (state == "checking") start_check(ctx, r);  // its verdict was lost with the old nautod
    // A run that pushed it goes on after the restart (the runbooks module resumes it).
    if (state == "waiting" && !r.value("check_run", "").empty())
      wait_for_run(ctx, id, r.value("check_run", ""));
  }
}

void ConfirmedPushes::stop(Context& ctx) noexcept {
  for (auto& [id, timer] : timers_)
    ctx.cancel(timer);
  timers_.clear();
  for (auto& [id, waiting] : waiting_)
    waiting(
        fail(Errc::Unavailable, "nautod is stopping; push " + id + " resumes at its next start"));
  waiting_.clear();
}

}  // namespace nauto::configs
