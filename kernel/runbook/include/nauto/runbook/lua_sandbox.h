#pragma once
// LuaSandbox: one Lua 5.4 state for one run, with the safe libraries only and hard limits.
//
// Loaded: base (without dofile, loadfile, collectgarbage; `load` accepts text only), string
// (without string.dump), table, math, utf8. Not loaded: io, os, package/require, debug,
// coroutine (the engine owns coroutines). Limits: a memory cap enforced by the allocator, an
// instruction budget and a wall-clock deadline checked by a count hook every kHookEvery
// instructions. Once a limit trips it stays tripped: the hook raises the same error again on
// every later check, so a runbook cannot pcall its way past a limit. Reaching the memory cap
// trips it too, even when Lua's emergency collection then finds room.
//
// Nothing a runbook does can hold its thread: string.find/match/gmatch/gsub are replaced by
// matchers that charge every backtracking step to the instruction budget (lua_patterns.h), and
// `setmetatable` refuses `__gc` (finalizers run with hooks off, when no limit can apply). With
// a time slice set, the hook yields a coroutine that has computed for longer than the slice,
// so the engine serves its other runs between slices (take_preempted() tells it so); where a
// yield is impossible (inside a callback of table.sort or string.gsub, or a matcher), computing
// for longer than `max_unpausable_us` trips the run.
// Thread-bound: a sandbox is used by one thread at a time (the engine's).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "nauto/base/result.h"

struct lua_State;
struct lua_Debug;

namespace nauto::runbook {

struct SandboxLimits {
  std::size_t max_memory_bytes = 64u << 20;
  std::uint64_t instruction_budget = 200'000'000;
  std::int64_t deadline_steady_us = 0;  ///< 0: none
  /// Computing longer than this yields the running coroutine (see above); 0: never.
  std::int64_t slice_us = 0;
  /// With a slice: the most a stretch that cannot yield may compute before the run trips.
  std::int64_t max_unpausable_us = 1'000'000;
};

class LuaSandbox {
 public:
  static constexpr int kHookEvery = 1000;

  /// Errc::ResourceExhausted when even an empty state does not fit the memory cap.
  static Result<std::unique_ptr<LuaSandbox>> create(const SandboxLimits& limits);
  ~LuaSandbox();
  LuaSandbox(const LuaSandbox&) = delete;
  LuaSandbox& operator=(const LuaSandbox&) = delete;

  lua_State* state() const { return state_; }
  /// Compiles text (never bytecode) as a chunk named `chunk_name` and leaves the function on
  /// the stack. Errors: InvalidArgument with Lua's message (file:line: ...).
  Result<void> load(const std::string& text, const std::string& chunk_name);

  std::size_t memory_used() const { return memory_used_; }
  std::uint64_t instructions() const { return instructions_; }
  /// Why the run must stop, once a limit tripped or stop() was called; empty otherwise.
  const std::string& tripped() const { return tripped_; }
  /// Makes the next hook check raise `reason` (cancellation, deadline from outside).
  void stop(std::string reason);
  /// A fresh allowance: `instruction_budget` more instructions, a new deadline, and a tripped
  /// limit cleared. For a long-lived state that runs many short calls (a rule's Lua predicate);
  /// a run's sandbox never renews, which is what keeps a run's limits final.
  void renew(std::uint64_t instruction_budget, std::int64_t deadline_steady_us);
  /// An interactive session's Ctrl-C: whenever `flag` is found set (by a signal handler), the
  /// hook clears it and raises "interrupted" once — unlike a limit, it does not stay tripped,
  /// so the session's own pcall catches it and the session goes on. `flag` outlives the sandbox.
  void set_interrupt_flag(std::atomic<bool>* flag) { interrupt_flag_ = flag; }
  /// Starts a time slice: the engine calls it before it resumes a task of the run.
  void begin_slice();
  /// True once after the hook yielded a task because its slice ran out (not an effect).
  bool take_preempted() {
    const bool was = preempted_;
    preempted_ = false;
    return was;
  }
  /// Charges `steps` of C work (a pattern matcher's backtracking) to the instruction budget and
  /// raises "<what>: <reason>" once a limit trips (a limit tripped elsewhere keeps its text). Only
  /// from a C function called by Lua, with no C++ object alive in any frame between it and Lua (it
  /// may longjmp).
  void charge(lua_State* L, std::uint64_t steps, const char* what);

  /// Recognises the allocator's failure as the memory cap ("memory limit of 64 MiB exceeded").
  std::string describe_error(int status, const std::string& lua_message) const;

  /// The sandbox that owns `L` (a thread of its state included).
  static LuaSandbox& of(lua_State* L);
  /// The object driving this sandbox (the Run), for the engine's Lua primitives.
  void set_owner(void* owner) { owner_ = owner; }
  void* owner() const { return owner_; }

 private:
  explicit LuaSandbox(const SandboxLimits& limits) : limits_(limits) {}
  static void* allocate(void* self, void* block, std::size_t old_size, std::size_t new_size);
  static void hook(lua_State* L, lua_Debug* debug);
  void open_safe_libraries();
  /// Trips a limit when one is passed; true when the slice is used up.
  bool check_limits(bool can_pause);

  SandboxLimits limits_;
  lua_State* state_ = nullptr;
  std::size_t memory_used_ = 0;
  bool memory_refused_ = false;
  std::uint64_t instructions_ = 0;
  std::string tripped_;
  std::int64_t slice_start_us_ = 0;
  bool preempted_ = false;
  void* owner_ = nullptr;
  std::atomic<bool>* interrupt_flag_ = nullptr;
};

}  // namespace nauto::runbook
