// The configs module: the config archive on the bus.
//   - configs.backup starts a get_config job (secrets redacted on the devices' side unless
//     keep_secrets), reads its results when it ends (ConfigFetches) and archives each config
//     that changed (ConfigArchive); publishes config.changed per new version and
//     config.backup.finished; keeps each backup's record in the store table config_backups, and
//     at start follows the backups a restart interrupted, so what was fetched is archived;
//   - configs.history, configs.show, configs.diff, configs.status and configs.backups read the
//     archive;
//   - configs.search runs on a thread of its own (Offload), one search at a time, the others
//     queued, so the module answers while 10,000 configs are searched;
//   - configs.drift fetches running configs and compares each with its latest version,
//     publishing config.drift for each that differs;
//   - retention (at start, then every retention_interval): versions beyond keep_versions or
//     older than keep_for (never a device's latest), the blobs nothing reads, and backup
//     records beyond keep_backups.

#include <deque>
#include <optional>
#include <set>

#include "config_archive.h"
#include "config_fetches.h"
#include "confirmed_pushes.h"
#include "git_export.h"
#include "intended_configs.h"
#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/drivers/config_diff.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/device_scope.h"
#include "nauto/sdk/offload.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/retention.h"
#include "nauto/store/store.h"
#include "nauto/text/regex.h"
#include "record_tables.h"
#include "rollouts.h"
#include "run_waits.h"

