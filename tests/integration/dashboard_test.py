#!/usr/bin/env python3
"""The web dashboard in headless Chromium (Debian's chromium, chromium-driver and
python3-selenium), against a real nautod and nauto-lab devices:

- an operator logs in with a token and sees the fleet;
- starts interface_remediate with params (a device whose interface was shut through the lab's
  control API) and watches its steps arrive live, until it waits for approval;
- logs out; an approver logs in, opens the pending approval, sees the exact diff, approves it
  with a reason, and sees the run finish; the device's interface is up again;
- a second run on another device is denied with a reason: the run fails, nothing is pushed;
- the config history of the first device shows its versions and a side-by-side diff;
- the jobs, events, compliance and schedules pages render.
Every page's screenshot goes to SCREENSHOT_DIR; any error in the browser's console fails the
test, and so does a page where a form control has no label, a button or link no text, or the
page no main landmark; the login is done with the keyboard alone.

  dashboard_test.py NAUTOD NAUTO NAUTO_LAB RUNBOOK_DIR SCREENSHOT_DIR
"""

import os
import shutil
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import lab_process  # noqa: E402
import port_block  # noqa: E402
from nautod_process import Checks, Nautod, run_nauto, wait_until  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as seen  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

NAUTOD, NAUTO, LAB, LIBRARY, SHOTS = sys.argv[1:6]
check = Checks(quiet=False)


class Lab(lab_process.Lab):
    def first_interface(self, device):
        return [i["name"] for i in self.control("GET", f"/devices/{device}")["interfaces"]
                if i["name"].startswith("GigabitEthernet")][0]

    def admin_up(self, device, interface):
        return [i["admin_up"] for i in self.control("GET", f"/devices/{device}")["interfaces"]
                if i["name"] == interface][0]


class Browser:
    def __init__(self, work, base_url):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic",
                     "--window-size=1366,900", f"--user-data-dir={work}/chromium"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.base_url = base_url
        self.console_errors = []
        self.accessibility = []

    def open(self, fragment):
        self.driver.get(f"{self.base_url}/ui/#/{fragment}")

    def find(self, css, seconds=15):
        return WebDriverWait(self.driver, seconds).until(
            seen.presence_of_element_located((By.CSS_SELECTOR, css)))

    def text(self):
        return self.driver.find_element(By.TAG_NAME, "main").text

    def wait_text(self, needle, seconds=20):
        return wait_until(seconds, lambda: needle in self.text())

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
        self.take_console()
        for problem in self.unlabelled():
            self.accessibility.append(f"{name}: {problem}")

    def unlabelled(self):
        """What a screen reader could not name on this page."""
        return self.driver.execute_script("""
          const problems = [];
          if (!document.documentElement.lang) problems.push('no lang on <html>');
          if (!document.querySelector('main')) problems.push('no <main>');
          for (const e of document.querySelectorAll('input, select, textarea')) {
            const named = (e.id && document.querySelector(`label[for="${CSS.escape(e.id)}"]`)) ||
              e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.closest('label');
            if (!named && e.type !== 'hidden') problems.push(`unlabelled ${e.tagName.toLowerCase()}#${e.id}`);
          }
          for (const e of document.querySelectorAll('button, a[href]')) {
            if (e.offsetParent !== null && !(e.textContent.trim() || e.getAttribute('aria-label')))
              problems.push(`${e.tagName.toLowerCase()} without text`);
          }
          return problems;""")

    def take_console(self):
        for entry in self.driver.get_log("browser"):
            if entry.get("level") == "SEVERE":
                self.console_errors.append(entry.get("message", ""))

    def login(self, token):
        """With the keyboard alone: the token field has the focus; Enter submits."""
        self.open("login")
        self.find("#token")
        wait_until(5, lambda: self.driver.switch_to.active_element.get_attribute("id") == "token")
        self.driver.switch_to.active_element.send_keys(token + Keys.ENTER)
        return wait_until(10, lambda: self.driver.find_element(By.ID, "who").text != "")

    def logout(self):
        self.driver.find_element(By.ID, "logout").click()
        self.find("#token")

    def quit(self):
        self.driver.quit()


