#include "nauto/runbook/run.h"

#include <functional>
#include <lua.hpp>

#include "nauto/base/clock.h"
#include "nauto/runbook/lua_values.h"
#include "nauto/runbook/runbook_loader.h"
#include "run_primitives.h"

namespace nauto::runbook {

using nlohmann::json;

struct Run::Task {
  std::string path;
  lua_State* thread = nullptr;
  int ref = LUA_NOREF;  // anchors the thread in the registry
  Task* parent = nullptr;
  int effects = 0;
  int notes = 0;
  int nargs = 0;  // values on the thread's stack for its next resume
  Result<json> result = json();
  // As the parent of parallel branches:
  std::vector<int> branch_refs;
  std::string branch_prefix;
  std::size_t next_branch = 0;
  std::size_t branches_left = 0;
  int max_running = 0;
  int running = 0;
};

std::string_view run_state_name(RunState state) {
  switch (state) {
    case RunState::Running:
      return "running";
    case RunState::Succeeded:
      return "succeeded";
    case RunState::Failed:
      return "failed";
    case RunState::Cancelled:
      return "cancelled";
    case RunState::TimedOut:
      return "timed_out";
  }
  return "?";
}

namespace {

struct BootstrapArgs {
  const RunSpec* spec;
  int root_ref = LUA_NOREF;
};

// Runs inside lua_pcall, so every allocation failure or runbook error is caught.
int bootstrap_lua(lua_State* L) {
  auto* args = static_cast<BootstrapArgs*>(lua_touserdata(L, 1));
  const RunSpec& spec = *args->spec;
  open_run_primitives(L);
  if (spec.interactive) open_shell_primitives(L);
  push_json(L, spec.context);
  lua_setglobal(L, "context");
  // Replays must see the same "random" numbers: seed from the run id.
  lua_getglobal(L, "math");
  lua_getfield(L, -1, "randomseed");
  lua_pushinteger(L, static_cast<lua_Integer>(std::hash<std::string>{}(spec.id) & 0x7fffffff));
  lua_call(L, 1, 0);
  lua_pop(L, 1);
  push_runbook_table(L, spec.source, spec.chunk_name);
  lua_State* root = lua_newthread(L);
  lua_getfield(L, -2, "run");
  // A run started behind an approval (a rule's `approval:`) asks before its code runs.
  if (spec.context.contains("approval")) {
    lua_getglobal(L, "__gate");
    lua_insert(L, -2);
    push_json(L, spec.context["approval"]);
    lua_call(L, 2, 1);
  }
  lua_pushnil(L);
  lua_setglobal(L, "__gate");
  push_json(L, spec.params);
  lua_xmove(L, root, 2);
  args->root_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

std::string message_at(lua_State* L, int index) {
  if (lua_type(L, index) == LUA_TSTRING || lua_type(L, index) == LUA_TNUMBER) {
    std::size_t size = 0;
    const char* text = lua_tolstring(L, index, &size);
    return std::string(text, size);
  }
  if (lua_isnil(L, index)) return "error (no message)";
  return std::string("error object of type ") + luaL_typename(L, index);
}

}  // namespace

Run::Run(RunSpec spec, std::map<std::string, json> replay, RunHost& host)
    : spec_(std::move(spec)), replay_(std::move(replay)), host_(host) {}

Run::~Run() = default;  // the sandbox closes the state and every thread in it

Result<std::unique_ptr<Run>> Run::create(RunSpec spec, std::map<std::string, json> replay,
                                         RunHost& host) {
  std::unique_ptr<Run> run(new Run(std::move(spec), std::move(replay), host));
  auto sandbox = LuaSandbox::create(run->spec_.limits);
  if (!sandbox) return std::move(sandbox).error();
  run->sandbox_ = std::move(*sandbox);
  run->sandbox_->set_owner(run.get());
  if (auto loaded = run->bootstrap(); !loaded) return std::move(loaded).error();
  return run;
}

Result<void> Run::bootstrap() {
  lua_State* L = sandbox_->state();
  BootstrapArgs args{&spec_};
  lua_pushcfunction(L, bootstrap_lua);
  lua_pushlightuserdata(L, &args);
  if (const int status = lua_pcall(L, 1, 0, 0); status != LUA_OK) {
    auto message = sandbox_->describe_error(status, message_at(L, -1));
    lua_pop(L, 1);
    return fail(Errc::InvalidArgument, message, spec_.runbook);
  }
  root_ref_ = args.root_ref;
  // Compiling the prelude and the runbook leaves garbage; a run may sit suspended for hours,
  // so collect it now rather than carry it (measured: 65 -> 57 KiB per suspended run).
  lua_gc(L, LUA_GCCOLLECT);
  return ok();
}

Run::Task& Run::add_task(std::string path, int thread_ref, Task* parent) {
  lua_State* L = sandbox_->state();
  lua_rawgeti(L, LUA_REGISTRYINDEX, thread_ref);
  lua_State* thread = lua_tothread(L, -1);
  lua_pop(L, 1);
  auto task = std::make_unique<Task>();
  task->path = std::move(path);
  task->thread = thread;
  task->ref = thread_ref;
  task->parent = parent;
  auto& added = *task;
  tasks_[thread] = std::move(task);
  return added;
}

void Run::start() {
  auto& root = add_task("m", root_ref_, nullptr);
  root.nargs = 1;  // the params table under the run function
  make_ready(root);
  pump();
}

Run::Task* Run::task_of(lua_State* L) {
  const auto it = tasks_.find(L);
  return it == tasks_.end() ? nullptr : it->second.get();
}

Result<json>& Run::pending_result(Task& task) {
  return task.result;
}

void Run::make_ready(Task& task) {
  ready_.push_back(&task);
}

void Run::complete(const std::string& key, Result<json> result) {
  if (state_ != RunState::Running) return;
  const auto it = waiting_.find(key);
  if (it == waiting_.end()) return;  // an answer to an effect this run no longer waits for
  Task& task = *it->second;
  waiting_.erase(it);
  task.result = std::move(result);
  make_ready(task);
  pump();
}

void Run::interrupt_waiting(const std::string& reason) {
  if (state_ != RunState::Running) return;
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [key, task] : waiting) {
    task->result = fail(Errc::Cancelled, reason);
    make_ready(*task);
  }
  pump();
}

void Run::stop(RunState state, std::string reason) {
  if (state_ != RunState::Running) return;
  finished_reported_ = true;  // the caller knows
  state_ = state;
  error_ = std::move(reason);
  ready_.clear();
  paused_.clear();
  waiting_.clear();
}

void Run::finish(RunState state, std::string error) {
  if (state_ != RunState::Running) return;
  state_ = state;
  error_ = std::move(error);
  ready_.clear();
  paused_.clear();
  waiting_.clear();
}

void Run::proceed() {
  if (state_ != RunState::Running) return;
  for (Task* task : std::exchange(paused_, {}))
    make_ready(*task);
  pump();
}

void Run::pump() {
  if (pumping_) return;
  pumping_ = true;
  // Each task gets its own slice, and a pass over the ready tasks ends once a slice has gone:
  // the tasks it did not reach go first next time, ahead of those it paused, so parallel
  // branches that all compute take turns instead of the first one taking every slice.
  const auto slice_us = spec_.limits.slice_us;
  const auto started = steady_us();
  while (!ready_.empty() && state_ == RunState::Running) {
    if (slice_us && steady_us() - started > slice_us) {
      const bool announce = paused_.empty();
      paused_.insert(paused_.begin(), ready_.begin(), ready_.end());
      ready_.clear();
      if (announce) host_.paused(*this);
      break;
    }
    Task* task = ready_.front();
    ready_.pop_front();
    sandbox_->begin_slice();
    resume(*task);
  }
  pumping_ = false;
  if (state_ != RunState::Running && !finished_reported_) {
    finished_reported_ = true;
    host_.finished(*this);
  }
}

void Run::resume(Task& task) {
  int results = 0;
  const int status = lua_resume(task.thread, nullptr, task.nargs, &results);
  task.nargs = 0;
  if (!sandbox_->tripped().empty()) {
    finish(RunState::Failed, sandbox_->tripped());
    return;
  }
  if (status == LUA_YIELD && sandbox_->take_preempted()) {
    paused_.push_back(&task);
    if (paused_.size() == 1) host_.paused(*this);
    return;
  }
  if (status == LUA_YIELD) {
    lua_pop(task.thread, results);
    on_yield(task);
    return;
  }
  if (status == LUA_OK) {
    if (!task.parent && results > 0) {
      auto value = json_of(task.thread, -results);
      if (value)
        result_ = std::move(*value);
      else
        result_ = "(the run returned a value that cannot be kept: " + value.error().message + ")";
    }
    lua_pop(task.thread, results);
    on_task_end(task);
    return;
  }
  finish(RunState::Failed, sandbox_->describe_error(status, message_at(task.thread, -1)));
}

void Run::on_yield(Task& task) {
  Outgoing out = std::move(outgoing_);
  outgoing_ = Outgoing{};
  const int number = ++task.effects;
  if (out.type == Outgoing::Type::Spawn) {
    task.branch_refs = std::move(out.branch_refs);
    task.branch_prefix = task.path + "." + std::to_string(number) + ".";
    task.next_branch = 0;
    task.branches_left = task.branch_refs.size();
    task.max_running = out.max > 0 ? out.max : static_cast<int>(task.branch_refs.size());
    task.running = 0;
    start_branches(task);
    return;
  }
  if (out.type != Outgoing::Type::Effect) {
    finish(RunState::Failed, "a task yielded without asking for anything (coroutine misuse?)");
    return;
  }
  Effect effect{task.path + "#" + std::to_string(number), std::move(out.kind), std::move(out.args),
                json()};
  if (const auto recorded = replay_.find(effect.key); recorded != replay_.end()) {
    const json& record = recorded->second;
    if (record.value("state", "") == "done") {
      ++replayed_;
      if (record.value("ok", false))
        task.result = record.contains("result") ? record["result"] : json();
      else
        task.result = fail(errc_from_name(record.value("code", "bug")), record.value("error", ""));
      make_ready(task);
      return;
    }
    effect.interrupted = record;
  }
  waiting_[effect.key] = &task;
  host_.issue(*this, effect);
}

void Run::start_branches(Task& parent) {
  while (parent.next_branch < parent.branch_refs.size() && parent.running < parent.max_running) {
    const auto index = parent.next_branch++;
    auto& branch = add_task(parent.branch_prefix + std::to_string(index + 1),
                            parent.branch_refs[index], &parent);
    ++parent.running;
    make_ready(branch);
  }
}

void Run::on_task_end(Task& task) {
  Task* parent = task.parent;
  if (!parent) {
    finish(RunState::Succeeded, {});
    return;
  }
  luaL_unref(sandbox_->state(), LUA_REGISTRYINDEX, task.ref);
  tasks_.erase(task.thread);  // `task` is gone from here on
  --parent->running;
  if (--parent->branches_left == 0) {
    parent->branch_refs.clear();
    parent->result = json();
    make_ready(*parent);
    return;
  }
  start_branches(*parent);
}

std::string Run::note(Task& task, json record) {
  auto key = task.path + "@" + std::to_string(++task.notes);
  if (!replay_.count(key)) host_.note(*this, key, record);
  return key;
}

}  // namespace nauto::runbook
