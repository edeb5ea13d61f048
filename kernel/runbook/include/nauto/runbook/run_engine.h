#pragma once
// RunEngine: starts, drives, records and resumes runbook runs on one thread.
//
// Each run is a Run (its own sandbox); the engine performs what runs ask for — device calls
// (devices module: device.call), inventory lookups (inventory.select), waits, approvals,
// events, per-runbook state, sub-runbooks, HTTP requests, notifications and AI analyses (the
// outbound module: http.request, notify.send, ai.analyze) — through a BusPort, and journals every
// effect in the store before handing its result back. After a restart, resume_unfinished()
// re-executes every run the store still shows as running: effects the journal holds as done return
// their recorded results (no device is touched twice); an effect that was in flight is issued
// again, except a config push or a non-idempotent HTTP request whose outcome is unknown, which
// fails with a reason instead (a notification is sent again: at least once). Thread-bound: every
// call, including the BusPort's callbacks, on the engine's thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/doorbell.h"
#include "nauto/base/result.h"
#include "nauto/runbook/outbound_effects.h"
#include "nauto/runbook/run.h"
#include "nauto/runbook/run_journal.h"
#include "nauto/runbook/runbook_catalog.h"
#include "nauto/runbook/runbook_loader.h"

namespace nauto::runbook {

/// How the engine reaches the rest of nauto: the bus and timers of its host.
class BusPort {
 public:
  using ReplyFn = std::function<void(Result<nlohmann::json>)>;
  virtual ~BusPort() = default;
  virtual void request(const std::string& service, const nlohmann::json& body,
                       std::int64_t timeout_ms, ReplyFn on_reply) = 0;
  /// The same for a run a user started: `scope` (the devices that user may act on,
  /// bus::Header::scope) goes with the request (Context::request_for). A port whose requests
  /// the router already limits to its user (the shell's own connection) need not override it.
  virtual void request_for(const std::string& scope, const std::string& service,
                           const nlohmann::json& body, std::int64_t timeout_ms, ReplyFn on_reply) {
    (void)scope;
    request(service, body, timeout_ms, std::move(on_reply));
  }
  virtual void publish(const std::string& topic, const nlohmann::json& body) = 0;
  virtual std::uint64_t after(std::int64_t delay_ms, std::function<void()> fn) = 0;
  virtual void cancel_timer(std::uint64_t id) = 0;
  /// Calls `on_readable` on the host's thread whenever `fd` is readable (a Doorbell); 0 when
  /// the host cannot watch it. Undone by unwatch() before the fd closes.
  virtual std::uint64_t watch(int fd, std::function<void()> on_readable) = 0;
  virtual void unwatch(std::uint64_t id) = 0;
};

struct EngineOptions {
  SandboxLimits limits;                     ///< per run; deadline_steady_us is set per run
  std::int64_t run_timeout_ms = 3'600'000;  ///< wall clock per run
  /// A run computing longer than this is paused so the engine serves the others in between.
  std::int64_t slice_ms = 50;
  std::int64_t device_timeout_ms = 300'000;
  /// A run keeps each device's session open between its calls for this long without one
  /// (device.call keep_session); released when the run ends. 0: a session per call.
  std::int64_t keep_sessions_ms = 60'000;
  std::int64_t lookup_timeout_ms = 30'000;
  std::int64_t max_approval_timeout_ms = 7 * 24 * 3'600'000LL;
  std::int64_t approval_timeout_ms = 3'600'000;  ///< when approve{} gives no timeout
  /// What the daily sweep keeps of finished runs and their steps.
  RunRetention retention;
  /// Template directory for textfsm.parse and d:run{parse = "textfsm"}; "" = none.
  std::string textfsm_templates;
  /// Four-eyes: whoever started a run may not approve its changes, unless this is set.
  bool allow_self_approval = false;
  /// Site variables (modules.runbooks.vars): what a YAML runbook's `{{ name }}` finds when no
  /// parameter or step gave `name`; Lua runbooks read them as context.vars.
  nlohmann::json vars = nlohmann::json::object();
  AiProvider ai;
};

/// Topics a runbook may not emit on: they belong to the kernel, the bus and the engine.
bool reserved_topic(const std::string& topic);

/// What `nauto run` asks for.
struct StartRequest {
  std::string runbook;   ///< a name from the catalog, or the name of `source`
  std::string source;    ///< the runbook's text, when it comes with the request
  std::string language;  ///< lua | yaml (with source; else from the file's extension)
  nlohmann::json params = nlohmann::json::object();
  bool dry_run = false;
  std::string started_by;  ///< for the record: whom a module started it for, or the caller
  /// The verified principal that asked (the request header's), for four-eyes.
  std::string principal;
  /// The devices that principal may act on (the request header's scope; empty: all). The
  /// run's device calls and pushes carry it, so the devices module refuses the others.
  std::string scope;
  /// The causal chain this run continues (a rule firing's id); copied into every run event.
  std::string chain;
  /// {message, approvers, timeout}: ask this before the runbook's code runs (a rule's gate).
  nlohmann::json approval;
};

class RunEngine {
 public:
  RunEngine(EngineOptions options, store::Store& store, RunbookCatalog catalog, BusPort& bus);
  ~RunEngine();
  RunEngine(const RunEngine&) = delete;
  RunEngine& operator=(const RunEngine&) = delete;

