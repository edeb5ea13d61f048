#!/usr/bin/env python3
"""Counts test cases from meson testlog.json files and prints the summary of scripts/test.

Usage: test_summary.py [--build-failures N] LABEL=TESTLOG.json...

Catch2 binaries report their test cases; the integration scripts and the ntc-templates
conformance report their checks ('<suite>: N passed, N failed'). A test that died before
printing a summary counts as one failure, so a crash can never look like success. A pass whose
testlog is missing (its build failed) counts as one failure, as does each build failure.

Prints the ten slowest tests, one line per pass with its counts (and how many of them are
ntc-templates fixtures), and last "tests: N passed, N failed" over all passes."""
import json
import re
import sys

CATCH_ALL = re.compile(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)")
CATCH_MIXED = re.compile(r"test cases:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed")
CATCH_FAILED_ONLY = re.compile(r"test cases:\s+(\d+)\s+\|\s+(\d+) failed")
SCRIPT = re.compile(r"^\w[\w-]*: (\d+) passed, (\d+) failed\s*$", re.M)
NTC_SUITE = "textfsm_conformance"


def count(entry):
    out = entry.get("stdout", "") or ""
    ok = entry.get("result") == "OK"
    m = CATCH_ALL.search(out)
    if m:
        return int(m.group(1)), 0 if ok else 1
    m = CATCH_MIXED.search(out)
    if m:
        return int(m.group(2)), max(int(m.group(3)), 0 if ok else 1)
    m = CATCH_FAILED_ONLY.search(out)
    if m:
        return 0, int(m.group(2))
    m = SCRIPT.search(out)
    if m:
        return int(m.group(1)), max(int(m.group(2)), 0 if ok else 1)
    return (1, 0) if ok else (0, 1)


def main():
    args = sys.argv[1:]
    build_failures = 0
    if args[:1] == ["--build-failures"]:
        build_failures, args = int(args[1]), args[2:]
    total_passed, total_failed = 0, build_failures
    durations = []
    lines = []
    for arg in args:
        label, _, path = arg.partition("=")
        passed = failed = fixtures = 0
        try:
            with open(path) as log:
                entries = [json.loads(line) for line in log if line.strip()]
        except OSError:
            lines.append(f"{label}: no test log (its build failed): counted as 1 failure")
            total_failed += 1
            continue
        for entry in entries:
            p, f = count(entry)
            passed += p
            failed += f
            name = entry.get("name", "?").removeprefix("nauto:")  # "suite / test"
            if name.endswith("/ " + NTC_SUITE):
                fixtures = p
            durations.append((entry.get("duration", 0.0), label, name, entry.get("result", "?")))
        lines.append(f"{label}: {passed} passed, {failed} failed in {len(entries)} tests"
                     f" ({fixtures} of the passed are ntc-templates fixtures)")
        total_passed += passed
        total_failed += failed
    print("slowest tests:")
    for seconds, label, name, result in sorted(durations, reverse=True)[:10]:
        print(f"  {seconds:7.1f} s  {label:<10} {name} ({result})")
    for line in lines:
        print(line)
    print(f"tests: {total_passed} passed, {total_failed} failed")


main()
