#!/usr/bin/env python3
"""Python TextFSM (Debian's python3-textfsm) over the ntc-templates fixture corpus, measured the
way textfsm_bench.cpp measures nauto: index lookup and template compilation first, then every
fixture parsed ROUNDS times with its prepared TextFSM object(s) (Reset() between parses).
Fixtures of cisco_s300_show_vlan.textfsm are also timed apart (see textfsm_bench.cpp).
   textfsm_bench.py CORPUS_DIR [ROUNDS]"""
import glob
import os
import sys
import time

import textfsm
from textfsm import clitable

corpus = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
templates = os.path.join(corpus, "ntc_templates", "templates")

started = time.perf_counter()
table = clitable.CliTable("index", templates)
compiled = {}
fixtures = []
size = 0
for raw in sorted(glob.glob(os.path.join(corpus, "tests", "*", "*", "*.raw"))):
    if not os.path.exists(raw[:-4] + ".yml"):
        continue
    parts = raw.split(os.sep)
    attributes = {"Command": parts[-2].replace("_", " "), "Platform": parts[-3]}
    row = table.index.GetRowMatch(attributes)
    names = table.index.index[row]["Template"].split(":")
    fsms = []
    for name in names:
        if name not in compiled:
            with open(os.path.join(templates, name)) as handle:
                compiled[name] = textfsm.TextFSM(handle)
        fsms.append(compiled[name])
    with open(raw) as handle:
        text = handle.read()
    size += len(text.encode())
    fixtures.append((fsms, text, "cisco_s300_show_vlan.textfsm" in names))
compile_s = time.perf_counter() - started

records = 0
pathological = 0.0
started = time.perf_counter()
for _ in range(rounds):
    for fsms, text, slow in fixtures:
        fixture_started = time.perf_counter()
        for fsm in fsms:
            fsm.Reset()
            records += len(fsm.ParseText(text))
        if slow:
            pathological += time.perf_counter() - fixture_started
total = time.perf_counter() - started
parse_s = total / rounds
ordinary = (total - pathological) / rounds
print("python : %d fixtures, %.2f MB, %d records per round; index + templates %.3f s; "
      "parse %.4f s per round = %.0f fixtures/s, %.1f MB/s"
      % (len(fixtures), size / 1e6, records // rounds, compile_s, parse_s,
         len(fixtures) / parse_s, size / 1e6 / parse_s))
print("         without cisco_s300_show_vlan.textfsm: %.4f s per round; its fixtures alone: %.4f s"
      % (ordinary, pathological / rounds))
print("RESULT python parse_seconds_per_round=%.6f compile_seconds=%.6f ordinary=%.6f"
      % (parse_s, compile_s, ordinary))
