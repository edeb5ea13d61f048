#!/usr/bin/python3
"""The compliance benchmark's baseline (issue 28): the same 100 rules over the same configs as
compliance_bench, done by a Python loop with `re` at its best: every pattern compiled once,
whole-config checks one re.search over the text with re.M (no per-line loop), sections from
one indentation parse per config. Prints the seconds and the pass/fail counts, which must equal
nauto's.
  compliance_bench.py DIR
"""
import os
import re
import sys
import time

import yaml


def compile_rules(path):
    rules = []
    for rule in yaml.safe_load(open(path))["rules"]:
        r = {"kind": None}
        for kind in ("must_match", "must_not_match"):
            if kind in rule:
                r["kind"] = kind
                r["whole"] = re.compile(rule[kind], re.M)
                r["line"] = re.compile(rule[kind])
        if "must_contain_lines" in rule:
            r["kind"] = "block"
            r["block"] = [line.strip() for line in rule["must_contain_lines"]]
        within = rule.get("within")
        r["section"] = re.compile(within["section"]) if within else None
        r["having"] = re.compile(within["having"]) if within and "having" in within else None
        rules.append(r)
    return rules


def parse_sections(lines):
    """Every line as (text, [the trimmed lines under it at any depth]), by indentation."""
    nodes, stack = [], []  # stack of (indent, node)
    for line in lines:
        text = line.strip()
        if not text:
            continue
        indent = len(line) - len(line.lstrip(" "))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        for _, parent in stack:
            parent[1].append(text)
        node = (text, [])
        nodes.append(node)
        stack.append((indent, node))
    return nodes


def find_block(lines, block):
    n = len(block)
    first = block[0]
    for i, line in enumerate(lines):
        if line == first and lines[i:i + n] == block:
            return True
    return False


def check(rule, text, trimmed, nodes):
    kind = rule["kind"]
    if rule["section"] is None:
        if kind == "block":
            return find_block(trimmed, rule["block"])
        found = rule["whole"].search(text) is not None
        return found if kind == "must_match" else not found
    for header, under in nodes:
        if not rule["section"].search(header):
            continue
        if rule["having"] and not any(rule["having"].search(line) for line in under):
            continue
        if kind == "block":
            ok = find_block(under, rule["block"])
        else:
            hit = any(rule["line"].search(line) for line in under)
            ok = hit if kind == "must_match" else not hit
        if not ok:
            return False
    return True


def main():
    directory = sys.argv[1]
    rules = compile_rules(os.path.join(directory, "policy.yaml"))
    names = sorted(os.listdir(os.path.join(directory, "configs")))
    configs = [open(os.path.join(directory, "configs", n)).read() for n in names]
    start = time.perf_counter()
    passed = failed = 0
    for text in configs:
        lines = text.split("\n")
        trimmed = [line.strip() for line in lines]
        nodes = parse_sections(lines)
        for rule in rules:
            if check(rule, text, trimmed, nodes):
                passed += 1
            else:
                failed += 1
    seconds = time.perf_counter() - start
    print(f"python re: {len(configs)} configs, {len(rules)} rules: {seconds:.2f} s; "
          f"pass {passed}, fail {failed}")
    print(f"RESULT seconds={seconds} pass={passed} fail={failed}")


if __name__ == "__main__":
    main()
