#include "rollouts.h"

#include "nauto/base/clock.h"
#include "nauto/base/digest.h"
#include "nauto/bus/body.h"
#include "nauto/store/retention.h"
#include "record_tables.h"
#include "rollout_plan.h"

namespace nauto::configs {

using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr std::int64_t kDeviceCallTimeoutMs = 300'000;
constexpr std::int64_t kSelectTimeoutMs = 30'000;

bool stopped(const std::string& state) {
  return state == "finished" || state == "halted" || state == "rolled_back" || state == "failed";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ",") + name;
  return out;
}

std::string device_key(const std::string& id, const std::string& device) {
  return id + "/" + device;
}

}  // namespace

// ---- the records ----

Result<void> Rollouts::save(const Live& live) {
  store::WriteBatch batch;
  batch.put(kTable, live.record.at("id").get<std::string>(), bus::to_body(live.record));
  return store_.write_and_wait(std::move(batch));
}

// Each device's entry; `wait` when a change may start only once its mark is on disk.
void Rollouts::save_devices(const Live& live, const std::vector<std::string>& names, bool wait) {
  if (names.empty()) return;
  const auto id = live.record.value("id", "");
  store::WriteBatch batch;
  for (const auto& name : names)
    batch.put(kDevicesTable, device_key(id, name), bus::to_body(live.devices.at(name)));
  if (wait) {
    (void)store_.write_and_wait(std::move(batch));
  } else {
    store_.write(std::move(batch), [](Result<void>) {});
  }
}

Result<json> Rollouts::stored(const std::string& id) const {
  if (id.empty()) return fail(Errc::InvalidArgument, "a rollout's id is needed");
  auto value = store_.get(kTable, id);
  if (!value) return std::move(value).error();
  if (!*value) {
    return fail(Errc::NotFound, "no rollout '" + id + "' (`nauto rollout list` lists them)");
  }
  return bus::from_body(**value);
}

Result<std::map<std::string, json>> Rollouts::stored_devices(const std::string& id) const {
  store::ScanOptions scan;
  scan.from = id + "/";
  scan.until = id + "0";  // '0' follows '/'
  auto entries = store_.scan(kDevicesTable, scan);
  if (!entries) return std::move(entries).error();
  std::map<std::string, json> devices;
  for (const auto& [key, value] : *entries)
    if (auto entry = bus::from_body(value)) devices[key.substr(id.size() + 1)] = std::move(*entry);
  return devices;
}

Result<json> Rollouts::show(const std::string& id) const {
  if (auto it = live_.find(id); it != live_.end()) {
    json out = it->second.record;
    out["devices"] = it->second.devices;
    return out;
  }
  auto record = stored(id);
  if (!record) return record;
  auto devices = stored_devices(id);
  if (!devices) return std::move(devices).error();
  json all = json::object();
  std::int64_t wave = 0;
  for (const auto& names : (*record)["waves"]) {
    ++wave;
    for (const auto& name : names) {
      auto found = devices->find(name.get<std::string>());
      all[name.get<std::string>()] =
          found != devices->end() ? found->second : json{{"wave", wave}, {"status", "pending"}};
    }
  }
  (*record)["devices"] = std::move(all);
  return record;
}

Result<json> Rollouts::list(std::size_t limit) const {
  auto records = latest_records(store_, kTable, limit);
  if (!records) return records;
  for (auto& record : *records) {
    record["wave_count"] = record["waves"].size();
    record.erase("waves");
  }
  return records;
}

std::string Rollouts::oldest_running() const {
  return live_.empty() ? "" : live_.begin()->first;
}

