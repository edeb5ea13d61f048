#!/usr/bin/env python3
"""Generates the API module's route table and its OpenAPI 3 document.

  generate.py OUT.cpp OUT.json routes.yaml SCHEMA.yaml...

Reads modules/api/routes.yaml and bus/schema/*.yaml (through bus/schema/generate.py's loader),
checks every route against the schema - its service exists and the API module declares it in
`calls`, its path parameters and fixed fields are request fields, its list is a reply field -
and writes:
  OUT.cpp   kRoutesJson (the routes, for the module) and kOpenApiJson (the document)
  OUT.json  the same OpenAPI document, for validators and docs
"""
import importlib.util
import json
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "bus_schema", os.path.join(HERE, "..", "..", "bus", "schema", "generate.py"))
bus_schema = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bus_schema)

METHODS = {"GET", "POST", "DELETE"}
PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 500

# HTTP status of each bus error code (api_errors.cpp maps them the same way; the test
# api_errors_test checks the two agree).
ERROR_STATUS = {
    "400": "invalid_argument, invalid_config, malformed: the request is wrong",
    "401": "no token, or one that is unknown, expired or revoked",
    "403": "permission_denied: the token's roles do not allow the service",
    "404": "not_found: no such route or thing",
    "409": "conflict or cancelled",
    "422": "rejected: the device understood and said no",
    "429": "overloaded or rate-limited; retry after Retry-After seconds",
    "502": "unreachable, unauthenticated or untrusted: a device failed",
    "503": "unavailable or resource_exhausted: no module serves it now",
    "504": "timeout",
}


class RouteError(Exception):
    pass


def type_schema(kind):
    return {
        "string": {"type": "string"},
        "integer": {"type": "integer", "format": "int64"},
        "number": {"type": "number"},
        "boolean": {"type": "boolean"},
        "object": {"type": "object"},
        "array": {"type": "array", "items": {}},
        "strings": {"type": "array", "items": {"type": "string"}},
        "duration": {"oneOf": [{"type": "string", "pattern": "^[0-9]+(ms|s|m|h|d)?$"},
                               {"type": "integer"}]},
        "any": {},
    }[kind]


def field_schema(field):
    schema = dict(type_schema(field["type"]))
    if field.get("doc"):
        schema["description"] = field["doc"]
    if field.get("default") is not None:
        schema["default"] = field["default"]
    return schema


def object_schema(fields, is_open=True):
    schema = {"type": "object", "properties": {f["name"]: field_schema(f) for f in fields}}
    required = [f["name"] for f in fields if f.get("required")]
    if required:
        schema["required"] = required
    if not is_open:
        schema["additionalProperties"] = False
    return schema


def load_routes(path, services, api_calls):
    with open(path, encoding="utf-8") as text:
        doc = yaml.safe_load(text)
    routes, seen = [], set()
    for index, spec in enumerate(doc.get("routes") or []):
        where = f"{path}: route {index + 1}"
        method, _, route_path = str(spec.get("route", "")).partition(" ")
        if method not in METHODS or not route_path.startswith("/api/v1/"):
            raise RouteError(f"{where}: route is 'GET|POST|DELETE /api/v1/...', not "
                             f"{spec.get('route')!r}")
        if (method, route_path) in seen:
            raise RouteError(f"{where}: {method} {route_path} is declared twice")
        seen.add((method, route_path))
        service = spec.get("service")
        if service not in services:
            raise RouteError(f"{where}: no schema declares the service {service!r}")
        if not service.startswith("api.") and service not in api_calls:
            raise RouteError(f"{where}: {service} is not in bus/schema/api.yaml's calls")
        request = {f["name"]: f for f in services[service]["request"]}
        reply = {f["name"]: f for f in services[service]["reply"]}
        params = re.findall(r"\{([a-z_]+)\}", route_path)
        pick = spec.get("pick")
        for param in params:
            if param not in request and not (pick and pick.get("by") == param):
                raise RouteError(f"{where}: path parameter {{{param}}} is no request field of "
                                 f"{service}")
        for name in (spec.get("fixed") or {}):
            if name not in request:
                raise RouteError(f"{where}: fixed field {name} is no request field of {service}")
        listed = spec.get("list")
        if listed and reply and listed not in reply:
            raise RouteError(f"{where}: list {listed} is no reply field of {service}")
        if pick and (set(pick) != {"list", "by"} or pick["by"] not in params):
            raise RouteError(f"{where}: pick is {{list, by}} with by a path parameter")
        routes.append({
            "method": method, "path": route_path, "service": service,
            "tag": spec.get("tag", "misc"), "summary": spec.get("summary", ""),
            "list": listed or "", "pick": pick or {}, "fixed": spec.get("fixed") or {},
            "params": params,
        })
    return routes