  /// Validates the parameters (device and selector ones against the inventory), records the
  /// run and starts it. `done` gets {id} or the reason it could not start.
  void start(StartRequest request, std::function<void(Result<nlohmann::json>)> done);
  /// Re-executes runs recorded as running (at start-up). Returns how many.
  Result<std::size_t> resume_unfinished();
  /// An orderly stop: a run paused mid-computation did not bring the engine down, so its
  /// marker goes and the next start replays it like any other. Without this call (a crash,
  /// kill -9), a run marked as computing is quarantined at the next start instead.
  void stopping();
  Result<void> cancel(const std::string& id, const std::string& who);
  /// Every approval runs are waiting for, oldest first: {id, run, key, runbook, params, message,
  /// approvers, requested_us, expires_us, [device, diff, diff_sha256], [chain]}.
  nlohmann::json pending_approvals() const;
  /// Answers a pending approval (`key` may be empty when the run waits for exactly one).
  Result<void> decide(const std::string& id, const std::string& key, bool approve,
                      const std::string& who, const std::string& comment);
  /// The same for a decider with roles (the request header's): an approver list's
  /// "role:<name>" entries admit anyone with that role, its other entries name principals.
  Result<void> decide(const std::string& id, const std::string& key, bool approve,
                      const std::string& who, const std::vector<std::string>& roles,
                      const std::string& comment);

  /// The stored record with live details for running runs.
  Result<nlohmann::json> status(const std::string& id) const;
  std::size_t active() const { return runs_.size(); }
  /// The id of the oldest run still live ("" when none is): retention keeps it and all after.
  std::string oldest_active_run() const { return runs_.empty() ? "" : runs_.begin()->first; }
  RunJournal& journal() { return journal_; }
  const RunbookCatalog& catalog() const { return catalog_; }
  /// Loads and checks a runbook: {name, description, language, params}.
  Result<nlohmann::json> validate(const StartRequest& request) const;

 private:
  struct Slot;
  struct Commit;
  struct Host;
  struct Resolved {
    std::string name, chunk_name, source, language;
    RunbookDescription description;
  };
  Result<Resolved> resolve(const StartRequest& request) const;
  Result<std::string> launch(Resolved runbook, nlohmann::json params, const nlohmann::json& context,
                             const std::string& id, const std::string& parent,
                             const std::string& parent_key,
                             std::map<std::string, nlohmann::json> replay, nlohmann::json record,
                             std::shared_ptr<Commit>* durable = nullptr);
  void deliver_acknowledgements();
  void issue(Slot& slot, const Effect& effect);
  void finish_effect(const std::string& run, const std::string& key, Result<nlohmann::json> result);
  void on_note(Slot& slot, const std::string& key, const nlohmann::json& record);
  void on_finished(Slot& slot);
  void on_paused(Slot& slot);
  void set_computing(Slot& slot, bool computing, bool durable = false);
  /// Fails a stored running run that was computing when nautod died; true if it did.
  bool quarantine(nlohmann::json& record);
  void settle(const std::string& id, RunState state, const std::string& reason);
  void reap();
  void issue_device(Slot& slot, const Effect& effect);
  void issue_confirmed_push(Slot& slot, const std::string& key, const nlohmann::json& call,
                            const nlohmann::json& confirm);
  void issue_confirm_push(Slot& slot, const Effect& effect);
  void issue_wait(Slot& slot, const Effect& effect);
  void issue_approval(Slot& slot, const Effect& effect);
  void announce(const Slot& slot, const std::string& topic, nlohmann::json body);
  void issue_call(Slot& slot, const Effect& effect);
  void issue_http(Slot& slot, const Effect& effect);
  void issue_notify(Slot& slot, const Effect& effect);
  void issue_ai(Slot& slot, const Effect& effect);

  EngineOptions options_;
  RunJournal journal_;
  RunbookCatalog catalog_;
  BusPort& bus_;
  std::unique_ptr<Host> host_;
  std::map<std::string, std::unique_ptr<Slot>> runs_;
  std::vector<std::unique_ptr<Slot>> ended_;  // destroyed by reap(), outside any Run call
  // Final records of recently ended runs: their store write is queued, maybe not yet visible.
  std::map<std::string, nlohmann::json> recent_;
  std::deque<std::string> recent_order_;
  static constexpr std::size_t kRecent = 4096;
  // run.start is answered once the run's record is on disk. The engine thread never waits for
  // that commit (a run's steps would wait behind every start's fsync); concurrent starts share
  // one group commit, whose callback (on the store's writer thread) rings `committed_`; the
  // engine's host watches its fd, so the answer leaves as soon as the fsync returns. Commits
  // settle in order, so only the front is looked at.
  struct Acknowledgement {
    std::shared_ptr<Commit> durable;
    std::string id;
    std::function<void(Result<nlohmann::json>)> done;
  };
  std::deque<Acknowledgement> acknowledgements_;
  std::shared_ptr<Doorbell> committed_;  // shared: a commit may land after the engine is gone
  std::uint64_t committed_watch_ = 0;
};

}  // namespace nauto::runbook