void Rollouts::publish_wave(Context& ctx, const Live& live, const std::string& state) {
  const auto& r = live.record;
  const auto wave = r.value("wave", std::size_t{0});
  schema::ConfigRolloutWaveEvent event;
  event.id = r.value("id", "");
  event.wave = static_cast<std::int64_t>(wave + 1);
  event.waves = static_cast<std::int64_t>(r["waves"].size());
  event.state = state;
  event.devices = static_cast<std::int64_t>(r["waves"][wave].size());
  event.ok = r.value("ok", std::int64_t{0});
  event.failed = r.value("failed", std::int64_t{0});
  (void)ctx.publish(schema::ConfigRolloutWaveEvent::kTopic, bus::to_body(event.to_json()));
}

bool Rollouts::over_threshold(const Live& live) const {
  return live.record.value("failed", std::size_t{0}) >
         live.record.value("tolerated", std::size_t{0});
}

void Rollouts::answer_waiting(Live& live) {
  json out = live.record;
  out["devices"] = live.devices;
  auto waiting = std::move(live.waiting);
  live.waiting.clear();
  for (auto& done : waiting)
    done(out);
}

// ---- starting ----

void Rollouts::start(Context& ctx, const schema::ConfigsRolloutRequest& ask, const std::string& by,
                     Done done) {
  auto invalid = [&](const std::string& message) {
    done(fail(Errc::InvalidArgument, "configs.rollout." + message));
  };
  if (ask.kind == "push" && ask.config.empty()) return invalid("config: a push rollout needs one");
  if (ask.kind == "runbook" && ask.runbook.empty())
    return invalid("runbook: a runbook rollout needs one");
  if (ask.kind == "template" && !render_) {
    return done(fail(Errc::Unsupported,
                     "a template rollout needs modules.configs.templates.dir (the intended "
                     "configs' templates)"));
  }
  if (ask.kind != "push" && ask.kind != "template" && ask.kind != "runbook")
    return invalid("kind: expected push, template or runbook, got '" + ask.kind + "'");
  if (ask.parallel < 1 || ask.parallel > 1000)
    return invalid("parallel: expected 1 to 1000, got " + std::to_string(ask.parallel));
  if (!ask.params.is_null() && !ask.params.is_object())
    return invalid("params: expected an object");
  if (auto checked = tolerated_failures(ask.max_fail, 1); !checked)
    return done(std::move(checked).error());
  ctx.request(
      schema::InventorySelectRequest::kTopic, bus::to_body(json{{"selector", ask.target}}),
      kSelectTimeoutMs, [this, &ctx, ask, by, done](Result<std::string> answer) {
        using Hosts = schema::InventorySelectReply;
        auto hosts = answer ? schema::decode_body<Hosts>(*answer) : Result<Hosts>(answer.error());
        if (!hosts) return done(hosts.error());
        if (hosts->hosts.empty()) {
          return done(fail(Errc::NotFound, "'" + ask.target + "' selects no device"));
        }
        auto waves = plan_waves(
            hosts->hosts, WaveRules{static_cast<std::size_t>(std::max<std::int64_t>(ask.canary, 0)),
                                    ask.waves, ask.wave_by});
        if (!waves) return done(waves.error());
        auto tolerated = tolerated_failures(ask.max_fail, hosts->hosts.size());
        if (!tolerated) return done(tolerated.error());
        const auto id = store::new_time_ordered_id();
        Live live;
        live.config = ask.config;
        live.record = json{{"id", id},
                           {"kind", ask.kind},
                           {"target", ask.target},
                           {"config_sha256", ask.config.empty() ? "" : sha256_hex(ask.config)},
                           {"config_bytes", ask.config.size()},
                           {"replace", ask.replace},
                           {"save", ask.save},
                           {"runbook", ask.runbook},
                           {"params", ask.params.is_object() ? ask.params : json::object()},
                           {"canary", ask.canary},
                           {"wave_sizes", ask.waves},
                           {"wave_by", ask.wave_by},
                           {"max_fail", ask.max_fail},
                           {"tolerated", *tolerated},
                           {"check", ask.check_runbook},
                           {"no_rollback", ask.no_rollback},
                           {"parallel", ask.parallel},
                           {"by", by},
                           {"why", ask.why},
                           {"override_window", ask.override_window},
                           {"allow_dangerous", ask.allow_dangerous},
                           {"state", "running"},
                           {"wave", 0},
                           {"waves", *waves},
                           {"total", hosts->hosts.size()},
                           {"ok", 0},
                           {"failed", 0},
                           {"rolled_back", 0},
                           {"reason", ""},
                           {"created_us", now_us()}};
        std::int64_t wave = 0;
        for (const auto& names : *waves) {
          ++wave;
          for (const auto& name : names)
            live.devices[name] = json{{"wave", wave}, {"status", "pending"}};
        }
        if (auto saved = save(live); !saved) return done(std::move(saved).error());
        ctx.log().info("rollout {} by {}: {} devices in {} waves ({})", id, by, hosts->hosts.size(),
                       waves->size(), ask.kind);
        if (ask.wait) live.waiting.push_back(done);
        auto& placed = live_[id] = std::move(live);
        if (!ask.wait) {
          json out = placed.record;
          out["devices"] = placed.devices;
          done(std::move(out));
        }
        start_wave(ctx, id);
      });
}

