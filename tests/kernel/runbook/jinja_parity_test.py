#!/usr/bin/env python3
"""The `{{ }}` expressions of YAML runbooks against Python's jinja2, case by case.

Each case is rendered by nauto (expression_probe: the compiler and helpers a runbook uses) and
by jinja2 (`{{ e }}`, and `{% if e %}` for its truth); both must agree, or both must refuse.
Usage: jinja_parity_test.py <expression_probe>
"""
import json
import subprocess
import sys

import jinja2

VARS = {
    "neighbor_detail": "BGP neighbor is 192.0.2.1,  remote AS 65001\n  BGP state = Established, up for 01:02:03",
    "idle_detail": "BGP neighbor is 192.0.2.9,  remote AS 65009\n  BGP state = Idle (Admin)",
    "analysis": "  The BGP session is DOWN: the neighbor was shut.  ",
    "peers": ["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    "counts": [3, 1, 2, 1],
    "empty": [],
    "blank": "",
    "prefixes": 12,
    "ratio": 0.25,
    "zero": 0,
    "enabled": True,
    "device": {"name": "r1", "site": "dc1", "asn": 65001},
    "csv": "a,b,,c",
    "number_text": "42",
}

CASES = [
    # in / not in, on strings and lists (the example runbook's conditions)
    "'Established' not in neighbor_detail",
    "'Established' in neighbor_detail",
    "'Established' not in idle_detail",
    "'down' in analysis.lower()",
    "'192.0.2.2' in peers",
    "'192.0.2.9' not in peers",
    "'site' in device",
    "3 in counts",
    # string methods
    "analysis.lower()",
    "analysis.upper()",
    "analysis.strip()",
    "analysis.strip().startswith('The')",
    "neighbor_detail.startswith('BGP')",
    "neighbor_detail.split()",
    "neighbor_detail.split()[3]",
    "csv.split(',')",
    "csv.split(',', 1)",
    "'  x y  '.split()",
    "analysis.strip().endswith('shut.')",
    "'a-b-c'.replace('-', '+')",
    "number_text.isdigit()",
    "device.get('role', 'leaf')",
    # comparisons, arithmetic, and / or / not
    "prefixes > 10",
    "prefixes == 12.0",
    "number_text == 42",
    "number_text | int == 42",
    "'10' < '9'",
    "prefixes >= 12 and ratio < 0.5",
    "zero or 'fallback'",
    "blank or peers",
    "enabled and 'yes'",
    "not empty",
    "not (prefixes > 10 or zero)",
    "7 / 2",
    "8 / 2",
    "7 // 2",
    "-7 % 3",
    "2 ** 10",
    "0.1 + 0.2",
    "prefixes + 1.5",
    "'a' ~ prefixes ~ enabled",
    "'up' if 'Established' in neighbor_detail else 'down'",
    # filters
    "peers | first",
    "peers | last",
    "peers | length",
    "analysis | length",
    "device | length",
    "blank | length",
    "missing_variable | default('n/a')",
    "blank | default('n/a')",
    "blank | default('n/a', true)",
    "device.missing | default('none')",
    "peers | join(', ')",
    "counts | sort",
    "counts | unique | list",
    "counts | sum",
    "counts | max",
    "'3.7' | int",
    "'abc' | int",
    "'2' | float",
    "-3 | abs",
    "2.5 | round",
    "3.5 | round",
    "2.675 | round(1)",
    "analysis | trim | lower",
    "peers[0]",
    "peers[-1]",
    "device.name ~ '@' ~ device['site']",
    "'hello'[1]",
    "peers | first | length",
    # rendering of values
    "enabled",
    "ratio * 2",
    # tests
    "missing_variable is defined",
    "device is mapping",
    "prefixes is number",
    "prefixes is even",
    "blank is string",
    "peers is not none",
    # errors in both: comparing a string with a number, 'in' a number, arithmetic on strings
    "number_text < 50",
    "1 in prefixes",
    "number_text - 1",
]


# Where nauto departs from jinja2 on purpose (yaml_expressions.h): one nil stands for none and
# for a parameter nobody gave, so it renders empty; lists and mappings render as JSON, as config
# templates do (docs/adr/0016).
DIFFERENCES = [
    ("none", {"render": "", "truthy": False}),
    ("device", {"render": '{"asn":65001,"name":"r1","site":"dc1"}', "truthy": True}),
    ("[1, 'two', 3.0, true]", {"render": '[1,"two",3.0,true]', "truthy": True}),
]


def jinja(expression):
    env = jinja2.Environment()
    try:
        render = env.from_string("{{ " + expression + " }}").render(**VARS)
        truthy = env.from_string("{% if (" + expression + ") %}T{% else %}F{% endif %}").render(**VARS)
        value = env.compile_expression(expression)(**VARS)
        if isinstance(value, (list, tuple, dict)):
            # Lists and mappings render as JSON in nauto (DIFFERENCES): compare the values.
            render = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return {"render": render, "truthy": truthy == "T"}
    except Exception as e:  # jinja2 raises the Python error the expression makes
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    probe = sys.argv[1]
    request = json.dumps({"vars": VARS, "cases": CASES})
    out = subprocess.run([probe], input=request, capture_output=True, text=True, check=True)
    nauto = json.loads(out.stdout)
    failed = 0
    for expression, ours in zip(CASES, nauto):
        theirs = jinja(expression)
        if "error" in theirs or "error" in ours:
            same = "error" in theirs and "error" in ours
        elif theirs["render"].startswith(("[", "{")) and ours["render"].startswith(("[", "{")):
            same = json.loads(ours["render"]) == json.loads(theirs["render"]) and \
                ours["truthy"] == theirs["truthy"]
        else:
            same = ours == theirs
        status = "ok" if same else "FAILED"
        if not same:
            failed += 1
        print(f"{status}: {expression!r}: nauto {json.dumps(ours)} jinja2 {json.dumps(theirs)}")
    differences = subprocess.run([probe], input=json.dumps({"vars": VARS, "cases": [d[0] for d in DIFFERENCES]}),
                                 capture_output=True, text=True, check=True)
    for (expression, expected), ours in zip(DIFFERENCES, json.loads(differences.stdout)):
        if ours != expected:
            failed += 1
            print(f"FAILED: {expression!r}: nauto {json.dumps(ours)}, documented {json.dumps(expected)}")
    # The undefined-variable rule: jinja2 renders it empty; a runbook refuses it by name.
    undefined = subprocess.run([probe], input=json.dumps({"vars": {}, "cases": ["slack_webhook"]}),
                               capture_output=True, text=True, check=True)
    message = json.loads(undefined.stdout)[0].get("error", "")
    if "'slack_webhook' is undefined" not in message:
        failed += 1
        print(f"FAILED: an undefined variable is not refused by name: {message!r}")
    print(f"{len(CASES)} expressions, {failed} differ from jinja2 {jinja2.__version__}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
