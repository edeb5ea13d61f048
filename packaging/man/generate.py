#!/usr/bin/env python3
"""Makes nauto's manual pages from the programs' own definitions, so they cannot drift:

- nauto(1): every command and option of `nauto --describe-cli` (the CLI11 app);
- nautod(8): every option of `nautod --describe-cli`, with signals, systemd and files;
- nauto.yaml(5): every key `nautod --describe-config` reports reading (the ConfigReader calls
  of the kernel and of each module), described by the comment beside it in the example
  configuration (packaging/etc/nauto/nauto.yaml), with its form and default from the code;
- nauto-runbooks(7): the runbook API, from docs/runbooks.md.

  generate.py --nauto BIN --nautod BIN --nauto-lab BIN --config EXAMPLE --runbooks MD --version V --out DIR
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys

# The date on every page: the changelog's (dpkg sets SOURCE_DATE_EPOCH from it), so a package
# build is reproducible; today's for a developer's build.
DATE = datetime.datetime.fromtimestamp(
    int(os.environ.get("SOURCE_DATE_EPOCH", datetime.datetime.now().timestamp())),
    datetime.timezone.utc).strftime("%Y-%m-%d")


def escape(text):
    """Roff-safe text: backslashes, and a leading dot or quote that would start a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith(".") or line.startswith("'"):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def inline(text):
    """Markdown inline code and bold as roff fonts, the rest escaped."""
    out = []
    for i, part in enumerate(re.split(r"`([^`]*)`", text)):
        if i % 2:
            out.append("\\fB" + escape(part) + "\\fR")
        else:
            part = re.sub(r"\*\*([^*]+)\*\*", lambda m: "\x01" + m.group(1) + "\x02", part)
            out.append(escape(part).replace("\x01", "\\fB").replace("\x02", "\\fR"))
    return "".join(out)


def header(name, section, title, version):
    return (f'.TH "{name.upper()}" "{section}" "{DATE}" "nauto {version}" "{title}"\n'
            f".SH NAME\n")


def run_json(*command):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def option_item(option):
    names = ", ".join("\\fB" + escape(n) + "\\fR" for n in option["names"])
    kind = option.get("type") or ""
    if kind:
        names += " \\fI" + escape(kind) + "\\fR"
    text = inline(option["description"]) if option["description"] else ""
    extra = []
    if option.get("default"):
        extra.append("default: " + escape(option["default"]))
    if option.get("env"):
        extra.append("environment: \\fB" + escape(option["env"]) + "\\fR")
    if option.get("required"):
        extra.append("required")
    if extra:
        text += " (" + "; ".join(extra) + ")"
    return f".TP\n{names}\n{text}\n"


def positional_item(p):
    text = inline(p["description"]) if p["description"] else ""
    return f".TP\n\\fI{escape(p['name'])}\\fR\n{text}\n"


def usage(path, command):
    words = ["\\fB" + escape(path) + "\\fR"]
    if command["options"]:
        words.append("[\\fIoptions\\fR]")
    if command["subcommands"]:
        words.append("\\fIcommand\\fR")
    for p in command["positionals"]:
        name = "\\fI" + escape(p["name"]) + "\\fR"
        words.append(name if p["required"] else "[" + name + "]")
    return " ".join(words)


def commands_section(tree, prefix):
    """A .SS for every command, depth first, in the order the app defines them."""
    out = []
    for command in tree["subcommands"]:
        path = prefix + " " + command["name"]
        out.append(f'.SS "{escape(path)}"\n')
        out.append(".PP\n" + usage(path, command) + "\n")
        if command["description"]:
            out.append(".PP\n" + inline(command["description"]) + "\n")
        for p in command["positionals"]:
            out.append(positional_item(p))
        for o in command["options"]:
            if "--help" not in o["names"]:  # every command has it; the top says so once
                out.append(option_item(o))
        if command["footer"]:
            out.append(".PP\n" + inline(command["footer"]) + "\n")
        out.append("".join(commands_section(command, path)))
    return out