// ---- a wave ----

std::vector<std::string> Rollouts::pending_in_wave(const Live& live) {
  std::vector<std::string> names;
  const auto wave = live.record.value("wave", std::size_t{0});
  for (const auto& name : live.record["waves"][wave]) {
    auto entry = live.devices.find(name.get<std::string>());
    if (entry != live.devices.end() && entry->second.value("status", "") == "pending")
      names.push_back(name.get<std::string>());
  }
  return names;
}

void Rollouts::start_wave(Context& ctx, const std::string& id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  auto& r = live.record;
  const auto wave = r.value("wave", std::size_t{0});
  if (wave >= r["waves"].size()) return finish(ctx, id, "finished", "");
  if (r.value("abort_requested", false)) return halt(ctx, id, r.value("reason", ""));
  if (r.value("pause_requested", false)) {
    r["state"] = "paused";
    r["pause_requested"] = false;
    (void)save(live);
    ctx.log().info("rollout {} paused before wave {}", id, wave + 1);
    return answer_waiting(live);
  }
  // The wave's devices not started yet (after a restart, some may have been).
  const auto names = pending_in_wave(live);
  r["checking"] = false;
  (void)save(live);
  publish_wave(ctx, live, "started");
  if (names.empty()) return wave_ended(ctx, id);
  snapshot_(ctx, joined(names), "before rollout " + id + " wave " + std::to_string(wave + 1),
            r.value("by", ""),
            [this, &ctx, id](Result<json> backup) { snapshotted(ctx, id, std::move(backup)); });
}

