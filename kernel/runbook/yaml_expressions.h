#pragma once
// The `{{ }}` expression language of YAML runbooks, compiled to Lua: the subset of Jinja2 that
// runbooks written for earlier tools use, with Jinja2's semantics (checked against Python's
// jinja2 by tests/kernel/runbook/jinja_parity_test.py).
//
//   literals      'text' "text" 42 4.2 true false none [a, b]
//   variables     name  name.field  name[0]  name[-1]  name['key']
//   operators     a if c else b   or and not   == != < <= > >= in, not in   + - ~ * / // % **
//   methods       s.lower() upper() strip(chars) lstrip() rstrip() startswith(x) endswith(x)
//                 split(sep, max) splitlines() replace(a, b) count(x) find(x) join(list)
//                 isdigit() capitalize()   d.get(k, default) keys() values() items()
//   filters       | lower upper trim length count int float string first last join(sep)
//                 default(v, boolean) d(v) replace(a, b) tojson sort unique reverse sum min max
//                 abs round(n) list  and nauto's | lines | json (decode)
//   tests         is [not] defined undefined none number integer float string boolean mapping
//                 sequence iterable even odd true false
//   functions     matches(text, re) find_all(text, re) section(text, re) length(x) range(n)
//                 vault(name).field (a reference the sending module resolves; never the value)
//
// Semantics are Python's: `and`/`or` return an operand, `in` is substring/membership/key,
// comparing a string with a number is an error (use `| int`), `/` is true division, scalars
// render as Python prints them (True, 2.0). A variable that is neither a
// parameter, nor written by a step, nor a site variable (modules.runbooks.vars) is an error
// naming it; `| default(x)` and `is defined` accept it.
// Differences from Jinja2 (kept on purpose, and checked by the same test): one nil stands for
// none and for a parameter nobody gave, so `none` renders empty; lists and mappings render as
// JSON (keys sorted), as config templates do (docs/adr/0016); `| tojson` is compact.

#include <set>
#include <string>
#include <string_view>

#include "nauto/base/result.h"

namespace nauto::runbook {

/// `text` as a Lua string literal.
std::string lua_string(std::string_view text);

/// One expression (no braces) -> a Lua expression over the variables table V and the helpers
/// table Y. Errors name the expression.
Result<std::string> compile_expression(std::string_view text);

/// "show bgp {{ peer }}" -> a Lua string expression; exactly "{{ e }}" -> e's value itself (a
/// list stays a list). `where` ("file.yaml:12") labels runtime errors.
Result<std::string> compile_template(const std::string& text, const std::string& where);

/// A condition ("'up' in out" or "{{ 'up' in out }}") -> a Lua boolean expression.
Result<std::string> compile_condition(const std::string& text, const std::string& where);

/// Lua, on one line, defining the local table Y that compiled expressions use. `known` are
/// the names the runbook declares or writes (parameters, save_output, set), which are nil
/// rather than undefined before they are given a value.
std::string expression_helpers(const std::set<std::string>& known);

}  // namespace nauto::runbook
