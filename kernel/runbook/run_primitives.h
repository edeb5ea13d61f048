#pragma once
// The engine's primitives, registered in a run's sandbox and captured (then hidden) by the
// prelude: __effect(kind, args) yields the task until the effect is done, __result() returns
// (ok, value) of the last effect, __spawn(functions, max) runs functions as parallel branches
// and yields until all have ended, __note(type, ...) records steps and log lines.

struct lua_State;

namespace nauto::runbook {

void open_run_primitives(lua_State* L);
/// __shell_input(outcome): for the shell's read-eval loop only (RunSpec::interactive) — yields
/// an "input" effect carrying `outcome` and returns the effect's result: the next chunk's text,
/// or nil when the session ends.
void open_shell_primitives(lua_State* L);

}  // namespace nauto::runbook
