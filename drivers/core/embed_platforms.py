#!/usr/bin/env python3
"""Writes a C++ file that holds the given platform.yaml files as strings (built-in platforms)."""
import sys

out_path, *inputs = sys.argv[1:]
with open(out_path, "w", encoding="utf-8") as out:
    out.write('#include "builtin_platforms.h"\n\nnamespace nauto::drivers {\n')
    out.write("const std::vector<std::pair<std::string, std::string>>& builtin_platform_files() {\n")
    out.write("  static const std::vector<std::pair<std::string, std::string>> files{\n")
    for path in inputs:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        short = path[path.find("drivers/"):] if "drivers/" in path else path
        out.write('      {"%s", R"nauto_yaml(%s)nauto_yaml"},\n' % (short, text))
    out.write("  };\n  return files;\n}\n}  // namespace nauto::drivers\n")
