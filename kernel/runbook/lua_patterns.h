#pragma once
// Lua's string patterns with every matching step counted.
//
// Lua's own string.find/match/gmatch/gsub match in C, where the count hook never fires: a
// pattern that backtracks without end ("a*a*a*...b" against a long run of a's) holds the
// engine's thread for hours. These replacements keep the exact pattern syntax and results of
// Lua 5.4 (reference manual §6.4.1) and charge each matching step to the sandbox's instruction
// budget (LuaSandbox::charge), so a pattern is bounded by the run's budget and deadline, and by
// the longest stretch the engine allows without a pause. Recursion is bounded as in Lua (200).
// Written for the sandbox, not taken from lstrlib.c: see docs/adr/0013-bounded-lua-patterns.md.

struct lua_State;

namespace nauto::runbook {

/// Replaces find, match, gmatch and gsub in the string table at `string_table` (an absolute
/// index); method calls (`s:find(...)`) reach them through the string metatable's __index.
void open_bounded_patterns(lua_State* L, int string_table);

}  // namespace nauto::runbook
