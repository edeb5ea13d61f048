"""The manual pages and completions the build generates (packaging/meson.build) cannot drift
from the programs: each page renders with `man -l` without a groff warning, nauto(1) has a
section for every command `nauto --describe-cli` defines and names every option, nautod(8)
and nauto-lab(1) every option of theirs, nauto.yaml(5) every key `nautod --describe-config`
reports reading, and the bash completion every command.

  man_pages_test.py BUILD_PACKAGING_DIR NAUTO NAUTOD NAUTO_LAB EXAMPLE_CONFIG
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from nautod_process import Checks  # noqa: E402

PAGES, NAUTO, NAUTOD, LAB, EXAMPLE = sys.argv[1:6]
check = Checks()
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")


def described(*command):
    return json.loads(subprocess.run(command, capture_output=True, text=True, env=ENV,
                                     check=True).stdout)


def rendered(page):
    done = subprocess.run(["man", "--warnings", "-l", os.path.join(PAGES, page)],
                          capture_output=True, text=True,
                          env=dict(ENV, MANWIDTH="200", MAN_KEEP_FORMATTING="0"))
    return done.returncode, done.stdout, done.stderr


def commands(tree, prefix="nauto"):
    for sub in tree["subcommands"]:
        path = prefix + " " + sub["name"]
        yield path, sub
        yield from commands(sub, path)


def options_of(tree):
    return [name for o in tree["options"] for name in o["names"] if name.startswith("--")]


def main():
    texts = {}
    for page in ("nauto.1", "nautod.8", "nauto.yaml.5", "nauto-runbooks.7", "nauto-lab.1"):
        rc, out, err = rendered(page)
        lines = out.count("\n")
        check(f"man -l {page} renders ({lines} lines, no warning)",
              rc == 0 and not err.strip() and lines > 40, err[:800])
        # Off a terminal man overstrikes bold ("c\bc"); it also justifies: compare words with
        # single spaces.
        plain = re.sub(r".\x08", "", out).replace("\u2010", "-").replace("\u2212", "-")
        texts[page] = re.sub(r"\s+", " ", plain)

    cli = described(NAUTO, "--describe-cli")
    missing_commands, missing_options = [], []
    for path, command in commands(cli):
        if f" {path} " not in " " + texts["nauto.1"] + " ":
            missing_commands.append(path)
        section = texts["nauto.1"].split(f" {path} ", 1)[-1]
        missing_options += [f"{path} {o}" for o in options_of(command)
                            if o != "--help" and o not in section]
    total = sum(1 for _ in commands(cli))
    check(f"nauto(1) has every one of the {total} commands", not missing_commands,
          missing_commands[:20])
    check("and every option of each", not missing_options, missing_options[:20])

    for page, binary in (("nautod.8", NAUTOD), ("nauto-lab.1", LAB)):
        options = options_of(described(binary, "--describe-cli"))
        absent = [o for o in options if o not in texts[page]]
        check(f"{page} names every one of its {len(options)} options", not absent, absent)

    keys = described(NAUTOD, "--describe-config", EXAMPLE)
    paths = {re.sub(r"\[\d+\]", "[]", k["path"]) for k in keys}
    absent = sorted(p for p in paths if p not in texts["nauto.yaml.5"])
    check(f"nauto.yaml(5) has every one of the {len(paths)} keys nautod reads", not absent,
          absent[:20])
    check("including the modules' keys (modules.devices.max_sessions, modules.audit.sign_every)",
          "modules.devices.max_sessions" in paths and "modules.audit.sign_every" in paths,
          sorted(paths)[:10])

    with open(os.path.join(PAGES, "nauto")) as f:
        bash = f.read()
    absent = [path for path, _ in commands(cli) if f'"{path}"' not in bash]
    check("the bash completion knows every command", not absent, absent[:20])
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
