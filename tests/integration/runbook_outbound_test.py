"""Runbooks that reach out, against a real nautod and nauto-lab, with servers this test starts on
127.0.0.1: an HTTP receiver (plain and HTTPS with a test CA), an OpenAI-compatible stub and an
SMTP sink with STARTTLS (python3-aiosmtpd).

- the earlier roadmap's troubleshoot-bgp runbook, unchanged: with the neighbor Established its
  route step is skipped, the AI prompt holds the command outputs, and no webhook goes out; with
  the neighbor shut (the lab's control API) the route step runs, the AI says "down", and the
  webhook receives the payload;
- http{}: retries on 503 (a POST too: refused without acting), a POST that got a 500 sent once,
  a GET retried; TLS verification failure, then success with ca_file; a timeout;
- replay after kill -9: a request whose answer was recorded is not sent again; a POST in flight
  at the kill is reported, not repeated;
- notify: a Slack-shaped message and a mail through STARTTLS, and a rule's notify: action;
- the AI's bearer token (a vault credential) reaches the stub and never a log or a run record.

  runbook_outbound_test.py NAUTOD NAUTO NAUTO_LAB EXAMPLES_DIR
"""

import hashlib
import hmac
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import lab_process  # noqa: E402
import port_block  # noqa: E402
import test_ca  # noqa: E402
from nautod_process import Checks, Nautod, run_nauto, wait_until  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

NAUTOD, NAUTO, LAB, EXAMPLES = sys.argv[1:5]
AI_SECRET = "sk-test-4f1c2b9e7d"
HOOK_SECRET = "hook-key-93b1f0c2"
check = Checks()


class Receiver:
    """Records every request; some paths answer in their own way (see handle())."""

    def __init__(self, port, tls=None):
        self.requests = []
        self.counts = {}
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                receiver.handle(self)

            def do_POST(self):
                receiver.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, h):
        length = int(h.headers.get("Content-Length", 0))
        body = h.rfile.read(length).decode() if length else ""
        path = h.path
        self.requests.append({"method": h.command, "path": path, "body": body,
                              "headers": dict(h.headers)})
        n = self.counts[path] = self.counts.get(path, 0) + 1
        status, text = 200, '{"ok": true}'
        if path.startswith("/flaky") and n <= 2:
            status = 503
        elif path.startswith("/fail500"):
            status = 500
        elif path.startswith("/slow"):
            time.sleep(3)  # a server slower than the caller's timeout
        elif path.startswith("/hold"):
            self.release.wait(30)  # holds the request until the test lets it go
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(text)))
            h.end_headers()
            h.wfile.write(text.encode())
        except OSError:
            pass  # the caller gave up (a timeout, a kill): nothing to answer

    def seen(self, prefix):
        return [r for r in self.requests if r["path"].startswith(prefix)]


