// The devices module: the job engine on the bus.
//   job.run    {kind, target, commands | config, dry_run, replace, max_parallel, device_timeout,
//               job_timeout, attempts, lock}              -> {id, devices}
//   job.status {id}                                       -> the job record (live counts)
//   job.list   {limit}                                    -> {jobs: [...]} newest first
//   job.logs   {id, device, after, limit}                 -> {results: [...]}
//   job.cancel {id}                                       -> {id}
//   device.call {device, kind, commands | config, dry_run, replace, run, ...}
//                        -> the device's output, once it is done (a one-device job; runbooks
//                           use it for each device step); a device that fails -> its error
//   device.cancel {run}  cancels the device calls a run has in flight
// Targets come from inventory.select and credentials from vault.resolve (over the bus, like
// any module's). Publishes job.device per finished device, job.progress four times a second per
// running job, and job.finished.

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "change_guard.h"
#include "credential_cache.h"
#include "distribution_settings.h"
#include "inventory_host.h"
#include "job_runner.h"
#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/device_scope.h"
#include "nauto/sdk/module.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/store.h"
#include "path_timing.h"
#include "work_dispatcher.h"

namespace nauto::mod::devices {

using namespace nauto::devices;
using nlohmann::json;

namespace {

constexpr std::int64_t kLookupTimeoutMs = 30'000;
// The compliance gate reads each device's running config before it answers.
constexpr std::int64_t kGateTimeoutMs = 300'000;
constexpr std::int64_t kCredentialLifetimeMs = 10'000;

Result<JobRunnerOptions> read_options(const json& config, std::string& platform_dir) {
  JobRunnerOptions options;
  ConfigReader r(config, "modules.devices");
  options.max_sessions = static_cast<int>(r.integer("max_sessions", 100, 1, 10000));
  options.session_threads = static_cast<int>(r.integer("session_threads", 0, 0, 64));
  options.device_timeout_ms = r.duration_ms("device_timeout", 120'000, 100);
  options.job_timeout_ms = r.duration_ms("job_timeout", 3'600'000, 100);
  // Kept longer than a job can run (its timeout), so age alone never takes a running job.
  options.retention.max_age_us =
      r.duration_ms("keep_jobs_for", 30ll * 24 * 3'600'000, options.job_timeout_ms + 3'600'000) *
      1000;
  options.retention.max_jobs =
      static_cast<std::uint64_t>(r.integer("keep_jobs", 10'000, 10, 100'000'000));
  options.retention.max_result_bytes =
      static_cast<std::uint64_t>(r.size_bytes("keep_job_bytes", 1ull << 30, 1u << 20));
  options.retry.max_attempts = static_cast<int>(r.integer("attempts", 3, 1, 20));
  options.retry.base_delay_ms = r.duration_ms("retry_delay", 500, 1);
  platform_dir = r.string("platform_dir", "");
  r.allow("limits");          // a list, read below
  r.allow("change_windows");  // change_guard.h
  r.allow("distribution");    // distribution_settings.h
  const auto limits = config.is_object() && config.contains("limits") ? config["limits"] : json();
  if (auto done = r.finish(); !done) return std::move(done).error();
  if (!limits.is_null() && !limits.is_array()) {
    return fail(Errc::InvalidConfig,
                "modules.devices.limits: expected a list of {key, max_sessions, per_second}");
  }
  std::vector<std::string> problems;
  for (std::size_t i = 0; limits.is_array() && i < limits.size(); ++i) {
    ConfigReader l(limits[i], "modules.devices.limits[" + std::to_string(i) + "]");
    SessionLimit limit;
    limit.key = l.string("key", "");
    limit.max_sessions = static_cast<int>(l.integer("max_sessions", 0, 0, 100000));
    limit.per_second = static_cast<double>(l.integer("per_second", 0, 0, 100000));
    limit.burst = static_cast<double>(l.integer("burst", 0, 0, 100000));
    if (auto done = l.finish(); !done) problems.push_back(done.error().describe());
    if (limit.key.empty() || (limit.max_sessions == 0 && limit.per_second == 0)) {
      problems.push_back("modules.devices.limits[" + std::to_string(i) +
                         "]: give key and max_sessions and/or per_second");
    }
    options.limits.push_back(limit);
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems)
      message += (message.empty() ? "" : "\n") + p;
    return fail(Errc::InvalidConfig, message);
  }
  return options;
}

}  // namespace

class DevicesModule final : public Module {
  // Every known platform with its everyday commands (for `nauto shell` completion).
  json platforms() const {
    json list = json::array();
    for (const auto& name : catalog_->names()) {
      auto definition = catalog_->find(name);
      if (!definition) continue;
      list.push_back(json{{"name", name},
                          {"vendor", (*definition)->vendor},
                          {"transports", (*definition)->transports},
                          {"commands", (*definition)->commands}});
    }
    return json{{"platforms", list}};
  }

 public:
  Manifest manifest() const override {
    // The vault's change announcements empty the credential cache.
    return Manifest::declared("devices",
                              "the job engine: commands, pushes, configs and facts over the fleet",
                              {"audit.secret.write", "audit.secret.remove", "audit.secret.rotate"},
                              {kJobsTable, kResultsTable});
  }

  Result<void> validate(const json& config) const override {
    std::string platform_dir;
    auto options = read_options(config, platform_dir);
    if (!options) return std::move(options).error();
    auto guard = ChangeGuard::parse(config.value("change_windows", json()));
    if (!guard) return std::move(guard).error();
    auto distribution = read_distribution(config.value("distribution", json()));
    if (!distribution) return std::move(distribution).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    std::string platform_dir;
    auto options = read_options(ctx.config(), platform_dir);
    if (!options) return std::move(options).error();
    if (!ctx.store()) {
      return fail(Errc::Unsupported, "the job engine needs the kernel's store; run it in-process",
                  "modules.devices");
    }
    auto catalog = drivers::PlatformCatalog::load_default();
    if (!catalog) return std::move(catalog).error();
    if (!platform_dir.empty()) {
      if (auto loaded = catalog->load_directory(platform_dir); !loaded) {
        return std::move(loaded).error();
      }
    }
    catalog_ = std::make_unique<drivers::PlatformCatalog>(std::move(*catalog));
    options_ = *options;
    auto guard = ChangeGuard::parse(ctx.config().value("change_windows", json()));
    if (!guard) return std::move(guard).error();
    guard_ = std::move(*guard);
    JobStore job_store(*ctx.store());
    // Jobs with devices in remote pools go on where Redis is configured: their workers did not
    // stop with nautod, and their results wait in the results group.
    std::vector<json> resumable;
    const bool distributed = !ctx.config().value("distribution", json()).is_null();
    auto interrupted = job_store.mark_interrupted(distributed ? &resumable : nullptr);
    if (!interrupted) return std::move(interrupted).error();
    for (const auto& id : *interrupted) {
      ctx.log().warn("job {} was running when nautod stopped; marked interrupted", id);
      (void)ctx.publish(bus::schema::JobInterruptedEvent::kTopic, bus::to_body(json{{"id", id}}));
    }
    runner_ = std::make_unique<JobRunner>(*options, *ctx.store(), *catalog_);
    if (auto started = start_distribution(ctx); !started) return started;
    for (auto& record : resumable) {
      const auto id = record.value("id", "");
      auto recorded = job_store.recorded_devices(id);
      if (!recorded) return std::move(recorded).error();
      auto copy = record;
      auto waiting = runner_->resume(std::move(record), *recorded);
      if (!waiting) {
        ctx.log().error("job {} cannot be resumed: {}; marked interrupted", id,
                        waiting.error().describe());
        copy["state"] = job_state_name(JobState::Interrupted);
        copy["note"] = "not resumed: " + waiting.error().describe();
        (void)job_store.put_job(copy);
        continue;
      }
      ctx.log().info("job {} resumed: {} device(s) in remote pools still to report", id, *waiting);
    }
    // Retention: now, then daily (README, "Retention").
    sweep(ctx);
    ctx.every(std::chrono::hours(24), [this, &ctx] { sweep(ctx); });
    // Ended jobs and one-device jobs (device.call) wake the module at once (an eventfd); the
    // timer paces the rest: the progress of running jobs, a fleet's finished devices
    // (job.device, in bursts four times a second) and the expiry of idle sessions.
    auto watched = ctx.watch(runner_->news().fd(), [this, &ctx] {
      runner_->news().drain();
      publish_progress(ctx);
    });
    if (!watched) return std::move(watched).error();
    news_watch_ = *watched;
    ctx.every(std::chrono::milliseconds(kProgressMs), [this, &ctx] { publish_progress(ctx); });
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    dispatcher_.reset();  // it hands results to the runner: it goes first
    if (news_watch_) ctx.unwatch(news_watch_);
    news_watch_ = 0;
    runner_.reset();
    for (auto& [id, call] : calls_)
      call.reply->fail(fail(Errc::Unavailable, "the devices module stopped",
                            bus::schema::DeviceCallRequest::kTopic));
    calls_.clear();
  }

  void on_event(const bus::Envelope&, Context&) override { credentials_.clear(); }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    auto body = bus::from_body(request.body);
    if (!body) return reply.fail(body.error());
    namespace schema = bus::schema;
    const json& args = *body;
    if (request.topic == schema::JobRunRequest::kTopic)
      return run(args, request.header, ctx, std::move(reply));
    if (request.topic == schema::DeviceCallRequest::kTopic)
      return call(args, request.header, ctx, std::move(reply));
    if (request.topic == schema::WorkJoinRequest::kTopic)
      return join(args, request.header, std::move(reply));
    if (request.topic == schema::WorkCredentialsRequest::kTopic)
      return worker_credentials(args, request.header, ctx, std::move(reply));
    if (request.topic == schema::WorkersListRequest::kTopic) {
      if (!dispatcher_)
        return reply.fail(fail(Errc::Unsupported,
                               distribution_
                                   ? "the Redis credential is not resolved yet: " + redis_problem_
                                   : "no pools here: modules.devices.distribution is "
                                     "not configured"));
      return reply.ok_json(dispatcher_->status());
    }
    if (request.topic == schema::DeviceSessionOpenRequest::kTopic) {
      // Holding a session is acting on the device: only inside the caller's scope.
      auto open = schema::DeviceSessionOpenRequest::decode(args);
      if (!open) return reply.fail(open.error());
      const auto target = "name=" + open->device;
      return serve_in_scope(ctx, request, target, std::move(reply),
                            [this, open = std::move(*open)](const bus::Envelope&, Reply answer) {
                              auto held = open_session(open.holder, open.device, open.idle_timeout);
                              if (!held) return answer.fail(held.error());
                              answer.ok_json(*held);
                            });
    }
    Result<json> answer =
        request.topic == schema::DeviceCancelRequest::kTopic ? cancel_calls(args, request.header)
        : request.topic == schema::JobCancelRequest::kTopic  ? cancel_job(args, request.header)
                                                             : answer_query(request.topic, args);
    if (!answer) return reply.fail(answer.error());
    reply.ok_json(*answer);
  }

 private:
  Result<json> answer_query(const std::string& service, const json& body) {
    namespace schema = bus::schema;
    if (service == schema::DevicePlatformsRequest::kTopic) return platforms();
    if (service == schema::DeviceSessionCloseRequest::kTopic) {
      auto args = schema::DeviceSessionCloseRequest::decode(body);
      if (!args) return std::move(args).error();
      return json{{"released", runner_->sessions().release(args->holder, args->device)}};
    }
    if (service == schema::DeviceSessionsRequest::kTopic)
      return json{{"sessions", runner_->sessions().list()}};
    if (service == schema::DevicePathStatsRequest::kTopic) {
      auto args = schema::DevicePathStatsRequest::decode(body);
      if (!args) return std::move(args).error();
      auto summary = timing_.summary();
      if (args->clear) timing_.clear();
      return summary;
    }
    auto& store = runner_->job_store();
    if (service == schema::JobStatusRequest::kTopic) {
      auto args = schema::JobStatusRequest::decode(body);
      if (!args) return std::move(args).error();
      const auto& id = args->id;
      auto record = store.job(id);
      if (!record) return std::move(record).error();
      if (!*record) return fail(Errc::NotFound, "no job " + id + " (`nauto job list`)");
      auto status = **record;
      if (auto live = runner_->progress(id)) {
        status["counts"] = to_json(live->counts);
        status["rate_per_second"] = live->rate_per_second;
        status["eta_seconds"] = live->eta_seconds;
      }
      return status;
    }
    if (service == schema::JobListRequest::kTopic) {
      auto args = schema::JobListRequest::decode(body);
      if (!args) return std::move(args).error();
      if (args->limit < 1) return fail(Errc::InvalidArgument, "job.list: limit is at least 1");
      auto jobs = store.jobs(static_cast<std::size_t>(args->limit));
      if (!jobs) return std::move(jobs).error();
      for (auto& job : *jobs) {
        if (auto live = runner_->progress(job.value("id", "")))
          job["counts"] = to_json(live->counts);
      }
      return json{{"jobs", *jobs}};
    }
    if (service == schema::JobLogsRequest::kTopic) {
      auto args = schema::JobLogsRequest::decode(body);
      if (!args) return std::move(args).error();
      if (args->limit < 1) return fail(Errc::InvalidArgument, "job.logs: limit is at least 1");
      // A job with no results yet answers an empty list; an id that names no job, not_found.
      auto record = store.job(args->id);
      if (!record) return std::move(record).error();
      if (!*record) return fail(Errc::NotFound, "no job " + args->id + " (`nauto job list`)");
      auto results =
          store.results(args->id, args->device, args->after, static_cast<std::size_t>(args->limit));
      if (!results) return std::move(results).error();
      return json{{"results", *results}};
    }
    return fail(Errc::Unsupported, "unknown service " + service);
  }

  using Started = std::function<void(Result<std::string> id, std::size_t devices)>;

  // inventory.select -> vault.resolve -> runner.start, each step answered on this thread.
  void start_job(std::shared_ptr<JobSpec> spec, Context& ctx, Started started) {
    ctx.request(
        bus::schema::InventorySelectRequest::kTopic, bus::to_body(json{{"selector", spec->target}}),
        kLookupTimeoutMs, [this, &ctx, spec, started](Result<std::string> answer) {
          using Hosts = bus::schema::InventorySelectReply;
          auto hosts =
              answer ? bus::schema::decode_body<Hosts>(*answer) : Result<Hosts>(answer.error());
          if (!hosts) return started(hosts.error(), 0);
          const auto list = std::move(hosts->hosts);
          if (list.empty() && !spec->allow_empty) {
            return started(
                fail(Errc::NotFound, "selector '" + spec->target + "' matches no device"), 0);
          }
          if (!spec->scope.empty() && !list.empty())
            return check_scope(ctx, spec, std::move(list), started);
          admit(ctx, spec, list, started);
        });
  }

  // A caller limited to some devices (its roles' selector) gets a job only when every device
  // selected is among them.
  void check_scope(Context& ctx, std::shared_ptr<JobSpec> spec, json list, Started started) {
    const auto who = spec->principal.empty() ? spec->started_by : spec->principal;
    check_device_scope(ctx, who, spec->scope, spec->target,
                       [this, &ctx, spec, list = std::move(list), started](Result<void> inside) {
                         if (!inside) return started(inside.error(), 0);
                         admit(ctx, spec, list, started);
                       });
  }

  // Change windows, dangerous commands and the compliance gate, then credentials and start.
  void admit(Context& ctx, std::shared_ptr<JobSpec> spec, const json& list, Started started) {
    if (auto allowed = guard_.check_windows(*spec, list, std::chrono::system_clock::now());
        !allowed)
      return started(allowed.error(), 0);
    if (auto allowed = check_dangerous(*spec, list, *catalog_); !allowed)
      return started(allowed.error(), 0);
    if (spec->kind == JobKind::Push && !spec->dry_run) return ask_gate(ctx, spec, list, started);
    resolve_and_start(ctx, spec, list, started);
  }

  // The compliance gate (modules/compliance): a push that would make a gate policy's rule fail
  // on a device is refused unless it carries override_compliance. Without a compliance module
  // there is no gate; with one that cannot answer, only an override lets the push go.
  void ask_gate(Context& ctx, std::shared_ptr<JobSpec> spec, json list, Started started) {
    json devices = json::array();
    for (const auto& host : list)
      devices.push_back(host.value("name", ""));
    json body = {{"devices", std::move(devices)},
                 {"config", spec->config},
                 {"replace", spec->replace},
                 {"override", spec->override_compliance},
                 {"by", spec->started_by}};
    ctx.request(bus::schema::ComplianceGateRequest::kTopic, bus::to_body(body), kGateTimeoutMs,
                [this, &ctx, spec, list = std::move(list), started](Result<std::string> answer) {
                  auto decided = bus::from_reply(answer);
                  if (!decided && decided.error().code == Errc::Unavailable)
                    return resolve_and_start(ctx, spec, list, started);  // no gate here
                  if (!decided && spec->override_compliance.empty()) {
                    auto error = std::move(decided).error();
                    error.message =
                        "the compliance gate did not decide: " + error.message +
                        "; nothing was pushed (override_compliance with a reason pushes "
                        "anyway)";
                    return started(error, 0);
                  }
                  if (decided && !decided->value("allowed", false))
                    return started(fail(Errc::Rejected, decided->value("reason",
                                                                       "refused by the "
                                                                       "compliance gate")),
                                   0);
                  resolve_and_start(ctx, spec, list, started);
                });
  }

  // vault.resolve of the hosts' credentials (those not cached), then runner.start.
  void resolve_and_start(Context& ctx, std::shared_ptr<JobSpec> spec, const json& list,
                         Started started) {
    assign_pools(ctx, spec->target, list,
                 [this, &ctx, spec, list, started](std::map<std::string, std::string> pools) {
                   resolve_and_start(ctx, spec, list, std::move(pools), started);
                 });
  }

  // The pool of each host that has one: its own `pool:`, else the first rule of
  // distribution.pools whose selector matches it (one inventory.select per rule, within the
  // job's target). Hosts without one run here.
  void assign_pools(Context& ctx, const std::string& target, const json& list,
                    std::function<void(std::map<std::string, std::string>)> then) {
    std::map<std::string, std::string> pools;
    std::set<std::string> unassigned;
    for (const auto& host : list) {
      const auto name = host.value("name", "");
      if (auto pool = own_pool(host); !pool.empty())
        pools[name] = pool;
      else if (host_attribute(host, "pool") != "local")
        unassigned.insert(name);
    }
    if (!distribution_ || distribution_->pools.empty() || unassigned.empty())
      return then(std::move(pools));
    next_rule(ctx, target, 0, std::move(pools), std::move(unassigned), std::move(then));
  }

  void next_rule(Context& ctx, const std::string& target, std::size_t rule,
                 std::map<std::string, std::string> pools, std::set<std::string> unassigned,
                 std::function<void(std::map<std::string, std::string>)> then) {
    if (rule >= distribution_->pools.size() || unassigned.empty()) return then(std::move(pools));
    const auto& [pool, match] = distribution_->pools[rule];
    ctx.request(bus::schema::InventorySelectRequest::kTopic,
                bus::to_body(json{{"selector", "(" + target + ") and (" + match + ")"}}),
                kLookupTimeoutMs,
                [this, &ctx, target, rule, pool = pool, pools = std::move(pools),
                 unassigned = std::move(unassigned),
                 then = std::move(then)](Result<std::string> answer) mutable {
                  using Hosts = bus::schema::InventorySelectReply;
                  auto hosts = answer ? bus::schema::decode_body<Hosts>(*answer)
                                      : Result<Hosts>(answer.error());
                  if (!hosts) {
                    ctx.log().error("distribution.pools[{}] ({}): {}", rule, pool,
                                    hosts.error().describe());
                  } else {
                    for (const auto& host : hosts->hosts) {
                      const auto name = host.value("name", "");
                      if (unassigned.erase(name)) pools[name] = pool;
                    }
                  }
                  next_rule(ctx, target, rule + 1, std::move(pools), std::move(unassigned),
                            std::move(then));
                });
  }

  void resolve_and_start(Context& ctx, std::shared_ptr<JobSpec> spec, const json& list,
                         std::map<std::string, std::string> pools, Started started) {
    // Only the devices that run here need their secrets here; a worker asks for its own.
    std::set<std::string> names;
    for (const auto& host : list) {
      if (pools.count(host.value("name", ""))) continue;
      if (!host.value("credential", "").empty()) names.insert(host["credential"]);
    }
    auto start = [this, spec, started, list, pools = std::move(pools)](const json& credentials) {
      std::vector<JobDevice> devices;
      for (const auto& host : list) {
        const auto pool = pools.find(host.value("name", ""));
        auto target = target_of(host, pool == pools.end() ? credentials : json::object());
        if (!target) return started(target.error(), 0);
        JobDevice device{std::move(*target), {}, {}, {}};
        if (pool != pools.end()) {
          device.pool = pool->second;
          device.host = host;
        }
        for (const auto& limit : options_.limits) {
          device.limit_values.push_back(host_attribute(host, limit.key));
        }
        devices.push_back(std::move(device));
      }
      const auto count = devices.size();
      started(runner_->start(*spec, std::move(devices), json{{"selected", count}}), count);
    };
    std::set<std::string> missing;
    auto cached = credentials_.find(names, missing, steady_us());
    if (missing.empty()) return start(cached);
    ctx.request(bus::schema::VaultResolveRequest::kTopic,
                bus::to_body(json{{"names", missing}, {"purpose", "job for " + spec->started_by}}),
                kLookupTimeoutMs,
                [this, started, start, cached](Result<std::string> resolved) mutable {
                  using Resolved = bus::schema::VaultResolveReply;
                  auto answer = resolved ? bus::schema::decode_body<Resolved>(*resolved)
                                         : Result<Resolved>(resolved.error());
                  if (!answer) return started(answer.error(), 0);
                  credentials_.put(answer->credentials, steady_us());
                  cached.update(answer->credentials);
                  start(cached);
                });
  }

  // Who a job is for: the verified caller, and the devices it may act on.
  static void attribute_to_caller(JobSpec& spec, const bus::Header& header) {
    spec.principal = header.principal;
    spec.scope = header.scope;
    if (spec.started_by.empty())
      spec.started_by = header.principal.empty() ? header.source : header.principal;
  }

  void run(const json& args, const bus::Header& header, Context& ctx, Reply reply) {
    if (auto typed = bus::schema::JobRunRequest::decode(args); !typed)
      return reply.fail(typed.error());
    auto spec = parse_job_spec(args);  // the values: kinds, durations, ranges
    if (!spec) return reply.fail(spec.error());
    attribute_to_caller(*spec, header);
    auto shared_reply = std::make_shared<Reply>(std::move(reply));
    start_job(std::make_shared<JobSpec>(std::move(*spec)), ctx,
              [shared_reply](Result<std::string> id, std::size_t devices) {
                if (!id) return shared_reply->fail(id.error());
                shared_reply->ok_json(json{{"id", *id}, {"devices", devices}});
              });
  }

  // One device, answered when it is done: a one-device job, so it has the job engine's
  // limits, locks, retries and records.
  void call(json args, const bus::Header& header, Context& ctx, Reply reply) {
    const auto received_us = now_us();
    auto request = bus::schema::DeviceCallRequest::decode(args);
    if (!request) return reply.fail(request.error());
    const auto device = request->device;
    const auto run_id = request->run;
    if (device.empty()) return reply.fail(fail(Errc::InvalidArgument, "device.call: no device"));
    if (request->keep_session < 0 || request->keep_session > 86'400)
      return reply.fail(
          fail(Errc::InvalidArgument, "device.call: keep_session is seconds, 0 <= t <= 86400"));
    // A run's calls to one device share a session (one login per run, not per step): the run
    // holds the device until it ends (the engine's device.session.close) or goes quiet.
    if (request->keep_session > 0 && !run_id.empty())
      runner_->sessions().hold(device, run_id,
                               static_cast<std::int64_t>(request->keep_session * 1000));
    // The same fields as job.run's (parse_job_spec checks their values), for one device.
    args.erase("device");
    args.erase("run");
    args.erase("keep_session");
    args["target"] = "name=" + device;
    auto spec = parse_job_spec(args);
    if (!spec) return reply.fail(spec.error());
    attribute_to_caller(*spec, header);
    auto shared_reply = std::make_shared<Reply>(std::move(reply));
    start_job(std::make_shared<JobSpec>(std::move(*spec)), ctx,
              [this, shared_reply, run_id, device, received_us, principal = caller_of(header)](
                  Result<std::string> id, std::size_t) {
                if (!id) {
                  auto error = id.error();
                  if (error.code == Errc::NotFound)
                    error.message = "no device named '" + device + "' in the inventory";
                  return shared_reply->fail(error);
                }
                calls_.emplace(*id, Call{shared_reply, run_id, principal, received_us});
              });
  }

  // Answers the device.call waiting for job `id`, if any, from its outcome. The runner hands
  // over the outcome of every one-device job, skipped and cancelled ones included.
  void answer_call(const std::string& id, const DeviceOutcome& outcome) {
    const auto it = calls_.find(id);
    if (it == calls_.end()) return;
    auto reply = it->second.reply;
    const auto received_us = it->second.received_us;
    calls_.erase(it);
    if (outcome.status == DeviceStatus::Ok) {
      reply->ok_json(outcome.output);
    } else {
      const auto code = errc_from_name(outcome.error_code.empty() ? "bug" : outcome.error_code);
      reply->fail(fail(code, outcome.error.empty() ? std::string(device_status_name(outcome.status))
                                                   : outcome.error));
    }
    timing_.add(received_us, outcome.started_us, outcome.finished_us, now_us());
  }

  // Finished devices first, so a watcher has every device line before the job's end.
  // Device calls are answered as their outcomes arrive; progress is published every kProgressMs.
  // Holding a device keeps its session open between calls (nauto shell's :connect).
  Result<json> open_session(const std::string& holder, const std::string& device, double idle_s) {
    if (holder.empty() || device.empty())
      return fail(Errc::InvalidArgument, "device.session.open: holder and device are needed");
    if (!(idle_s > 0 && idle_s <= 86'400)) {
      return fail(Errc::InvalidArgument,
                  "device.session.open: idle_timeout is seconds, 0 < t <= 86400");
    }
    runner_->sessions().hold(device, holder, static_cast<std::int64_t>(idle_s * 1000));
    return json{{"device", device}, {"holder", holder}};
  }

  // A caller limited to some devices cancels only the jobs it started (check_own_work).
  Result<json> cancel_job(const json& body, const bus::Header& header) {
    auto args = bus::schema::JobCancelRequest::decode(body);
    if (!args) return std::move(args).error();
    if (!header.scope.empty()) {
      auto record = runner_->job_store().job(args->id);
      if (!record) return std::move(record).error();
      if (!*record) return fail(Errc::NotFound, "no job " + args->id + " (`nauto job list`)");
      const auto spec = (**record).value("spec", json::object());
      auto owner = spec.value("principal", "");
      if (owner.empty()) owner = spec.value("started_by", "");
      auto own = check_own_work(header, "cancel", {"job", args->id, owner},
                                bus::schema::JobCancelRequest::kTopic);
      if (!own) return std::move(own).error();
    }
    if (auto cancelled = runner_->cancel(args->id); !cancelled) return std::move(cancelled).error();
    return json{{"id", args->id}};
  }

  // The device calls of a run in flight; a caller limited to some devices cancels only its own
  // (a run's calls are the runbooks engine's: such a caller cancels its run with run.cancel).
  Result<json> cancel_calls(const json& body, const bus::Header& header) {
    auto args = bus::schema::DeviceCancelRequest::decode(body);
    if (!args) return std::move(args).error();
    for (const auto& [id, c] : calls_) {
      if (c.run != args->run) continue;
      auto own = check_own_work(header, "cancel", {"device call", id, c.principal},
                                bus::schema::DeviceCancelRequest::kTopic);
      if (!own) return std::move(own).error();
    }
    std::size_t cancelled = 0;
    for (const auto& [id, c] : calls_) {
      if (c.run == args->run && runner_->cancel(id)) ++cancelled;
    }
    return json{{"cancelled", cancelled}};
  }

  void publish_progress(Context& ctx) {
    runner_->sessions().expire();
    auto news = runner_->poll();
    // device.call is answered from the outcome in memory as soon as the driver is done.
    for (auto& [id, outcome] : news.outcomes)
      answer_call(id, outcome);
    for (const auto& device : news.devices) {
      (void)ctx.publish(bus::schema::JobDeviceEvent::kTopic, bus::to_body(to_json(device)));
    }
    if (news.devices_dropped) {
      ctx.log().warn("{} job.device announcements dropped (more than {} between polls)",
                     news.devices_dropped, JobRunner::kMaxAnnounced);
    }
    const auto now = steady_us();
    // A wake by the eventfd may come just after the timer's: progress stays 4 a second.
    const bool progress_due = now - last_progress_us_ >= kProgressMs * 1000 - 1000;
    if (progress_due) last_progress_us_ = now;
    for (const auto& progress : news.jobs) {
      const bool ended = progress.state != JobState::Running;
      // Outcomes come with or before their job's end; a call still waiting has none.
      if (ended) {
        if (auto waiting = calls_.find(progress.id); waiting != calls_.end()) {
          waiting->second.reply->fail(
              fail(Errc::Cancelled, "the device call was cancelled before it started"));
          calls_.erase(waiting);
        }
      }
      if (ended || progress_due) {
        (void)ctx.publish(
            ended ? bus::schema::JobFinishedEvent::kTopic : bus::schema::JobProgressEvent::kTopic,
            bus::to_body(to_json(progress)));
      }
    }
  }

  struct Call {
    std::shared_ptr<Reply> reply;
    std::string run;
    std::string principal;         // who called (caller_of), for device.cancel
    std::int64_t received_us = 0;  // wall clock, for PathTiming
  };
  static constexpr std::int64_t kProgressMs = 250;
  Context::TimerId news_watch_ = 0;
  std::map<std::string, Call> calls_;  // job id -> the device.call waiting for it
  PathTiming timing_;
  // A run's device calls share the vault's answer for a few seconds (emptied on any change).
  CredentialCache credentials_{kCredentialLifetimeMs * 1000};
  std::int64_t last_progress_us_ = 0;
  void sweep(Context& ctx) {
    auto swept =
        runner_->job_store().sweep(options_.retention, now_us(), runner_->oldest_running_job());
    if (!swept)
      ctx.log().error("job retention: {}", swept.error().describe());
    else if (*swept)
      ctx.log().info("job retention: {} job(s) and their results erased", *swept);
  }

  // --- remote pools (docs/workers.md) ------------------------------------------------------

  Result<void> start_distribution(Context& ctx) {
    auto settings = read_distribution(ctx.config().value("distribution", json()));
    if (!settings) return std::move(settings).error();
    distribution_ = std::move(*settings);
    if (!distribution_) return ok();
    auto key = SigningKey::open_or_create(distribution_->signing_key, "the work signing key");
    if (!key) return std::move(key).error();
    signing_key_ = std::make_unique<SigningKey>(std::move(*key));
    // The job runner hands remote items over on this thread; until Redis's credential is
    // resolved they wait here.
    runner_->set_remote(
        {[this](std::vector<WorkItem> items) {
           if (dispatcher_) return dispatcher_->send(std::move(items));
           early_items_.insert(early_items_.end(), std::make_move_iterator(items.begin()),
                               std::make_move_iterator(items.end()));
         },
         [this](const std::string& job, std::int64_t ttl_ms) {
           if (dispatcher_) return dispatcher_->cancel(job, ttl_ms);
           std::erase_if(early_items_, [&](const WorkItem& item) { return item.job == job; });
         }});
    resolve_redis(ctx);
    return ok();
  }

  // Redis's password from the vault (its username from the URL, else the vault entry's), then
  // the dispatcher; a vault that cannot answer is asked again every 10 s.
  void resolve_redis(Context& ctx) {
    if (distribution_->credential.empty()) return start_dispatcher(ctx, json::object());
    ctx.request(bus::schema::VaultResolveRequest::kTopic,
                bus::to_body(json{{"names", {distribution_->credential}},
                                  {"purpose", "Redis for remote pools"}}),
                kLookupTimeoutMs, [this, &ctx](Result<std::string> resolved) {
                  using Resolved = bus::schema::VaultResolveReply;
                  auto answer = resolved ? bus::schema::decode_body<Resolved>(*resolved)
                                         : Result<Resolved>(resolved.error());
                  if (!answer) {
                    redis_problem_ = answer.error().describe();
                    ctx.log().error("the Redis credential {}: {}; asking again in 10 s",
                                    distribution_->credential, redis_problem_);
                    ctx.after(std::chrono::seconds(10), [this, &ctx] { resolve_redis(ctx); });
                    return;
                  }
                  start_dispatcher(
                      ctx, answer->credentials.value(distribution_->credential, json::object()));
                });
  }

  void start_dispatcher(Context& ctx, const json& secret) {
    DispatcherSettings settings;
    settings.redis = distribution_->redis;
    if (settings.redis.username.empty()) settings.redis.username = secret.value("username", "");
    settings.redis.password = secret.value("password", "");
    redis_user_ = settings.redis.username;
    redis_password_ = settings.redis.password;
    dispatcher_ = std::make_unique<WorkDispatcher>(
        settings, *signing_key_, [this](std::vector<WorkResult> results) {
          const auto taken = runner_->take_remote(std::move(results));
          if (taken.dropped)
            logger("mod.devices")
                ->info(
                    "{} result(s) from workers dropped: duplicates, or their devices were "
                    "recorded already",
                    taken.dropped);
        });
    ctx.log().info("remote pools through {} ({} item(s) waited)", describe(settings.redis),
                   early_items_.size());
    if (!early_items_.empty()) dispatcher_->send(std::move(early_items_));
    early_items_.clear();
  }

  // work.join: a worker (role `worker`, its verified principal) gets what it needs to take its
  // pool's items. It may then ask for that pool's devices' credentials.
  void join(const json& args, const bus::Header& header, Reply reply) {
    auto request = bus::schema::WorkJoinRequest::decode(args);
    if (!request) return reply.fail(request.error());
    if (!distribution_)
      return reply.fail(fail(Errc::Unsupported,
                             "this nautod has no remote pools "
                             "(modules.devices.distribution)"));
    if (!dispatcher_)
      return reply.fail(fail(Errc::Unavailable,
                             "not ready: the Redis credential is not "
                             "resolved yet (" +
                                 redis_problem_ + ")"));
    if (header.principal.empty() || request->pool.empty() || request->pool == "local")
      return reply.fail(fail(Errc::InvalidArgument, "work.join: a pool, from a verified worker"));
    worker_pools_[header.principal] = request->pool;
    logger("mod.devices")
        ->info("worker {} ({}) joined pool {}", header.principal, request->host, request->pool);
    reply.ok_json(json{{"worker", header.principal},
                       {"redis", {{"username", redis_user_}, {"password", redis_password_}}},
                       {"control_key", signing_key_->public_key()},
                       {"result_key", worker_result_key(*signing_key_, header.principal)},
                       {"min_idle_ms", distribution_->min_idle_ms},
                       {"max_deliveries", distribution_->max_deliveries}});
  }

  // work.credentials: only for devices of the pool the worker joined, inside its scope.
  void worker_credentials(const json& args, const bus::Header& header, Context& ctx, Reply reply) {
    auto request = bus::schema::WorkCredentialsRequest::decode(args);
    if (!request) return reply.fail(request.error());
    const auto joined = worker_pools_.find(header.principal);
    if (joined == worker_pools_.end())
      return reply.fail(fail(Errc::PermissionDenied,
                             "'" + header.principal + "' has not joined a pool (work.join)"));
    if (request->devices.empty()) return reply.ok_json(json{{"credentials", json::object()}});
    std::string names;
    for (const auto& device : request->devices) {
      if (device.find_first_of(",()* ") != std::string::npos)
        return reply.fail(fail(Errc::InvalidArgument, "work.credentials: not a device name"));
      names += (names.empty() ? "" : ",") + device;
    }
    auto shared = std::make_shared<Reply>(std::move(reply));
    const auto pool = joined->second;
    auto answer = [this, &ctx, shared, pool, names, wanted = request->devices,
                   who = header.principal](const json& hosts) {
      assign_pools(
          ctx, names, hosts,
          [this, &ctx, shared, pool, wanted, who, hosts](std::map<std::string, std::string> pools) {
            std::set<std::string> credentials;
            for (const auto& device : wanted) {
              const auto found = pools.find(device);
              if (found == pools.end() || found->second != pool)
                return shared->fail(
                    fail(Errc::PermissionDenied, "device " + device + " is not in pool " + pool));
            }
            for (const auto& host : hosts)
              if (!host.value("credential", "").empty()) credentials.insert(host["credential"]);
            ctx.request(bus::schema::VaultResolveRequest::kTopic,
                        bus::to_body(json{{"names", credentials},
                                          {"purpose", "worker " + who + " (pool " + pool + ")"}}),
                        kLookupTimeoutMs, [shared](Result<std::string> resolved) {
                          auto secrets = bus::from_reply(resolved);
                          if (!secrets) return shared->fail(secrets.error());
                          shared->ok_json(
                              json{{"credentials", secrets->value("credentials", json::object())}});
                        });
          });
    };
    auto select = [this, &ctx, names, answer] {
      ctx.request(bus::schema::InventorySelectRequest::kTopic,
                  bus::to_body(json{{"selector", names}}), kLookupTimeoutMs,
                  [answer](Result<std::string> selected) {
                    using Hosts = bus::schema::InventorySelectReply;
                    auto hosts = selected ? bus::schema::decode_body<Hosts>(*selected)
                                          : Result<Hosts>(selected.error());
                    if (!hosts) return answer(json::array());
                    answer(hosts->hosts);
                  });
    };
    if (header.scope.empty()) return select();
    check_device_scope(ctx, header.principal, header.scope, names,
                       [shared, select](Result<void> inside) {
                         if (!inside) return shared->fail(inside.error());
                         select();
                       });
  }

  std::optional<DistributionSettings> distribution_;
  std::unique_ptr<SigningKey> signing_key_;
  std::unique_ptr<WorkDispatcher> dispatcher_;
  std::vector<WorkItem> early_items_;  // remote items from before the dispatcher started
  std::string redis_user_, redis_password_;
  std::string redis_problem_ = "asking the vault";
  std::map<std::string, std::string> worker_pools_;  // worker principal -> the pool it joined

  JobRunnerOptions options_;
  std::unique_ptr<drivers::PlatformCatalog> catalog_;
  ChangeGuard guard_;
  std::unique_ptr<JobRunner> runner_;
};

NAUTO_REGISTER_MODULE(DevicesModule, "devices");

}  // namespace nauto::mod::devices