def nauto(env, *args):
    return run_nauto(NAUTO, env, *args)


def main():
    work = tempfile.mkdtemp(prefix="nauto-dashboard-it-")
    base, _claim = port_block.claim()
    shutil.rmtree(SHOTS, ignore_errors=True)
    lab = Lab(LAB, work, base, "- {platform: cisco_ios, count: 2, site: dc1, role: edge}")
    check("nauto-lab is ready", lab.ready)
    if not lab.ready:
        return 1
    api_port = base + 90
    os.makedirs(os.path.join(work, "policies"))
    with open(os.path.join(work, "policies", "lab.yaml"), "w") as out:
        out.write("""name: lab
description: what the lab's routers must have
rules:
  - id: has-hostname
    severity: low
    must_match: '^hostname '
  - id: no-interface-shut
    severity: high
    description: no interface is shut by hand
    must_not_match: '^ shutdown$'
""")
    os.makedirs(os.path.join(work, "schedules"))
    with open(os.path.join(work, "schedules", "facts.yaml"), "w") as out:
        out.write("schedules:\n  - name: nightly-facts\n    cron: '0 2 * * *'\n"
                  "    job: {kind: facts, target: all}\n")
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
  runbooks: {{dirs: [{LIBRARY}], approval_timeout: 5m}}
  configs: {{}}
  compliance: {{dirs: [{work}/policies]}}
  scheduler: {{dirs: [{work}/schedules]}}
  api: {{listen: "127.0.0.1:{api_port}"}}
