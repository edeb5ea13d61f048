#pragma once
// Run: one execution of one runbook — its sandbox, its tasks (Lua coroutines: the runbook's
// `run` function and one per parallel branch) and its replay journal.
//
// A task runs until it asks something of the world (an Effect: a device call, a wait, an
// approval, a sub-runbook...) and then yields. Every effect has a key that is the same on every
// execution of the same runbook with the same inputs: "<task path>#<n>", where the root task
// is "m" and branch i of a task's n-th effect is "<task>.<n>.<i>". When the run is re-executed
// after a restart, an effect whose key the journal holds as done returns its recorded result
// without being issued; only effects the journal lacks (or holds as started) reach the host.
// Thread-bound: a Run is driven by one thread (the engine's).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/runbook/lua_sandbox.h"

namespace nauto::runbook {

/// What a task asks of the world.
struct Effect {
  std::string key;   ///< stable across re-executions (see above)
  std::string kind;  ///< device, select, wait, approval, emit, call, state_get, state_put
  nlohmann::json args;
  /// The journal's record when this effect was started before a restart and never finished.
  nlohmann::json interrupted;
};

enum class RunState { Running, Succeeded, Failed, Cancelled, TimedOut };
std::string_view run_state_name(RunState state);

/// What the run needs from its host (the engine). Calls come on the run's thread.
class RunHost {
 public:
  virtual ~RunHost() = default;
  /// Performs the effect; the host later calls Run::complete(key, result) (possibly at once).
  virtual void issue(class Run& run, const Effect& effect) = 0;
  /// A step started/ended or a log line was written: `key` is stable across re-executions,
  /// `record` the journal entry ({type: step|log, ...}).
  virtual void note(Run& run, const std::string& key, const nlohmann::json& record) = 0;
  /// The run reached a final state. The host must not destroy the run inside this call.
  virtual void finished(Run& run) = 0;
  /// A task computed past its time slice and was paused; the host calls Run::proceed() later,
  /// after serving whatever else waits (never from inside this call). Only runs whose limits
  /// set `slice_us` pause.
  virtual void paused(Run&) {}
};

/// What to run. `source` is Lua text (YAML runbooks arrive compiled to Lua).
struct RunSpec {
  std::string id;
  std::string runbook;     ///< its name, for messages and per-runbook state
  std::string chunk_name;  ///< for Lua's error positions ("backup.lua")
  std::string source;
  nlohmann::json params = nlohmann::json::object();   ///< already bound (bind_params)
  nlohmann::json context = nlohmann::json::object();  ///< visible as `context` in Lua
  SandboxLimits limits;
  /// An interactive session (`nauto shell`): `source` is the session's read-eval loop, which
  /// alone sees the `__shell_input(outcome)` primitive — an "input" effect whose args are the
  /// previous chunk's outcome and whose result is the next chunk's text (nil ends the session).
  bool interactive = false;
};

class Run {
 public:
  /// `replay`: the journal of an earlier execution (effect key -> record with state
  /// "started" or "done", ok, result, error). Errors: InvalidArgument for a runbook that does
  /// not load or does not return runbook{..., run = function}.
  static Result<std::unique_ptr<Run>> create(RunSpec spec,
                                             std::map<std::string, nlohmann::json> replay,
                                             RunHost& host);
  ~Run();

  /// Starts the root task. The host sees effects, notes and (maybe) finished() from here on.
  void start();
  /// Delivers an effect's result (a JSON value, or the error the runbook will see).
  void complete(const std::string& key, Result<nlohmann::json> result);
  /// Resumes the tasks paused at the end of their time slice (RunHost::paused).
  void proceed();
  /// Ends the run from outside (cancel, deadline): no task is resumed after this.
  void stop(RunState state, std::string reason);

  /// Ends every effect the run waits for with Cancelled `reason` (the shell's Ctrl-C while a
  /// device call is out); the tasks see the error and go on or fail as their code decides.
  void interrupt_waiting(const std::string& reason);
  /// The run's Lua state, for a host that reads globals between chunks (shell completion) or
  /// sets the sandbox's interrupt flag; never to run code while a task is suspended.
  LuaSandbox& sandbox() { return *sandbox_; }

  const RunSpec& spec() const { return spec_; }
  const std::string& id() const { return spec_.id; }
  RunState state() const { return state_; }
  /// Set when Succeeded: the value `run` returned.
  const nlohmann::json& result() const { return result_; }
  /// Set when the run did not succeed.
  const std::string& error() const { return error_; }
  /// Effects returned from the journal instead of being issued (replay statistics).
  std::uint64_t replayed() const { return replayed_; }
  std::size_t memory_used() const { return sandbox_->memory_used(); }
  std::uint64_t instructions() const { return sandbox_->instructions(); }

  // The Lua primitives (lua_api.cpp) reach the run through these.
  struct Task;
  struct Outgoing {
    enum class Type { None, Effect, Spawn } type = Type::None;
    std::string kind;
    nlohmann::json args;
    std::vector<int> branch_refs;  ///< Spawn: registry refs of the branch threads
    int max = 0;
  };
  Task* task_of(lua_State* L);
  Outgoing& outgoing() { return outgoing_; }
  /// Records a step or log line; returns its key.
  std::string note(Task& task, nlohmann::json record);
  /// The result handed to a task on its last resume.
  Result<nlohmann::json>& pending_result(Task& task);

 private:
  Run(RunSpec spec, std::map<std::string, nlohmann::json> replay, RunHost& host);
  Result<void> bootstrap();
  Task& add_task(std::string path, int thread_ref, Task* parent);
  void make_ready(Task& task);
  void pump();
  void resume(Task& task);
  void on_yield(Task& task);
  void on_task_end(Task& task);
  void finish(RunState state, std::string error);
  void start_branches(Task& parent);

  RunSpec spec_;
  std::map<std::string, nlohmann::json> replay_;
  RunHost& host_;
  std::unique_ptr<LuaSandbox> sandbox_;
  std::unordered_map<lua_State*, std::unique_ptr<Task>> tasks_;
  std::unordered_map<std::string, Task*> waiting_;  // effect key -> task
  std::deque<Task*> ready_;
  std::vector<Task*> paused_;  // preempted by the sandbox's time slice
  Outgoing outgoing_;
  bool pumping_ = false;
  bool finished_reported_ = false;
  RunState state_ = RunState::Running;
  nlohmann::json result_;
  std::string error_;
  std::uint64_t replayed_ = 0;
  int root_ref_ = -1;
};

}  // namespace nauto::runbook