def nauto_page(cli, version):
    out = [header("nauto", 1, "nauto manual", version)]
    out.append("nauto \\- network automation: the command line of nautod\n")
    out.append(".SH SYNOPSIS\n.B nauto\n[\\fIglobal options\\fR] \\fIcommand\\fR "
               "[\\fIsubcommand\\fR] [\\fIoptions\\fR] [\\fIarguments\\fR]\n")
    out.append(".SH DESCRIPTION\n.PP\n" + inline(cli["description"]) + "\n")
    out.append(".PP\nnauto talks to \\fBnautod\\fR(8) over its socket "
               "(\\fI/run/nauto/nautod.sock\\fR), which only nautod's user and the members of "
               "its group \\fBnauto\\fR may use; what a caller may do is decided by the roles "
               "\\fBauth\\fR gives its unix user (\\fBnauto whoami\\fR). Listing commands take "
               "\\fB\\-o table\\fR, \\fBjson\\fR or \\fByaml\\fR.\n")
    out.append(".SH GLOBAL OPTIONS\n")
    out += [option_item(o) for o in cli["options"]]
    out.append(".SH COMMANDS\n")
    out += commands_section(cli, "nauto")
    out.append(
        ".SH ENVIRONMENT\n"
        ".TP\n\\fBNAUTO_CONFIG\\fR\nthe configuration file (default \\fI/etc/nauto/nauto.yaml\\fR)\n"
        ".TP\n\\fBNAUTO_ENDPOINT\\fR\nnautod's endpoint, instead of the one in the "
        "configuration's run_dir\n"
        ".TP\n\\fBNAUTO_RUN_DIR\\fR\nthe run_dir holding \\fInautod.sock\\fR\n"
        ".SH EXIT STATUS\n"
        ".TP\n0\nsuccess\n.TP\n1\nthe request failed (nautod's error is printed)\n"
        ".TP\n2\nbad arguments\n.TP\n3\na device failed, or a push was rolled back\n"
        ".SH FILES\n.TP\n\\fI/etc/nauto/nauto.yaml\\fR\nthe configuration (\\fBnauto.yaml\\fR(5))\n"
        ".TP\n\\fI/run/nauto/nautod.sock\\fR\nnautod's socket, 0660, group nauto\n"
        ".SH SEE ALSO\n\\fBnautod\\fR(8), \\fBnauto.yaml\\fR(5), \\fBnauto\\-runbooks\\fR(7)\n")
    return "".join(out)


def program_page(cli, version, name, section, summary, synopsis, about, rest):
    """A page for a program with one set of options: NAME, SYNOPSIS, DESCRIPTION (its own
    description, then `about`), OPTIONS from its CLI definition, then `rest` (roff)."""
    return "".join([header(name, section, "nauto manual", version),
                    escape(name) + " \\- " + summary + "\n",
                    ".SH SYNOPSIS\n" + synopsis + "\n",
                    ".SH DESCRIPTION\n.PP\n" + inline(cli["description"]) + ".\n",
                    ".PP\n" + about + "\n",
                    ".SH OPTIONS\n"] + [option_item(o) for o in cli["options"]] + [rest])


def nautod_page(cli, version):
    return program_page(
        cli, version, "nautod", 8, "the nauto kernel daemon",
        ".B nautod\n[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-check\\-config\\fR] "
        "[\\fB\\-\\-log\\-level\\fR \\fILEVEL\\fR]\n.br\n.B nautod \\-\\-worker\n"
        "\\fB\\-\\-pool\\fR \\fIP\\fR \\fB\\-\\-redis\\fR \\fIURL\\fR \\fB\\-\\-connect\\fR "
        "\\fItcp://CONTROL\\fR ...",
        "nautod routes events and requests over a ZeroMQ bus between its modules "
        "(inventory, vault, devices, configs, compliance, telemetry, scheduler, rules, "
        "audit, api, ...), supervises them, runs runbooks and keeps all state in an "
        "LMDB store under \\fIdata_dir\\fR. It validates the whole configuration "
        "(\\fBnauto.yaml\\fR(5)) before it starts anything; \\fB\\-\\-check\\-config\\fR "
        "does only that. With \\fB\\-\\-worker\\fR it is a worker node of a remote pool "
        "instead.",
        ".SH SIGNALS\n"
        ".TP\n\\fBSIGHUP\\fR\nreload the configuration; a configuration that does not validate is "
        "rejected and the running one kept (both are audited)\n"
        ".TP\n\\fBSIGTERM\\fR, \\fBSIGINT\\fR\nstop: modules finish, the store is closed\n"
        ".SH SYSTEMD\n.PP\n\\fInautod.service\\fR is \\fBType=notify\\fR: nautod sends "
        "READY=1 once its socket serves, RELOADING=1 and READY=1 around a reload, STOPPING=1 "
        "when it stops, and WATCHDOG=1 every half \\fBWatchdogSec\\fR while its router answers. "
        "It runs as the user \\fBnauto\\fR in a sandbox (\\fBsystemd\\-analyze security "
        "nautod\\fR). Ingest listening below port 1024 needs "
        "\\fBAmbientCapabilities=CAP_NET_BIND_SERVICE\\fR and "
        "\\fBCapabilityBoundingSet=CAP_NET_BIND_SERVICE\\fR in a drop\\-in "
        "(\\fBsystemctl edit nautod\\fR). \\fInauto\\-worker@POOL.service\\fR runs a worker "
        "node with the settings of \\fI/etc/nauto/worker\\-POOL.conf\\fR.\n"
        ".SH FILES\n"
        ".TP\n\\fI/etc/nauto/nauto.yaml\\fR\nthe configuration\n"
        ".TP\n\\fI/var/lib/nauto\\fR\nthe store (data_dir), 0750, owned by nauto\n"
        ".TP\n\\fI/run/nauto/nautod.sock\\fR\nthe socket of the CLI and of module processes, "
        "0660, group nauto\n"
        ".TP\n\\fI/etc/nauto/vault.key\\fR\nthe vault's key, 0600, owned by nauto\n"
        ".SH SEE ALSO\n\\fBnauto\\fR(1), \\fBnauto.yaml\\fR(5), \\fBnauto\\-runbooks\\fR(7), "
        "\\fBsystemd.exec\\fR(5)\n")


