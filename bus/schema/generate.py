#!/usr/bin/env python3
"""Generates the bus's typed messages and docs/bus.md from bus/schema/*.yaml.

  generate.py --cpp OUT.h OUT.cpp SCHEMA.yaml...   the C++ (run by meson at build time)
  generate.py --docs OUT.md SCHEMA.yaml...         docs/bus.md
  generate.py --check-docs DOC.md SCHEMA.yaml...   exit 1 when DOC.md is not what --docs writes
  generate.py --json SCHEMA.yaml...                the whole schema as JSON (for tests)

A schema file describes one module (bus/schema/README.md):

  module: rules
  calls: [run.start]                    # services it requests
  publishes: [device.<device>.<kind>]   # events declared by another module's file
  services:
    rules.test:
      doc: One sentence.
      access: read                      # read | operate | approve | admin | module
      audit: false                      # default: recorded unless access is read
      open: false                       # true: fields beyond those declared are allowed
      request:
        rule: string!  -- the rule's name      (TYPE, ! when required, -- doc)
        event: {type: object, doc: ..., default: ...}
      reply:
        fires: boolean -- ...
  events:
    rule.fired:
      doc: ...
      fields: {...}

Types: string, integer, number, boolean, object, array, strings, duration, any.
"""

import json
import re
import sys

import yaml

TYPES = {
    # name: (FieldType, C++ type, default expression, json getter)
    "string": ("String", "std::string", '""', "get<std::string>()"),
    "integer": ("Integer", "std::int64_t", "0", "get<std::int64_t>()"),
    "number": ("Number", "double", "0", "get<double>()"),
    "boolean": ("Boolean", "bool", "false", "get<bool>()"),
    "object": ("Object", "nlohmann::json", "nlohmann::json::object()", None),
    "array": ("Array", "nlohmann::json", "nlohmann::json::array()", None),
    "strings": ("Strings", "std::vector<std::string>", "{}", "get<std::vector<std::string>>()"),
    "duration": ("Duration", "nlohmann::json", "nullptr", None),
    "any": ("Any", "nlohmann::json", "nullptr", None),
}
# Who may call a service (nauto/bus/schema.h's Access); every service names one.
ACCESS = {"read": "Read", "operate": "Operate", "approve": "Approve", "admin": "Admin",
          "module": "Module", "worker": "Worker"}
COMPACT = re.compile(r"^\s*([a-z]+)(!?)\s*(?:=\s*(\S+))?\s*(?:--\s*(.*))?$")


class SchemaError(Exception):
    pass


# A field becomes a C++ member of its generated struct: C++'s keywords, and the names of the
# struct's own members, cannot be field names.
RESERVED_NAMES = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
    "case", "catch", "char", "class", "compl", "concept", "const", "consteval", "constexpr",
    "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export",
    "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int", "long",
    "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or",
    "or_eq", "private", "protected", "public", "register", "reinterpret_cast", "requires",
    "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
    "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid",
    "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while",
    "xor", "xor_eq",
    "decode", "to_json", "check", "body", "out",
}


def parse_field(where, name, spec):
    if isinstance(spec, str):
        found = COMPACT.match(spec)
        if not found:
            raise SchemaError(f"{where}.{name}: expected 'TYPE[!] [= DEFAULT] [-- doc]'")
        kind, bang, default, doc = found.groups()
        spec = {"type": kind, "required": bang == "!", "doc": doc or ""}
        if default is not None:
            spec["default"] = yaml.safe_load(default)
            # `string = 0` is the text "0", not the number YAML reads.
            if kind == "string" and not isinstance(spec["default"], str):
                spec["default"] = default.strip()
    if not isinstance(spec, dict) or "type" not in spec:
        raise SchemaError(f"{where}.{name}: expected a type")
    if spec["type"] not in TYPES:
        raise SchemaError(f"{where}.{name}: unknown type '{spec['type']}' "
                          f"(one of {', '.join(TYPES)})")
    unknown = set(spec) - {"type", "required", "doc", "default"}
    if unknown:
        raise SchemaError(f"{where}.{name}: unknown keys {sorted(unknown)}")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SchemaError(f"{where}.{name}: a field name is lower_snake_case")
    if name in RESERVED_NAMES:
        raise SchemaError(f"{where}.{name}: '{name}' is a C++ keyword or a member of the "
                          f"generated struct; name the field otherwise ({name}_name, ...)")
    return {"name": name, "type": spec["type"], "required": bool(spec.get("required", False)),
            "doc": str(spec.get("doc", "")), "default": spec.get("default")}


