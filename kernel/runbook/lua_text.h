#pragma once
// Text helpers for device output, as Lua globals of the sandbox:
//   re.match(text, pattern)     first match: its captures (or the whole match), nil if none
//   re.find_all(text, pattern)  every match: strings, or tables of captures when there are 2+
//   re.test(text, pattern)      true if the pattern matches
//   lines(text)                 the lines, without line ends
//   section(text, pattern)      the first block whose header line matches, with the lines
//                               indented under it ("interface Gi1" ... up to the next
//                               unindented line); sections(text, pattern) for all of them
// Patterns are PCRE2, multi-line (^ and $ match at line ends), with a match limit so a
// runaway pattern fails instead of hanging the run.

struct lua_State;

namespace nauto::runbook {

void open_text_helpers(lua_State* L);

}  // namespace nauto::runbook