def lab_page(cli, version):
    return program_page(
        cli, version, "nauto-lab", 1, "simulated network devices for trying and testing nauto",
        ".B nauto\\-lab\n[\\fB\\-\\-devices\\fR \\fIN\\fR \\fB\\-\\-platform\\fR \\fIP\\fR | "
        "\\fB\\-\\-fleet\\fR \\fIFILE\\fR] [\\fIoptions\\fR]",
        "Each device listens on its own port of 127.0.0.1 with the protocols of its "
        "platform, answers show commands, takes configuration, and keeps its state in "
        "\\fB\\-\\-state\\-dir\\fR, where it also writes an inventory for "
        "\\fBnauto inventory import\\fR. It runs until SIGINT or SIGTERM.",
        ".SH SEE ALSO\n\\fBnauto\\fR(1), \\fBnautod\\fR(8)\n")


def example_comments(path):
    """{dotted key path: (example value, comment)} from the example configuration's lines
    `key: value  # comment`, with comment-only lines under a key continuing its comment."""
    found = {}
    stack = []  # (indent, key)
    last = None
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            stripped = line.strip()
            if not stripped:
                last = None
                continue
            indent = len(line) - len(line.lstrip())
            if stripped.startswith("#"):
                if last and indent >= last[1]:
                    value, comment = found[last[0]]
                    found[last[0]] = (value, (comment + " " + stripped.lstrip("# ")).strip())
                continue
            match = re.match(r"^(\s*)([A-Za-z0-9_\-]+):(?:\s+(.*?))?\s*(?:#\s?(.*))?$", line)
            if not match or stripped.startswith("-"):
                last = None
                continue
            while stack and stack[-1][0] >= indent:
                stack.pop()
            key = match.group(2)
            dotted = ".".join([k for _, k in stack] + [key])
            found[dotted] = ((match.group(3) or "").strip(), (match.group(4) or "").strip())
            stack.append((indent, key))
            last = (dotted, line.index("#") if "#" in line else indent)
    return found


def normalized(path):
    """auth.users[2].name and auth.users.2.name -> auth.users[].name."""
    path = re.sub(r"\[\d+\]", "[]", path)
    return re.sub(r"\.(\d+)(?=\.|$)", "[]", path)


