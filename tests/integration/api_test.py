#!/usr/bin/env python3
"""The HTTP API (issue 31) on a real nautod, over HTTPS with a certificate from a test CA made
here (openssl), checked by a client that trusts only that CA:

- tokens from `nauto token create`: a viewer reads but is refused what it may not do (403,
  the router's refusal naming the roles that may); an operator starts a runbook with params
  and reads its run and steps; a wrong, revoked or missing token is 401;
- every kind of error in the one JSON shape: bad JSON, a wrongly typed parameter, an unknown
  parameter, an unknown id, an unknown route (404), a wrong method (405 with Allow);
- pagination: limit and cursor walk the runs, each once, in order;
- a browser session: login sets a cookie that is HttpOnly, Secure and SameSite=Strict; a GET
  with it works, a POST without the CSRF header is 403 and with it goes; revoking the token
  ends the session;
- rate limits: past the token's burst, 429 with Retry-After;
- server-sent events: a run's events arrive live on /api/v1/events/stream; a client that
  disconnects and reconnects with Last-Event-ID gets every event it missed, each once, the
  same set the journal holds;
- the OpenAPI document served is the one generated at build time;
- audit: the router recorded the calls as the token's holder through module:api.

  api_test.py NAUTOD NAUTO OPENAPI_JSON
"""

import http.client
import json
import os
import shutil
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import port_block  # noqa: E402
from nautod_process import Checks, Nautod, api_request, run_nauto, wait_until  # noqa: E402
from test_ca import make_ca  # noqa: E402

NAUTOD, NAUTO, OPENAPI = sys.argv[1:4]
check = Checks(quiet=False)


class Api:
    def __init__(self, port, ca_file):
        self.port = port
        self.context = ssl.create_default_context(cafile=ca_file)

    def request(self, method, path, token=None, body=None, headers=None, raw=None):
        connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context,
                                                 timeout=20)
        return api_request(connection, method, path, token, body, raw, headers)


class EventStream:
    """A client of /api/v1/events/stream: reads events as they come."""

    def __init__(self, api, path, token=None, last_event_id=None):
        self.connection = http.client.HTTPSConnection("127.0.0.1", api.port,
                                                      context=api.context, timeout=5)
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.last_id = last_event_id

    def next_event(self):
        """The next message event: (id, data), ('gap', data) for a gap; None at the end."""
        event_id, data, kind = None, None, None
        while True:
            try:
                line = self.response.readline()
            except (OSError, http.client.HTTPException):
                return None  # timed out or cut: the caller's check says what was missing
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if data is not None:
                    if kind == "gap":
                        return ("gap", json.loads(data))
                    self.last_id = event_id
                    return (event_id, json.loads(data))
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(": ")
            if field == "id":
                event_id = value
            elif field == "data":
                data = value
            elif field == "event":
                kind = value

    def until(self, done, seconds=20):
        """Events until done(events) holds or time runs out."""
        events, deadline = [], time.time() + seconds
        while time.time() < deadline and not done(events):
            event = self.next_event()
            if event is None:
                break
            events.append(event)
        return events

    def close(self):
        self.connection.close()


def run_finished(run_id):
    return lambda events: any(data.get("topic") == "run.finished" and
                              data.get("body", {}).get("id") == run_id
                              for _, data in events if isinstance(data, dict))


def wait_run(api, token, run_id):
    """The run's record once it has ended ({} when it does not within 20 s)."""
    ended = {}

    def done():
        status, run, _ = api.request("GET", f"/api/v1/runs/{run_id}", token)
        ended.update(run if status == 200 and run.get("state") in ("succeeded", "failed") else {})
        return bool(ended)
    wait_until(20, done)
    return ended


def nauto(env, *args):
    return run_nauto(NAUTO, env, *args)


