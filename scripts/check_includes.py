#!/usr/bin/env python3
"""The walls between components, checked over the sources (docs/architecture.md, "Walls").

Every component exports only <root>/include/nauto/<name>/, and may include only the components
it depends on:

- the kernel's libraries and the other top-level libraries have fixed dependencies (COMPONENTS);
- a module (modules/<name>/) may include nauto/{base,bus,sdk} and what its README declares on a
  line "Includes: nauto/store, nauto/drivers" (each with the reason, in the README's words);
- a quoted include that is not nauto/... must be the component's own file, found beside the
  including file or in the component's private folders, never by climbing out with "..".

Usage: check_includes.py [ROOT]   (ROOT: the checkout, default the parent of scripts/)
Prints one line per violation (file:line: what and why) and exits 1 when there is any.
Tests (tests/) are not checked: they mirror the tree and reach internals on purpose.
"""

import os
import re
import sys

# name -> (root folder, private include folders relative to the root, components it may include)
COMPONENTS = {
    "base": ("kernel/base", [], []),
    "bus": ("bus", [], ["base"]),
    "store": ("kernel/store", [], ["base"]),
    "sdk": ("kernel/sdk", [], ["base", "bus", "store"]),
    "text": ("text", [], ["base"]),
    "drivers": ("drivers", [".", "core"], ["base", "text"]),
    "runbook": ("kernel/runbook", ["."], ["base", "bus", "store", "sdk", "text"]),
    "kernel": ("kernel", ["."], ["base", "bus", "store", "sdk", "runbook"]),
    "cli": ("cli", [".", "shell"], ["base", "bus", "text", "runbook"]),
}
MODULE_BASE = ["base", "bus", "sdk"]
SOURCE_SUFFIXES = (".h", ".cpp")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
DECLARED = re.compile(r"^\**Includes:\**\s*(.*)$", re.IGNORECASE)


def read_declared(readme):
    """The nauto/<name> components a module's README declares, or None without a README."""
    if not os.path.isfile(readme):
        return None
    names = []
    with open(readme, encoding="utf-8") as text:
        for line in text:
            found = DECLARED.match(line.strip())
            if found:
                names += re.findall(r"nauto/([a-z_]+)", found.group(1))
    return names


def components_of(root):
    """name -> (root, private folders, allowed) for the fixed components and every module."""
    table = dict(COMPONENTS)
    modules = os.path.join(root, "modules")
    for name in sorted(os.listdir(modules)) if os.path.isdir(modules) else []:
        folder = os.path.join(modules, name)
        if not os.path.isdir(folder):
            continue
        declared = read_declared(os.path.join(folder, "README.md"))
        table["module " + name] = ("modules/" + name, ["."], MODULE_BASE + (declared or []))
    return table


def owner(relative_path, table):
    """The component whose root is the longest prefix of the path."""
    best = None
    for name, (folder, _, _) in table.items():
        if relative_path.startswith(folder + "/"):
            if best is None or len(folder) > len(table[best][0]):
                best = name
    return best


def inside(path, folder):
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(folder)]) == os.path.abspath(
        folder)


def check_file(root, relative_path, name, table, own_names):
    folder, private, allowed = table[name]
    component_root = os.path.join(root, folder)
    here = os.path.dirname(os.path.join(root, relative_path))
    problems = []
    with open(os.path.join(root, relative_path), encoding="utf-8", errors="replace") as source:
        for number, line in enumerate(source, 1):
            found = INCLUDE.match(line)
            if not found:
                continue
            bracket, included = found.groups()
            where = f"{relative_path}:{number}"
            if included.startswith("nauto/"):
                target = included.split("/")[1]
                if target not in own_names and target not in allowed:
                    problems.append(
                        f"{where}: includes {included}, but {name} may include only "
                        f"{', '.join('nauto/' + a for a in allowed) or 'nothing of ours'}"
                        + (" (declare it in the module's README: 'Includes: nauto/"
                           f"{target}')" if name.startswith("module ") else ""))
                continue
            if bracket == "<" and not any(
                    os.path.isfile(os.path.join(root, f, included))
                    for f, _, _ in table.values()):
                continue  # a system or third-party header
            candidates = [os.path.join(here, included)] + [
                os.path.join(component_root, p, included) for p in private]
            hit = next((c for c in candidates if os.path.isfile(c)), None)
            if hit is None or not inside(hit, component_root):
                problems.append(f"{where}: includes {included}, which is not {name}'s own header "
                                f"(another component's internals; use its nauto/ API or its "
                                f"service)")
    return problems


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    table = components_of(root)
    problems = []
    checked = 0
    for name, (folder, _, _) in sorted(table.items()):
        # The component's own nauto/ names: its folder's include/nauto/* (the kernel owns none).
        public = os.path.join(root, folder, "include", "nauto")
        own = set(os.listdir(public)) if os.path.isdir(public) else set()
        for directory, subfolders, files in os.walk(os.path.join(root, folder)):
            relative_dir = os.path.relpath(directory, root)
            # A nested component (kernel/base inside kernel) is checked as itself.
            subfolders[:] = [s for s in subfolders
                             if owner(os.path.join(relative_dir, s, "x"), table) == name]
            for file in files:
                if file.endswith(SOURCE_SUFFIXES):
                    checked += 1
                    problems += check_file(root, os.path.join(relative_dir, file), name, table,
                                           own)
    for problem in problems:
        print(problem)
    print(f"include walls: {checked} files, {len(problems)} violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