def parse_fields(where, fields):
    if fields is None:
        return []
    if not isinstance(fields, dict):
        raise SchemaError(f"{where}: expected a map of fields")
    return [parse_field(where, name, spec) for name, spec in fields.items()]


def load(paths):
    modules, services, events = [], {}, {}
    for path in paths:
        with open(path, encoding="utf-8") as text:
            doc = yaml.safe_load(text)
        module = doc.get("module")
        if not module:
            raise SchemaError(f"{path}: no 'module:'")
        entry = {"name": module, "doc": doc.get("doc", ""), "calls": doc.get("calls", []) or [],
                 "serves": [], "publishes": []}
        for topic, spec in (doc.get("services") or {}).items():
            if topic in services:
                raise SchemaError(f"{path}: service {topic} is declared twice")
            if spec.get("access") not in ACCESS:
                raise SchemaError(f"{path}: service {topic} needs 'access:' "
                                  f"({' | '.join(ACCESS)}), not {spec.get('access')!r}")
            audited = spec.get("audit", spec["access"] != "read")
            if not isinstance(audited, bool):
                raise SchemaError(f"{path}: service {topic}: 'audit:' is true or false")
            services[topic] = {
                "topic": topic, "owner": module, "doc": spec.get("doc", ""),
                "access": spec["access"], "audited": audited,
                "open": bool(spec.get("open", False)),
                "request": parse_fields(f"{topic}.request", spec.get("request")),
                "reply": parse_fields(f"{topic}.reply", spec.get("reply")),
            }
            entry["serves"].append(topic)
        for topic, spec in (doc.get("events") or {}).items():
            if topic in events:
                raise SchemaError(f"{path}: event {topic} is declared twice")
            # Events are open: a consumer ignores fields it does not know, so a publisher may
            # add one without breaking it.
            events[topic] = {"topic": topic, "owner": module, "doc": spec.get("doc", ""),
                             "open": bool(spec.get("open", True)),
                             "fields": parse_fields(f"{topic}.fields", spec.get("fields"))}
            entry["publishes"].append(topic)
        entry["publishes_declared_elsewhere"] = doc.get("publishes", []) or []
        modules.append(entry)
    for module in modules:
        for topic in module.pop("publishes_declared_elsewhere"):
            if topic not in events:
                raise SchemaError(f"module {module['name']} publishes {topic}, which no schema declares")
            module["publishes"].append(topic)
        for called in module["calls"]:
            if called not in services:
                raise SchemaError(f"module {module['name']} calls {called}, which no schema serves")
    return sorted(modules, key=lambda m: m["name"]), services, events


def camel(topic):
    words = re.split(r"[._<>]+", topic)
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def cpp_string(text):
    return json.dumps(text, ensure_ascii=False)


def cpp_default(field):
    _, cpp_type, zero, _ = TYPES[field["type"]]
    if field["default"] is None:
        return zero
    value = field["default"]
    if field["type"] in ("object", "array", "duration", "any"):
        return f"nlohmann::json::parse({cpp_string(json.dumps(value))})"
    if field["type"] == "string":
        return cpp_string(value)
    if field["type"] == "boolean":
        return "true" if value else "false"
    if field["type"] == "strings":
        return "{" + ", ".join(cpp_string(v) for v in value) + "}"
    return repr(value)


