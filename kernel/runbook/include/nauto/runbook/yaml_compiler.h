#pragma once
// YAML runbooks, compiled to the Lua the engine runs, so both languages share one step model
// (device calls, waits, approvals, sub-runbooks are the same journaled effects).
//
//   name: troubleshoot-bgp
//   description: ...
//   params:                      # a list of {name, type, required, default, description}
//     - {name: neighbor, type: ip, required: true}
//   steps:
//     - name: BGP summary
//       type: command            # command | config | runbook | wait | approval | emit | assert
//       device: "{{ device }}"   #   | set | log
//       command: show ip bgp summary
//       save_output: summary
//       condition: "'Established' not in summary"
//       loop: "{{ devices }}"    # or foreach: {select: "site=dc1"}; `item` / `index` inside
//       parallel: {max: 10}
//       retry: {attempts: 3, delay: 2, backoff: 2}
//       on_failure: continue     # abort (default) | continue | rollback | [steps]
//   rollback: [steps]            # run by on_failure: rollback, then the run fails
//
// Expressions ({{ }} and conditions) are a small Jinja-like language: literals, variables with
// .field and [index] (0-based), == != < <= > >= in, not in, and or not, + - * / ~, and filters
// (| lower upper trim length int string first last join(sep) default(v) lines json), and the
// functions matches(text, pattern), find_all(text, pattern), section(text, pattern).
// The generated Lua keeps each step on its YAML line, so runtime errors name the YAML line.

#include <string>

#include "nauto/base/result.h"

namespace nauto::runbook {

/// Errors: InvalidArgument listing every problem as "file:line: steps[2].type: ...".
Result<std::string> compile_yaml_runbook(const std::string& text, const std::string& file_name);

}  // namespace nauto::runbook