// The wave's snapshot is archived: each device gets the version to go back to, and a template
// rollout its intended config; then the changes start.
void Rollouts::snapshotted(Context& ctx, const std::string& id, Result<json> backup) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  const auto names = pending_in_wave(live);
  std::vector<std::string> failed;
  std::map<std::string, std::uint32_t> versions;
  std::map<std::string, std::string> errors;
  if (backup) {
    auto statuses = archive_.statuses();
    if (statuses) {
      for (const auto& status : *statuses)
        if (status.job == backup->value("id", "") && status.ok && status.version > 0)
          versions[status.device] = status.version;
    }
    for (const auto& f : (*backup)["failed_devices"])
      errors[f.value("device", "")] = f.value("error", "");
  }
  live.queue.clear();
  for (const auto& name : names) {
    auto& entry = live.devices[name];
    if (auto v = versions.find(name); v != versions.end()) {
      entry["version"] = v->second;
      live.queue.push_back(name);
      continue;
    }
    entry["status"] = "failed";
    entry["error"] =
        "no snapshot, so not changed: " + (!backup              ? backup.error().describe()
                                           : errors.count(name) ? errors[name]
                                                                : "its config was not archived");
    live.record["failed"] = live.record.value("failed", 0) + 1;
    failed.push_back(name);
  }
  save_devices(live, failed, false);
  if (live.record.value("kind", "") != "template" || live.queue.empty()) return pump(ctx, id);
  // A template rollout: the wave's inventory records, each rendered.
  ctx.request(
      schema::InventorySelectRequest::kTopic, bus::to_body(json{{"selector", joined(live.queue)}}),
      kSelectTimeoutMs, [this, &ctx, id](Result<std::string> answer) {
        auto it = live_.find(id);
        if (it == live_.end()) return;
        auto& live = it->second;
        using Hosts = schema::InventorySelectReply;
        auto hosts = answer ? schema::decode_body<Hosts>(*answer) : Result<Hosts>(answer.error());
        live.configs.clear();
        std::map<std::string, std::string> errors;
        if (hosts) {
          for (const auto& host : hosts->hosts) {
            auto rendered = render_(host);
            if (rendered)
              live.configs[host.value("name", "")] = std::move(*rendered);
            else
              errors[host.value("name", "")] = rendered.error().describe();
          }
        }
        std::vector<std::string> queue, failed;
        for (const auto& name : live.queue) {
          if (live.configs.count(name)) {
            queue.push_back(name);
            continue;
          }
          auto& entry = live.devices[name];
          entry["status"] = "failed";
          entry["error"] = !hosts               ? hosts.error().describe()
                           : errors.count(name) ? errors[name]
                                                : "no longer in the inventory";
          live.record["failed"] = live.record.value("failed", 0) + 1;
          failed.push_back(name);
        }
        live.queue = std::move(queue);
        save_devices(live, failed, false);
        pump(ctx, id);
      });
}

// Starts devices up to `parallel` at once; ends the wave when none is left or in flight.
void Rollouts::pump(Context& ctx, const std::string& id) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  const bool stopping = over_threshold(live) || live.record.value("abort_requested", false);
  if (stopping) live.queue.clear();  // the rest of the wave stays pending
  std::vector<std::string> batch;
  const auto parallel = live.record.value("parallel", std::size_t{10});
  while (live.in_flight + batch.size() < parallel && !live.queue.empty()) {
    batch.push_back(live.queue.front());
    live.queue.erase(live.queue.begin());
  }
  if (batch.empty()) {
    if (live.in_flight == 0) wave_ended(ctx, id);
    return;
  }
  // Marked on disk first: after a crash, these count as interrupted and are not changed again.
  for (const auto& name : batch) {
    live.devices[name]["status"] = "in_flight";
    live.devices[name]["touched"] = true;
  }
  save_devices(live, batch, true);
  live.in_flight += batch.size();
  for (const auto& name : batch)
    change_device(ctx, id, name);
}

void Rollouts::change_device(Context& ctx, const std::string& id, const std::string& device) {
  auto& live = live_.at(id);
  const auto& r = live.record;
  const auto by = r.value("by", "");
  if (r.value("kind", "") == "runbook") {
    json params = r.value("params", json::object());
    params["target"] = device;
    json body{{"runbook", r.value("runbook", "")},
              {"params", std::move(params)},
              {"started_by", "rollout " + id + " (" + by + ")"},
              {"chain", id}};
    runs_.start(
        ctx, body,
        [this, &ctx, id, device](Result<std::string> run) {
          if (!run) return device_done(ctx, id, device, std::move(run).error());
          if (auto it = live_.find(id); it != live_.end()) it->second.devices[device]["run"] = *run;
        },
        [this, &ctx, id, device](const std::string& state) {
          if (state == "succeeded") return device_done(ctx, id, device, json::object());
          device_done(ctx, id, device, fail(Errc::Rejected, "its run ended " + state));
        });
    return;
  }
  const auto& config = r.value("kind", "") == "template" ? live.configs[device] : live.config;
  json call{{"device", device},
            {"kind", "push"},
            {"config", config},
            {"replace", r.value("replace", false)},
            {"save", r.value("save", false)},
            {"redact_secrets", true},
            {"override_window", r.value("override_window", "")},
            {"allow_dangerous", r.value("allow_dangerous", "")},
            {"started_by", "rollout " + id + " (" + by + ")"}};
  ctx.request(schema::DeviceCallRequest::kTopic, bus::to_body(call), kDeviceCallTimeoutMs,
              [this, &ctx, id, device](Result<std::string> answer) {
                auto output = bus::from_reply(answer);
                device_done(ctx, id, device, std::move(output));
              });
}