def struct(name, topic, table, fields, doc):
    lines = [f"/// {topic}: {doc}" if doc else f"/// {topic}",
             f"struct {name} {{",
             f"  static constexpr const char* kTopic = {cpp_string(topic)};"]
    for f in fields:
        comment = f"  ///< {f['doc']}" if f["doc"] else ""
        lines.append(f"  {TYPES[f['type']][1]} {f['name']} = {cpp_default(f)};{comment}")
    lines += ["  /// The body's fields; Errc::InvalidArgument naming the field when one is wrong.",
              f"  static Result<{name}> decode(const nlohmann::json& body);",
              "  nlohmann::json to_json() const;",
              "};"]
    decode = [f"Result<{name}> {name}::decode(const nlohmann::json& body) {{",
              f"  if (auto checked = check({table}, body); !checked) return std::move(checked).error();",
              f"  {name} out;"]
    for f in fields:
        getter = TYPES[f["type"]][3]
        value = f'it->{getter}' if getter else "*it"
        decode.append(f'  if (auto it = body.find("{f["name"]}"); body.is_object() && it != body.end()) '
                      f"out.{f['name']} = {value};")
    decode += ["  return out;", "}", "",
               f"nlohmann::json {name}::to_json() const {{",
               "  nlohmann::json out = nlohmann::json::object();"]
    for f in fields:
        decode.append(f'  out["{f["name"]}"] = {f["name"]};')
    decode += ["  return out;", "}", ""]
    return lines, decode


def field_table(var, fields):
    if not fields:
        return [f"constexpr const Field* {var} = nullptr;"]
    rows = [f"constexpr Field {var}[] = {{"]
    for f in fields:
        rows.append(f"    {{{cpp_string(f['name'])}, FieldType::{TYPES[f['type']][0]}, "
                    f"{'true' if f['required'] else 'false'}, {cpp_string(f['doc'])}}},")
    rows.append("};")
    return rows


def write_cpp(header_path, source_path, modules, services, events):
    header = ["#pragma once",
              "// Generated by bus/schema/generate.py from bus/schema/*.yaml: edit those, not this.",
              "// One struct per service request and per event; see nauto/bus/schema.h.",
              "",
              "#include <cstdint>",
              "#include <nlohmann/json.hpp>",
              "#include <string>",
              "#include <vector>",
              "",
              '#include "nauto/base/result.h"',
              '#include "nauto/bus/schema.h"',
              "",
              "namespace nauto::bus::schema {",
              ""]
    source = ["// Generated by bus/schema/generate.py from bus/schema/*.yaml: edit those, not this.",
              '#include "nauto/bus/schema_types.h"',
              "",
              "namespace nauto::bus::schema {",
              "namespace {",
              ""]
    bodies = []

    def message(topic, kind, owner, fields, doc, is_open, access="read", audited=False):
        """Adds one message (kind Request, Reply or Event): its field table and Message to the
        source, its struct to the header; returns the Message's name."""
        nonlocal source, header, bodies
        table = "k" + camel(topic) + kind
        source += field_table(table + "Fields", fields)
        source.append(f"constexpr Message {table}{{{cpp_string(topic)}, {cpp_string(owner)}, "
                      f"{table}Fields, {len(fields)}, {cpp_string(doc)}, "
                      f"{'true' if is_open else 'false'}, Access::{ACCESS[access]}, "
                      f"{'true' if audited else 'false'}}};")
        h, b = struct(camel(topic) + kind, topic, table, fields, doc)
        header += h + [""]
        bodies += b
        return table

    request_rows, event_rows = [], []
    for topic in sorted(services):
        s = services[topic]
        request_rows.append("&" + message(topic, "Request", s["owner"], s["request"], s["doc"],
                                          s["open"], s["access"], s["audited"]))
        if s["reply"]:
            # A reply is open like an event: a caller ignores fields it does not know.
            message(topic, "Reply", s["owner"], s["reply"], "the reply of " + topic, True)
    for topic in sorted(events):
        e = events[topic]
        event_rows.append("&" + message(topic, "Event", e["owner"], e["fields"], e["doc"],
                                        e["open"]))
    source += ["", "constexpr const Message* kRequests[] = {"]
    source += [f"    {row}," for row in request_rows] + ["};", ""]
    source += ["constexpr const Message* kEvents[] = {"]
    source += [f"    {row}," for row in event_rows] + ["};", ""]
    source += ["struct ModuleRow {", "  const char* name;", "  std::vector<std::string> serves, publishes, calls;", "};", "",
               "const std::vector<ModuleRow>& module_rows() {",
               "  static const std::vector<ModuleRow> rows = {"]
    for m in modules:
        def strings(items):
            return "{" + ", ".join(cpp_string(i) for i in items) + "}"
        source.append(f"      {{{cpp_string(m['name'])}, {strings(m['serves'])}, "
                      f"{strings(m['publishes'])}, {strings(m['calls'])}}},")
    source += ["  };", "  return rows;", "}", "", "}  // namespace", ""]
    source += bodies
    source += ["const Message* find_request(std::string_view service) {",
               "  for (const Message* message : kRequests)",
               "    if (service == message->topic) return message;",
               "  return nullptr;",
               "}",
               "",
               "std::vector<const Message*> requests() {",
               "  return {std::begin(kRequests), std::end(kRequests)};",
               "}",
               "",
               "std::vector<const Message*> events() {",
               "  return {std::begin(kEvents), std::end(kEvents)};",
               "}",
               "",
               "ModuleInterface module_interface(std::string_view module) {",
               "  for (const auto& row : module_rows())",
               "    if (module == row.name) return {row.serves, row.publishes, row.calls};",
               "  return {};",
               "}",
               "",
               "}  // namespace nauto::bus::schema",
               ""]
    header += ["}  // namespace nauto::bus::schema", ""]
    with open(header_path, "w", encoding="utf-8") as out:
        out.write("\n".join(header))
    with open(source_path, "w", encoding="utf-8") as out:
        out.write("\n".join(source))


