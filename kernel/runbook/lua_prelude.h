#pragma once
// The runbook API written in Lua on top of the engine's primitives (__effect, __result,
// __spawn, __note): device handles, inventory.select, parallel, foreach, retry, wait, approve,
// emit, log, store, call, step, fail. Loaded into every run's sandbox before the runbook.

namespace nauto::runbook {

extern const char* const kLuaPrelude;

}  // namespace nauto::runbook
