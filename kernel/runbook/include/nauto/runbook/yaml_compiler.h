#pragma once
// YAML runbooks, compiled to the Lua the engine runs, so both languages share one step model
// (device calls, waits, approvals, sub-runbooks are the same journaled effects).
//
//   name: troubleshoot-bgp
//   description: ...
//   version: "1.0"               # metadata, kept and shown by `nauto runbook show`
//   author: network-team
//   parameters:                  # or params: a list of {name, type, required, default,
//     - {name: neighbor, type: ip, required: true}        #   description}
//     - {name: target_device, type: device}   # the only device parameter: every command and
//   steps:                                    # config step without device: runs on it
//     - name: BGP summary
//       type: command            # command | config | runbook | wait | approval | emit | assert
//       command: show ip bgp summary          #   | set | log
//       save_output: summary
//       condition: "{{ 'Established' not in summary }}"
//       loop: "{{ devices }}"    # or foreach: {select: "site=dc1"}; `item` / `index` inside
//       parallel: {max: 10}
//       retry: {attempts: 3, delay: 2, backoff: 2}
//       on_failure: continue     # abort (default) | continue | rollback | [steps]
//   rollback: [steps]            # run by on_failure: rollback, then the run fails
//
// Expressions ({{ }} and conditions) are Jinja2's, as the subset in yaml_expressions.h; names
// that are neither parameters nor written by a step come from the site variables
// (modules.runbooks.vars), else they are an error naming them.
// The generated Lua keeps each step on its YAML line, so runtime errors name the YAML line.

#include <string>

#include "nauto/base/result.h"

namespace nauto::runbook {

/// Errors: InvalidArgument listing every problem as "file:line: steps[2].type: ...".
Result<std::string> compile_yaml_runbook(const std::string& text, const std::string& file_name);

}  // namespace nauto::runbook