def error_responses():
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in ERROR_STATUS}


def operation(route, services):
    service = services[route["service"]]
    request_fields = [f for f in service["request"]
                      if f["name"] not in route["params"] and f["name"] not in route["fixed"]]
    op = {
        "operationId": (route["method"].lower() + "_" +
                        re.sub(r"[^a-zA-Z0-9]+", "_", route["path"][len("/api/v1/"):]).strip("_")),
        "summary": route["summary"],
        "description": (service["doc"] + f"\n\nBus service `{route['service']}` (access: "
                        f"{service['access']})."),
        "tags": [route["tag"]],
        "parameters": [],
        "responses": {},
    }
    for param in route["params"]:
        field = next((f for f in service["request"] if f["name"] == param), {})
        op["parameters"].append({"name": param, "in": "path", "required": True,
                                 "description": field.get("doc") or param,
                                 "schema": {"type": "string"}})
    if route["method"] in ("GET", "DELETE"):
        for field in request_fields:
            if route["list"] and field["name"] == "limit":
                continue  # the page's limit drives it
            param = {"name": field["name"], "in": "query", "required": False,
                     "description": field.get("doc") or field["name"]}
            if field["type"] in ("object", "any", "array"):
                param["content"] = {"application/json": {"schema": type_schema(field["type"])}}
            else:
                param["schema"] = field_schema(field)
                if field["type"] == "strings":
                    param["style"], param["explode"] = "form", False
            op["parameters"].append(param)
    elif request_fields:
        op["requestBody"] = {
            "required": any(f.get("required") for f in request_fields),
            "content": {"application/json": {
                "schema": object_schema(request_fields, service["open"])}},
        }
    if route["list"]:
        op["parameters"] += [{"$ref": "#/components/parameters/limit"},
                             {"$ref": "#/components/parameters/cursor"}]
        reply_schema = {"$ref": "#/components/schemas/Page"}
    elif route["pick"]:
        reply_schema = {"type": "object"}
    else:
        reply_schema = object_schema(service["reply"]) if service["reply"] else {"type": "object"}
    op["responses"]["200"] = {"description": "the service's reply",
                              "content": {"application/json": {"schema": reply_schema}}}
    op["responses"].update(error_responses())
    return op


def own_paths():
    """The API module's own endpoints: session, stream and this document."""
    json_body = {"application/json": {"schema": {"type": "object"}}}
    return {
        "/api/v1/openapi.json": {"get": {
            "operationId": "get_openapi", "summary": "This document", "tags": ["session"],
            "security": [], "responses": {"200": {"description": "OpenAPI 3", "content": json_body}},
        }},
        "/api/v1/login": {"post": {
            "operationId": "post_login", "tags": ["session"], "security": [],
            "summary": "Trades a token for a browser session",
            "description": ("Answers {principal, roles, csrf} and sets the session cookie "
                            "(HttpOnly, Secure, SameSite=Strict). A request authenticated by the "
                            "cookie must send the csrf value in X-CSRF-Token unless it is a GET."),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["token"],
                "properties": {"token": {"type": "string"}}}}}},
            "responses": {"200": {"description": "logged in", "content": json_body},
                          **error_responses()},
        }},
        "/api/v1/logout": {"post": {
            "operationId": "post_logout", "tags": ["session"], "summary": "Ends the session",
            "responses": {"200": {"description": "logged out", "content": json_body},
                          **error_responses()},
        }},
        "/api/v1/events/stream": {"get": {
            "operationId": "get_events_stream", "tags": ["events"],
            "summary": "Events as they happen (server-sent events)",
            "description": ("text/event-stream: one event per bus event, `id:` its journal "
                            "position. A client that reconnects with Last-Event-ID (or "
                            "?last_event_id=) gets what it missed from the journal first."),
            "parameters": [
                {"name": "topic", "in": "query", "required": False,
                 "description": "topic patterns, comma-separated (run.*,job.*); all when absent",
                 "schema": {"type": "string"}},
                {"name": "last_event_id", "in": "query", "required": False,
                 "description": "resume after this event, as Last-Event-ID does",
                 "schema": {"type": "string"}},
            ],
            "responses": {"200": {"description": "the stream",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          **error_responses()},
        }},
    }