def main():
    work = tempfile.mkdtemp(prefix="nauto-api-it-")
    base, _claim = port_block.claim()
    make_ca(work)
    os.makedirs(os.path.join(work, "runbooks"))
    with open(os.path.join(work, "runbooks", "echo_params.lua"), "w") as out:
        out.write("""return runbook {
  name = "echo_params",
  params = { who = { type = "string", required = true } },
  run = function(p)
    step("greet", function() return { hello = p.who } end)
    return { greeted = p.who }
  end,
}
""")
    with open(os.path.join(work, "inventory.yaml"), "w") as out:
        out.write("hosts:\n" + "".join(
            f"  r{i}: {{host: 127.0.0.1, platform: cisco_ios, site: dc{1 + i % 2}}}\n"
            for i in range(1, 6)))
    config = os.path.join(work, "nauto.yaml")
    with open(config, "w") as out:
        out.write(f"""data_dir: {work}/data
run_dir: {work}/run
log: {{level: info, file: {work}/nautod.jsonl}}
modules:
  journal: {{max_age: 1h}}
  inventory: {{files: [{work}/inventory.yaml]}}
  devices: {{}}
  runbooks: {{dirs: [{work}/runbooks]}}
  audit: {{}}
  api:
    listen: "127.0.0.1:{base}"
    tls: {{cert: {work}/api.crt, key: {work}/api.key}}
    rate_limit: {{per_token: 5, per_token_burst: 30}}
""")
    env = dict(os.environ, NAUTO_CONFIG=config)
    daemon = Nautod(NAUTOD, env, work)
    api = Api(base, os.path.join(work, "ca.crt"))
    try:
        deadline = time.time() + 20
        up = False
        while time.time() < deadline and daemon.running() and not up:
            try:
                status, _, _ = api.request("GET", "/api/v1/openapi.json")
                up = status == 200
            except OSError:
                time.sleep(0.1)
        check("nautod serves the API over HTTPS with the test CA's certificate", up)
        if not up:
            return 1

        # TLS: a client that does not trust the test CA is refused the handshake.
        try:
            strict = ssl.create_default_context()
            connection = http.client.HTTPSConnection("127.0.0.1", base, context=strict,
                                                     timeout=5)
            connection.request("GET", "/api/v1/openapi.json")
            connection.getresponse()
            check("a client without the test CA fails the handshake", False)
        except ssl.SSLError:
            check("a client without the test CA fails the handshake", True)
        # Plain HTTP on the TLS port gets no answer in the clear.
        plain = http.client.HTTPConnection("127.0.0.1", base, timeout=5)
        try:
            plain.request("GET", "/api/v1/openapi.json")
            answered = plain.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            answered = False
        check("plain HTTP on the HTTPS port is not served", not answered)

        status, document, _ = api.request("GET", "/api/v1/openapi.json")
        with open(OPENAPI) as generated:
            check("the OpenAPI document served is the one generated from the schema",
                  status == 200 and document == json.load(generated))

        code, viewer, err = nauto(env, "token", "create", "--principal", "vera", "--roles",
                                  "viewer", "--note", "api test")
        check("nauto token create prints the token once", code == 0 and viewer.startswith("nat_"),
              err)
        code, operator, _ = nauto(env, "token", "create", "--principal", "otto", "--roles",
                                  "operator", "--expires", "1d")
        code, approver, _ = nauto(env, "token", "create", "--principal", "ann", "--roles",
                                  "approver")
        code, _, err = nauto(env, "token", "create", "--principal", "x", "--roles", "supervisor")
        check("a token with a role nobody defined is refused", code != 0 and
              "no role 'supervisor'" in err, err)

        status, me, _ = api.request("GET", "/api/v1/whoami", viewer)
        check("whoami answers the token's holder, through module:api",
              status == 200 and me == {"principal": "vera", "roles": ["viewer"],
                                       "via": "module:api"}, f"{status} {me}")

        # --- authentication
        status, body, response = api.request("GET", "/api/v1/whoami")
        check("no token: 401 with WWW-Authenticate", status == 401 and
              response.getheader("WWW-Authenticate", "").startswith("Bearer") and
              body["error"]["code"] == "unauthenticated", f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/whoami", viewer[:-2] + "xx")
        check("a wrong secret: 401 unknown token", status == 401 and
              body["error"]["message"] == "unknown token", f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/whoami",
                                      headers={"Authorization": "Basic dXNlcjpwYXNz"})
        check("a non-bearer Authorization: 401", status == 401, f"{status} {body}")

        # --- roles: the router's, not the API's
        status, body, _ = api.request("POST", "/api/v1/runbooks/echo_params/runs", viewer,
                                      {"params": {"who": "x"}})
        check("a viewer may not start a run: 403 naming the roles that may",
              status == 403 and body["error"]["code"] == "permission_denied" and
              "'vera' (roles: viewer) may not call 'run.start'" in body["error"]["message"] and
              "operator" in body["error"]["message"], f"{status} {body}")
        status, body, _ = api.request("POST", "/api/v1/runbooks/echo_params/runs", operator,
                                      {"params": {"who": "world"}})
        check("an operator starts a runbook with params", status == 200 and "id" in body,
              f"{status} {body}")
        run_id = body.get("id", "") if isinstance(body, dict) else ""
        state = ""
        deadline = time.time() + 20
        while time.time() < deadline and state not in ("succeeded", "failed"):
            status, run, _ = api.request("GET", f"/api/v1/runs/{run_id}", viewer)
            state = run.get("state", "") if status == 200 else ""
            time.sleep(0.1)
        check("the run succeeds with the params it was given",
              state == "succeeded" and run.get("result") == {"greeted": "world"} and
              run.get("started_by") == "otto", json.dumps(run)[:400])
        status, steps, _ = api.request("GET", f"/api/v1/runs/{run_id}/steps", viewer)
        ended = [s for s in steps.get("items", []) if s.get("type") == "step_end"]
        check("its steps are a page", status == 200 and
              [(s["name"], s.get("result")) for s in ended] == [("greet", {"hello": "world"})]
              and steps["next_cursor"] is None, f"{status} {steps}")

        # --- errors, one shape
        status, body, _ = api.request("POST", "/api/v1/runbooks/echo_params/runs", operator,
                                      raw="{not json")
        check("bad JSON: 400 malformed", status == 400 and body["error"]["code"] == "malformed",
              f"{status} {body}")
        status, body, _ = api.request("POST", "/api/v1/runbooks/echo_params/runs", operator,
                                      {"params": "x"})
        check("a wrongly typed field: 400 naming it", status == 400 and
              body["error"]["code"] == "invalid_argument" and "params" in body["error"]["message"],
              f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/runs?limit=many", viewer)
        check("a wrongly typed parameter: 400 naming it", status == 400 and
              body["error"]["where"] == "limit", f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/runs?colour=red", viewer)
        check("an unknown parameter: 400 naming it", status == 400 and
              body["error"]["where"] == "colour", f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/runs/no-such-run", viewer)
        check("an unknown id: 404 not_found", status == 404 and
              body["error"]["code"] == "not_found", f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/devices/r99", viewer)
        check("an unknown device: 404", status == 404, f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/approvals/nope", viewer)
        check("an unknown approval: 404", status == 404, f"{status} {body}")
        status, body, _ = api.request("GET", "/api/v1/no/such/route", viewer)
        check("an unknown route: 404", status == 404, f"{status} {body}")
        status, body, response = api.request("DELETE", "/api/v1/runs", viewer)
        check("a wrong method: 405 with Allow", status == 405 and
              response.getheader("Allow") == "GET", f"{status} {body}")

        # --- pagination
        for _ in range(4):
            api.request("POST", "/api/v1/runbooks/echo_params/runs", operator,
                        {"params": {"who": "again"}})
        seen, cursor, pages = [], None, 0
        while pages < 10:
            path = "/api/v1/runs?limit=2" + (f"&cursor={cursor}" if cursor else "")
            status, page, _ = api.request("GET", path, viewer)
            if status != 200:
                break
            pages += 1
            seen += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        status, whole, _ = api.request("GET", "/api/v1/runs?limit=500", viewer)
        check("limit and cursor walk every run once, in order", pages == 3 and
              seen == [r["id"] for r in whole["items"]] and len(seen) == 5, f"{pages} {seen}")
        status, devices, _ = api.request("GET", "/api/v1/devices?selector=site%3Ddc1&limit=1",
                                         viewer)
        check("filters are the service's own fields as parameters",
              status == 200 and devices["items"][0]["name"] == "r2" and
              devices["next_cursor"] == "p1", f"{status} {devices}")


        # --- server-sent events, live and resumed
        stream = EventStream(api, "/api/v1/events/stream?topic=run.*", viewer)
        check("a viewer opens an event stream", stream.status == 200 and
              stream.response.getheader("Content-Type") == "text/event-stream", stream.status)
        status, started, _ = api.request("POST", "/api/v1/runbooks/echo_params/runs", operator,
                                         {"params": {"who": "live"}})
        first_run = started.get("id", "")
        live = stream.until(run_finished(first_run))
        topics = [d["topic"] for _, d in live if d.get("body", {}).get("id") == first_run or
                  d.get("body", {}).get("run") == first_run]
        check("a run's events arrive live, each with an id",
              "run.started" in topics and "run.step" in topics and "run.finished" in topics and
              all(i and "." in i for i, _ in live), f"{topics}")
        last_seen = stream.last_id
        stream.close()
        missed = []
        for who in ("away1", "away2"):
            status, started, _ = api.request("POST", "/api/v1/runbooks/echo_params/runs",
                                             operator, {"params": {"who": who}})
            missed.append(started.get("id", ""))
            wait_run(api, operator, missed[-1])
        resumed = EventStream(api, "/api/v1/events/stream?topic=run.*", viewer, last_seen)
        got = resumed.until(run_finished(missed[-1]))
        got_ids = [i for i, _ in got]
        since = int(last_seen.split(".")[0])
        journal_ids = []

        def journaled():
            # The journal writes in groups a few ms behind the bus: compare once it has the
            # last event the stream gave.
            _, journal, _ = api.request(
                "GET", f"/api/v1/events?topic=run.*&since_us={since}&limit=500", viewer)
            journal_ids[:] = [f"{e['ts']}.{e['id']}" for e in journal.get("items", [])]
            return not got_ids or got_ids[-1] in journal_ids
        wait_until(10, journaled)
        expected = journal_ids[journal_ids.index(last_seen) + 1:] if last_seen in journal_ids \
            else journal_ids
        check("after a reconnect with Last-Event-ID every missed event arrives once, in order",
              got_ids == expected and len(set(got_ids)) == len(got_ids) and
              any(d.get("body", {}).get("id") == missed[0] for _, d in got),
              f"got {got_ids}\n#   journal {expected}")
        # And it goes on live after the replay.
        status, started, _ = api.request("POST", "/api/v1/runbooks/echo_params/runs", operator,
                                         {"params": {"who": "after"}})
        after = resumed.until(run_finished(started.get("id", "")))
        check("a resumed stream goes on live", run_finished(started.get("id", ""))(after),
              f"{after[-3:]}")
        resumed.close()
        bad = EventStream(api, "/api/v1/events/stream?topic=run.>.x", viewer)
        check("a bad topic pattern: 400", bad.status == 400, bad.status)
        bad.close()
        bad = EventStream(api, "/api/v1/events/stream", viewer, "nonsense")
        check("a bad Last-Event-ID: 400", bad.status == 400, bad.status)
        bad.close()
        anonymous = EventStream(api, "/api/v1/events/stream")
        check("no token, no stream: 401", anonymous.status == 401, anonymous.status)
        anonymous.close()

        # --- a browser session
        status, login, response = api.request("POST", "/api/v1/login", body={"token": approver})
        cookie = response.getheader("Set-Cookie", "")
        check("login answers the holder and a CSRF secret", status == 200 and
              login["principal"] == "ann" and len(login.get("csrf", "")) == 64, f"{status} {login}")
        check("the session cookie is HttpOnly, Secure and SameSite=Strict",
              cookie.startswith("nauto_session=") and "HttpOnly" in cookie and
              "Secure" in cookie and "SameSite=Strict" in cookie, cookie)
        session = {"Cookie": cookie.split(";")[0]}
        status, me, _ = api.request("GET", "/api/v1/whoami", headers=session)
        check("a GET with the cookie is the token's holder", status == 200 and
              me["principal"] == "ann", f"{status} {me}")
        status, body, _ = api.request("POST", "/api/v1/approvals/x/deny", headers=session,
                                      body={"comment": "no"})
        check("a POST with the cookie but no CSRF header: 403", status == 403 and
              "X-CSRF-Token" in body["error"]["message"], f"{status} {body}")
        status, body, _ = api.request("POST", "/api/v1/approvals/x/deny",
                                      headers=dict(session, **{"X-CSRF-Token": login["csrf"]}),
                                      body={"comment": "no"})
        check("with the CSRF header it reaches the service (no such approval: 404)",
              status == 404, f"{status} {body}")
        status, body, _ = api.request("POST", "/api/v1/login", body={"token": "nat_x"})
        check("a login with a bad token: 401", status == 401, f"{status} {body}")

        # --- revocation ends tokens and their sessions
        code, listed, _ = nauto(env, "token", "list", "-o", "json")
        tokens = json.loads(listed)["tokens"] if code == 0 else []
        ann = next((t for t in tokens if t["principal"] == "ann"), {})
        vera = next((t for t in tokens if t["principal"] == "vera"), {})
        check("token list shows holders, roles and last use",
              {t["principal"] for t in tokens} == {"vera", "otto", "ann"} and
              vera.get("last_used_us", 0) > 0 and vera.get("last_address") == "127.0.0.1" and
              "digest" not in vera, listed[:300])
        code, _, err = nauto(env, "token", "revoke", ann.get("id", "?"))
        status, body, _ = api.request("GET", "/api/v1/whoami", headers=session)
        check("a revoked token's session ends at once", code == 0 and status == 401,
              f"{code} {err} {status} {body}")
        status, body, _ = api.request("GET", "/api/v1/whoami", approver)
        check("a revoked token is refused", status == 401 and "revoked" in
              body["error"]["message"], f"{status} {body}")

        # --- rate limit: 30 at once, 5/s after
        statuses, retry = [], None
        for _ in range(40):
            status, _, response = api.request("GET", "/api/v1/whoami", viewer)
            statuses.append(status)
            if status == 429:
                retry = response.getheader("Retry-After")
                break
        check("past its burst a token gets 429 with Retry-After", 429 in statuses and
              retry is not None and int(retry) >= 1, f"{statuses} {retry}")

        # --- audit: recorded as the holder, via the API
        # The audit module takes the router's records every few ms.
        records = []

        def audited():
            code, listed, _ = nauto(env, "audit", "list", "--service", "run.start", "-o", "json")
            records[:] = json.loads(listed)["records"] if code == 0 else []
            return (any(r["principal"] == "otto" and r["via"] == "module:api" and
                        r["outcome"] == "ok" for r in records) and
                    any(r["principal"] == "vera" and r["outcome"] == "refused" for r in records))
        check("the audit trail names the token's holder and module:api", wait_until(10, audited),
              json.dumps(records)[:400])
        code, _, _ = nauto(env, "status")
        check("nautod is still running every module", code == 0 and daemon.running())
    finally:
        daemon.stop(show_log=check.failed > 0, lines=40)
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
