#!/usr/bin/env python3
"""Counts test cases from a meson testlog.json and prints 'N passed, N failed'.

Catch2 binaries report their test cases; the integration scripts report their checks
('<suite>: N passed, N failed'). A test that died before printing a summary counts as one
failure, so a crash can never look like success."""
import json
import re
import sys

CATCH_ALL = re.compile(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)")
CATCH_MIXED = re.compile(r"test cases:\s+(\d+)\s+\|\s+(\d+) passed\s+\|\s+(\d+) failed")
CATCH_FAILED_ONLY = re.compile(r"test cases:\s+(\d+)\s+\|\s+(\d+) failed")
SCRIPT = re.compile(r"^\w[\w-]*: (\d+) passed, (\d+) failed\s*$", re.M)


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
    passed = failed = 0
    for path in sys.argv[1:]:
        with open(path) as log:
            for line in log:
                p, f = count(json.loads(line))
                passed += p
                failed += f
    print(f"{passed} {failed}")


main()
