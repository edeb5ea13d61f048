// The runbooks module: the kernel's runbook engine on the bus.
//   run.start        {runbook | source + name + language, params, dry_run, started_by, chain,
//                     approval: {message, approvers, timeout}} -> {id}
//   run.status       {id}          -> the run record, with live details while it runs
//   run.list         {limit, all}  -> {runs: [...]} newest first (all: with sub-runbook runs)
//   run.steps        {id}          -> {steps: [...]} effects, named steps and log lines in order
//   run.cancel       {id}
//   run.approve      {id, key, approve, by, comment}   id may be an approval id "<run>/<key>"
//   run.approvals    {}            -> {approvals: [...]} every pending approval, oldest first
//   runbook.list     {}            -> {runbooks: [{name, description, language, path, params}]}
//   runbook.show     {name}        -> {name, ..., text}
//   runbook.validate {runbook | source + name + language} -> {name, description, params}
// Publishes run.started, run.resumed, run.step, run.log, run.approval, run.approval.decided and
// run.finished (each with the run's `chain` when it has one).
// The engine lives in kernel/runbook (docs/adr/0007-runbook-engine-as-a-kernel-module.md).

#include <algorithm>

#include "nauto/base/clock.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/runbook/lua_textfsm.h"
#include "nauto/runbook/run_engine.h"
#include "nauto/sdk/caller.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/device_scope.h"
#include "nauto/sdk/module.h"
#include "nauto/sdk/registry.h"

