#pragma once
// The shell session's read-eval loop, in Lua: it runs as the root task of an interactive Run
// (RunSpec::interactive), so a chunk's device calls yield like a runbook's and its globals
// persist from one chunk to the next. Each chunk is tried as an expression first
// (`return <chunk>`), then as statements, and runs under pcall, so an error ends the chunk,
// never the session. Outcomes go back to C++ as JSON: {ok, values: [{type, value}], error}.

namespace nauto::cli::shell {

extern const char* const kShellLoop;

}  // namespace nauto::cli::shell