""")
    env = dict(os.environ, NAUTO_CONFIG=config)
    env.update(lab.credentials())
    daemon = Nautod(NAUTOD, env, work)
    browser = None
    try:
        up = wait_until(20, lambda: urllib.request.urlopen(
            f"http://127.0.0.1:{api_port}/api/v1/openapi.json", timeout=2).status == 200)
        check("nautod serves the API", up)
        if not up:
            return 1
        _, operator, _ = nauto(env, "token", "create", "--principal", "olivia", "--roles",
                               "operator")
        _, approver, _ = nauto(env, "token", "create", "--principal", "adam", "--roles",
                               "approver")
        if1 = lab.first_interface("ios1")
        if2 = lab.first_interface("ios2")
        lab.control("POST", "/devices/ios1/interface", {"interface": if1, "shutdown": True})
        lab.control("POST", "/devices/ios2/interface", {"interface": if2, "shutdown": True})
        code, _, err = nauto(env, "config", "backup", "--target", "ios1", "--why", "shut")
        check("ios1 is backed up with its interface shut", code == 0, err)

        browser = Browser(work, f"http://127.0.0.1:{api_port}")
        check("the operator logs in", browser.login(operator))
        check("the fleet page lists the lab's devices", browser.wait_text("ios2") and
              "ios1" in browser.text(), browser.text()[:300])
        browser.shot("fleet")

        # Start a run with params and watch its steps arrive.
        def start(device, interface):
            browser.open("runs")
            Select(browser.find("#runbook")).select_by_value("interface_remediate")
            device_field = browser.find("#param-device")
            device_field.clear()
            device_field.send_keys(device)
            field = browser.find("#param-interface")
            field.clear()
            field.send_keys(interface)
            browser.driver.find_element(By.ID, "start").click()
            return wait_until(10, lambda: "#/runs/" in browser.driver.current_url)
        check("the operator starts interface_remediate with params", start("ios1", if1))
        run1 = browser.driver.current_url.rsplit("/", 1)[1]
        check("its steps arrive live: the check, then the push waiting for approval",
              wait_until(20, lambda: "check" in browser.find("#steps").text and
                         "no shutdown" in browser.find("#steps").text), browser.text()[:500])
        browser.shot("run-waiting")
        check("the second run starts on ios2", start("ios2", if2))
        wait_until(20, lambda: "no shutdown" in browser.find("#steps").text)
        browser.logout()

        # The approver decides.
        check("the approver logs in", browser.login(approver))
        browser.open("approvals")
        check("both approvals are listed", browser.wait_text("ios1") and "ios2" in browser.text(),
              browser.text()[:300])
        browser.shot("approvals")

        def open_approval(device):
            browser.open("approvals")
            browser.wait_text(device)
            row = [r for r in browser.driver.find_elements(By.CSS_SELECTOR, "tbody tr")
                   if f"\n{device}\n" in f"\n{r.text.replace(' ', chr(10))}\n"][0]
            row.find_element(By.TAG_NAME, "a").click()
            return browser.find("#approval-diff")
        diff = open_approval("ios1")
        check("the approval shows the exact diff", f"interface {if1}" in diff.text and
              "shutdown" in diff.text, diff.text)
        browser.shot("approval-diff")
        browser.find("#reason").send_keys("planned fix")
        browser.driver.find_element(By.ID, "approve").click()
        check("approving leads to the run, which finishes", wait_until(
            30, lambda: browser.find("#run-state").text == "succeeded"), browser.text()[:400])
        check("the finished run shows every step, those from before the page opened too",
              all(step in browser.find("#steps").text for step in ("check", "no shutdown",
                                                                    "verify")),
              browser.find("#steps").text)
        browser.shot("run-finished")
        check("the device changed: ios1's interface is up again", lab.admin_up("ios1", if1))

        open_approval("ios2")
        browser.find("#reason").send_keys("change freeze")
        browser.driver.find_element(By.ID, "deny").click()
        check("the denied run ends without pushing", wait_until(
            30, lambda: browser.find("#run-state").text == "failed"), browser.text()[:400])
        check("ios2's interface stays down", not lab.admin_up("ios2", if2))
        browser.shot("run-denied")

        # Config history and a diff.
        code, _, err = nauto(env, "config", "backup", "--target", "ios1", "--why", "after")
        check("ios1 is backed up after the change", code == 0, err)
        browser.open("configs/ios1")
        side = browser.find("#config-diff .diff", 20)
        check("the config history shows the versions and a side-by-side diff",
              "v2" in browser.text() and "shutdown" in side.text, browser.text()[:500])
        browser.shot("config-history")

        browser.logout()
        check("the operator logs in again", browser.login(operator))
        code, _, err = nauto(env, "compliance", "run", "--policy", "lab", "--target", "ios1")
        check("a compliance run over the archive", code in (0, 3), err)
        browser.open("compliance")
        check("the compliance page shows the policy's score", browser.wait_text("lab") and
              "%" in browser.text(), browser.text()[:300])
        browser.driver.find_element(By.LINK_TEXT, "lab").click()
        check("a policy's report shows its devices and rules",
              browser.wait_text("no-interface-shut") and "ios1" in browser.text(),
              browser.text()[:400])
        browser.shot("compliance-report")
        browser.open("schedules")
        check("the schedules page lists a schedule", browser.wait_text("nightly-facts"),
              browser.text()[:300])
        browser.driver.find_element(By.XPATH, "//button[text()='Pause']").click()
        check("a schedule is paused from the page", browser.wait_text("paused"),
              browser.text()[:300])
        for page, needle in (("jobs", "Jobs"), ("events", "Events"), ("compliance", "Compliance"),
                             ("schedules", "Schedules"), ("runs", "Latest runs")):
            browser.open(page)
            check(f"the {page} page renders", browser.wait_text(needle), browser.text()[:200])
            browser.shot(page)
        browser.open(f"runs/{run1}")
        browser.wait_text("Causal chain", 5)
        browser.take_console()
        check("no error in the browser's console", not browser.console_errors,
              "\n#   ".join(browser.console_errors))
        check("every page names its controls, buttons and links", not browser.accessibility,
              "\n#   ".join(browser.accessibility))
        check("the screenshots are in " + SHOTS, len(os.listdir(SHOTS)) >= 10)
    except Exception as error:  # noqa: BLE001 - a page that did not come is a failure, shown
        check("the browser steps ran", False, f"{type(error).__name__}: {error}")
        if browser:
            browser.shot("failure")
            print("# page: " + browser.text()[:800].replace("\n", "\n# "))
            print("# console: " + "\n# ".join(browser.console_errors))
    finally:
        if browser:
            browser.quit()
        daemon.stop(show_log=check.failed > 0, lines=30)
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