namespace nauto::runbook {

using nlohmann::json;

namespace {

Result<EngineOptions> read_options(const json& config, std::vector<std::string>& dirs) {
  EngineOptions options;
  ConfigReader r(config, "modules.runbooks");
  dirs = r.strings("dirs");
  if (!config.is_object() || !config.contains("dirs"))
    dirs = {"/etc/nauto/runbooks", "/usr/share/nauto/runbooks"};
  options.run_timeout_ms = r.duration_ms("run_timeout", 3'600'000, 100);
  options.device_timeout_ms = r.duration_ms("device_timeout", 300'000, 100);
  options.keep_sessions_ms = r.duration_ms("keep_sessions", 60'000, 0);
  options.limits.max_memory_bytes = r.size_bytes("memory_limit", 64u << 20, 1u << 20);
  options.limits.instruction_budget = static_cast<std::uint64_t>(
      r.integer("instruction_limit", 200'000'000, 10'000, 1'000'000'000'000LL));
  options.textfsm_templates = r.string("textfsm_templates", "");
  options.allow_self_approval = r.boolean("allow_self_approval", false);
  options.approval_timeout_ms = r.duration_ms("approval_timeout", 3'600'000, 1000);
  if (auto vars = r.section("vars"); vars.is_object()) options.vars = std::move(vars);
  // Kept longer than any run can last (its deadline), so a sweep never takes a live run.
  options.retention.max_age_us =
      r.duration_ms(
          "keep_runs_for", 30ll * 24 * 3'600'000,
          std::max<std::int64_t>(options.run_timeout_ms, options.max_approval_timeout_ms) +
              3'600'000) *
      1000;
  options.retention.max_runs =
      static_cast<std::uint64_t>(r.integer("keep_runs", 100'000, 100, 100'000'000));
  options.retention.max_step_bytes =
      static_cast<std::uint64_t>(r.size_bytes("keep_run_bytes", 1ull << 30, 1u << 20));
  if (auto ai = r.section("ai"); ai.is_object()) {
    ConfigReader a(ai, "modules.runbooks.ai");
    options.ai.url = a.string("url", "");
    options.ai.model = a.string("model", "");
    options.ai.credential = a.string("credential", "");
    options.ai.timeout_ms = a.duration_ms("timeout", 120'000, 1000);
    options.ai.max_tokens = static_cast<int>(a.integer("max_tokens", 1024, 1, 100'000));
    if (auto done = a.finish(); !done) return std::move(done).error();
    if (options.ai.url.rfind("http://", 0) != 0 && options.ai.url.rfind("https://", 0) != 0) {
      return fail(Errc::InvalidConfig,
                  "modules.runbooks.ai.url: expected the endpoint's http(s):// URL "
                  "(…/v1/chat/completions)");
    }
  }
  if (auto done = r.finish(); !done) return std::move(done).error();
  return options;
}

// A configured template directory must open (its index parse) before the module starts, so a
// typo shows at `nautod --check-config`, not in the first runbook that parses.
Result<void> open_templates(const EngineOptions& options, bool install) {
  if (options.textfsm_templates.empty()) return ok();
  auto library = textfsm::TemplateLibrary::open(options.textfsm_templates);
  if (!library) {
    auto error = std::move(library).error();
    error.message = "modules.runbooks.textfsm_templates: " + error.message;
    return error;
  }
  if (install) set_textfsm_templates(std::move(*library));
  return ok();
}

class ContextPort final : public BusPort {
 public:
  explicit ContextPort(Context& ctx) : ctx_(ctx) {}
  void request(const std::string& service, const json& body, std::int64_t timeout_ms,
               ReplyFn on_reply) override {
    request_for("", service, body, timeout_ms, std::move(on_reply));
  }
  void request_for(const std::string& scope, const std::string& service, const json& body,
                   std::int64_t timeout_ms, ReplyFn on_reply) override {
    ctx_.request_for(scope, service, bus::to_body(body), timeout_ms,
                     [on_reply = std::move(on_reply)](Result<std::string> reply) {
                       on_reply(reply ? bus::from_body(*reply) : Result<json>(reply.error()));
                     });
  }
  void publish(const std::string& topic, const json& body) override {
    if (auto sent = ctx_.publish(topic, bus::to_body(body)); !sent)
      ctx_.log().warn("{} not published: {}", topic, sent.error().describe());
  }
  std::uint64_t after(std::int64_t delay_ms, std::function<void()> fn) override {
    return ctx_.after(std::chrono::milliseconds(std::max<std::int64_t>(0, delay_ms)),
                      std::move(fn));
  }
  void cancel_timer(std::uint64_t id) override {
    if (id) ctx_.cancel(id);
  }
  std::uint64_t watch(int fd, std::function<void()> on_readable) override {
    auto watched = ctx_.watch(fd, std::move(on_readable));
    if (!watched) ctx_.log().error("cannot watch fd {}: {}", fd, watched.error().describe());
    return watched ? *watched : 0;
  }
  void unwatch(std::uint64_t id) override {
    if (id) ctx_.unwatch(id);
  }

 private:
  Context& ctx_;
};

// run.start and runbook.validate have the same fields (bus/schema/runbooks.yaml).
template <typename Fields>
StartRequest start_request(const Fields& args, const std::string& who) {
  StartRequest request;
  request.runbook = args.runbook.empty() ? args.name : args.runbook;
  request.source = args.source;
  request.language = args.language;
  request.params = args.params;
  request.dry_run = args.dry_run;
  request.started_by = args.started_by.empty() ? who : args.started_by;
  request.principal = who;
  request.chain = args.chain;
  if (!args.approval.empty()) request.approval = args.approval;
  return request;
}

}  // namespace

class RunbooksModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared("runbooks",
                              "the runbook engine: Lua and YAML runbooks, durable runs, approvals",
                              {bus::schema::KernelModuleStartedEvent::kTopic},
                              {kRunsTable, kRunStepsTable, kRunbookStateTable});
  }

  Result<void> validate(const json& config) const override {
    std::vector<std::string> dirs;
    auto options = read_options(config, dirs);
    if (!options) return std::move(options).error();
    return open_templates(*options, false);
  }

  Result<void> start(Context& ctx) override {
    std::vector<std::string> dirs;
    auto options = read_options(ctx.config(), dirs);
    if (!options) return std::move(options).error();
    if (!ctx.store()) {
      return fail(Errc::Unsupported, "the runbook engine needs the kernel's store; run in-process",
                  "modules.runbooks");
    }
    if (auto opened = open_templates(*options, true); !opened) return opened;
    port_ = std::make_unique<ContextPort>(ctx);
    engine_ = std::make_unique<RunEngine>(*options, *ctx.store(), RunbookCatalog(dirs), *port_);
    retention_ = options->retention;
    ai_ = options->ai;
    vars_ = options->vars;
    resumed_ = false;
    resume_when_ready(ctx);
    // A module that runs call and that keeps failing does not hold the runs back for ever:
    // they resume anyway, and their calls fail with that module's error.
    ctx.after(std::chrono::seconds(30), [this, &ctx] {
      if (!resumed_) {
        ctx.log().warn("resuming runs before every module they call is up");
        resume(ctx);
      }
    });
    return ok();
  }

  void on_event(const bus::Envelope& event, Context& ctx) override {
    if (event.topic == bus::schema::KernelModuleStartedEvent::kTopic) resume_when_ready(ctx);
  }

  // Unfinished runs resume once every configured module that serves what runs call
  // (device.call, inventory.select...) is running and registered with the router: asked of the
  // kernel at start and again whenever a module starts, rather than after a guessed delay.
  void resume_when_ready(Context& ctx) {
    if (resumed_) return;
    ctx.request(bus::schema::KernelModulesRequest::kTopic, bus::to_body(json::object()), 2000,
                [this, &ctx](Result<std::string> reply) {
                  if (resumed_) return;
                  auto modules = reply ? bus::from_body(*reply) : Result<json>(reply.error());
                  if (!modules) {
                    ctx.log().warn("kernel.modules: {}", modules.error().describe());
                    return;  // the next module start, or the 30 s bound, tries again
                  }
                  if (callees_ready(modules->value("modules", json::array()))) return resume(ctx);
                  // kernel.module.started comes when a module's thread starts, before it has
                  // registered its services with the router, and no event says when it has:
                  // the last module to start is looked at again shortly (at start-up only;
                  // the 30 s bound still holds).
                  if (recheck_pending_) return;
                  recheck_pending_ = true;
                  ctx.after(std::chrono::milliseconds(200), [this, &ctx] {
                    recheck_pending_ = false;
                    resume_when_ready(ctx);
                  });
                });
  }

  static bool callees_ready(const json& modules) {
    const auto calls = bus::schema::module_interface("runbooks").calls;
    for (const auto& row : modules) {
      // The kernel is up: it answered. (runbooks calls it only for this question.)
      if (!row.is_object() || row.value("name", "") == "kernel") continue;
      const auto serves = bus::schema::module_interface(row.value("name", "")).serves;
      const bool callee = std::any_of(serves.begin(), serves.end(), [&](const std::string& s) {
        return std::find(calls.begin(), calls.end(), s) != calls.end();
      });
      if (!callee) continue;
      const auto registered = row.value("serves", json::array());
      if (row.value("state", "") != "running" || !registered.is_array() || registered.empty())
        return false;
    }
    return true;
  }

  void resume(Context& ctx) {
    resumed_ = true;
    auto resumed = engine_->resume_unfinished();
    if (!resumed)
      ctx.log().error("resuming unfinished runs: {}", resumed.error().describe());
    else if (*resumed)
      ctx.log().warn("{} unfinished run(s) resumed from the journal", *resumed);
    // Retention once the unfinished runs are live again (a sweep never reaches the oldest
    // live run), then daily (docs/runbooks.md, "Limits and retention").
    sweep(ctx);
    ctx.every(std::chrono::hours(24), [this, &ctx] { sweep(ctx); });
  }

  void sweep(Context& ctx) {
    auto swept = engine_->journal().sweep(retention_, now_us(), engine_->oldest_active_run());
    if (!swept)
      ctx.log().error("run retention: {}", swept.error().describe());
    else if (*swept)
      ctx.log().info("run retention: {} run(s) and their steps erased", *swept);
  }

  void stop(Context&) noexcept override {
    if (engine_) engine_->stopping();
    engine_.reset();
    port_.reset();
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    auto body = bus::from_body(request.body);
    if (!body) return reply.fail(body.error());
    const auto& service = request.topic;
    // The shell runs runbooks in the client (ADR 0011): it asks for the site variables and
    // for AI analyses through the provider configured here.
    if (service == bus::schema::RunbookVarsRequest::kTopic) return reply.ok_json({{"vars", vars_}});
    if (service == bus::schema::RunbookAiAnalyzeRequest::kTopic) {
      auto args = bus::schema::RunbookAiAnalyzeRequest::decode(*body);
      if (!args) return reply.fail(args.error());
      auto ask = ai_analyze_body(ai_, *body);
      if (!ask) {
        if (args->optional) return reply.ok_json(ai_skipped(ask.error().message));
        return reply.fail(ask.error());
      }
      auto shared = std::make_shared<Reply>(std::move(reply));
      ctx.request(bus::schema::AiAnalyzeRequest::kTopic, bus::to_body(*ask), 30 * 60'000,
                  [shared](Result<std::string> answer) {
                    auto out = bus::from_reply(answer);
                    if (!out) return shared->fail(out.error());
                    shared->ok_json(*out);
                  });
      return;
    }
    if (service == bus::schema::RunStartRequest::kTopic) {
      auto args = bus::schema::RunStartRequest::decode(*body);
      if (!args) return reply.fail(args.error());
      auto shared = std::make_shared<Reply>(std::move(reply));
      auto start = start_request(*args, caller_of(request.header));
      start.scope = request.header.scope;
      engine_->start(std::move(start), [shared](Result<json> started) {
        if (!started) return shared->fail(started.error());
        shared->ok_json(*started);
      });
      return;
    }
    auto answer = answer_query(service, *body, request.header);
    if (!answer) return reply.fail(answer.error());
    reply.ok_json(*answer);
  }

 private:
  // The header's comma-separated roles.
  static std::vector<std::string> split_roles(const std::string& text) {
    std::vector<std::string> roles;
    for (std::size_t start = 0; start < text.size();) {
      const auto comma = std::min(text.find(',', start), text.size());
      if (comma > start) roles.push_back(text.substr(start, comma - start));
      start = comma + 1;
    }
    return roles;
  }

  // Who decides (approves, cancels): the caller itself. A module may name the person it acts
  // for in `by` (a dashboard, later); anyone else naming someone else is refused, so an
  // approver list cannot be met by typing a name.
  static Result<std::string> decider(const std::string& caller, const std::string& by,
                                     const std::string& service) {
    if (by.empty() || by == caller) return caller;
    if (caller.rfind("module:", 0) == 0) return by;
    return fail(Errc::PermissionDenied,
                "'" + caller + "' may not decide as '" + by +
                    "': decisions are taken as the caller's own principal (nauto whoami)",
                service);
  }

  Result<json> answer_query(const std::string& service, const json& body,
                            const bus::Header& header) {
    const auto who = caller_of(header);
    namespace schema = bus::schema;
    if (service == schema::RunStatusRequest::kTopic) {
      auto args = schema::RunStatusRequest::decode(body);
      if (!args) return std::move(args).error();
      return engine_->status(args->id);
    }
    if (service == schema::RunListRequest::kTopic) {
      auto args = schema::RunListRequest::decode(body);
      if (!args) return std::move(args).error();
      if (args->limit < 1) return fail(Errc::InvalidArgument, "run.list: limit is at least 1");
      auto runs = engine_->journal().runs(static_cast<std::size_t>(args->limit), args->all);
      if (!runs) return std::move(runs).error();
      for (auto& run : *runs) {
        run.erase("source");
      }
      return json{{"runs", *runs}};
    }
    if (service == schema::RunStepsRequest::kTopic) {
      auto args = schema::RunStepsRequest::decode(body);
      if (!args) return std::move(args).error();
      // A run with no steps yet answers an empty list; an id that names no run, not_found.
      if (auto record = engine_->status(args->id); !record) return std::move(record).error();
      auto entries = engine_->journal().entries(args->id);
      if (!entries) return std::move(entries).error();
      json steps = json::array();
      for (auto& [key, entry] : *entries) {
        entry["key"] = key;
        steps.push_back(std::move(entry));
      }
      // In time order: effects by start, notes by their time.
      std::stable_sort(steps.begin(), steps.end(), [](const json& a, const json& b) {
        return a.value("started_us", a.value("time_us", 0LL)) <
               b.value("started_us", b.value("time_us", 0LL));
      });
      return json{{"steps", steps}};
    }
    if (service == schema::RunCancelRequest::kTopic) {
      auto args = schema::RunCancelRequest::decode(body);
      if (!args) return std::move(args).error();
      auto by = decider(who, args->by, service);
      if (!by) return std::move(by).error();
      if (!header.scope.empty()) {
        auto run = engine_->status(args->id);
        if (!run) return std::move(run).error();
        auto own = check_own_work(header, "cancel", {"run", args->id, run->value("principal", "")},
                                  service);
        if (!own) return std::move(own).error();
      }
      if (auto cancelled = engine_->cancel(args->id, *by); !cancelled)
        return std::move(cancelled).error();
      return json{{"id", args->id}};
    }
    if (service == schema::RunApprovalsRequest::kTopic)
      return json{{"approvals", engine_->pending_approvals()}};
    if (service == schema::RunApproveRequest::kTopic) {
      auto args = schema::RunApproveRequest::decode(body);
      if (!args) return std::move(args).error();
      const auto& id = args->id;
      std::string run = id, key = args->key;
      if (const auto slash = id.find('/'); slash != std::string::npos) {
        run = id.substr(0, slash);
        key = id.substr(slash + 1);
      }
      auto by = decider(who, args->by, service);
      if (!by) return std::move(by).error();
      // The caller's roles count for "role:" approvers only when it decides as itself.
      const auto roles = *by == who ? split_roles(header.roles) : std::vector<std::string>{};
      if (auto decided = engine_->decide(run, key, args->approve, *by, roles, args->comment);
          !decided) {
        return std::move(decided).error();
      }
      return json{{"id", id}};
    }
    if (service == schema::RunbookListRequest::kTopic) {
      json list = json::array();
      for (const auto& file : engine_->catalog().list()) {
        StartRequest request;
        request.runbook = file.name;
        json entry = {{"name", file.name}, {"language", file.language}, {"path", file.path}};
        auto described = engine_->validate(request);
        if (described) {
          entry["description"] = (*described)["description"];
          entry["params"] = (*described)["params"];
        } else {
          entry["error"] = described.error().describe();
        }
        list.push_back(std::move(entry));
      }
      return json{{"runbooks", list}, {"dirs", engine_->catalog().directories()}};
    }
    if (service == schema::RunbookShowRequest::kTopic) {
      auto args = schema::RunbookShowRequest::decode(body);
      if (!args) return std::move(args).error();
      auto file = engine_->catalog().find(args->name);
      if (!file) return std::move(file).error();
      auto text = read_text_file(file->path);
      if (!text) return std::move(text).error();
      StartRequest request;
      request.runbook = file->name;
      json out = {{"name", file->name}, {"path", file->path}, {"text", *text}};
      auto described = engine_->validate(request);
      if (described)
        out.update(*described);
      else
        out["error"] = described.error().describe();
      return out;
    }
    if (service == schema::RunbookValidateRequest::kTopic) {
      auto args = schema::RunbookValidateRequest::decode(body);
      if (!args) return std::move(args).error();
      return engine_->validate(start_request(*args, who));
    }
    // A runbook's `store` from outside a run (the shell): the same table runs use.
    if (service == schema::RunbookStatePutRequest::kTopic) {
      auto args = schema::RunbookStatePutRequest::decode(body);
      if (!args) return std::move(args).error();
      if (args->runbook.empty() || args->key.empty())
        return fail(Errc::InvalidArgument, service + ": runbook and key must not be empty");
      auto put = engine_->journal().put_state(args->runbook, args->key, args->value);
      if (!put) return std::move(put).error();
      return json::object();
    }
    if (service == schema::RunbookStateGetRequest::kTopic) {
      auto args = schema::RunbookStateGetRequest::decode(body);
      if (!args) return std::move(args).error();
      if (args->runbook.empty() || args->key.empty())
        return fail(Errc::InvalidArgument, service + ": runbook and key must not be empty");
      auto value = engine_->journal().state(args->runbook, args->key);
      if (!value) return std::move(value).error();
      return json{{"value", value->value_or(json())}};
    }
    return fail(Errc::Unsupported, "unknown service " + service);
  }

  std::unique_ptr<ContextPort> port_;
  std::unique_ptr<RunEngine> engine_;
  RunRetention retention_;
  bool recheck_pending_ = false;  // a start-up re-check of the callees is scheduled
  AiProvider ai_;                 // for runbook.ai_analyze (the shell's runs)
  json vars_ = json::object();    // for runbook.vars
  bool resumed_ = false;          // unfinished runs resumed (once per start)
};

NAUTO_REGISTER_MODULE(RunbooksModule, "runbooks");

}  // namespace nauto::runbook
