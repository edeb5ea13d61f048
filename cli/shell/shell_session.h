#pragma once
// ShellSession: the Lua side of `nauto shell` — one interactive Run (the read-eval loop of
// shell_loop.h, its globals kept between chunks) plus the runbooks started with `:run`, all
// sharing one ShellBus. It is the RunHost of those runs: device calls go to the devices module
// (device.call), lookups to the inventory, `store` to the runbooks module's per-runbook state,
// `call` starts a runbook in nautod and waits for it; waits are timers; approvals are asked of
// the person at the keyboard. Log lines and print() go to the log sink as they happen.
// Ctrl-C (the interrupt flag) ends what a chunk waits for or computes, never the session; a
// session whose Lua state hit its memory limit is replaced by a fresh one (globals are lost,
// and the next outcome says so).
// Thread-bound: one thread evaluates, drives the bus and destroys it.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/runbook/run.h"
#include "shell_bus.h"

namespace nauto::cli::shell {

struct SessionOptions {
  std::string id;    ///< "shell-<pid>": the `run` of its device calls, for device.cancel
  std::string user;  ///< started_by / decided_by
  std::int64_t device_timeout_ms = 300'000;
  std::int64_t lookup_timeout_ms = 30'000;
  std::size_t max_memory_bytes = 256u << 20;
};

class ShellSession : private runbook::RunHost {
 public:
  /// level is info|warn|error; message is one print() or log line.
  using LogSink = std::function<void(const std::string& level, const std::string& message)>;
  /// Shown the approval request {message, approvers, [device, diff]}; returns the decision
  /// {approved: true, by, comment} or the reason it was refused.
  using ApprovalPrompt = std::function<Result<nlohmann::json>(const nlohmann::json& request)>;

  static Result<std::unique_ptr<ShellSession>> create(ShellBus& bus, SessionOptions options,
                                                      std::atomic<bool>& interrupt, LogSink log,
                                                      ApprovalPrompt approve);
  ~ShellSession() override;

  /// Runs one chunk to its end: {ok: true, values: [{type, value}]} or {ok: false, error}.
  nlohmann::json evaluate(const std::string& chunk);
  /// Runs a runbook (Lua text, or YAML compiled to Lua) here, with `params` as `k=v` strings
  /// bound against its declaration: {ok: true, values: [result]} or {ok: false, error}.
  nlohmann::json run_runbook(const std::string& file_name, const std::string& text,
                             const std::vector<std::string>& params);

  /// Completion helpers; they read the session's globals without running any Lua code.
  /// Keys of the table at a dotted global path ("" for the globals, "inventory", "string");
  /// with the methods for a device handle ("r1" -> run, config, ...).
  std::vector<std::string> field_names(const std::string& path);
  /// The device a global holds (`r1 = device("r1")`): its name, if it holds one.
  std::optional<std::string> device_of(const std::string& global);

 private:
  ShellSession(ShellBus& bus, SessionOptions options, std::atomic<bool>& interrupt, LogSink log,
               ApprovalPrompt approve);
  Result<void> open_session();
  void issue(runbook::Run& run, const runbook::Effect& effect) override;
  void note(runbook::Run& run, const std::string& key, const nlohmann::json& record) override;
  void finished(runbook::Run& run) override;
  void complete(const std::string& run_id, const std::string& key, Result<nlohmann::json> result);
  void issue_call(const std::string& run_id, const std::string& key, const nlohmann::json& args);
  void follow_child(const std::string& run_id, const std::string& key, const std::string& child);
  /// Drives the bus until `done` holds; Ctrl-C interrupts what the runs wait for.
  void drive_until(const std::function<bool()>& done);
  runbook::RunSpec spec_for(std::string id, std::string name, std::string source) const;

  ShellBus& bus_;
  SessionOptions options_;
  std::atomic<bool>& interrupt_;
  LogSink log_;
  ApprovalPrompt approve_;
  std::unique_ptr<runbook::Run> session_;
  std::map<std::string, runbook::Run*> live_;  // by run id: the session and a `:run` runbook
  std::optional<std::string> input_key_;       // the session waits for its next chunk
  nlohmann::json outcome_;
  std::string reset_reason_;  // the session's Lua state was replaced: say so once
  int generation_ = 0;
  nlohmann::json vars_ = nlohmann::json::object();  // modules.runbooks.vars, from nautod
  int runbooks_started_ = 0;
};

}  // namespace nauto::cli::shell