void Rollouts::device_done(Context& ctx, const std::string& id, const std::string& device,
                           Result<json> outcome) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  auto& entry = live.devices[device];
  if (entry.value("status", "") != "in_flight") return;
  if (live.in_flight > 0) --live.in_flight;
  if (outcome) {
    entry["status"] = "ok";
    entry["changed"] = outcome->is_object() && !outcome->value("diff", "").empty();
    live.record["ok"] = live.record.value("ok", 0) + 1;
  } else {
    entry["status"] = "failed";
    entry["error"] = outcome.error().describe();
    live.record["failed"] = live.record.value("failed", 0) + 1;
  }
  save_devices(live, {device}, false);
  pump(ctx, id);
}

void Rollouts::wave_ended(Context& ctx, const std::string& id) {
  auto& live = live_.at(id);
  auto& r = live.record;
  const auto wave = r.value("wave", std::size_t{0});
  (void)save(live);
  publish_wave(ctx, live, "ended");
  if (over_threshold(live)) {
    return halt(ctx, id,
                std::to_string(r.value("failed", 0)) + " devices failed, more than the " +
                    std::to_string(r.value("tolerated", 0)) + " tolerated (max_fail " +
                    r.value("max_fail", "0") + ")");
  }
  if (r.value("abort_requested", false)) return halt(ctx, id, r.value("reason", ""));
  const auto check = r.value("check", "");
  if (check.empty()) return next_wave(ctx, id);
  std::vector<std::string> names;
  for (const auto& name : r["waves"][wave])
    names.push_back(name.get<std::string>());
  r["checking"] = true;
  (void)save(live);
  json body{{"runbook", check},
            {"params", {{"target", joined(names)}}},
            {"started_by", "rollout " + id},
            {"chain", id}};
  const auto label = "the health check after wave " + std::to_string(wave + 1);
  runs_.start(
      ctx, body,
      [this, &ctx, id, label](Result<std::string> run) {
        auto it = live_.find(id);
        if (it == live_.end()) return;
        if (!run) return halt(ctx, id, label + " did not start: " + run.error().describe());
        it->second.record["check_run"] = *run;
      },
      [this, &ctx, id, label](const std::string& state) {
        auto it = live_.find(id);
        if (it == live_.end() || !it->second.record.value("checking", false)) return;
        it->second.record["checking"] = false;
        if (state == "succeeded") return next_wave(ctx, id);
        halt(ctx, id,
             label + " (run " + it->second.record.value("check_run", "") + ") ended " + state);
      });
}

void Rollouts::next_wave(Context& ctx, const std::string& id) {
  auto& live = live_.at(id);
  live.record["wave"] = live.record.value("wave", std::size_t{0}) + 1;
  live.configs.clear();
  start_wave(ctx, id);
}

// ---- stopping ----