def openapi(routes, services):
    paths = own_paths()
    for route in routes:
        openapi_path = route["path"]
        paths.setdefault(openapi_path, {})[route["method"].lower()] = operation(route, services)
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "description": "the bus error code"},
                       "message": {"type": "string"},
                       "where": {"type": "string"}}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "nauto API", "version": "1",
                 "description": ("Every route calls one bus service as the token's holder; "
                                 "the router checks the holder's roles (docs/api.md).")},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "tags": [{"name": t} for t in sorted({r["tag"] for r in routes} | {"session", "events"})],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token (nauto token create)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "nauto_session"},
            },
            "parameters": {
                "limit": {"name": "limit", "in": "query", "required": False,
                          "description": f"items per page (1 to {PAGE_LIMIT_MAX})",
                          "schema": {"type": "integer", "minimum": 1,
                                     "maximum": PAGE_LIMIT_MAX,
                                     "default": PAGE_LIMIT_DEFAULT}},
                "cursor": {"name": "cursor", "in": "query", "required": False,
                           "description": "next_cursor of the page before",
                           "schema": {"type": "string"}},
            },
            "schemas": {
                "Error": error,
                "Page": {"type": "object", "required": ["items", "next_cursor"],
                         "properties": {"items": {"type": "array", "items": {}},
                                        "next_cursor": {"type": "string", "nullable": True}}},
            },
            "responses": {
                f"E{code}": {"description": text, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
                for code, text in ERROR_STATUS.items()
            },
        },
    }


def cpp(routes, document):
    table = json.dumps([{k: r[k] for k in ("method", "path", "service", "list", "pick", "fixed")}
                        for r in routes], separators=(",", ":"))
    text = json.dumps(document, separators=(",", ":"), sort_keys=True)
    for blob in (table, text):
        if ")nauto\"" in blob:
            raise RouteError("the generated JSON holds the raw string's delimiter")
    return ("// Generated by modules/api/generate.py from modules/api/routes.yaml and "
            "bus/schema/*.yaml.\n"
            "namespace nauto::api {\n"
            f"extern const char* const kRoutesJson;\n"
            f"const char* const kRoutesJson = R\"nauto({table})nauto\";\n"
            f"extern const char* const kOpenApiJson;\n"
            f"const char* const kOpenApiJson = R\"nauto({text})nauto\";\n"
            "}  // namespace nauto::api\n")


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    out_cpp, out_json, routes_path, schema_paths = argv[0], argv[1], argv[2], argv[3:]
    try:
        modules, services, _ = bus_schema.load(schema_paths)
        api = next((m for m in modules if m["name"] == "api"), None)
        if api is None:
            raise RouteError("bus/schema/api.yaml is missing")
        routes = load_routes(routes_path, services, set(api["calls"]))
        document = openapi(routes, services)
    except (RouteError, bus_schema.SchemaError) as error:
        print(f"api routes: {error}", file=sys.stderr)
        return 1
    with open(out_cpp, "w", encoding="utf-8") as out:
        out.write(cpp(routes, document))
    with open(out_json, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=1, sort_keys=True)
        out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