class AiStub:
    """An OpenAI-compatible chat-completions endpoint that answers from what the prompt shows."""

    def __init__(self, port):
        self.prompts = []
        self.authorizations = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.authorizations.append(self.headers.get("Authorization", ""))
                prompt = request["messages"][-1]["content"]
                stub.prompts.append(prompt)
                if "Established" in prompt.split("Neighbor Detail:")[-1]:
                    answer = "The session is Established and healthy."
                else:
                    answer = "The BGP session is DOWN: the neighbor is not Established."
                body = json.dumps({"id": "cmpl-1", "object": "chat.completion", "model": "stub",
                                   "choices": [{"index": 0, "finish_reason": "stop",
                                                "message": {"role": "assistant", "content": answer}}],
                                   "usage": {"prompt_tokens": 10, "completion_tokens": 9}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class MailSink:
    def __init__(self, port, cert, key):
        self.messages = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                      "data": envelope.content.decode(errors="replace"),
                                      "tls": session.ssl is not None})
                return "250 OK"

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                                     tls_context=context, require_starttls=True)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def main():
    work = tempfile.mkdtemp(prefix="nauto-outbound-it-")
    base, _claim = port_block.claim()
    ports = {"rx": base + 80, "tls": base + 81, "ai": base + 82, "smtp": base + 83}
    ca, cert, key = test_ca.make_ca(work)
    lab = lab_process.Lab(LAB, work, base, "- {platform: cisco_ios, count: 2, site: dc1, role: edge}",
                          seed=7)
    receiver = Receiver(ports["rx"])
    secure = Receiver(ports["tls"], tls=(cert, key))
    ai = AiStub(ports["ai"])
    mail = MailSink(ports["smtp"], cert, key)
    daemon = None
    try:
        check("nauto-lab is ready", lab.ready)
        if not lab.ready:
            return 1
        rx = f"http://127.0.0.1:{ports['rx']}"
        config = os.path.join(work, "nauto.yaml")
        with open(config, "w") as out:
            out.write(f"""data_dir: {work}/data
run_dir: {work}/run
log: {{level: info, file: {work}/nautod.jsonl}}
modules:
  journal: {{max_age: 1h}}
  inventory: {{files: [{lab.inventory()}]}}
  vault: {{}}
  devices: {{device_timeout: 10s, attempts: 2, retry_delay: 50ms}}
  runbooks:
    dirs: [{EXAMPLES}]
    vars: {{slack_webhook: "{rx}/hook/T0/B0/XYZ"}}
    ai: {{url: "http://127.0.0.1:{ports['ai']}/v1/chat/completions", model: stub, credential: ai-key, timeout: 10s}}
  rules: {{dirs: [{work}/rules]}}
  outbound:
    credentials: {{hook-key: [127.0.0.1]}}
    channels:
      netops: {{type: slack, url: "{rx}/slack/T1/B1/ABC", channel: "#noc"}}
      noc-mail: {{type: email, server: "smtp://127.0.0.1:{ports['smtp']}", from: nauto@example.net,
                 to: [noc@example.net], ca_file: "{ca}"}}
""")
        os.makedirs(os.path.join(work, "rules"))
        with open(os.path.join(work, "rules", "page.yaml"), "w") as out:
            out.write("""rules:
  - name: site-alarm-page
    on: site.alarm
    action:
      notify: {channel: netops, title: "site alarm", text: "{{ body.text }}"}
""")
        env = dict(os.environ, NAUTO_CONFIG=config, NAUTO_CRED_AI_KEY_PASSWORD=AI_SECRET,
                   NAUTO_CRED_HOOK_KEY_PASSWORD=HOOK_SECRET, NAUTO_CRED_OTHER_PASSWORD="other-93b1")
        env.update(lab.credentials())

        def start_nautod():
            d = Nautod(NAUTOD, env, work)
            up = wait_until(20, lambda: run_nauto(NAUTO, env, "status")[0] == 0)
            return d, up
        daemon, up = start_nautod()
        check("nautod starts with the outbound module", up)
        if not up:
            return 1

        def nauto(*args, timeout=60):
            return run_nauto(NAUTO, env, *args, timeout=timeout)

        def write(name, text):
            path = os.path.join(work, name)
            with open(path, "w") as out:
                out.write(text)
            return path

        # --- the example runbook, unchanged --------------------------------------------------
        example = os.path.join(EXAMPLES, "troubleshoot-bgp.yaml")
        with open(example) as text:
            check("the shipped example is the roadmap's runbook", "type: ai_analyze" in text.read())
        device = lab.control("GET", "/devices/ios1")
        neighbor = [p["address"] for p in device["bgp"] if p["state"] == "Established"][0]

        def commands(name):
            return [c for c in json.dumps(lab.control("GET", f"/devices/{name}/commands")).split('"')]

        code, out, err = nauto("run", example, "-p", f"neighbor_ip={neighbor}", "-p",
                               "target_device=ios1", "-o", "json")
        check("troubleshoot-bgp runs unchanged on an Established neighbor", code == 0, out + err)
        check("its route step is skipped while the neighbor is Established",
              "show ip route bgp" not in commands("ios1"))
        check("the AI prompt holds the command outputs",
              len(ai.prompts) == 1 and "BGP router identifier" in ai.prompts[0] and
              "Established" in ai.prompts[0], ai.prompts[:1])
        check("a healthy analysis sends no webhook", receiver.seen("/hook") == [])

        lab.control("POST", "/devices/ios1/bgp", {"neighbor": neighbor, "up": False})
        code, out, err = nauto("run", example, "-p", f"neighbor_ip={neighbor}", "-p",
                               "target_device=ios1", "-o", "json")
        check("troubleshoot-bgp runs on the shut neighbor", code == 0, out + err)
        check("its route step runs when the neighbor is down",
              "show ip route bgp" in commands("ios1"))
        hooks = receiver.seen("/hook")
        check("the webhook receives the payload when the analysis says down",
              len(hooks) == 1 and json.loads(hooks[0]["body"])["text"].startswith(
                  "BGP issue detected: The BGP session is DOWN"), hooks)
        code, out, err = nauto("shell", "-e", f":run {example} neighbor_ip={neighbor} target_device=ios1")
        check("the example runs unchanged with :run in nauto shell, the webhook sent again",
              code == 0 and len(receiver.seen("/hook")) == 2 and len(ai.prompts) == 3,
              out + err + str(len(ai.prompts)))
        check("the AI stub got the vault credential as a bearer token",
              ai.authorizations and all(a == f"Bearer {AI_SECRET}" for a in ai.authorizations),
              ai.authorizations)

        code, out, err = nauto("runbook", "show", "troubleshoot-bgp")
        check("runbook show keeps the example's version and author",
              code == 0 and "version: 1.0" in out and "author: network-team" in out, out + err)
        code, out, _ = nauto("runs", "list", "-o", "json")
        last = json.loads(out)[0]["id"] if code == 0 else ""
        code, out, _ = nauto("runs", "show", last, "-o", "json")
        journaled = [s for s in json.loads(out).get("steps", []) if s.get("kind") == "ai"] if code == 0 else []
        check("the prompt and the answer are journaled",
              journaled and "Neighbor Detail" in json.dumps(journaled[0]) and
              "The BGP session is DOWN" in json.dumps(journaled[0]), out[:2000])

        # --- http{}: retries, TLS, timeouts --------------------------------------------------
        def run_lua(name, body, *extra):
            path = write(name + ".lua", f'return runbook{{ name = "{name}", run = function()\n'
                                        f'{body}\nend }}\n')
            return nauto("run", path, "-o", "json", *extra)

        code, out, err = run_lua("flaky", f'return http{{ url = "{rx}/flaky", json = {{ n = 1 }}, '
                                          'retry = { attempts = 3, delay = 0.1 } }.attempts')
        check("a POST refused with 503 is tried again until it is taken",
              code == 0 and json.loads(out)["result"] == 3 and len(receiver.seen("/flaky")) == 3,
              out + err)
        code, out, err = run_lua("fail500", f'return http{{ url = "{rx}/fail500/post", json = {{}}, '
                                            'retry = { attempts = 3, delay = 0.1 } }')
        check("a POST answered 500 is not sent again (it may have acted)",
              code != 0 and len(receiver.seen("/fail500/post")) == 1 and "HTTP 500" in out + err,
              out + err)
        code, out, err = run_lua("get500", f'return http{{ url = "{rx}/fail500/get", '
                                           'retry = { attempts = 3, delay = 0.1 } }')
        check("a GET answered 500 is tried three times",
              code != 0 and len(receiver.seen("/fail500/get")) == 3, out + err)
        secure_url = f"https://127.0.0.1:{ports['tls']}/secure"
        code, out, err = run_lua("tls", f'return http{{ url = "{secure_url}", json = {{}} }}')
        check("a server whose certificate does not verify is refused, and nothing is sent",
              code != 0 and "TLS" in out + err and secure.requests == [], out + err)
        code, out, err = run_lua("tls_ca", f'return http{{ url = "{secure_url}", json = {{}}, '
                                           f'ca_file = "{ca}" }}.status')
        check("with the test CA as ca_file it is sent", code == 0 and len(secure.requests) == 1,
              out + err)
        code, out, err = run_lua("slow", f'return http{{ url = "{rx}/slow", json = {{}}, timeout = 0.5 }}')
        record = json.loads(out) if out.startswith("{") else {}
        elapsed = (record.get("finished_us", 0) - record.get("started_us", 0)) / 1e6
        check("a receiver slower than the timeout fails the request in time (0.5 s)",
              code != 0 and "timed out" in out + err and 0.4 < elapsed < 2.5,
              f"{elapsed:.1f}s {out}{err}")

        code, out, err = run_lua("signed", f'return http{{ url = "{rx}/signed", json = {{ n = 1 }}, '
                                           'sign = "hook-key" }.status')
        signed = receiver.seen("/signed")
        good = False
        if signed:
            h = {k.lower(): v for k, v in signed[0]["headers"].items()}
            text = f"{h.get('x-nauto-timestamp')}.{h.get('x-nauto-nonce')}.{signed[0]['body']}"
            expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
            good = h.get("x-nauto-signature") == expected
        check("a request signed with a vault secret carries a signature that verifies", code == 0 and good,
              out + err + str(signed))
        code, out, err = run_lua("leak", f'return http{{ url = "{rx}/leak", headers = {{ '
                                         'Authorization = "Bearer " .. vault("other").password } }')
        check("a vault secret is not sent to a host it is not allowed to",
              code != 0 and "may not be sent to '127.0.0.1'" in out + err and receiver.seen("/leak") == [],
              out + err)
        code, out, err = run_lua("redact", 'return ai.analyze{ prompt = "username admin secret 5 '
                                           '$1$mERr$hx5rVt7rPNoS4wqbXKX7m0\\nsnmp-server community '
                                           'n0t-publ1c RO\\nneighbor 10.0.0.2 Established" }')
        check("an AI prompt leaves with the config's secrets redacted",
              code == 0 and "n0t-publ1c" not in ai.prompts[-1] and "hx5rVt7r" not in ai.prompts[-1] and
              "community <redacted>" in ai.prompts[-1] and "Established" in ai.prompts[-1],
              ai.prompts[-1:])

        # --- replay after kill -9 -------------------------------------------------------------
        code, run_id, err = run_lua("replay", f'local r = http{{ url = "{rx}/replay", json = {{ n = 1 }} }}\n'
                                              'wait(3)\nreturn r.status', "--detach")
        run_id = run_id.strip()

        def steps_done(kind):
            code, out, _ = nauto("runs", "show", run_id, "-o", "json")
            return code == 0 and any(s.get("kind") == kind and s.get("state") == "done"
                                     for s in json.loads(out).get("steps", []))
        check("the request is sent and its answer recorded", wait_until(10, lambda: steps_done("http")))
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait()
        daemon.stop()
        daemon, up = start_nautod()
        check("nautod starts again after kill -9", up)

        def run_state(rid):
            code, out, _ = nauto("runs", "show", rid, "-o", "json")
            return json.loads(out)["run"].get("state", "") if code == 0 else ""
        check("the run resumes and succeeds", wait_until(20, lambda: run_state(run_id) == "succeeded"),
              run_state(run_id))
        check("the receiver saw the request once", len(receiver.seen("/replay")) == 1,
              receiver.seen("/replay"))

        code, held, err = run_lua("held", f'return http{{ url = "{rx}/hold", json = {{ n = 1 }} }}.status',
                                  "--detach")
        held = held.strip()
        check("a POST is in flight", wait_until(10, lambda: len(receiver.seen("/hold")) == 1))
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait()
        daemon.stop()
        receiver.release.set()
        daemon, up = start_nautod()
        wait_until(20, lambda: run_state(held) not in ("", "running"))
        code, out, _ = nauto("runs", "show", held, "-o", "json")
        record = json.loads(out)["run"] if code == 0 else {}
        check("a POST in flight at kill -9 is reported, not sent again",
              record.get("state") == "failed" and "in flight when nautod stopped" in
              record.get("error", "") and len(receiver.seen("/hold")) == 1, out)

        # --- notifications ---------------------------------------------------------------------
        code, out, err = run_lua("notify", 'notify{ channel = "netops", text = "r1: BGP neighbor down", '
                                           'title = "BGP alarm" }\n'
                                           'return notify("noc-mail", "r1: BGP neighbor down").status')
        slack = receiver.seen("/slack")
        check("a Slack-shaped message reaches the channel's webhook",
              code == 0 and len(slack) == 1 and json.loads(slack[0]["body"]) ==
              {"text": "BGP alarm\nr1: BGP neighbor down", "channel": "#noc"}, out + err + str(slack))
        check("a mail reaches the SMTP sink through STARTTLS",
              wait_until(5, lambda: len(mail.messages) == 1) and mail.messages[0]["tls"] and
              mail.messages[0]["to"] == ["noc@example.net"] and
              "r1: BGP neighbor down" in mail.messages[0]["data"], mail.messages)

        code, out, err = run_lua("alarm", 'emit("site.alarm", { text = "core1: power supply 2 failed" })')
        check("a rule notifies a channel directly on an event",
              code == 0 and wait_until(10, lambda: len(receiver.seen("/slack")) == 2) and
              json.loads(receiver.seen("/slack")[1]["body"])["text"] ==
              "site alarm\ncore1: power supply 2 failed", out + err + str(receiver.seen("/slack")))

        # --- secrets ---------------------------------------------------------------------------
        logs = open(os.path.join(work, "nautod.jsonl")).read() + open(daemon.log_path).read()
        code, out, _ = nauto("runs", "list", "--all", "-o", "json")
        records = out
        for r in json.loads(out):
            records += nauto("runs", "show", r["id"], "-o", "json")[1]
        check("no vault secret is in a log or a run record",
              all(secret not in logs and secret not in records
                  for secret in (AI_SECRET, HOOK_SECRET, "other-93b1")))
        check("the webhook URL's path is in no log", "T0/B0/XYZ" not in logs)
    finally:
        if daemon:
            daemon.stop(show_log=check.failed > 0)
        mail.stop()
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