void Rollouts::halt(Context& ctx, const std::string& id, const std::string& reason) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  auto& r = live.record;
  r["reason"] = reason;
  r["checking"] = false;
  ctx.log().warn("rollout {} halted: {}", id, reason);
  std::vector<std::pair<std::string, std::uint32_t>> back;
  for (const auto& [name, entry] : live.devices) {
    if (entry.value("touched", false) && entry.value("status", "") != "rolled_back" &&
        entry.value("version", 0u) > 0)
      back.emplace_back(name, entry.value("version", 0u));
  }
  if (r.value("no_rollback", false) || r.value("abort_no_rollback", false) || back.empty())
    return finish(ctx, id, "halted", reason);
  r["state"] = "rolling_back";
  (void)save(live);
  auto left = std::make_shared<std::size_t>(back.size());
  for (const auto& [name, version] : back) {
    // Undoing is never held back by a change window.
    pushes_.rollback_device(
        ctx, name, version, r.value("save", false), "rollout " + id + " rollback",
        "rollback of rollout " + id + ": " + reason,
        [this, &ctx, id, name = name, left](Result<json> result) {
          auto it = live_.find(id);
          if (it == live_.end()) return;
          auto& live = it->second;
          auto& entry = live.devices[name];
          if (result) {
            entry["status"] = "rolled_back";
            live.record["rolled_back"] = live.record.value("rolled_back", 0) + 1;
          } else {
            entry["status"] = "rollback_failed";
            entry["rollback_error"] = result.error().describe();
          }
          save_devices(live, {name}, false);
          if (--*left > 0) return;
          std::vector<std::string> names;
          for (const auto& [device, e] : live.devices)
            if (e.value("touched", false)) names.push_back(device);
          // The archive records where the devices are now.
          snapshot_(ctx, joined(names), "rollback of rollout " + id, "nautod", [](Result<json>) {});
          finish(ctx, id, "rolled_back", live.record.value("reason", ""));
        });
  }
}

void Rollouts::finish(Context& ctx, const std::string& id, const std::string& state,
                      const std::string& reason) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  auto& live = it->second;
  auto& r = live.record;
  r["state"] = state;
  r["reason"] = reason;
  r["finished_us"] = now_us();
  (void)save(live);
  ctx.log().info("rollout {} {}: {} ok, {} failed, {} rolled back", id, state, r.value("ok", 0),
                 r.value("failed", 0), r.value("rolled_back", 0));
  schema::ConfigRolloutFinishedEvent event;
  event.id = id;
  event.state = state;
  event.reason = reason;
  event.ok = r.value("ok", std::int64_t{0});
  event.failed = r.value("failed", std::int64_t{0});
  event.rolled_back = r.value("rolled_back", std::int64_t{0});
  event.by = r.value("by", "");
  (void)ctx.publish(schema::ConfigRolloutFinishedEvent::kTopic, bus::to_body(event.to_json()));
  answer_waiting(live);
  live_.erase(it);
}

// ---- requests on a rollout ----

// A request the rollout's state does not allow: Errc::Conflict naming the state (or why the
// rollout cannot be read).
Error Rollouts::refused(const std::string& id, const std::string& rule) const {
  auto record = stored(id);
  if (!record) return std::move(record).error();
  return Error{Errc::Conflict, "rollout " + id + " is " + record->value("state", "") + "; " + rule,
               ""};
}

void Rollouts::pause(Context&, const std::string& id, const std::string& by, Done done) {
  auto it = live_.find(id);
  if (it == live_.end()) {
    return done(refused(id, "only a running rollout can be paused"));
  }
  auto& live = it->second;
  if (live.record.value("state", "") == "running") {
    live.record["pause_requested"] = true;
    live.record["paused_by"] = by;
    (void)save(live);
  }
  done(show(id));
}

