#pragma once
// Compliance policies (issue 28): what a policy file says, parsed and checked once. A file in
// modules.compliance.dirs holds one policy:
//
//   name: baseline                    # letters, digits, . _ -; default the file's name
//   description: the security baseline
//   gate: true                        # also checked against the predicted config of a push
//   rules:
//     - id: vty-ssh-only              # unique in the policy
//       severity: high                # info | low | medium (default) | high | critical
//       description: VTY lines accept SSH only
//       scope: "platform=cisco_ios"   # a selector (default all); the rule applies to those
//       within:                       # optional: under every section whose header matches
//         section: '^line vty'
//         having: '^login'            # ... and that has a line matching this under it
//         required: true              # a config without such a section fails (default: passes)
//       must_match: '^transport input ssh$'     # one check, see below
//       remediation:
//         lines: |                    # config lines that fix it, or:
//           line vty 0 4
//            transport input ssh
//         runbook: fix_vty            # a runbook run with {target = the device, rule = id}
//
// Checks, one per rule:
//   must_match / must_not_match: a PCRE2 pattern (Python syntax) searched in each line of the
//     config (as written, indentation included), or with `within:` in each line under each
//     section (trimmed); must_match needs one matching line (per section; `at_least: N` lines),
//     must_not_match none.
//   must_contain_lines: a block of lines (trimmed) that must appear in this order, one after
//     the other, in the config or under each section.
//   command: + expect: a show command run on the device (live runs only), its output parsed
//     (`parse: textfsm`, the default, with the ntc-templates index, or `parse: json`), and
//     assertions on the records: {field: F, OP: value} holds for every record (`any: true`:
//     for one at least); {count: {OP: n}} on the number of records. OP is one of == != < <= >
//     >= in regex.
//   validate: a NAPALM validate document: a list of {getter: expected state}, compared as
//     NAPALM's compliance_report does (napalm_validate.h).
//   lua: code defining check(config, facts), run in the runbooks' sandbox (lua_check.h).
//
// `live: true` makes a rule on the config wait for a live run: a rule about secrets (a default
// SNMP community) cannot be judged from archived configs, whose secrets are redacted.
//
// Immutable once parsed; shared by any thread.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nauto/base/result.h"
#include "nauto/text/regex.h"

namespace nauto::compliance {

enum class Severity { Info, Low, Medium, High, Critical };
const char* severity_name(Severity severity);

enum class CheckKind { MustMatch, MustNotMatch, MustContainLines, Records, Validate, Lua };
const char* check_kind_name(CheckKind kind);

using SharedRegex = std::shared_ptr<const text::Regex>;
class LuaCheck;

/// One assertion of a records check.
struct FieldAssertion {
  std::string field;       ///< empty for a count
  bool count = false;      ///< on the number of records, not a field
  bool any = false;        ///< one record suffices (default: every record)
  std::string op;          ///< == != < <= > >= in regex
  nlohmann::json operand;  ///< the value (a list for `in`)
  SharedRegex regex;       ///< for `regex`
  std::string text;        ///< as written, for messages: "state_pfxrcd regex ^\d+$"
};

struct Rule {
  std::string id;
  std::string description;
  Severity severity = Severity::Medium;
  std::string scope = "all";
  std::string origin;  ///< file:line
  CheckKind kind = CheckKind::MustMatch;

  // Config checks.
  SharedRegex pattern;             ///< must_match / must_not_match, on one line
  SharedRegex scan;                ///< the same with multiline anchors, over a whole config
  std::vector<std::string> block;  ///< must_contain_lines, trimmed
  SharedRegex section;             ///< within.section; null: the whole config
  SharedRegex having;              ///< within.having; null: every such section
  bool section_required = false;   ///< within.required: no such section is a failure
  std::string pattern_text;        ///< as written
  int at_least = 1;                ///< must_match: lines that must match (per section)
  bool live_only = false;          ///< `live: true`: skipped in runs from the archive

  // Records checks.
  std::string command;
  std::string parse = "textfsm";  ///< textfsm | json
  std::vector<FieldAssertion> expect;

  // NAPALM validate.
  nlohmann::json validate;  ///< the document: a list of {getter: expected}

  // Lua: thread-safe itself, so shared by the copies of an immutable rule.
  std::shared_ptr<LuaCheck> lua;

  // Remediation.
  std::string remediation_lines;
  std::string remediation_runbook;

  /// True when the rule needs the device itself (a command, or a getter other than config's).
  bool needs_device() const;
};

struct Policy {
  std::string name;
  std::string description;
  bool gate = false;
  std::string origin;  ///< the file
  std::vector<Rule> rules;
};

/// Parses one policy file; every problem at once, one per line, as "file:line: what".
Result<Policy> parse_policy(const std::string& yaml_text, const std::string& file);

/// The getters a NAPALM validate document may name, and whether each needs the device.
bool is_known_getter(const std::string& getter);
bool getter_needs_device(const std::string& getter);

}  // namespace nauto::compliance