namespace nauto::mod::configs {

using namespace nauto::configs;
using nlohmann::json;
namespace schema = bus::schema;

namespace {

constexpr const char* kBackupsTable = "config_backups";
// A drift check's reply carries each diff whole up to this size.
constexpr std::size_t kDriftDiffBytes = 64 * 1024;
constexpr std::int64_t kDayMs = 86'400'000;

struct ConfigsSettings {
  ArchiveRetention retention;
  std::optional<GitExportOptions> git;
  std::string templates_dir;  // empty: no intended configs
  std::uint64_t keep_backups = 1000;
  std::int64_t retention_interval_ms = kDayMs;
};

Result<ConfigsSettings> read_settings(const json& config) {
  ConfigsSettings s;
  ConfigReader r(config, "modules.configs");
  s.retention.keep_versions =
      static_cast<std::uint32_t>(r.integer("keep_versions", 1000, 1, 1'000'000));
  s.retention.max_age_us = r.duration_ms("keep_for", 0, 0) * 1000;
  s.keep_backups = static_cast<std::uint64_t>(r.integer("keep_backups", 1000, 1, 1'000'000));
  s.retention_interval_ms = r.duration_ms("retention_interval", kDayMs, 1000);
  if (auto templates = r.section("templates"); !templates.is_null()) {
    ConfigReader t(templates, "modules.configs.templates");
    s.templates_dir = t.string("dir", "");
    if (auto done = t.finish(); !done) return std::move(done).error();
    if (s.templates_dir.empty())
      return fail(Errc::InvalidConfig, "modules.configs.templates.dir: the templates' folder");
  }
  if (auto git = r.section("git"); !git.is_null()) {
    ConfigReader g(git, "modules.configs.git");
    GitExportOptions options;
    options.path = g.string("path", "");
    options.branch = g.string("branch", "main");
    options.remote = g.string("remote", "");
    if (auto done = g.finish(); !done) return std::move(done).error();
    if (options.path.empty()) {
      return fail(Errc::InvalidConfig,
                  "modules.configs.git.path: where the Git repository is kept (a bare "
                  "repository, created if missing)");
    }
    s.git = std::move(options);
  }
  if (auto done = r.finish(); !done) return std::move(done).error();
  return s;
}

json to_json(const VersionInfo& v) {
  return json{
      {"device", v.device}, {"version", v.version}, {"sha256", v.sha256}, {"time_us", v.time_us},
      {"by", v.by},         {"why", v.why},         {"job", v.job},       {"platform", v.platform},
      {"bytes", v.bytes},   {"lines", v.lines},     {"added", v.added},   {"removed", v.removed}};
}

std::string store_value(const json& document) {
  return bus::to_body(document);
}

// One search, done on the search thread.
struct SearchWork {
  std::shared_ptr<text::Regex> regex;
  std::vector<std::string> devices;  // empty with all_devices: every archived device
  bool all_devices = true;
  std::size_t limit = 1000;
  std::shared_ptr<Reply> reply;
};

json search(const ConfigArchive& archive, const SearchWork& work) {
  std::vector<std::string> devices = work.devices;
  if (work.all_devices) {
    auto archived = archive.devices();
    if (!archived) return json{{"error", archived.error().describe()}};
    devices = std::move(*archived);
  }
  text::Matcher matcher;
  json matches = json::array();
  bool truncated = false;
  std::size_t searched = 0;
  for (const auto& device : devices) {
    auto latest = archive.latest(device);
    if (!latest || !*latest) continue;
    auto config = archive.text(**latest);
    if (!config) continue;
    ++searched;
    const auto& text = *config;
    std::size_t start = 0, number = 0;
    while (start < text.size() && !truncated) {
      auto end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      ++number;
      std::string_view line(text.data() + start, end - start);
      start = end + 1;
      auto found = matcher.test(*work.regex, line);
      if (!found || !*found) continue;
      if (matches.size() >= work.limit) {
        truncated = true;
        break;
      }
      matches.push_back(json{{"device", device},
                             {"version", (*latest)->version},
                             {"line", number},
                             {"text", std::string(line)}});
    }
    if (truncated) break;
  }
  return json{{"matches", std::move(matches)}, {"devices", searched}, {"truncated", truncated}};
}

}  // namespace

class ConfigsModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "configs", "the config archive: versions, diffs, search and drift of running configs",
        {schema::JobFinishedEvent::kTopic, schema::RunFinishedEvent::kTopic},
        {ConfigArchive::kVersionsTable, ConfigArchive::kBlobsTable, ConfigArchive::kStatusTable,
         kBackupsTable, ConfirmedPushes::kTable, Rollouts::kTable, Rollouts::kDevicesTable});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = *s;
    if (!ctx.store())
      return fail(Errc::Unsupported, "the configs module needs the store: host it in-process");
    store_ = ctx.store();
    archive_ = std::make_unique<ConfigArchive>(*store_);
    if (!settings_.templates_dir.empty())
      intended_ = std::make_unique<IntendedConfigs>(settings_.templates_dir);
    if (auto started = searcher_.start(ctx); !started) return started;
    if (settings_.git) {
      auto opened = GitExport::open(*settings_.git);
      if (!opened) return std::move(opened).error();
      git_ = std::move(*opened);
      if (auto started = exporter_.start(ctx); !started) return started;
      // What changed while nautod was down, or an export that failed before it stopped.
      auto archived = archive_->devices();
      if (archived && !ctx.passive()) {
        git_pending_.insert(archived->begin(), archived->end());
        queue_export(
            ctx, GitCommitInfo{"nautod", "sync with the archive at nautod's start", now_us()}, "");
      }
    }
    auto snapshot = [this](Context& c, const std::string& target, const std::string& why,
                           const std::string& by, std::function<void(Result<json>)> done) {
      // A backup that does not start ends too: `done` hears of it once, from the end.
      start_backup(
          c, BackupAsk{target, why, by, "", false, 0, nullptr}, [](auto) {},
          [done](Result<json> record) { done(std::move(record)); });
    };
    pushes_ = std::make_unique<ConfirmedPushes>(*store_, *archive_, fetches_, runs_, snapshot);
    Rollouts::Render render;
    if (intended_) {
      render = [this](const json& host) -> Result<std::string> {
        auto rendered = intended_->render(host);
        if (!rendered) return std::move(rendered).error();
        return std::move(rendered->text);
      };
    }
    rollouts_ = std::make_unique<Rollouts>(*store_, *archive_, *pushes_, runs_, snapshot,
                                           std::move(render));
    // A passive nautod (one `nauto` command) serves requests and starts nothing of its own:
    // interrupted backups, windows to roll back, retention and the Git sync wait for nautod.
    if (ctx.passive()) return ok();
    follow_interrupted_backups(ctx);
    pushes_->resume(ctx);
    rollouts_->resume_all(ctx);
    sweep(ctx);
    ctx.every(std::chrono::milliseconds(settings_.retention_interval_ms),
              [this, &ctx] { sweep(ctx); });
    return ok();
  }

  void on_event(const bus::Envelope& event, Context& ctx) override {
    if (event.topic == schema::RunFinishedEvent::kTopic) {
      auto ended = schema::decode_body<schema::RunFinishedEvent>(event.body);
      if (ended) runs_.run_ended(ended->id, ended->state);
      return;
    }
    if (event.topic != schema::JobFinishedEvent::kTopic) return;
    auto ended = schema::decode_body<schema::JobFinishedEvent>(event.body);
    if (ended) fetches_.job_ended(ctx, ended->id);
  }

  // Who asked is the verified caller (a user's `by` names the user); a caller limited to some
  // devices (its roles) may back up, compare, plan, push or roll back only those.
  void on_request(const bus::Envelope& original, Context& ctx, Reply reply) override {
    auto request = original;
    attribute_body(request);
    serve_in_scope(ctx, request, scoped_target(request), std::move(reply),
                   [this, &ctx](const bus::Envelope& asked, Reply answer) {
                     serve(asked, ctx, std::move(answer));
                   });
  }

  // The devices a request acts on, as a selector; nullopt for a service that acts on none.
  static std::optional<std::string> scoped_target(const bus::Envelope& request) {
    const auto& topic = request.topic;
    const bool by_target = topic == schema::ConfigsBackupRequest::kTopic ||
                           topic == schema::ConfigsDriftRequest::kTopic ||
                           topic == schema::ConfigsPlanRequest::kTopic ||
                           topic == schema::ConfigsPushRequest::kTopic ||
                           topic == schema::ConfigsRolloutRequest::kTopic;
    const bool by_device = topic == schema::ConfigsRollbackRequest::kTopic;
    if (!by_target && !by_device) return std::nullopt;
    auto body = bus::from_body(request.body);
    if (!body || !body->is_object()) return std::nullopt;  // serve() names what is wrong
    const auto field = body->find(by_device ? "device" : "target");
    if (field == body->end() || !field->is_string()) return std::nullopt;
    return by_device ? "name=" + field->get<std::string>() : field->get<std::string>();
  }

  void serve(const bus::Envelope& request, Context& ctx, Reply reply) {
    const auto& topic = request.topic;
    const auto caller = caller_of(request.header);
    if (topic == schema::ConfigsBackupRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsBackupRequest>(request.body);
      if (!args) return reply.fail(args.error());
      return backup(ctx, *args, args->by.empty() ? caller : args->by, std::move(reply));
    }
    if (topic == schema::ConfigsDriftRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsDriftRequest>(request.body);
      if (!args) return reply.fail(args.error());
      const auto by = args->by.empty() ? caller : args->by;
      if (args->intended) return drift_from_intended(ctx, args->target, by, std::move(reply));
      return drift(ctx, *args, by, std::move(reply));
    }
    if (topic == schema::ConfigsPushRequest::kTopic ||
        topic == schema::ConfigsConfirmRequest::kTopic ||
        topic == schema::ConfigsRollbackRequest::kTopic)
      return safe_push(ctx, topic, request.body, caller, std::move(reply));
    if (topic.rfind("configs.rollout", 0) == 0)
      return rollout_request(ctx, topic, request.body, request.header, std::move(reply));
    if (topic == schema::ConfigsRenderRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsRenderRequest>(request.body);
      if (!args) return reply.fail(args.error());
      return render(ctx, args->device, std::move(reply));
    }
    if (topic == schema::ConfigsPlanRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsPlanRequest>(request.body);
      if (!args) return reply.fail(args.error());
      if (args->mode != "replace" && args->mode != "merge") {
        return reply.fail(
            fail(Errc::InvalidArgument,
                 "configs.plan.mode: expected replace or merge, got '" + args->mode + "'"));
      }
      auto shared = std::make_shared<Reply>(std::move(reply));
      return plan(ctx, args->target, args->mode == "replace", args->by.empty() ? caller : args->by,
                  [shared](Result<json> devices) {
                    if (!devices) return shared->fail(devices.error());
                    shared->ok_json(json{{"devices", std::move(*devices)}});
                  });
    }
    if (topic == schema::ConfigsSearchRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsSearchRequest>(request.body);
      if (!args) return reply.fail(args.error());
      return start_search(ctx, *args, std::move(reply));
    }
    auto answer = read(topic, request.body);
    if (!answer) return reply.fail(answer.error());
    reply.ok_json(*answer);
  }

  void stop(Context& ctx) noexcept override {
    if (rollouts_) rollouts_->stop(ctx);
    if (pushes_) pushes_->stop(ctx);
    runs_.clear();
    searcher_.stop(ctx);
    exporter_.stop(ctx);
    for (auto& [id, backup] : backups_) {
      if (backup.done)
        backup.done(
            fail(Errc::Unavailable, "nautod is stopping; the backup resumes at its next start"));
    }
    for (auto& [id, check] : drifts_)
      check.reply->fail(fail(Errc::Unavailable, "nautod is stopping"));
    backups_.clear();
    drifts_.clear();
  }

 private:
  // ---- reads ----

  Result<json> read(const std::string& topic, const std::string& body) {
    if (topic == schema::ConfigsHistoryRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsHistoryRequest>(body);
      if (!args) return std::move(args).error();
      auto versions = archive_->history(
          args->device,
          static_cast<std::size_t>(std::clamp<std::int64_t>(args->limit, 1, 100'000)));
      if (!versions) return std::move(versions).error();
      if (versions->empty()) {
        return fail(Errc::NotFound, "no archived config for '" + args->device +
                                        "' (`nauto config backup --target name=" + args->device +
                                        "` makes one)");
      }
      json out = json::array();
      for (const auto& v : *versions)
        out.push_back(to_json(v));
      return json{{"versions", std::move(out)}};
    }
    if (topic == schema::ConfigsShowRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsShowRequest>(body);
      if (!args) return std::move(args).error();
      auto version = find(args->device, args->version);
      if (!version) return std::move(version).error();
      auto text = archive_->text(*version);
      if (!text) return std::move(text).error();
      auto out = to_json(*version);
      out["config"] = std::move(*text);
      return out;
    }
    if (topic == schema::ConfigsDiffRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsDiffRequest>(body);
      if (!args) return std::move(args).error();
      return diff(*args);
    }
    if (topic == schema::ConfigsStatusRequest::kTopic) {
      auto statuses = archive_->statuses();
      if (!statuses) return std::move(statuses).error();
      json out = json::array();
      for (const auto& s : *statuses) {
        out.push_back(json{{"device", s.device},
                           {"checked_us", s.checked_us},
                           {"ok", s.ok},
                           {"error", s.error},
                           {"job", s.job},
                           {"version", s.version}});
      }
      return json{{"devices", std::move(out)}};
    }
    if (topic == schema::ConfigsPushesRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsPushesRequest>(body);
      if (!args) return std::move(args).error();
      auto pushes =
          pushes_->list(static_cast<std::size_t>(std::clamp<std::int64_t>(args->limit, 1, 1000)));
      if (!pushes) return std::move(pushes).error();
      return json{{"pushes", std::move(*pushes)}};
    }
    if (topic == schema::ConfigsBackupsRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsBackupsRequest>(body);
      if (!args) return std::move(args).error();
      auto records =
          latest_records(archive_store(), kBackupsTable,
                         static_cast<std::size_t>(std::clamp<std::int64_t>(args->limit, 1, 1000)));
      if (!records) return std::move(records).error();
      return json{{"backups", std::move(*records)}};
    }
    return fail(Errc::Unsupported, "the configs module has no service '" + topic + "'");
  }

  Result<VersionInfo> find(const std::string& device, const std::string& ref_text) {
    auto ref = parse_version_ref(ref_text);
    if (!ref) return std::move(ref).error();
    return archive_->find(device, *ref);
  }

  Result<json> diff(const schema::ConfigsDiffRequest& args) {
    if (args.format != "unified" && args.format != "hierarchical") {
      return fail(
          Errc::InvalidArgument,
          "configs.diff.format: expected unified or hierarchical, got '" + args.format + "'");
    }
    auto from = find(args.device, args.from);
    if (!from) return std::move(from).error();
    auto to = find(args.device, args.to);
    if (!to) return std::move(to).error();
    auto before = archive_->text(*from);
    if (!before) return std::move(before).error();
    auto after = archive_->text(*to);
    if (!after) return std::move(after).error();
    auto change = compare_texts(*before, *after, args.device + "@" + std::to_string(from->version),
                                args.device + "@" + std::to_string(to->version),
                                static_cast<int>(std::clamp<std::int64_t>(args.context, 0, 1000)));
    json out{{"device", args.device}, {"from", to_json(*from)},    {"to", to_json(*to)},
             {"added", change.added}, {"removed", change.removed}, {"format", args.format}};
    if (args.format == "unified") {
      out["diff"] = std::move(change.diff);
    } else {
      const drivers::ConfigDiff parser({}, {});
      out["diff"] = drivers::ConfigDiff::hierarchical(parser.parse(*before), parser.parse(*after));
    }
    return out;
  }

  // ---- backups ----

  // A backup's end: its record, or why it could not run.
  using BackupDone = std::function<void(Result<json> record)>;
  struct Backup {
    json record;
    BackupDone done;  // may be empty
  };
  // What a backup is asked for, by a request or by a confirmed push's snapshot.
  struct BackupAsk {
    std::string target, why, by, chain;
    bool keep_secrets = false;
    std::int64_t max_parallel = 0;
    json device_timeout;
  };

  store::Store& archive_store() { return *store_; }

  void backup(Context& ctx, const schema::ConfigsBackupRequest& args, const std::string& by,
              Reply reply) {
    auto shared = std::make_shared<Reply>(std::move(reply));
    const bool wait = args.wait;
    start_backup(
        ctx,
        BackupAsk{args.target, args.why, by, args.chain, args.keep_secrets, args.max_parallel,
                  args.device_timeout},
        [shared, wait](Result<std::pair<std::string, std::int64_t>> started) {
          if (!started) return shared->fail(started.error());
          if (!wait) shared->ok_json(json{{"id", started->first}, {"devices", started->second}});
        },
        [shared, wait](Result<json> record) {
          if (!wait) return;
          if (!record) return shared->fail(record.error());
          shared->ok_json(*record);
        });
  }

  // Starts a get_config job and archives what it fetches; `started` gets its id (or why it
  // did not start), `done` the backup's record once it is archived.
  void start_backup(Context& ctx, const BackupAsk& ask,
                    std::function<void(Result<std::pair<std::string, std::int64_t>>)> started,
                    BackupDone done) {
    json job{{"target", ask.target}, {"redact_secrets", !ask.keep_secrets}, {"started_by", ask.by},
             {"chain", ask.chain},   {"max_parallel", ask.max_parallel},    {"allow_empty", true}};
    if (!ask.device_timeout.is_null()) job["device_timeout"] = ask.device_timeout;
    json record{{"target", ask.target},
                {"by", ask.by},
                {"why", ask.why},
                {"chain", ask.chain},
                {"state", "running"},
                {"keep_secrets", ask.keep_secrets},
                {"started_us", now_us()},
                {"finished_us", 0},
                {"changed", 0},
                {"unchanged", 0},
                {"failed", 0},
                {"changed_devices", json::array()},
                {"failed_devices", json::array()}};
    fetches_.start(
        ctx, job,
        [this, &ctx, started = std::move(started), done = std::move(done),
         record](auto answer) mutable {
          if (!answer) {
            started(answer.error());
            if (done) done(answer.error());
            return;
          }
          const auto& [id, devices] = *answer;
          record["id"] = id;
          record["devices"] = devices;
          if (auto saved = save(record); !saved) ctx.log().error("{}", saved.error().describe());
          backups_[id] = Backup{record, std::move(done)};
          started(std::pair{id, devices});
        },
        [this, &ctx](const std::string& job_id, std::vector<json> results) {
          archive_page(ctx, job_id, std::move(results));
        },
        [this, &ctx](const std::string& job_id, Result<void> read) {
          finish_backup(ctx, job_id, std::move(read));
        });
  }

  Result<void> save(const json& record) {
    store::WriteBatch batch;
    batch.put(kBackupsTable, record.at("id").get<std::string>(), store_value(record));
    return store_->write_and_wait(std::move(batch));
  }

  void archive_page(Context& ctx, const std::string& job_id, std::vector<json> results) {
    auto it = backups_.find(job_id);
    if (it == backups_.end()) return;
    auto& record = it->second.record;
    std::vector<ConfigSnapshot> snapshots;
    std::vector<DeviceStatus> failures;
    for (auto& result : results) {
      const auto device = result.value("device", "");
      const auto finished = result.value("finished_us", now_us());
      auto& output = result["output"];
      if (result.value("status", "") == "ok" && output.is_object() &&
          output["config"].is_string()) {
        snapshots.push_back(ConfigSnapshot{
            device, output.value("platform", ""), output["config"].get<std::string>(), finished,
            record.value("by", ""), record.value("why", ""), job_id});
      } else {
        const auto error = result.value("error", result.value("status", "failed"));
        failures.push_back(DeviceStatus{device, finished, false, error, job_id, 0});
        record["failed"] = record.value("failed", 0) + 1;
        if (record["failed_devices"].size() < 1000)
          record["failed_devices"].push_back(json{{"device", device}, {"error", error}});
      }
    }
    auto outcomes = archive_->record(snapshots);
    if (!outcomes) {
      ctx.log().error("backup {}: {} configs were not archived: {}", job_id, snapshots.size(),
                      outcomes.error().describe());
      record["error"] = outcomes.error().describe();
      record["failed"] = record.value("failed", 0) + static_cast<int>(snapshots.size());
      return;
    }
    if (auto noted = archive_->note_failures(failures); !noted)
      ctx.log().error("backup {}: {}", job_id, noted.error().describe());
    for (const auto& outcome : *outcomes) {
      if (!outcome.changed) {
        record["unchanged"] = record.value("unchanged", 0) + 1;
        continue;
      }
      record["changed"] = record.value("changed", 0) + 1;
      if (git_) git_pending_.insert(outcome.device);
      if (record["changed_devices"].size() < 1000) {
        record["changed_devices"].push_back(
            json{{"device", outcome.device}, {"version", outcome.version}});
      }
      schema::ConfigChangedEvent event;
      event.device = outcome.device;
      event.version = outcome.version;
      event.previous = outcome.previous;
      event.added = outcome.added;
      event.removed = outcome.removed;
      event.diff = outcome.diff;
      event.job = job_id;
      event.by = record.value("by", "");
      event.why = record.value("why", "");
      event.chain = record.value("chain", "");
      (void)ctx.publish(schema::ConfigChangedEvent::kTopic, bus::to_body(event.to_json()));
    }
  }

  void finish_backup(Context& ctx, const std::string& job_id, Result<void> read) {
    auto it = backups_.find(job_id);
    if (it == backups_.end()) return;
    auto backup = std::move(it->second);
    backups_.erase(it);
    auto& record = backup.record;
    record["state"] = read ? "done" : "failed";
    if (!read) record["error"] = read.error().describe();
    record["finished_us"] = now_us();
    if (git_ && record.value("changed", 0) > 0) {
      std::string details;
      for (const auto& changed : record["changed_devices"]) {  // the first 1,000
        details += changed.value("device", "") + " version " +
                   std::to_string(changed.value("version", 0)) + "\n";
      }
      const auto why = record.value("why", "");
      queue_export(
          ctx,
          GitCommitInfo{record.value("by", ""),
                        "backup " + job_id + (why.empty() ? "" : ": " + why) + "\n\n" + details,
                        record.value("finished_us", now_us())},
          job_id);
    }
    if (auto saved = save(record); !saved) ctx.log().error("{}", saved.error().describe());
    schema::ConfigBackupFinishedEvent event;
    event.id = job_id;
    event.target = record.value("target", "");
    event.by = record.value("by", "");
    event.why = record.value("why", "");
    event.chain = record.value("chain", "");
    event.state = record.value("state", "");
    event.devices = record.value("devices", 0);
    event.changed = record.value("changed", 0);
    event.unchanged = record.value("unchanged", 0);
    event.failed = record.value("failed", 0);
    event.error = record.value("error", "");
    (void)ctx.publish(schema::ConfigBackupFinishedEvent::kTopic, bus::to_body(event.to_json()));
    ctx.log().info("backup {}: {} changed, {} unchanged, {} failed", job_id, event.changed,
                   event.unchanged, event.failed);
    if (backup.done) {
      if (read)
        backup.done(record);
      else
        backup.done(read.error());
    }
  }

  // A backup still running when nautod stopped: its job is interrupted (or, in a passive
  // kernel's store, may still run in the daemon); what it fetched is archived now.
  void follow_interrupted_backups(Context& ctx) {
    store::ScanOptions scan;
    scan.reverse = true;
    scan.limit = 100;
    auto entries = archive_store().scan(kBackupsTable, scan);
    if (!entries) return ctx.log().error("{}", entries.error().describe());
    for (const auto& [id, value] : *entries) {
      auto record = bus::from_body(value);
      if (!record || record->value("state", "") != "running") continue;
      ctx.log().info("backup {} was running when nautod stopped: archiving what it fetched", id);
      backups_[id] = Backup{*record, {}};
      fetches_.follow(
          ctx, id,
          [this, &ctx](const std::string& job_id, std::vector<json> results) {
            archive_page(ctx, job_id, std::move(results));
          },
          [this, &ctx](const std::string& job_id, Result<void> read) {
            finish_backup(ctx, job_id, std::move(read));
          });
    }
  }

  // ---- drift ----

  struct DriftCheck {
    std::shared_ptr<Reply> reply;
    json devices = json::array();
  };

  void drift(Context& ctx, const schema::ConfigsDriftRequest& args, const std::string& by,
             Reply reply) {
    json job{{"target", args.target},
             {"redact_secrets", true},
             {"started_by", by},
             {"max_parallel", args.max_parallel}};
    if (!args.device_timeout.is_null()) job["device_timeout"] = args.device_timeout;
    auto shared = std::make_shared<Reply>(std::move(reply));
    fetches_.start(
        ctx, job,
        [this, shared](auto started) {
          if (!started) return shared->fail(started.error());
          drifts_[started->first] = DriftCheck{shared};
        },
        [this, &ctx](const std::string& job_id, std::vector<json> results) {
          compare_page(ctx, job_id, std::move(results));
        },
        [this](const std::string& job_id, Result<void> read) {
          auto it = drifts_.find(job_id);
          if (it == drifts_.end()) return;
          auto check = std::move(it->second);
          drifts_.erase(it);
          if (!read) return check.reply->fail(read.error());
          check.reply->ok_json(json{{"id", job_id}, {"devices", std::move(check.devices)}});
        });
  }

  void compare_page(Context& ctx, const std::string& job_id, std::vector<json> results) {
    auto it = drifts_.find(job_id);
    if (it == drifts_.end()) return;
    for (auto& result : results) {
      const auto device = result.value("device", "");
      json entry{{"device", device}};
      auto& output = result["output"];
      if (result.value("status", "") != "ok" || !output.is_object() ||
          !output["config"].is_string()) {
        entry["state"] = "failed";
        entry["error"] = result.value("error", result.value("status", "failed"));
        it->second.devices.push_back(std::move(entry));
        continue;
      }
      auto latest = archive_->latest(device);
      if (!latest || !*latest) {
        entry["state"] = "not_archived";
        it->second.devices.push_back(std::move(entry));
        continue;
      }
      auto archived = archive_->text(**latest);
      if (!archived) {
        entry["state"] = "failed";
        entry["error"] = archived.error().describe();
        it->second.devices.push_back(std::move(entry));
        continue;
      }
      const auto version = (*latest)->version;
      auto change = compare_texts(*archived, output["config"].get<std::string>(),
                                  device + "@" + std::to_string(version), device + " (running)");
      entry["version"] = version;
      entry["added"] = change.added;
      entry["removed"] = change.removed;
      entry["state"] = change.diff.empty() ? "same" : "drifted";
      if (!change.diff.empty()) {
        schema::ConfigDriftEvent event;
        event.device = device;
        event.version = version;
        event.added = change.added;
        event.removed = change.removed;
        event.diff = cut_diff(change.diff, kDiffSummaryBytes);
        event.job = job_id;
        event.against = "archive";
        (void)ctx.publish(schema::ConfigDriftEvent::kTopic, bus::to_body(event.to_json()));
      }
      entry["diff"] = cut_diff(change.diff, kDriftDiffBytes);
      it->second.devices.push_back(std::move(entry));
    }
  }

  // ---- pushes: confirmed, and rollbacks to a version ----

  void safe_push(Context& ctx, const std::string& topic, const std::string& body,
                 const std::string& caller, Reply reply) {
    auto shared = std::make_shared<Reply>(std::move(reply));
    auto answer = [shared](Result<json> record) {
      if (!record) return shared->fail(record.error());
      shared->ok_json(*record);
    };
    if (topic == schema::ConfigsPushRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsPushRequest>(body);
      if (!args) return shared->fail(args.error());
      std::int64_t confirm_ms = 0;
      if (!args->confirm.is_null()) {
        ConfigReader r(json{{"confirm", args->confirm}}, "configs.push");
        confirm_ms = r.duration_ms("confirm", 0, 0);
        if (auto done = r.finish(); !done)
          return shared->fail(Error{Errc::InvalidArgument, done.error().message, ""});
      }
      return pushes_->push(
          ctx,
          PushAsk{args->target, args->config, args->replace, args->save, confirm_ms,
                  args->check_runbook, args->check_run, args->by.empty() ? caller : args->by,
                  args->why, args->override_window, args->allow_dangerous},
          answer);
    }
    if (topic == schema::ConfigsConfirmRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsConfirmRequest>(body);
      if (!args) return shared->fail(args.error());
      return pushes_->confirm(ctx, args->id, args->by.empty() ? caller : args->by, answer);
    }
    auto args = schema::decode_body<schema::ConfigsRollbackRequest>(body);
    if (!args) return shared->fail(args.error());
    auto version = find(args->device, args->to);
    if (!version) return shared->fail(version.error());
    const auto device = args->device;
    const auto by = args->by.empty() ? caller : args->by;
    pushes_->rollback_device(
        ctx, device, version->version, args->save, by, args->override_window,
        [this, &ctx, answer, device, by, to = version->version](Result<json> result) {
          // The archive records where the device is now.
          if (result) {
            start_backup(ctx,
                         BackupAsk{"name=" + device, "rollback to version " + std::to_string(to),
                                   by, "", false, 0, nullptr},
                         [](auto) {}, {});
          }
          answer(std::move(result));
        });
  }

  // ---- staged rollouts ----

  void rollout_request(Context& ctx, const std::string& topic, const std::string& body,
                       const bus::Header& header, Reply reply) {
    auto shared = std::make_shared<Reply>(std::move(reply));
    auto answer = [shared](Result<json> record) {
      if (!record) return shared->fail(record.error());
      shared->ok_json(*record);
    };
    const auto caller = caller_of(header);
    auto who = [&caller](const std::string& by) { return by.empty() ? caller : by; };
    // A caller limited to some devices pauses, resumes or aborts only its own rollouts.
    auto own = [&](const std::string& id, std::string_view action) -> Result<void> {
      if (header.scope.empty()) return ok();
      auto record = rollouts_->show(id);
      if (!record) return std::move(record).error();
      return check_own_work(header, action, {"rollout", id, record->value("by", "")}, topic);
    };
    if (topic == schema::ConfigsRolloutRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsRolloutRequest>(body);
      if (!args) return shared->fail(args.error());
      return rollouts_->start(ctx, *args, who(args->by), answer);
    }
    if (topic == schema::ConfigsRolloutsRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsRolloutsRequest>(body);
      if (!args) return shared->fail(args.error());
      auto records =
          rollouts_->list(static_cast<std::size_t>(std::clamp<std::int64_t>(args->limit, 1, 1000)));
      if (!records) return shared->fail(records.error());
      return shared->ok_json(json{{"rollouts", std::move(*records)}});
    }
    if (topic == schema::ConfigsRolloutShowRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsRolloutShowRequest>(body);
      if (!args) return shared->fail(args.error());
      return answer(rollouts_->show(args->id));
    }
    if (topic == schema::ConfigsRolloutPauseRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsRolloutPauseRequest>(body);
      if (!args) return shared->fail(args.error());
      if (auto mine = own(args->id, "pause"); !mine) return shared->fail(mine.error());
      return rollouts_->pause(ctx, args->id, who(args->by), answer);
    }
    if (topic == schema::ConfigsRolloutResumeRequest::kTopic) {
      auto args = schema::decode_body<schema::ConfigsRolloutResumeRequest>(body);
      if (!args) return shared->fail(args.error());
      if (auto mine = own(args->id, "resume"); !mine) return shared->fail(mine.error());
      return rollouts_->resume(ctx, args->id, args->config, who(args->by), answer);
    }
    auto args = schema::decode_body<schema::ConfigsRolloutAbortRequest>(body);
    if (!args) return shared->fail(args.error());
    if (auto mine = own(args->id, "abort"); !mine) return shared->fail(mine.error());
    rollouts_->abort(ctx, args->id, args->no_rollback, who(args->by), answer);
  }

  // ---- intended configs ----

  Result<const IntendedConfigs*> intended() const {
    if (!intended_) {
      return fail(Errc::Unsupported,
                  "no templates: set modules.configs.templates.dir to the folder of the "
                  "intended configs' templates (<platform>.j2, or a host's `template`)");
    }
    return intended_.get();
  }

  void render(Context& ctx, const std::string& device, Reply reply) {
    auto templates = intended();
    if (!templates) return reply.fail(templates.error());
    auto shared = std::make_shared<Reply>(std::move(reply));
    ctx.request(schema::InventoryShowRequest::kTopic, bus::to_body(json{{"name", device}}), 30'000,
                [this, shared, device](Result<std::string> answer) {
                  auto found = bus::from_reply(answer);
                  if (!found) return shared->fail(found.error());
                  auto rendered = intended_->render((*found)["host"]);
                  if (!rendered) return shared->fail(rendered.error());
                  shared->ok_json(json{{"device", device},
                                       {"template_name", rendered->template_name},
                                       {"config", rendered->text}});
                });
  }

  // Renders each selected device's intended config, asks its device for a dry run, and hands
  // `done` one entry per device (in name order) when all have answered.
  void plan(Context& ctx, const std::string& target, bool replace, const std::string& by,
            std::function<void(Result<json>)> done) {
    auto templates = intended();
    if (!templates) return done(templates.error());
    ctx.request(
        schema::InventorySelectRequest::kTopic, bus::to_body(json{{"selector", target}}), 30'000,
        [this, &ctx, replace, by, done = std::move(done)](Result<std::string> answer) {
          using Hosts = schema::InventorySelectReply;
          auto hosts = answer ? schema::decode_body<Hosts>(*answer) : Result<Hosts>(answer.error());
          if (!hosts) return done(hosts.error());
          struct Planning {
            std::map<std::string, json> entries;
            std::size_t waiting = 0;
            std::function<void(Result<json>)> done;
          };
          auto planning = std::make_shared<Planning>();
          planning->done = done;
          auto finish_one = [planning]() {
            if (--planning->waiting > 0) return;
            json devices = json::array();
            for (auto& [name, entry] : planning->entries)
              devices.push_back(std::move(entry));
            planning->done(std::move(devices));
          };
          planning->waiting = hosts->hosts.size() + 1;  // + 1: the loop below
          for (const auto& host : hosts->hosts) {
            const auto device = host.value("name", "");
            auto& entry = planning->entries[device];
            entry = json{{"device", device}};
            auto rendered = intended_->render(host);
            if (!rendered) {
              entry["state"] = "failed";
              entry["error"] = rendered.error().describe();
              finish_one();
              continue;
            }
            entry["template_name"] = rendered->template_name;
            json call{{"device", device},   {"kind", "push"},  {"config", rendered->text},
                      {"replace", replace}, {"dry_run", true}, {"redact_secrets", true},
                      {"started_by", by}};
            ctx.request(schema::DeviceCallRequest::kTopic, bus::to_body(call), 300'000,
                        [planning, device, finish_one](Result<std::string> answer) {
                          auto& entry = planning->entries[device];
                          auto output = bus::from_reply(answer);
                          if (!output) {
                            entry["state"] = "failed";
                            entry["error"] = output.error().describe();
                          } else {
                            // By the diff shown: with the secrets redacted on both sides, a
                            // secret the template does not give is no change.
                            const bool changes = !output->value("diff", "").empty();
                            entry["state"] = changes ? "changes" : "same";
                            entry["diff"] = output->value("diff", "");
                            entry["commands"] = output->value("commands", json::array());
                          }
                          finish_one();
                        });
          }
          finish_one();
        });
  }

  // Drift against the intended configs: a plan, each device whose plan changes something
  // reported (and published) as drifted.
  void drift_from_intended(Context& ctx, const std::string& target, const std::string& by,
                           Reply reply) {
    auto shared = std::make_shared<Reply>(std::move(reply));
    plan(ctx, target, true, by, [this, &ctx, shared](Result<json> devices) {
      if (!devices) return shared->fail(devices.error());
      for (auto& entry : *devices) {
        if (entry.value("state", "") == "changes") {
          entry["state"] = "drifted";
          schema::ConfigDriftEvent event;
          event.device = entry.value("device", "");
          event.diff = cut_diff(entry.value("diff", ""), kDiffSummaryBytes);
          auto change = count_diff_lines(entry.value("diff", ""));
          event.added = change.first;
          event.removed = change.second;
          event.against = "intended";
          entry["added"] = change.first;
          entry["removed"] = change.second;
          (void)ctx.publish(schema::ConfigDriftEvent::kTopic, bus::to_body(event.to_json()));
        }
      }
      shared->ok_json(json{{"against", "intended"}, {"devices", std::move(*devices)}});
    });
  }

  // ---- search ----

  void start_search(Context& ctx, const schema::ConfigsSearchRequest& args, Reply reply) {
    auto compiled = text::Regex::compile(args.pattern, text::Regex::Anchor::Anywhere);
    if (!compiled) {
      return reply.fail(
          fail(Errc::InvalidArgument, "configs.search.pattern: " + compiled.error().message));
    }
    auto work = std::make_shared<SearchWork>();
    work->regex = std::make_shared<text::Regex>(std::move(*compiled));
    work->limit = static_cast<std::size_t>(std::clamp<std::int64_t>(args.limit, 1, 100'000));
    work->reply = std::make_shared<Reply>(std::move(reply));
    if (args.target.empty()) return queue_search(ctx, std::move(work));
    ctx.request(
        schema::InventorySelectRequest::kTopic, bus::to_body(json{{"selector", args.target}}),
        30'000, [this, &ctx, work](Result<std::string> answer) {
          using Hosts = schema::InventorySelectReply;
          auto hosts = answer ? schema::decode_body<Hosts>(*answer) : Result<Hosts>(answer.error());
          if (!hosts) return work->reply->fail(hosts.error());
          work->all_devices = false;
          for (const auto& host : hosts->hosts)
            if (host.is_object()) work->devices.push_back(host.value("name", ""));
          queue_search(ctx, work);
        });
  }

  void queue_search(Context& ctx, std::shared_ptr<SearchWork> work) {
    searches_.push_back(std::move(work));
    run_next_search(ctx);
  }

  void run_next_search(Context& ctx) {
    if (searcher_.busy() || searches_.empty()) return;
    auto work = std::move(searches_.front());
    searches_.pop_front();
    const ConfigArchive* archive = archive_.get();
    searcher_.run([archive, work] { return search(*archive, *work); },
                  [this, &ctx, work](json found) {
                    if (found.contains("error"))
                      work->reply->fail(fail(Errc::Library, found["error"].get<std::string>()));
                    else
                      work->reply->ok_json(found);
                    run_next_search(ctx);
                  });
  }

  // ---- git export ----

  struct ExportRequest {
    GitCommitInfo info;
    std::string backup;  // the backup's id, to note the commit in its record; "" for a sync
  };
  struct ExportResult {
    Result<GitExportOutcome> outcome;
    std::set<std::string> devices;
  };

  void queue_export(Context& ctx, GitCommitInfo info, std::string backup) {
    exports_.push_back(ExportRequest{std::move(info), std::move(backup)});
    run_next_export(ctx);
  }

  // One commit at a time, on the export thread: the devices pending so far, each at its latest
  // version. Devices of a failed export stay pending and go with the next.
  void run_next_export(Context& ctx) {
    if (exporter_.busy() || exports_.empty() || !git_) return;
    auto request = std::move(exports_.front());
    exports_.pop_front();
    auto devices = std::move(git_pending_);
    git_pending_.clear();
    const ConfigArchive* archive = archive_.get();
    GitExport* git = git_.get();
    exporter_.run(
        [archive, git, devices, info = request.info]() -> ExportResult {
          std::vector<GitFile> files;
          for (const auto& device : devices) {
            auto latest = archive->latest(device);
            if (!latest) return {std::move(latest).error(), devices};
            if (!*latest) continue;
            auto text = archive->text(**latest);
            if (!text) return {std::move(text).error(), devices};
            files.push_back(GitFile{device, std::move(*text)});
          }
          return {git->commit(files, info), devices};
        },
        [this, &ctx, backup = request.backup](ExportResult result) {
          if (!result.outcome) {
            ctx.log().error("git export: {}", result.outcome.error().describe());
            git_pending_.insert(result.devices.begin(), result.devices.end());
          } else if (!result.outcome->commit.empty()) {
            ctx.log().info("git export: commit {} ({} files{})",
                           result.outcome->commit.substr(0, 12), result.outcome->files,
                           result.outcome->pushed ? ", pushed" : "");
          }
          if (!backup.empty()) note_export(ctx, backup, result.outcome);
          run_next_export(ctx);
        });
  }

  void note_export(Context& ctx, const std::string& backup,
                   const Result<GitExportOutcome>& outcome) {
    auto value = archive_store().get(kBackupsTable, backup);
    if (!value || !*value) return;
    auto record = bus::from_body(**value);
    if (!record) return;
    (*record)["git"] = outcome ? json{{"commit", outcome->commit},
                                      {"files", outcome->files},
                                      {"pushed", outcome->pushed}}
                               : json{{"error", outcome.error().describe()}};
    if (auto saved = save(*record); !saved) ctx.log().error("{}", saved.error().describe());
  }

  // ---- retention ----

  void sweep(Context& ctx) {
    auto swept = archive_->sweep(settings_.retention, now_us());
    if (!swept) return ctx.log().error("archive retention: {}", swept.error().describe());
    if (swept->versions_erased || swept->blobs_erased) {
      ctx.log().info("archive retention: {} versions and {} blobs erased", swept->versions_erased,
                     swept->blobs_erased);
    }
    // Rollouts with their devices, never one still running or any after it.
    auto rollouts = store::sweep_records(archive_store(), Rollouts::kTable, Rollouts::kDevicesTable,
                                         store::Retention{0, settings_.keep_backups, 0}, 0,
                                         now_us(), rollouts_->oldest_running());
    if (!rollouts) ctx.log().error("rollouts: {}", rollouts.error().describe());
    // Backup and push records, by count: both keyed by time-ordered ids, oldest first.
    for (const char* table : {kBackupsTable, ConfirmedPushes::kTable}) {
      auto first = store::first_key_kept(archive_store(), table,
                                         store::Retention{0, settings_.keep_backups, 0}, "");
      if (!first) {
        ctx.log().error("{}: {}", table, first.error().describe());
        continue;
      }
      if (first->empty()) continue;
      store::WriteBatch batch;
      batch.erase_before(table, *first);
      if (auto written = archive_store().write_and_wait(std::move(batch)); !written)
        ctx.log().error("{}: {}", table, written.error().describe());
    }
  }

  ConfigsSettings settings_;
  store::Store* store_ = nullptr;
  std::unique_ptr<ConfigArchive> archive_;
  std::unique_ptr<IntendedConfigs> intended_;
  RunWaits runs_;
  std::unique_ptr<ConfirmedPushes> pushes_;
  std::unique_ptr<Rollouts> rollouts_;
  ConfigFetches fetches_;
  std::map<std::string, Backup> backups_;
  std::map<std::string, DriftCheck> drifts_;
  Offload<json> searcher_;
  std::unique_ptr<GitExport> git_;
  Offload<ExportResult> exporter_;
  std::deque<ExportRequest> exports_;
  std::set<std::string> git_pending_;  // devices whose latest version Git may not have yet
  std::deque<std::shared_ptr<SearchWork>> searches_;
};

NAUTO_REGISTER_MODULE(ConfigsModule, "configs");

}  // namespace nauto::mod::configs