def docs(modules, services, events):
    out = ["# The bus: services and events",
           "",
           "Generated by `bus/schema/generate.py` from `bus/schema/*.yaml`; do not edit (a test",
           "compares). `nauto call --list` prints the same services. A field marked **required**",
           "must be present; any other may be left out (its default applies). A request with a",
           "missing, wrongly typed or unknown field is answered `invalid_argument` naming the field",
           "and the type expected, before the module sees it.",
           ""]
    def table(fields):
        if not fields:
            return ["(no fields)", ""]
        rows = ["| field | type | | meaning |", "|---|---|---|---|"]
        for f in fields:
            default = "" if f["default"] is None else f" (default `{json.dumps(f['default'])}`)"
            rows.append(f"| `{f['name']}` | {f['type']} | {'**required**' if f['required'] else ''} "
                        f"| {f['doc']}{default} |")
        return rows + [""]
    for m in modules:
        out += [f"## {m['name']}", ""]
        if m["doc"]:
            out += [m["doc"], ""]
        if m["calls"]:
            out += ["Calls: " + ", ".join(f"`{c}`" for c in m["calls"]) + ".", ""]
        for topic in m["serves"]:
            s = services[topic]
            audit_note = "" if s["audited"] == (s["access"] != "read") else (
                " Not audited: it changes nothing." if not s["audited"] else " Audited.")
            out += [f"### service `{topic}`", "", s["doc"], "",
                    f"Access: `{s['access']}`.{audit_note}", "",
                    "Request:", ""] + table(s["request"])
            if s["open"]:
                out += ["Other fields are allowed too.", ""]
            if s["reply"]:
                out += ["Reply:", ""] + table(s["reply"])
        for topic in m["publishes"]:
            e = events[topic]
            if e["owner"] != m["name"]:
                out += [f"Publishes `{topic}` too (see {e['owner']}).", ""]
                continue
            out += [f"### event `{topic}`", "", e["doc"], ""] + table(e["fields"])
    return "\n".join(out).rstrip() + "\n"


def main(argv):
    try:
        if argv[:1] == ["--cpp"]:
            write_cpp(argv[1], argv[2], *load(argv[3:]))
        elif argv[:1] == ["--docs"]:
            with open(argv[1], "w", encoding="utf-8") as out:
                out.write(docs(*load(argv[2:])))
        elif argv[:1] == ["--check-docs"]:
            with open(argv[1], encoding="utf-8") as text:
                if text.read() != docs(*load(argv[2:])):
                    print(f"{argv[1]} is stale: run bus/schema/generate.py --docs {argv[1]} "
                          "bus/schema/*.yaml")
                    return 1
        elif argv[:1] == ["--json"]:
            modules, services, events = load(argv[1:])
            print(json.dumps({"modules": modules, "services": services, "events": events}))
        else:
            print(__doc__)
            return 2
    except (SchemaError, yaml.YAMLError, OSError) as error:
        print(f"bus schema: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
