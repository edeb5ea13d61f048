#include "nauto/runbook/run_engine.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <stdexcept>

#include "nauto/base/clock.h"
#include "nauto/base/log.h"
#include "nauto/bus/schema_types.h"
#include "nauto/runbook/params.h"
#include "nauto/runbook/runbook_loader.h"
#include "nauto/sdk/url_parts.h"

namespace nauto::runbook {

using nlohmann::json;

bool reserved_topic(const std::string& topic) {
  for (const char* prefix : {"kernel.", "bus.", "run.", "job.", "audit."}) {
    if (topic.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

namespace {

std::string summary_of(const Effect& effect) {
  const auto& a = effect.args;
  if (effect.kind == "device") {
    const auto device = a.value("device", "?");
    const auto op = a.value("kind", "?");
    if (op == "commands") {
      std::string commands;
      for (const auto& c : a.value("commands", json::array()))
        commands += (commands.empty() ? "" : "; ") + c.get<std::string>();
      return device + ": " + commands;
    }
    if (op == "push") {
      if (a.value("dry_run", false)) return device + ": push (dry run)";
      return device + (a.contains("commit_confirm") && !a["commit_confirm"].is_null()
                           ? ": push (commit-confirm)"
                           : ": push");
    }
    return device + ": " + op;
  }
  if (effect.kind == "select") return "select " + a.value("selector", "");
  if (effect.kind == "wait") return "wait " + json(a.value("seconds", 0.0)).dump() + "s";
  if (effect.kind == "approval") return "approval: " + a.value("message", "");
  if (effect.kind == "emit") return "emit " + a.value("topic", "");
  if (effect.kind == "call") return "call " + a.value("runbook", "");
  if (effect.kind == "http")
    return a.value("method", "GET") + " " +
           url_origin(a.value("url", ""));  // a path may be a secret
  if (effect.kind == "notify") return "notify " + a.value("channel", "");
  if (effect.kind == "ai") return "ai.analyze";
  if (effect.kind == "confirm_push") return "confirm push " + a.value("id", "");
  if (effect.kind == "state_get") return "store.get " + a.value("key", "");
  if (effect.kind == "state_put") return "store.put " + a.value("key", "");
  return effect.kind;
}

// A confirmed push's record as a d:push result: the device's outcome, or its error.
Result<json> push_outcome(const std::string& device, const json& record) {
  for (const auto& d : record.value("devices", json::array())) {
    if (d.value("device", "") != device) continue;
    if (d.value("status", "") != "ok") {
      return fail(Errc::Rejected, device + ": " + d.value("error", "the push failed") + " (push " +
                                      record.value("id", "") + " rolls back)");
    }
    return json{{"changed", d.value("changed", false)},
                {"diff", d.value("diff", "")},
                {"push_id", record.value("id", "")},
                {"state", record.value("state", "")},
                {"confirm_deadline_us", record.value("deadline_us", std::int64_t{0})}};
  }
  return fail(Errc::Rejected, device + ": push " + record.value("id", "") + " is " +
                                  record.value("state", "") + ": " +
                                  record.value("error", "nothing was pushed"));
}

// Per-runbook state reads and writes are journaled like any effect but not announced step by
// step: they are bookkeeping, not work on the network.
bool quiet(const std::string& kind) {
  return kind == "state_get" || kind == "state_put";
}

// An approval is named by its run and the effect that asks: "<run>/<key>".
std::string approval_id(const std::string& run, const std::string& key) {
  return run + "/" + key;
}

json error_fields(const Error& error) {
  return json{{"code", errc_name(error.code)}, {"error", error.describe()}};
}

}  // namespace

// One run.start's record on its way to disk: settled (release) after `result` is written, by
// the store's writer thread; read by the engine's thread after it sees `settled` (acquire).
struct RunEngine::Commit {
  std::atomic<bool> settled{false};
  Result<void> result = ok();
};

struct RunEngine::Slot {
  std::unique_ptr<Run> run;
  json record;
  std::uint64_t deadline_timer = 0;
  std::map<std::string, json> inflight;         // effect key -> its journal entry
  std::map<std::string, std::uint64_t> timers;  // waits and approval expiries
  std::map<std::string, json> approvals;        // key -> {message, approvers, expires_us}
  std::map<std::string, std::string> children;  // call effect key -> child run id
  bool called_devices = false;
  std::uint64_t proceed_timer = 0;  // a paused run goes on after the engine served the rest
  bool computing = false;           // paused at least once since its last effect
};

struct RunEngine::Host final : RunHost {
  explicit Host(RunEngine& engine) : engine(engine) {}
  Slot* slot_of(Run& run) {
    const auto it = engine.runs_.find(run.id());
    return it == engine.runs_.end() ? nullptr : it->second.get();
  }
  void issue(Run& run, const Effect& effect) override {
    if (auto* slot = slot_of(run)) engine.issue(*slot, effect);
  }
  void note(Run& run, const std::string& key, const json& record) override {
    if (auto* slot = slot_of(run)) engine.on_note(*slot, key, record);
  }
  void finished(Run& run) override {
    if (auto* slot = slot_of(run)) engine.on_finished(*slot);
  }
  void paused(Run& run) override {
    if (auto* slot = slot_of(run)) engine.on_paused(*slot);
  }
  RunEngine& engine;
};

RunEngine::RunEngine(EngineOptions options, store::Store& store, RunbookCatalog catalog,
                     BusPort& bus)
    : options_(std::move(options)),
      journal_(store),
      catalog_(std::move(catalog)),
      bus_(bus),
      host_(std::make_unique<Host>(*this)),
      committed_(std::make_shared<Doorbell>()) {
  committed_watch_ = bus_.watch(committed_->fd(), [this] { deliver_acknowledgements(); });
  // Without the watch no run.start would ever be answered: a host that cannot watch one more
  // fd is out of a kernel resource, which the module host reports as a failed start.
  if (!committed_watch_) throw std::runtime_error("the runbook engine cannot watch its doorbell");
}

// Runs still going stay "running" in the store: the next start resumes them.
RunEngine::~RunEngine() {
  bus_.unwatch(committed_watch_);
  for (auto& [id, slot] : runs_) {
    bus_.cancel_timer(slot->proceed_timer);
    bus_.cancel_timer(slot->deadline_timer);
    for (const auto& [key, timer] : slot->timers)
      bus_.cancel_timer(timer);
  }
}

void RunEngine::stopping() {
  for (auto& [id, slot] : runs_)
    set_computing(*slot, false, true);  // on disk before the next start reads it
}

Result<RunEngine::Resolved> RunEngine::resolve(const StartRequest& request) const {
  Resolved r;
  std::string text;
  if (!request.source.empty()) {
    r.name = request.runbook.empty() ? "inline" : request.runbook;
    r.language = !request.language.empty() ? request.language : language_of(r.name);
    if (r.language.empty()) r.language = "lua";
    r.chunk_name = r.name;
    text = request.source;
    const auto dot = r.name.rfind('.');
    if (dot != std::string::npos && !language_of(r.name).empty()) r.name = r.name.substr(0, dot);
  } else {
    auto file = catalog_.find(request.runbook);
    if (!file) return std::move(file).error();
    auto read = read_text_file(file->path);
    if (!read) return std::move(read).error();
    text = std::move(*read);
    r.name = file->name;
    r.language = file->language;
    r.chunk_name = file->path;
  }
  auto lua = lua_source_of(text, r.language, r.chunk_name);
  if (!lua) return std::move(lua).error();
  r.source = std::move(*lua);
  auto description = describe_runbook(r.source, r.chunk_name);
  if (!description) return std::move(description).error();
  r.description = std::move(*description);
  return r;
}

Result<json> RunEngine::validate(const StartRequest& request) const {
  auto resolved = resolve(request);
  if (!resolved) return std::move(resolved).error();
  json out{{"name", resolved->name},
           {"description", resolved->description.description},
           {"language", resolved->language},
           {"params", to_json(resolved->description.params)}};
  if (!resolved->description.version.empty()) out["version"] = resolved->description.version;
  if (!resolved->description.author.empty()) out["author"] = resolved->description.author;
  return out;
}

void RunEngine::start(StartRequest request, std::function<void(Result<json>)> done) {
  auto resolved = resolve(request);
  if (!resolved) return done(std::move(resolved).error());
  auto params = bind_params(resolved->description.params, request.params, resolved->name);
  if (!params) return done(std::move(params).error());

  // Device and selector parameters are checked against the inventory before the run starts.
  struct Pending {
    std::size_t left = 0;
    std::vector<std::string> problems;
  };
  auto pending = std::make_shared<Pending>();
  struct Check {
    std::string param, selector;
    bool device = false;
  };
  std::vector<Check> checks;
  for (const auto& spec : resolved->description.params) {
    if (!params->contains(spec.name)) continue;
    if (spec.type == ParamType::Device)
      checks.push_back({spec.name, "name=" + (*params)[spec.name].get<std::string>(), true});
    if (spec.type == ParamType::Selector)
      checks.push_back({spec.name, (*params)[spec.name].get<std::string>(), false});
  }
  auto id = RunJournal::new_run_id();
  json context = {{"id", id},
                  {"runbook", resolved->name},
                  {"dry_run", request.dry_run},
                  {"started_by", request.started_by},
                  {"chain", request.chain}};
  if (request.approval.is_object()) context["approval"] = request.approval;
  auto launch_now =
      [this, id, context, request, resolved = std::make_shared<Resolved>(std::move(*resolved)),
       params = std::make_shared<json>(std::move(*params)), pending, done](bool checked) {
        if (!checked) return;
        if (!pending->problems.empty()) {
          std::string message;
          for (const auto& p : pending->problems)
            message += (message.empty() ? "" : "\n") + p;
          return done(fail(Errc::InvalidArgument, message, resolved->name));
        }
        json record = {{"id", id},
                       {"runbook", resolved->name},
                       {"language", resolved->language},
                       {"chunk_name", resolved->chunk_name},
                       {"source", resolved->source},
                       {"params", *params},
                       {"dry_run", request.dry_run},
                       {"started_by", request.started_by},
                       {"principal", request.principal},
                       {"scope", request.scope},
                       {"chain", request.chain},
                       {"approval", request.approval},
                       {"state", "running"},
                       {"started_us", now_us()}};
        std::shared_ptr<Commit> durable;
        auto launched =
            launch(std::move(*resolved), *params, context, id, "", "", {}, record, &durable);
        if (!launched) return done(std::move(launched).error());
        acknowledgements_.push_back({std::move(durable), id, done});
        deliver_acknowledgements();
        reap();
      };
  if (checks.empty()) return launch_now(true);
  pending->left = checks.size();
  for (const auto& check : checks) {
    const auto name = check.param;
    const auto selector = check.selector;
    const bool is_device = check.device;
    bus_.request(
        bus::schema::InventorySelectRequest::kTopic, json{{"selector", selector}},
        options_.lookup_timeout_ms,
        [pending, name, selector, is_device, launch_now](Result<json> answer) {
          if (!answer) {
            pending->problems.push_back("param '" + name + "': " + answer.error().describe());
          } else if ((*answer)["hosts"].empty()) {
            pending->problems.push_back(
                "param '" + name + "': " +
                (is_device ? "no device named '" + selector.substr(5) + "' in the inventory"
                           : "selector '" + selector + "' matches no device") +
                " (`nauto inventory list` shows them)");
          }
          launch_now(--pending->left == 0);
        });
  }
}

Result<std::string> RunEngine::launch(Resolved runbook, json params, const json& context,
                                      const std::string& id, const std::string& parent,
                                      const std::string& parent_key,
                                      std::map<std::string, json> replay, json record,
                                      std::shared_ptr<Commit>* durable) {
  RunSpec spec;
  spec.id = id;
  spec.runbook = runbook.name;
  spec.chunk_name = runbook.chunk_name;
  spec.source = std::move(runbook.source);
  spec.params = std::move(params);
  spec.context = context;
  // Site variables (modules.runbooks.vars) as they are now: a resumed run sees today's.
  spec.context["vars"] = options_.vars;
  spec.limits = options_.limits;
  spec.limits.deadline_steady_us = steady_us() + options_.run_timeout_ms * 1000;
  spec.limits.slice_us = options_.slice_ms * 1000;
  const bool resumed = !replay.empty() || record.value("resumes", 0) > 0;
  auto run = Run::create(std::move(spec), std::move(replay), *host_);
  if (!run) return std::move(run).error();
  auto slot = std::make_unique<Slot>();
  slot->run = std::move(*run);
  slot->record = std::move(record);
  if (!parent.empty()) {
    slot->record["parent"] = parent;
    slot->record["parent_key"] = parent_key;
  }
  // Device reads may go out before the record is on disk: if nautod dies first, the run was
  // never acknowledged and nothing is lost. A push is journaled durably before it is sent,
  // behind this record in the writer's queue, so no change reaches a device unrecorded.
  if (durable) {
    auto commit = std::make_shared<Commit>();
    journal_.put_run_queued(slot->record, [commit, bell = committed_](Result<void> written) {
      commit->result = std::move(written);
      commit->settled.store(true, std::memory_order_release);
      bell->ring();
    });
    *durable = std::move(commit);
  } else if (auto written = journal_.put_run(slot->record, false); !written) {
    return std::move(written).error();
  }
  auto& placed = *slot;
  runs_[id] = std::move(slot);
  placed.deadline_timer = bus_.after(options_.run_timeout_ms, [this, id] {
    settle(id, RunState::TimedOut,
           "the run's deadline of " + std::to_string(options_.run_timeout_ms / 1000) + " s passed");
    reap();
  });
  announce(placed,
           resumed ? bus::schema::RunResumedEvent::kTopic : bus::schema::RunStartedEvent::kTopic,
           json{{"id", id},
                {"runbook", placed.record.value("runbook", "")},
                {"parent", parent},
                {"started_by", placed.record.value("started_by", "")}});
  placed.run->start();
  return id;
}

// Every run event names the causal chain the run belongs to (the rule firing or request that
// started it), so `nauto events tail --chain` shows event -> rule -> run -> steps -> result.
void RunEngine::announce(const Slot& slot, const std::string& topic, json body) {
  if (auto chain = slot.record.value("chain", ""); !chain.empty()) body["chain"] = chain;
  bus_.publish(topic, body);
}

void RunEngine::deliver_acknowledgements() {
  committed_->drain();
  while (!acknowledgements_.empty() &&
         acknowledgements_.front().durable->settled.load(std::memory_order_acquire)) {
    auto ack = std::move(acknowledgements_.front());
    acknowledgements_.pop_front();
    if (auto written = std::move(ack.durable->result); !written) {
      settle(ack.id, RunState::Failed,
             "its record could not be stored: " + written.error().describe());
      ack.done(std::move(written).error());
    } else {
      ack.done(json{{"id", ack.id}});
    }
  }
  reap();
}

Result<std::size_t> RunEngine::resume_unfinished() {
  auto records = journal_.unfinished();
  if (!records) return std::move(records).error();
  std::size_t resumed = 0;
  for (auto& record : *records) {
    const auto id = record.value("id", "");
    if (runs_.contains(id)) continue;  // started in this process, not left over from the last
    if (quarantine(record)) continue;
    auto entries = journal_.entries(id);
    if (!entries) return std::move(entries).error();
    Resolved r;
    r.name = record.value("runbook", "");
    r.language = record.value("language", "lua");
    r.chunk_name = record.value("chunk_name", r.name);
    r.source = record.value("source", "");
    json context = {{"id", id},
                    {"runbook", r.name},
                    {"dry_run", record.value("dry_run", false)},
                    {"started_by", record.value("started_by", "")},
                    {"chain", record.value("chain", "")}};
    if (record.contains("approval") && record["approval"].is_object())
      context["approval"] = record["approval"];
    record["resumes"] = record.value("resumes", 0) + 1;
    const auto params = record.value("params", json::object());
    auto launched = launch(std::move(r), params, context, id, "", "", std::move(*entries), record);
    if (!launched) {
      logger("runbooks")->error("run {} cannot resume: {}", id, launched.error().describe());
      record["state"] = run_state_name(RunState::Failed);
      record["error"] = "could not resume after a restart: " + launched.error().describe();
      record["finished_us"] = now_us();
      (void)journal_.put_run(record, false);
      continue;
    }
    ++resumed;
  }
  reap();
  return resumed;
}

// A run that computes past its slice is marked in its stored record until its next effect:
// if nautod dies meanwhile, the next start knows which run was on the CPU (quarantine()).
void RunEngine::set_computing(Slot& slot, bool computing, bool durable) {
  if (slot.computing == computing) return;
  slot.computing = computing;
  if (computing)
    slot.record["computing_since_us"] = now_us();
  else
    slot.record.erase("computing_since_us");
  (void)journal_.put_run(slot.record, durable);
}

void RunEngine::on_paused(Slot& slot) {
  set_computing(slot, true);
  if (slot.proceed_timer) return;
  slot.proceed_timer = bus_.after(0, [this, id = slot.run->id()] {
    const auto it = runs_.find(id);
    if (it == runs_.end()) return;
    it->second->proceed_timer = 0;
    it->second->run->proceed();
    reap();
  });
}

bool RunEngine::quarantine(json& record) {
  if (record.value("state", "") != "running" || !record.contains("computing_since_us"))
    return false;
  const auto reason =
      "stopped the runbook engine; quarantined (it was computing when nautod stopped without "
      "warning, so it is not replayed)";
  record.erase("computing_since_us");
  record["state"] = run_state_name(RunState::Failed);
  record["error"] = reason;
  record["quarantined"] = true;
  record["finished_us"] = now_us();
  if (auto written = journal_.put_run(record, true); !written) {
    logger("runbooks")
        ->error("run {} could not be quarantined: {}", record.value("id", ""),
                written.error().describe());
  }
  logger("runbooks")
      ->warn("run {} ({}) quarantined: it was computing when nautod stopped",
             record.value("id", ""), record.value("runbook", ""));
  json event = {
      {"id", record.value("id", "")}, {"runbook", record.value("runbook", "")}, {"reason", reason}};
  if (auto chain = record.value("chain", ""); !chain.empty()) event["chain"] = chain;
  bus_.publish(bus::schema::RunQuarantinedEvent::kTopic, event);
  return true;
}

void RunEngine::issue(Slot& slot, const Effect& effect) {
  set_computing(slot, false);
  json entry = {{"kind", effect.kind},
                {"summary", summary_of(effect)},
                {"state", "started"},
                {"started_us", now_us()}};
  if (effect.kind == "device") entry["args"] = effect.args;
  slot.inflight[effect.key] = entry;
  if (!quiet(effect.kind)) {
    announce(slot, bus::schema::RunStepEvent::kTopic,
             json{{"run", slot.run->id()},
                  {"key", effect.key},
                  {"kind", effect.kind},
                  {"summary", entry["summary"]},
                  {"state", "started"}});
  }
  const auto id = slot.run->id();
  const auto& a = effect.args;
  if (effect.kind == "device") return issue_device(slot, effect);
  if (effect.kind == "wait") return issue_wait(slot, effect);
  if (effect.kind == "approval") return issue_approval(slot, effect);
  if (effect.kind == "call") return issue_call(slot, effect);
  if (effect.kind == "http") return issue_http(slot, effect);
  if (effect.kind == "notify") return issue_notify(slot, effect);
  if (effect.kind == "ai") return issue_ai(slot, effect);
  (void)journal_.put_entry(id, effect.key, entry, false);
  if (effect.kind == "confirm_push") return issue_confirm_push(slot, effect);
  if (effect.kind == "select") {
    return bus_.request(bus::schema::InventorySelectRequest::kTopic,
                        json{{"selector", a.value("selector", "")}}, options_.lookup_timeout_ms,
                        [this, id, key = effect.key](Result<json> r) {
                          if (r) r = json((*r)["hosts"]);
                          finish_effect(id, key, std::move(r));
                          reap();
                        });
  }
  if (effect.kind == "emit") {
    const auto topic = a.value("topic", "");
    if (reserved_topic(topic)) {
      return finish_effect(id, effect.key,
                           fail(Errc::InvalidArgument,
                                "emit: topic '" + topic +
                                    "' is reserved (kernel., bus., run., job., audit.); use your "
                                    "own, such as 'runbook." +
                                    slot.run->spec().runbook + ".done'"));
    }
    json body = a.contains("body") ? a["body"] : json();
    bus_.publish(topic, json{{"run", id}, {"runbook", slot.run->spec().runbook}, {"body", body}});
    return finish_effect(id, effect.key, json());
  }
  if (effect.kind == "state_get") {
    auto value = journal_.state(slot.run->spec().runbook, a.value("key", ""));
    if (!value) return finish_effect(id, effect.key, std::move(value).error());
    return finish_effect(id, effect.key, value->value_or(json()));
  }
  if (effect.kind == "state_put") {
    auto put = journal_.put_state(slot.run->spec().runbook, a.value("key", ""),
                                  a.contains("value") ? a["value"] : json());
    if (!put) return finish_effect(id, effect.key, std::move(put).error());
    return finish_effect(id, effect.key, json());
  }
  finish_effect(id, effect.key, fail(Errc::Bug, "unknown effect kind " + effect.kind));
}

void RunEngine::issue_device(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  // The device.call request as the Lua API made it (the one shape from Lua to the driver);
  // the engine adds who, which run, and a run's dry run.
  json body = effect.args;
  const auto op = body.value("kind", "");
  if (op == "push" && slot.record.value("dry_run", false)) body["dry_run"] = true;
  const bool changes = op == "push" && !body.value("dry_run", false);
  body["started_by"] = "run " + id;
  body["run"] = id;
  // One login per device per run: the session stays for the run's next call to the device (a
  // push opens its own, so none is kept for it).
  if (options_.keep_sessions_ms > 0 && op != "push")
    body["keep_session"] = static_cast<double>(options_.keep_sessions_ms) / 1000.0;
  if (body.dump().find("${vault:") != std::string::npos) {
    return finish_effect(id, effect.key,
                         fail(Errc::InvalidArgument,
                              body.value("device", "?") +
                                  ": a vault reference cannot be sent to a device; vault() is for "
                                  "http, notify and ai steps (device credentials come from the "
                                  "inventory)"));
  }
  auto& entry = slot.inflight[effect.key];
  entry["args"] = body;
  if (changes && !effect.interrupted.is_null()) {
    return finish_effect(
        id, effect.key,
        fail(Errc::Cancelled,
             body.value("device", "?") +
                 ": a config push was in flight when nautod stopped, so whether it was applied "
                 "is unknown; it is not repeated blindly. Check the device (d:diff shows what "
                 "differs) and run the runbook again."));
  }
  // A push is journaled on disk before it is sent, so a crash can never hide that it started.
  if (auto written = journal_.put_entry(id, effect.key, entry, changes); !written) {
    return finish_effect(id, effect.key, std::move(written).error());
  }
  slot.called_devices = true;
  const auto confirm = body.contains("commit_confirm") ? body["commit_confirm"] : json();
  body.erase("commit_confirm");
  if (changes && !confirm.is_null()) return issue_confirmed_push(slot, effect.key, body, confirm);
  bus_.request_for(slot.record.value("scope", ""), bus::schema::DeviceCallRequest::kTopic, body,
                   options_.device_timeout_ms + 5'000,
                   [this, id, key = effect.key](Result<json> reply) {
                     finish_effect(id, key, std::move(reply));
                     reap();
                   });
}

// d:push{commit_confirm = ...}: the configs module archives the device's config, pushes, and
// rolls back unless this run succeeds (it names the run as the push's check) or confirm()
// comes within the window. The step's result is the push's: changed, diff and push_id.
void RunEngine::issue_confirmed_push(Slot& slot, const std::string& key, const json& call,
                                     const json& confirm) {
  const auto id = slot.run->id();
  const auto device = call.value("device", "");
  json push{
      {"target", "name=" + device},
      {"config", call.value("config", "")},
      {"replace", call.value("replace", false)},
      {"save", call.value("save", false)},
      {"confirm",
       confirm.is_number() ? json(std::to_string(confirm.get<std::int64_t>()) + "s") : confirm},
      {"check_run", id},
      {"by", slot.record.value("started_by", "")},
      {"why", "run " + id + " of " + slot.run->spec().runbook}};
  // Archive, push and a replace if it must roll back: three device operations at most.
  bus_.request_for(slot.record.value("scope", ""), bus::schema::ConfigsPushRequest::kTopic, push,
                   3 * options_.device_timeout_ms, [this, id, key, device](Result<json> reply) {
                     if (reply) reply = push_outcome(device, *reply);
                     finish_effect(id, key, std::move(reply));
                     reap();
                   });
}

void RunEngine::issue_confirm_push(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  bus_.request(bus::schema::ConfigsConfirmRequest::kTopic,
               json{{"id", effect.args.value("id", "")}, {"by", "run " + id}},
               options_.lookup_timeout_ms, [this, id, key = effect.key](Result<json> reply) {
                 finish_effect(id, key, std::move(reply));
                 reap();
               });
}

namespace {

// The outbound module answers every request within its own limits (timeouts, retries); this is
// only the backstop should it not answer at all.
constexpr std::int64_t kOutboundBackstopMs = 30 * 60'000;

}  // namespace

// http{}: journaled like a device call. A request that may change something (POST, PATCH) is
// on disk before it leaves, and one that was in flight when nautod stopped is not sent again
// unless the runbook said retry_unsafe; the answer, once recorded, is replayed.
void RunEngine::issue_http(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  const json body = http_request_body(effect.args);
  const auto method = body["method"].get<std::string>();
  const bool changes = !idempotent_method(method);
  const auto what = method + " " + url_origin(body.value("url", ""));
  if (changes && slot.record.value("dry_run", false)) {
    (void)journal_.put_entry(id, effect.key, slot.inflight[effect.key], false);
    return finish_effect(
        id, effect.key,
        json{{"dry_run", true}, {"status", 0}, {"summary", what + " (not sent: dry run)"}});
  }
  if (changes && !effect.interrupted.is_null() && !body.value("retry_unsafe", false)) {
    return finish_effect(
        id, effect.key,
        fail(Errc::Cancelled, what + ": the request was in flight when nautod stopped, so whether "
                                     "the receiver acted on it is unknown; it is not sent again "
                                     "(retry_unsafe: true allows it)"));
  }
  if (auto written = journal_.put_entry(id, effect.key, slot.inflight[effect.key], changes);
      !written)
    return finish_effect(id, effect.key, std::move(written).error());
  bus_.request_for(slot.record.value("scope", ""), bus::schema::HttpRequestRequest::kTopic, body,
                   kOutboundBackstopMs, [this, id, key = effect.key](Result<json> reply) {
                     if (reply) reply = http_result(std::move(*reply));
                     finish_effect(id, key, std::move(reply));
                     reap();
                   });
}

// notify{}: at least once. A notification in flight when nautod stopped is sent again (a
// duplicate message is better than a missing alert); a dry run sends none.
void RunEngine::issue_notify(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  json body = effect.args;
  body["source"] = "run " + id + " (" + slot.run->spec().runbook + ")";
  (void)journal_.put_entry(id, effect.key, slot.inflight[effect.key], false);
  if (slot.record.value("dry_run", false)) {
    return finish_effect(id, effect.key,
                         json{{"dry_run", true}, {"channel", body.value("channel", "")}});
  }
  bus_.request_for(slot.record.value("scope", ""), bus::schema::NotifySendRequest::kTopic, body,
                   kOutboundBackstopMs, [this, id, key = effect.key](Result<json> reply) {
                     finish_effect(id, key, std::move(reply));
                     reap();
                   });
}

// ai.analyze{}: the prompt goes to the outbound module, which redacts secrets before it leaves;
// the prompt as sent and the answer are the effect's journaled result.
void RunEngine::issue_ai(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  const auto& args = effect.args;
  (void)journal_.put_entry(id, effect.key, slot.inflight[effect.key], false);
  auto request = ai_analyze_body(options_.ai, args);
  if (!request) {
    if (args.value("optional", false))
      return finish_effect(id, effect.key, ai_skipped(request.error().message));
    return finish_effect(id, effect.key, std::move(request).error());
  }
  if (slot.record.value("dry_run", false)) {
    return finish_effect(id, effect.key,
                         json{{"dry_run", true}, {"text", ""}, {"reason", "dry run: not asked"}});
  }
  bus_.request(bus::schema::AiAnalyzeRequest::kTopic, *request, kOutboundBackstopMs,
               [this, id, key = effect.key](Result<json> reply) {
                 finish_effect(id, key, std::move(reply));
                 reap();
               });
}

void RunEngine::issue_wait(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  auto& entry = slot.inflight[effect.key];
  const auto seconds = effect.args.value("seconds", 0.0);
  const std::int64_t until = effect.interrupted.is_null()
                                 ? now_us() + static_cast<std::int64_t>(seconds * 1e6)
                                 : effect.interrupted.value("until_us", now_us());
  entry["until_us"] = until;
  (void)journal_.put_entry(id, effect.key, entry, false);
  const auto left_ms = std::max<std::int64_t>(0, (until - now_us()) / 1000);
  slot.timers[effect.key] = bus_.after(left_ms, [this, id, key = effect.key] {
    finish_effect(id, key, json());
    reap();
  });
}

void RunEngine::issue_approval(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  auto& entry = slot.inflight[effect.key];
  const auto& args = effect.args;
  const auto timeout_ms =
      std::min<std::int64_t>(args.contains("timeout") && args["timeout"].is_number()
                                 ? static_cast<std::int64_t>(args["timeout"].get<double>() * 1000)
                                 : options_.approval_timeout_ms,
                             options_.max_approval_timeout_ms);
  const std::int64_t expires = effect.interrupted.is_null()
                                   ? now_us() + timeout_ms * 1000
                                   : effect.interrupted.value("expires_us", now_us());
  json approval = {{"id", approval_id(id, effect.key)},
                   {"run", id},
                   {"key", effect.key},
                   {"runbook", slot.run->spec().runbook},
                   {"params", slot.record.value("params", json::object())},
                   {"started_by", slot.record.value("started_by", "")},
                   {"message", args.value("message", "")},
                   {"approvers", args.value("approvers", json::array())},
                   {"requested_us", entry.value("started_us", now_us())},
                   {"expires_us", expires}};
  // A config change is approved as the exact diff shown; the push checks the hash again.
  for (const char* field : {"device", "diff", "diff_sha256"}) {
    if (args.contains(field)) approval[field] = args[field];
  }
  entry["approval"] = approval;
  (void)journal_.put_entry(id, effect.key, entry, false);
  slot.approvals[effect.key] = approval;
  announce(slot, bus::schema::RunApprovalEvent::kTopic, approval);
  const auto left_ms = std::max<std::int64_t>(0, (expires - now_us()) / 1000);
  slot.timers[effect.key] = bus_.after(left_ms, [this, id, key = effect.key, timeout_ms] {
    if (auto it = runs_.find(id); it != runs_.end()) it->second->approvals.erase(key);
    finish_effect(
        id, key,
        fail(Errc::Timeout, "nobody approved within " + std::to_string(timeout_ms / 1000) +
                                " s (`nauto runs "
                                "approve " +
                                id + "`)"));
    reap();
  });
}

void RunEngine::issue_call(Slot& slot, const Effect& effect) {
  const auto id = slot.run->id();
  const auto child_id = id + ":" + effect.key;
  (void)journal_.put_entry(id, effect.key, slot.inflight[effect.key], false);
  slot.children[effect.key] = child_id;
  auto existing = journal_.run(child_id);
  if (!existing) return finish_effect(id, effect.key, std::move(existing).error());
  if (*existing) {
    auto record = **existing;
    quarantine(record);
    if (record.value("state", "") != "running") {
      // The child ended before the restart; only the parent's record of it was lost.
      if (record.value("state", "") == "succeeded")
        return finish_effect(id, effect.key, record.value("result", json()));
      return finish_effect(
          id, effect.key,
          fail(Errc::Rejected, "runbook '" + record.value("runbook", "") + "' " +
                                   record.value("state", "") + ": " + record.value("error", "")));
    }
    auto entries = journal_.entries(child_id);
    if (!entries) return finish_effect(id, effect.key, std::move(entries).error());
    Resolved r;
    r.name = record.value("runbook", "");
    r.language = record.value("language", "lua");
    r.chunk_name = record.value("chunk_name", r.name);
    r.source = record.value("source", "");
    record["resumes"] = record.value("resumes", 0) + 1;
    auto launched =
        launch(std::move(r), record.value("params", json::object()), slot.run->spec().context,
               child_id, id, effect.key, std::move(*entries), record);
    if (!launched) finish_effect(id, effect.key, std::move(launched).error());
    return;
  }
  StartRequest request;
  request.runbook = effect.args.value("runbook", "");
  auto resolved = resolve(request);
  if (!resolved) return finish_effect(id, effect.key, std::move(resolved).error());
  auto params = bind_params(resolved->description.params,
                            effect.args.value("params", json::object()), resolved->name);
  if (!params) return finish_effect(id, effect.key, std::move(params).error());
  json context = slot.run->spec().context;
  context.erase("approval");  // the parent's gate was passed already
  context["id"] = child_id;
  context["runbook"] = resolved->name;
  json record = {{"id", child_id},
                 {"runbook", resolved->name},
                 {"language", resolved->language},
                 {"chunk_name", resolved->chunk_name},
                 {"source", resolved->source},
                 {"params", *params},
                 {"dry_run", slot.record.value("dry_run", false)},
                 {"started_by", slot.record.value("started_by", "")},
                 {"chain", slot.record.value("chain", "")},
                 {"state", "running"},
                 {"started_us", now_us()}};
  auto launched = launch(std::move(*resolved), *params, context, child_id, id, effect.key, {},
                         std::move(record));
  if (!launched) finish_effect(id, effect.key, std::move(launched).error());
}

void RunEngine::finish_effect(const std::string& run, const std::string& key, Result<json> result) {
  const auto it = runs_.find(run);
  if (it == runs_.end()) return;  // the run ended; a late answer
  Slot& slot = *it->second;
  const auto inflight = slot.inflight.find(key);
  if (inflight == slot.inflight.end()) return;
  json entry = std::move(inflight->second);
  slot.inflight.erase(inflight);
  if (const auto timer = slot.timers.find(key); timer != slot.timers.end()) {
    bus_.cancel_timer(timer->second);
    slot.timers.erase(timer);
  }
  entry["state"] = "done";
  entry["finished_us"] = now_us();
  entry["ok"] = result.has_value();
  if (result)
    entry["result"] = *result;
  else
    entry.update(error_fields(result.error()));
  (void)journal_.put_entry(run, key, entry, false);
  json step = {
      {"run", run},
      {"key", key},
      {"kind", entry["kind"]},
      {"summary", entry["summary"]},
      {"state", result ? "ok" : "failed"},
      {"duration_ms",
       (entry["finished_us"].get<std::int64_t>() - entry.value("started_us", 0LL)) / 1000}};
  if (!result) step["error"] = entry["error"];
  if (!quiet(entry.value("kind", ""))) announce(slot, bus::schema::RunStepEvent::kTopic, step);
  slot.run->complete(key, std::move(result));
}

void RunEngine::on_note(Slot& slot, const std::string& key, const json& record) {
  const auto id = slot.run->id();
  (void)journal_.put_entry(id, key, record, false);
  const auto type = record.value("type", "");
  if (type == "log") {
    announce(slot, bus::schema::RunLogEvent::kTopic,
             json{{"run", id},
                  {"key", key},
                  {"level", record.value("level", "info")},
                  {"message", record.value("message", "")}});
  } else if (type == "step") {
    announce(slot, bus::schema::RunStepEvent::kTopic,
             json{{"run", id},
                  {"key", key},
                  {"kind", "step"},
                  {"summary", record.value("name", "")},
                  {"state", "started"}});
  } else if (type == "step_end") {
    json step = {{"run", id},
                 {"key", record.value("step", "")},
                 {"kind", "step"},
                 {"summary", record.value("name", "")},
                 {"state", record.value("ok", false) ? "ok" : "failed"}};
    if (record.contains("error")) step["error"] = record["error"];
    announce(slot, bus::schema::RunStepEvent::kTopic, step);
  }
}

void RunEngine::on_finished(Slot& slot) {
  Run& run = *slot.run;
  const auto id = run.id();
  bus_.cancel_timer(slot.deadline_timer);
  bus_.cancel_timer(slot.proceed_timer);
  slot.proceed_timer = 0;
  slot.computing = false;
  slot.record.erase("computing_since_us");
  for (const auto& [key, timer] : slot.timers)
    bus_.cancel_timer(timer);
  slot.timers.clear();
  if (slot.called_devices && run.state() != RunState::Succeeded)
    bus_.request(bus::schema::DeviceCancelRequest::kTopic, json{{"run", id}},
                 options_.lookup_timeout_ms, [](auto) {});
  if (slot.called_devices && options_.keep_sessions_ms > 0)
    bus_.request(bus::schema::DeviceSessionCloseRequest::kTopic, json{{"holder", id}},
                 options_.lookup_timeout_ms, [](auto) {});
  auto& record = slot.record;
  record["state"] = run_state_name(run.state());
  record["finished_us"] = now_us();
  record["replayed"] = run.replayed();
  record["instructions"] = run.instructions();
  if (run.state() == RunState::Succeeded)
    record["result"] = run.result();
  else
    record["error"] = run.error();
  (void)journal_.put_run(record, false);
  if (recent_.emplace(id, record).second) recent_order_.push_back(id);
  while (recent_order_.size() > kRecent) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
  json finished = {{"id", id},
                   {"runbook", record.value("runbook", "")},
                   {"state", record["state"]},
                   {"parent", record.value("parent", "")}};
  if (record.contains("error")) finished["error"] = record["error"];
  if (record.contains("result")) finished["result"] = record["result"];
  announce(slot, bus::schema::RunFinishedEvent::kTopic, finished);
  const auto parent = record.value("parent", "");
  const auto parent_key = record.value("parent_key", "");
  Result<json> outcome =
      run.state() == RunState::Succeeded
          ? Result<json>(run.result())
          : Result<json>(fail(Errc::Rejected, "runbook '" + record.value("runbook", "") + "' " +
                                                  std::string(run_state_name(run.state())) + ": " +
                                                  run.error()));
  std::vector<std::string> children;
  for (const auto& [key, child] : slot.children)
    children.push_back(child);
  const auto it = runs_.find(id);
  ended_.push_back(std::move(it->second));
  runs_.erase(it);
  for (const auto& child : children)
    settle(child, RunState::Cancelled, "its parent run " + id + " ended");
  if (!parent.empty()) finish_effect(parent, parent_key, std::move(outcome));
}

void RunEngine::settle(const std::string& id, RunState state, const std::string& reason) {
  const auto it = runs_.find(id);
  if (it == runs_.end()) return;
  it->second->run->stop(state, reason);
  on_finished(*it->second);
}

Result<void> RunEngine::cancel(const std::string& id, const std::string& who) {
  if (!runs_.count(id)) {
    auto record = journal_.run(id);
    if (!record) return std::move(record).error();
    if (!*record) return fail(Errc::NotFound, "no run " + id + " (`nauto runs list`)");
    return fail(Errc::InvalidArgument,
                "run " + id + " is not running (" + (*record)->value("state", "?") + ")");
  }
  settle(id, RunState::Cancelled, "cancelled by " + (who.empty() ? "a user" : who));
  reap();
  return ok();
}

Result<void> RunEngine::decide(const std::string& id, const std::string& key, bool approve,
                               const std::string& who, const std::string& comment) {
  return decide(id, key, approve, who, {}, comment);
}

Result<void> RunEngine::decide(const std::string& id, const std::string& key, bool approve,
                               const std::string& who, const std::vector<std::string>& roles,
                               const std::string& comment) {
  const auto it = runs_.find(id);
  if (it == runs_.end()) return fail(Errc::NotFound, "no running run " + id);
  Slot& slot = *it->second;
  if (slot.approvals.empty()) return fail(Errc::NotFound, "run " + id + " awaits no approval");
  std::string chosen = key;
  if (chosen.empty()) {
    if (slot.approvals.size() > 1) {
      std::string keys;
      for (const auto& [k, a] : slot.approvals)
        keys += (keys.empty() ? "" : ", ") + k;
      return fail(Errc::InvalidArgument, "run " + id + " awaits " +
                                             std::to_string(slot.approvals.size()) +
                                             " approvals; name one with --key (" + keys + ")");
    }
    chosen = slot.approvals.begin()->first;
  }
  const auto approval = slot.approvals.find(chosen);
  if (approval == slot.approvals.end())
    return fail(Errc::NotFound, "run " + id + " awaits no approval " + chosen);
  const auto& approvers = approval->second["approvers"];
  const auto listed = [&](const json& entry) {
    if (!entry.is_string()) return false;
    const auto& name = entry.get_ref<const std::string&>();
    if (name.rfind("role:", 0) == 0)
      return std::find(roles.begin(), roles.end(), name.substr(5)) != roles.end();
    return name == who;
  };
  if (!approvers.empty() && std::none_of(approvers.begin(), approvers.end(), listed)) {
    return fail(Errc::PermissionDenied,
                "'" + who + "' may not decide this approval; approvers: " + approvers.dump());
  }
  // Four-eyes, for an approver too: whoever started the run does not approve it.
  const auto starter = slot.record.value("principal", "");
  if (approve && !options_.allow_self_approval && !starter.empty() && who == starter) {
    return fail(Errc::PermissionDenied, "'" + who + "' started run " + id +
                                            " and may not approve it too (four-eyes; "
                                            "modules.runbooks.allow_self_approval lifts it)");
  }
  json decided = {{"id", approval_id(id, chosen)},
                  {"run", id},
                  {"key", chosen},
                  {"runbook", slot.run->spec().runbook},
                  {"approved", approve},
                  {"by", who},
                  {"reason", comment}};
  if (approval->second.contains("diff_sha256"))
    decided["diff_sha256"] = approval->second["diff_sha256"];
  slot.approvals.erase(approval);
  announce(slot, bus::schema::RunApprovalDecidedEvent::kTopic, decided);
  if (approve) {
    finish_effect(id, chosen, json{{"approved", true}, {"by", who}, {"comment", comment}});
  } else {
    finish_effect(id, chosen,
                  fail(Errc::Rejected, "not approved: rejected by " + who +
                                           (comment.empty() ? "" : " (" + comment + ")")));
  }
  reap();
  return ok();
}

json RunEngine::pending_approvals() const {
  json list = json::array();
  for (const auto& [id, slot] : runs_) {
    for (const auto& [key, approval] : slot->approvals) {
      json item = approval;
      if (auto chain = slot->record.value("chain", ""); !chain.empty()) item["chain"] = chain;
      list.push_back(std::move(item));
    }
  }
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) {
    return a.value("requested_us", 0LL) < b.value("requested_us", 0LL);
  });
  return list;
}

Result<json> RunEngine::status(const std::string& id) const {
  if (const auto it = recent_.find(id); it != recent_.end()) {
    json out = it->second;
    out.erase("source");
    return out;
  }
  auto record = journal_.run(id);
  if (!record) return std::move(record).error();
  if (!*record) return fail(Errc::NotFound, "no run " + id + " (`nauto runs list`)");
  json out = std::move(**record);
  out.erase("source");
  if (const auto it = runs_.find(id); it != runs_.end()) {
    const Slot& slot = *it->second;
    out["memory_bytes"] = slot.run->memory_used();
    out["instructions"] = slot.run->instructions();
    out["replayed"] = slot.run->replayed();
    json waiting = json::array();
    for (const auto& [key, entry] : slot.inflight)
      waiting.push_back(entry.value("summary", key));
    out["waiting_for"] = waiting;
    json approvals = json::array();
    for (const auto& [key, approval] : slot.approvals)
      approvals.push_back(approval);
    out["approvals"] = approvals;
  }
  return out;
}

void RunEngine::reap() {
  ended_.clear();
}

}  // namespace nauto::runbook