def config_page(keys, example, version):
    comments = example_comments(example)
    by_path = {}
    for key in keys:
        by_path.setdefault(normalized(key["path"]), key)
    for path in comments:
        by_path.setdefault(path, {"path": path, "form": "", "default": ""})
    out = [header("nauto.yaml", 5, "nauto manual", version)]
    out.append("nauto.yaml \\- the configuration of nautod\n")
    out.append(".SH SYNOPSIS\n\\fI/etc/nauto/nauto.yaml\\fR\n")
    out.append(
        ".SH DESCRIPTION\n.PP\nOne YAML file; every key is optional. nautod validates all of "
        "it before it starts anything (\\fBnautod \\-\\-check\\-config\\fR) and reports each "
        "problem with its key path; an unknown key is an error. \\fBSIGHUP\\fR "
        "(\\fBsystemctl reload nautod\\fR) applies a changed file; data_dir, run_dir, store and "
        "router settings need a restart.\n"
        ".PP\nDurations: 500ms, 30s, 15m, 2h, 7d. Sizes: 4096, 512KiB, 64MiB, 1GiB. The kernel's "
        "scalar keys can be overridden from the environment as NAUTO_<KEY PATH> in upper case "
        "with dots as underscores (NAUTO_LOG_LEVEL=debug).\n"
        ".PP\nThis page lists every key nautod reads, with the form it expects and its "
        "default, from the code that reads them; the text beside a key is the comment of the "
        "example configuration installed as \\fI/etc/nauto/nauto.yaml\\fR.\n")
    sections = {}
    for path in sorted(by_path):
        parts = path.split(".")
        section = ".".join(parts[:2]) if parts[0] == "modules" and len(parts) > 1 else parts[0]
        sections.setdefault(section, []).append(path)
    order = sorted(sections, key=lambda s: (s.startswith("modules"), s))
    out.append(".SH KEYS\n")
    for section in order:
        out.append(f'.SS "{escape(section)}"\n')
        for path in sections[section]:
            key = by_path[path]
            example_value, comment = comments.get(path, ("", ""))
            facts = []
            if key["form"]:
                facts.append(escape(key["form"]))
            default = key["default"] if key["form"] else example_value
            if default:
                facts.append("default " + escape(default))
            term = "\\fB" + escape(path) + "\\fR"
            if facts:
                term += " (" + "; ".join(facts) + ")"
            out.append(f".TP\n{term}\n{inline(comment) if comment else ''}\n")
    out.append(".SH FILES\n.TP\n\\fI/etc/nauto/nauto.yaml\\fR\nthe configuration nautod reads "
               "(\\fB\\-\\-config\\fR or \\fBNAUTO_CONFIG\\fR name another)\n"
               ".SH SEE ALSO\n\\fBnautod\\fR(8), \\fBnauto\\fR(1)\n")
    return "".join(out)


def markdown_page(markdown_path, version):
    """docs/runbooks.md as roff: headings, paragraphs, lists, tables and code blocks."""
    out = [header("nauto-runbooks", 7, "nauto manual", version)]
    out.append("nauto\\-runbooks \\- the runbook API of nauto: Lua and YAML runbooks\n")
    with open(markdown_path) as f:
        lines = f.read().split("\n")
    in_code = False
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP\n" + inline(" ".join(paragraph)) + "\n")
            paragraph.clear()

    for line in lines:
        if line.startswith("```"):
            flush()
            out.append(".PP\n.nf\n.RS 4\n" if not in_code else ".RE\n.fi\n")
            in_code = not in_code
            continue
        if in_code:
            out.append(escape(line) + "\n")
            continue
        if line.startswith("# "):
            flush()
            out.append(".SH DESCRIPTION\n")
            continue
        if line.startswith("#"):
            flush()
            level, title = re.match(r"^(#+)\s*(.*)$", line).groups()
            out.append(('.SH "' if len(level) == 2 else '.SS "') + escape(title.upper() if
                                                                           len(level) == 2 else title) + '"\n')
            continue
        if line.startswith("|"):
            flush()
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                continue
            cells = [c.replace("\\|", "|") for c in cells]
            out.append(".TP\n" + inline(cells[0]) + "\n" + inline(" ".join(cells[1:])) + "\n")
            continue
        bullet = re.match(r"^(\s*)(?:[-*]|\d+\.)\s+(.*)$", line)
        if bullet:
            flush()
            out.append(".IP \\(bu 2\n" + inline(bullet.group(2)) + "\n")
            continue
        if not line.strip():
            flush()
            continue
        if line.startswith("  ") and out and out[-1].startswith(".IP"):
            out[-1] = out[-1].rstrip("\n") + " " + inline(line.strip()) + "\n"
            continue
        paragraph.append(line.strip())
    flush()
    out.append(".SH SEE ALSO\n\\fBnauto\\fR(1), \\fBnautod\\fR(8), \\fBnauto.yaml\\fR(5)\n")
    return "".join(out)


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--nauto", "--nautod", "--nauto-lab", "--config", "--runbooks", "--version", "--out"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    pages = {
        "nauto.1": nauto_page(run_json(args.nauto, "--describe-cli"), args.version),
        "nautod.8": nautod_page(run_json(args.nautod, "--describe-cli"), args.version),
        "nauto.yaml.5": config_page(run_json(args.nautod, "--describe-config", args.config),
                                    args.config, args.version),
        "nauto-runbooks.7": markdown_page(args.runbooks, args.version),
        "nauto-lab.1": lab_page(run_json(args.nauto_lab, "--describe-cli"), args.version),
    }
    for name, text in pages.items():
        with open(os.path.join(args.out, name), "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
