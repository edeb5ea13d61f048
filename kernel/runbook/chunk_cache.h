#pragma once
// Lua chunks compiled once and kept as bytecode. Every run gets a fresh Lua state (runs stay
// isolated), and compiling the 9 KB prelude and the runbook's text anew for each state was most
// of a run's start time (a parse is ~300 µs for the prelude on the benchmark machine; loading
// its bytecode ~50 µs). The bytecode is what this process's own Lua compiler made of the text,
// so loading it is as safe as loading the text; runbook code itself still cannot load bytecode
// (the sandbox's `load` takes text only).

#include <string>
#include <string_view>

struct lua_State;

namespace nauto::runbook {

/// Pushes the function compiled from `text` (a text chunk, as luaL_loadbufferx(..., "t") would),
/// reusing the bytecode of an earlier compile of the same text under the same `chunk_name`
/// (Lua's chunkname: "@file.lua", "=prelude"). Returns a Lua status; on an error the message is
/// on the stack, as with luaL_loadbufferx. Thread-safe; the cache is bounded (32 MiB of
/// bytecode, then it starts over).
int load_text_chunk(lua_State* L, std::string_view text, const std::string& chunk_name);

}  // namespace nauto::runbook
