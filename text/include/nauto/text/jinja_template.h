#pragma once
// A Jinja2 subset for config templates (intended configs, issue 27). Debian 12 has no
// maintained C++ Jinja library (inja and Jinja2Cpp are not packaged), so this is our own, small
// and documented (docs/templates.md; ADR 0016). What it takes:
//   {{ expr }}                     output; an undefined variable is an error, never ""
//   {% if %} {% elif %} {% else %} {% endif %}
//   {% for x in xs %} / {% for k, v in d.items() %} ... {% else %} ... {% endfor %}
//                                  loop.index, loop.index0, loop.first, loop.last, loop.length
//   {% set name = expr %}          {% include "name" %}        {# comment #}
//   expressions: literals ('s', "s", 1, 2.5, true/false/none, [a, b]), names, a.b, a['b'],
//   a[0], + - * / % ~, == != < <= > >=, and or not, in / not in, x if c else y,
//   is [not] defined/none/number/string/even/odd, method calls items() keys() values()
//   split() startswith() endswith() upper() lower() strip(), filters `| name(args)`: default (d),
//   upper, lower, title, capitalize, trim, replace, join, length (count), first, last, int,
//   float, string, indent, sort, unique, list, reverse, abs, round, max, min.
// Whitespace as Ansible renders templates: a newline right after a block tag is dropped
// (trim_blocks), spaces before a block tag alone on its line too (lstrip_blocks); `{%-`/`-%}`
// strip all whitespace on that side.
// Every error names the template, the line and what is wrong ("r1.j2:12: 'vlan' is undefined").
// Bounded: includes nest at most 16 deep, a render makes at most 1,000,000 loop iterations and
// 64 MiB of output, so a template cannot hang or exhaust nautod.
// Thread-safe: every function is pure apart from the loader it is given.

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "nauto/base/result.h"

namespace nauto::text {

/// The text of a template by name: the file itself, and each `{% include %}` (the loader decides
/// where names are looked up and refuses names that leave its folder). Errc::NotFound when
/// there is no such template.
using TemplateLoader = std::function<Result<std::string>(const std::string& name)>;

/// Renders template `name` with `variables` (an object: its keys are the template's names).
/// Errors: Errc::InvalidArgument with `where` = "name:line" and a message naming the variable,
/// filter or tag; the loader's errors for a missing template.
Result<std::string> render_template(const std::string& name, const TemplateLoader& load,
                                    const nlohmann::json& variables);

/// Checks a template's syntax without rendering it (includes are not followed).
Result<void> check_template(const std::string& name, const std::string& text);

}  // namespace nauto::text
