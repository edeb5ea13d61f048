// The rules module: event-triggered automation. Every bus event is offered to the rules
// (RuleEngine); a rule that fires starts a runbook (run.start, with the triggering event's id as
// the causal chain and the rule's approval gate), emits an event, or POSTs to a webhook
// (WebhookCaller, on a thread of its own; rule.action names the HTTP status).
// Services (fields: bus/schema/rules.yaml, docs/bus.md): rules.list, rules.validate,
// rules.test, rules.reload.
// Publishes rule.fired, rule.suppressed, rule.skipped, rule.budget_exhausted, rule.action,
// rule.action_failed, rule.reloaded, rule.reload_failed — each with `chain`.
// Rule files are re-read when they change (checked every reload_interval); a file with errors
// changes nothing and the errors are published and logged.

#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/body.h"
#include "nauto/bus/schema_types.h"
#include "nauto/sdk/config_reader.h"
#include "nauto/sdk/registry.h"
#include "nauto/store/store.h"
#include "rule_engine.h"
#include "rule_files.h"
#include "webhook_caller.h"

namespace nauto::rules {

using nlohmann::json;

namespace {

// Rule state (windows, cooldowns, loop guards, budgets) kept across restarts: RuleStateStore.
constexpr const char* kRulesStateTable = "rules_state";
constexpr const char* kRulesStateKey = "engine";
constexpr std::int64_t kStateSaveIntervalMs = 1000;

struct Settings {
  std::vector<std::string> files, dirs;
  std::int64_t reload_interval_ms = 2000;
  std::int64_t run_start_timeout_ms = 10'000;
  EngineSettings engine;
};

Result<CountWindow> read_count_window(ConfigReader& r, const std::string& key,
                                      CountWindow fallback) {
  auto section = r.section(key);
  if (section.is_null()) return fallback;
  ConfigReader inner(section, "modules.rules." + key);
  CountWindow out;
  out.count = static_cast<int>(inner.integer("count", fallback.count, 0, 1'000'000));
  out.window_ms = inner.duration_ms("window", fallback.window_ms, 1000);
  if (auto done = inner.finish(); !done) return std::move(done).error();
  return out;
}

Result<Settings> read_settings(const json& config) {
  Settings s;
  ConfigReader r(config, "modules.rules");
  s.files = r.strings("files");
  s.dirs = r.strings("dirs");
  s.reload_interval_ms = r.duration_ms("reload_interval", 2000, 100);
  s.run_start_timeout_ms = r.duration_ms("run_start_timeout", 10'000, 100);
  s.engine.settle_ms = r.duration_ms("settle", 30'000, 0);
  s.engine.guard_max_ms = r.duration_ms("guard_max", 3'600'000, 1000);
  auto rule_budget = read_count_window(r, "rule_budget", s.engine.rule_budget);
  auto device_budget = read_count_window(r, "device_budget", s.engine.device_budget);
  if (auto done = r.finish(); !done) return std::move(done).error();
  if (!rule_budget) return std::move(rule_budget).error();
  if (!device_budget) return std::move(device_budget).error();
  s.engine.rule_budget = *rule_budget;
  s.engine.device_budget = *device_budget;
  return s;
}

}  // namespace

class RulesModule final : public Module {
 public:
  Manifest manifest() const override {
    return Manifest::declared(
        "rules", "event rules: match, window, dedup, debounce, cooldown, budgets; start runbooks",
        {""}, {kRulesStateTable});
  }

  Result<void> validate(const json& config) const override {
    auto s = read_settings(config);
    if (!s) return std::move(s).error();
    RuleFiles files(s->files, s->dirs);
    auto rules = files.load();
    if (!rules) return std::move(rules).error();
    return ok();
  }

  Result<void> start(Context& ctx) override {
    auto s = read_settings(ctx.config());
    if (!s) return std::move(s).error();
    settings_ = std::move(*s);
    files_ = std::make_unique<RuleFiles>(settings_.files, settings_.dirs);
    auto rules = files_->load();
    if (!rules) return std::move(rules).error();
    RuleEngine::Hooks hooks;
    // The wall clock: cooldowns, windows and budgets are kept in the store across restarts.
    hooks.now_ms = [] { return now_us() / 1000; };
    hooks.after = [&ctx](std::int64_t delay_ms, std::function<void()> fn) {
      return ctx.after(std::chrono::milliseconds(delay_ms), std::move(fn));
    };
    hooks.cancel = [&ctx](std::uint64_t id) { ctx.cancel(id); };
    hooks.publish = [&ctx](const std::string& topic, json body) {
      if (auto sent = ctx.publish(topic, bus::to_body(body)); !sent)
        ctx.log().warn("{} not published: {}", topic, sent.error().message);
    };
    hooks.act = [this, &ctx](const Rule& rule, const json& event, const std::string& chain,
                             const std::string& device) { act(ctx, rule, event, chain, device); };
    hooks.fired = [this, &ctx] { save_state(ctx, true); };
    engine_ = std::make_unique<RuleEngine>(settings_.engine, std::move(hooks));
    ctx.log().info("{} rule(s) loaded", rules->size());
    engine_->replace_rules(std::move(*rules));
    restore_state(ctx);
    // Counting state (dedup, windows) is saved at most once a second; firings at once.
    ctx.every(std::chrono::milliseconds(kStateSaveIntervalMs), [this, &ctx] {
      if (engine_->dirty()) save_state(ctx, false);
    });
    caller_ = std::make_unique<WebhookCaller>();
    auto watched = ctx.watch(caller_->fd(), [this, &ctx] { webhook_outcomes(ctx); });
    if (!watched) return std::move(watched).error();
    caller_watch_ = *watched;
    ctx.every(std::chrono::milliseconds(settings_.reload_interval_ms), [this, &ctx] {
      if (files_->changed()) (void)reload(ctx);
    });
    return ok();
  }

  void stop(Context& ctx) noexcept override {
    if (caller_watch_) ctx.unwatch(caller_watch_);
    caller_.reset();
    if (engine_ && engine_->dirty()) save_state(ctx, true);
    engine_.reset();
  }

  void on_event(const bus::Envelope& event, Context&) override {
    const auto& topic = event.topic;
    // Our own decisions and the kernel's bookkeeping never trigger rules.
    if (topic.rfind("rule.", 0) == 0 || topic.rfind("kernel.", 0) == 0) return;
    ++events_;
    if (topic == bus::schema::RunFinishedEvent::kTopic) {
      auto finished = bus::schema::decode_body<bus::schema::RunFinishedEvent>(event.body);
      if (finished) engine_->run_finished(finished->id);
    }
    engine_->on_packed_event(topic, event.header.id, event.body);
  }

  void on_request(const bus::Envelope& request, Context& ctx, Reply reply) override {
    auto body = bus::from_body(request.body);
    if (!body) return reply.fail(body.error());
    auto answer = answer_request(request.topic, *body, ctx);
    if (!answer) return reply.fail(answer.error());
    reply.ok_json(*answer);
  }

 private:
  Result<json> answer_request(const std::string& service, const json& body, Context& ctx) {
    namespace schema = bus::schema;
    if (service == schema::RulesListRequest::kTopic) {
      json list = json::array();
      const auto stats = engine_->stats();
      for (const auto& rule : engine_->rules()) {
        auto summary = rule.summary();
        summary["counters"] =
            stats.contains(rule.name) ? stats[rule.name] : RuleCounters{}.to_json();
        list.push_back(std::move(summary));
      }
      return json{{"rules", list}, {"events", events_}, {"last_reload_error", last_reload_error_}};
    }
    if (service == schema::RulesValidateRequest::kTopic) {
      auto args = schema::RulesValidateRequest::decode(body);
      if (!args) return std::move(args).error();
      auto rules = parse_rules(args->text, args->file);
      if (!rules) return std::move(rules).error();
      json names = json::array();
      for (const auto& rule : *rules)
        names.push_back(rule.summary());
      return json{{"rules", names}};
    }
    if (service == schema::RulesTestRequest::kTopic) {
      auto args = schema::RulesTestRequest::decode(body);
      if (!args) return std::move(args).error();
      auto event = test_event(args->event);
      if (!event) return std::move(event).error();
      auto answer = engine_->test(args->rule, *event);
      if (answer.contains("error"))
        return Error{Errc::NotFound,
                     answer["error"].get<std::string>() + " (`nauto rules list` shows them)",
                     bus::schema::RulesTestRequest::kTopic};
      return answer;
    }
    if (service == schema::RulesReloadRequest::kTopic) {
      if (auto reloaded = reload(ctx); !reloaded) return std::move(reloaded).error();
      return json{{"rules", engine_->rules().size()}};
    }
    return Error{Errc::Unsupported, "unknown service " + service, "rules"};
  }

  // The engine's state is one value in the store (RuleEngine::snapshot). Out of process there
  // is no store: the state then lives as long as the process, as it did before.
  void restore_state(Context& ctx) {
    if (!ctx.store()) return;
    auto saved = ctx.store()->get(kRulesStateTable, kRulesStateKey);
    if (!saved || !*saved) {
      if (!saved) ctx.log().error("rules state not read: {}", saved.error().message);
      return;
    }
    auto document = bus::from_body(**saved);
    auto restored = document ? engine_->restore(*document) : Result<void>(document.error());
    if (!restored)
      ctx.log().error("rules state dropped, starting empty: {}", restored.error().message);
    else
      ctx.log().info("rules state restored (windows, cooldowns, guards, budgets)");
  }

  void save_state(Context& ctx, bool durable_now) {
    if (!ctx.store()) return;
    store::WriteBatch batch;
    batch.put(kRulesStateTable, kRulesStateKey, bus::to_body(engine_->snapshot()));
    if (durable_now) {
      if (auto written = ctx.store()->write_and_wait(std::move(batch)); !written)
        ctx.log().error("rules state not saved: {}", written.error().message);
      return;
    }
    // The callback runs on the store's writer thread: it only logs.
    ctx.store()->write(std::move(batch), [log = logger("mod." + ctx.name())](Result<void> written) {
      if (!written) log->error("rules state not saved: {}", written.error().message);
    });
  }

  // rules.test's event, {topic, body, id}: checked here because the schema types only the
  // request's own fields.
  static Result<json> test_event(const json& event) {
    json out = {{"topic", ""}, {"id", "test"}, {"body", json::object()}};
    for (const auto& [key, value] : event.items()) {
      const bool fits = key == "body" ? value.is_object() : value.is_string();
      if ((key != "topic" && key != "id" && key != "body") || !fits)
        return fail(Errc::InvalidArgument,
                    "rules.test: field 'event." + key +
                        "' is not part of an event {topic: string, body: object, id: string}",
                    "rules");
      out[key] = value;
    }
    return out;
  }

  Result<void> reload(Context& ctx) {
    auto rules = files_->load();
    if (!rules) {
      last_reload_error_ = rules.error().message;
      ctx.log().error("rules not reloaded, the old ones stay: {}", rules.error().message);
      (void)ctx.publish(bus::schema::RuleReloadFailedEvent::kTopic,
                        bus::to_body(json{{"error", rules.error().message}}));
      return std::move(rules).error();
    }
    last_reload_error_.clear();
    const auto count = rules->size();
    engine_->replace_rules(std::move(*rules));
    ctx.log().info("rules reloaded: {} rule(s)", count);
    (void)ctx.publish(bus::schema::RuleReloadedEvent::kTopic, bus::to_body(json{{"rules", count}}));
    return ok();
  }

  void act(Context& ctx, const Rule& rule, const json& event, const std::string& chain,
           const std::string& device) {
    const auto name = rule.name;
    auto payload = action_payload(rule.action, event);
    if (!payload) return engine_->action_failed(name, chain, device, payload.error().message);
    if (rule.action.kind == RuleAction::Kind::Emit) {
      json out = {{"rule", name}, {"chain", chain}, {"device", device}, {"body", *payload}};
      if (auto sent = ctx.publish(rule.action.topic, bus::to_body(out)); !sent)
        return engine_->action_failed(name, chain, device, sent.error().message);
      engine_->action_started(name, chain, "");
      return;
    }
    if (rule.action.kind == RuleAction::Kind::Notify) {
      json message = *payload;
      message["source"] = "rule " + name + (device.empty() ? "" : " (" + device + ")");
      ctx.request(bus::schema::NotifySendRequest::kTopic, bus::to_body(message),
                  settings_.run_start_timeout_ms,
                  [this, &ctx, name, chain, device](Result<std::string> reply) {
                    if (!engine_) return;
                    auto body = bus::from_reply(reply);
                    if (!body) {
                      ctx.log().warn("rule {}: the notification was not sent: {}", name,
                                     body.error().describe());
                      return engine_->action_failed(name, chain, device, body.error().describe());
                    }
                    engine_->action_started(name, chain, "");
                  });
      return;
    }
    if (rule.action.kind == RuleAction::Kind::Webhook) {
      WebhookCall call{name,
                       chain,
                       device,
                       rule.action.url,
                       payload->dump(-1, ' ', false, json::error_handler_t::replace),
                       "",
                       rule.action.timeout_ms};
      if (rule.action.credential.empty()) return call_webhook(std::move(call));
      // The signing secret is read for each call: a rotated secret applies at once, and each
      // read is audited by the vault.
      ctx.request(
          bus::schema::VaultResolveRequest::kTopic,
          bus::to_body({{"names", {rule.action.credential}},
                        {"purpose", "rule " + name + " webhook signature"}}),
          5000,
          [this, call = std::move(call),
           credential = rule.action.credential](Result<std::string> reply) mutable {
            if (!engine_) return;
            auto body = bus::from_reply(reply);
            if (!body)
              return engine_->action_failed(
                  call.rule, call.chain, call.device,
                  "webhook secret '" + credential + "' not read: " + body.error().message);
            call.secret =
                (*body)["credentials"].value(credential, json::object()).value("password", "");
            if (call.secret.empty())
              return engine_->action_failed(
                  call.rule, call.chain, call.device,
                  "vault credential '" + credential + "' has no password to sign with");
            call_webhook(std::move(call));
          });
      return;
    }
    json start = {{"runbook", rule.action.runbook},
                  {"params", *payload},
                  {"dry_run", rule.action.dry_run},
                  {"started_by", "rule " + name},
                  {"chain", chain}};
    if (rule.approval.is_object()) {
      json approval = rule.approval;
      if (!approval.contains("message")) {
        approval["message"] = "rule " + name + " wants to run " + rule.action.runbook +
                              (device.empty() ? "" : " on " + device) + " (" +
                              event.value("topic", "") + ")";
      }
      start["approval"] = approval;
    }
    ctx.request(
        bus::schema::RunStartRequest::kTopic, bus::to_body(start), settings_.run_start_timeout_ms,
        [this, &ctx, name, chain, device](Result<std::string> reply) {
          if (!engine_) return;
          auto body = bus::from_reply(reply);
          if (!body) {
            ctx.log().warn("rule {}: the runbook did not start: {}", name, body.error().describe());
            return engine_->action_failed(name, chain, device, body.error().describe());
          }
          const auto run = body->value("id", "");
          engine_->action_started(name, chain, run);
          (void)ctx.publish(
              bus::schema::RuleActionEvent::kTopic,
              bus::to_body(
                  json{{"rule", name}, {"chain", chain}, {"device", device}, {"run", run}}));
        });
  }

  void call_webhook(WebhookCall call) {
    const auto rule = call.rule, chain = call.chain, device = call.device;
    if (!caller_->submit(std::move(call)))
      engine_->action_failed(rule, chain, device,
                             "too many webhook calls waiting (256); this one is dropped");
  }

  void webhook_outcomes(Context& ctx) {
    for (auto& outcome : caller_->take()) {
      const auto& call = outcome.call;
      if (!engine_) return;
      if (!outcome.error.empty()) {
        ctx.log().warn("rule {}: webhook {} failed after {} attempt(s): {}", call.rule,
                       url_origin(call.url), outcome.attempts, outcome.error);
        engine_->action_failed(call.rule, call.chain, call.device, outcome.error);
        continue;
      }
      engine_->action_started(call.rule, call.chain, "");
      (void)ctx.publish(bus::schema::RuleActionEvent::kTopic,
                        bus::to_body(json{{"rule", call.rule},
                                          {"chain", call.chain},
                                          {"device", call.device},
                                          {"webhook", url_origin(call.url)},
                                          {"status", outcome.status},
                                          {"attempts", outcome.attempts}}));
    }
  }

  Settings settings_;
  std::unique_ptr<WebhookCaller> caller_;
  Context::TimerId caller_watch_ = 0;
  std::unique_ptr<RuleFiles> files_;
  std::unique_ptr<RuleEngine> engine_;
  std::string last_reload_error_;
  std::uint64_t events_ = 0;  // events offered to the rules (rule.* and kernel.* not counted)
};

NAUTO_REGISTER_MODULE(RulesModule, "rules");

}  // namespace nauto::rules