void Rollouts::resume(Context& ctx, const std::string& id, const std::string& config,
                      const std::string& by, Done done) {
  auto it = live_.find(id);
  if (it == live_.end() || it->second.record.value("state", "") != "paused") {
    return done(refused(id, "only a paused rollout can be resumed"));
  }
  auto& live = it->second;
  auto& r = live.record;
  if (r.value("kind", "") == "push" && live.config.empty()) {
    if (config.empty()) {
      return done(fail(Errc::InvalidArgument,
                       "configs.rollout.resume.config: rollout " + id +
                           " was stopped by a restart of nautod, which keeps no config: give the "
                           "same config again (`nauto rollout resume ID --config FILE`)"));
    }
    if (sha256_hex(config) != r.value("config_sha256", "")) {
      return done(
          fail(Errc::InvalidArgument, "configs.rollout.resume.config: not the config rollout " +
                                          id + " started with (its SHA-256 differs)"));
    }
    live.config = config;
  }
  r["state"] = "running";
  r["reason"] = "";
  r["resumed_by"] = by;
  (void)save(live);
  ctx.log().info("rollout {} resumed by {}", id, by);
  done(show(id));
  start_wave(ctx, id);
}

void Rollouts::abort(Context& ctx, const std::string& id, bool no_rollback, const std::string& by,
                     Done done) {
  auto it = live_.find(id);
  if (it == live_.end() || it->second.record.value("state", "") == "rolling_back") {
    return done(refused(id, "only a running or paused rollout can be aborted"));
  }
  auto& live = it->second;
  auto& r = live.record;
  r["abort_requested"] = true;
  r["abort_no_rollback"] = no_rollback;
  r["reason"] = "aborted by " + by;
  (void)save(live);
  const bool idle = r.value("state", "") == "paused" || r.value("checking", false);
  auto now = show(id);
  if (idle) {
    halt(ctx, id, "aborted by " + by);
    now = show(id);
  }
  // Running: the devices in flight end first; pump() starts no other and ends the wave.
  done(std::move(now));
}

// ---- restarts ----

void Rollouts::resume_all(Context& ctx) {
  auto records = latest_records(store_, kTable, 1000);
  if (!records) return ctx.log().error("rollouts: {}", records.error().describe());
  for (auto& record : *records) {
    if (stopped(record.value("state", ""))) continue;
    const auto id = record.value("id", "");
    auto stored_entries = stored_devices(id);
    if (!stored_entries) continue;
    Live live;
    live.record = std::move(record);
    std::int64_t wave = 0;
    for (const auto& names : live.record["waves"]) {
      ++wave;
      for (const auto& name : names)
        live.devices[name] = json{{"wave", wave}, {"status", "pending"}};
    }
    std::vector<std::string> interrupted;
    for (auto& [name, entry] : *stored_entries) {
      if (entry.value("status", "") == "in_flight") {
        entry["status"] = "interrupted";
        entry["error"] = "nautod stopped while its change was in flight; not changed again";
        live.record["failed"] = live.record.value("failed", 0) + 1;
        interrupted.push_back(name);
      }
      live.devices[name] = std::move(entry);
    }
    save_devices(live, interrupted, false);
    const auto state = live.record.value("state", "");
    auto& placed = live_[id] = std::move(live);
    ctx.log().info("rollout {}: {} after a restart ({} interrupted)", id, state,
                   interrupted.size());
    if (state == "paused") continue;
    if (state == "rolling_back" || placed.record.value("abort_requested", false) ||
        over_threshold(placed)) {
      const auto reason = placed.record.value("reason", "");
      halt(ctx, id,
           reason.empty() ? "more devices failed than tolerated (after a restart)" : reason);
      continue;
    }
    if (placed.record.value("kind", "") == "push") {
      placed.record["state"] = "paused";
      placed.record["reason"] = "nautod restarted and keeps no config: `nauto rollout resume " +
                                id + " --config FILE` goes on";
      (void)save(placed);
      continue;
    }
    start_wave(ctx, id);  // the rest of the wave it was in, or its check
  }
}

void Rollouts::stop(Context&) noexcept {
  for (auto& [id, live] : live_)
    for (auto& done : live.waiting)
      done(fail(Errc::Unavailable,
                "nautod is stopping; rollout " + id + " goes on at its next start"));
  live_.clear();
}

}  // namespace nauto::configs
