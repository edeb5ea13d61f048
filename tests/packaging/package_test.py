"""The Debian packages (issue 34), end to end, as an operator gets them:

- scripts/package builds nauto and nauto-lab with dpkg-buildpackage, and lintian finds no error
  and no warning;
- every manual page in the package renders with `man -l`, without a groff warning;
- `systemd-analyze security --offline` gives nautod.service an exposure of at most 2.5;
- a clean Debian 12 root (mmdebstrap, from Debian's archive) gets both packages and boots under
  systemd in a throwaway systemd-nspawn machine with its own network namespace. There,
  in_container_checks.sh checks nautod as a Type=notify service running as nauto, the modes of
  its directories, socket and vault key, `nauto status` for a member of group nauto and its
  refusal for anyone else, a job on nauto-lab's devices through the sandbox, `nauto doctor`, a
  reload, an upgrade to a newer version (data, key and credentials kept; nautod restarted), and
  that remove keeps the data while purge removes it.

The newer version is the built package with its version raised (dpkg-deb), so the upgrade runs
the real maintainer scripts and conffile handling between two versions of the same build.

  package_test.py REPO
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from nautod_process import Checks  # noqa: E402

REPO = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
check = Checks()

CHECK_UNIT = """[Unit]
Description=nauto package checks (tests/packaging)
After=nautod.service
Wants=nautod.service
# The machine ends with the checks, its exit status theirs.
SuccessAction=exit-force
FailureAction=exit-force

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/nauto-package-checks {upgrade_deb}
StandardOutput=file:/results/report.txt
StandardError=inherit
TimeoutStartSec=240

[Install]
WantedBy=multi-user.target
"""


def run(command, timeout=1800, **kwargs):
    """(exit status, stdout and stderr together)."""
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, **kwargs)
    return done.returncode, done.stdout


def tail(text, lines=25):
    return "\n".join(text.splitlines()[-lines:])


def newer_version(deb, work):
    """The same package with its version raised: what an upgrade installs."""
    tree = os.path.join(work, "upgrade-tree")
    subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
    control = os.path.join(tree, "DEBIAN", "control")
    with open(control) as f:
        text = f.read()
    version = re.search(r"^Version: (.*)$", text, re.M).group(1) + "+upgrade1"
    with open(control, "w") as f:
        f.write(re.sub(r"^Version: .*$", "Version: " + version, text, flags=re.M))
    out = os.path.join(work, f"nauto_{version}_amd64.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", tree, out], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(tree)
    return out


def man_pages(debs, work):
    tree = os.path.join(work, "extracted")
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", deb, tree], check=True)
    pages = sorted(glob.glob(os.path.join(tree, "usr/share/man/man*/*")))
    names = [os.path.basename(p) for p in pages]
    check("the packages carry nauto(1), nautod(8), nauto.yaml(5), nauto-runbooks(7), "
          "nauto-lab(1)",
          all(f"{n}.gz" in names for n in ("nauto.1", "nautod.8", "nauto.yaml.5",
                                            "nauto-runbooks.7", "nauto-lab.1")), names)
    for page in pages:
        done = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                              env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
        lines = done.stdout.count("\n")
        check(f"man -l {os.path.basename(page)} renders ({lines} lines, no warning)",
              done.returncode == 0 and not done.stderr.strip() and lines > 20,
              done.stderr[:800])
    unit = os.path.join(tree, "lib/systemd/system/nautod.service")
    rc, out = run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit])
    score = re.search(r"exposure level for nautod.service: ([0-9.]+)", out)
    check(f"systemd-analyze security --offline: nautod.service exposure "
          f"{score.group(1) if score else '?'} (at most 2.5)",
          score is not None and float(score.group(1)) <= 2.5, tail(out))
    rc, out = run(["systemd-analyze", "verify", "--man=no", unit], cwd=tree)
    # Outside the machine the binary is not at /usr/sbin: only that may be reported.
    problems = [line for line in out.splitlines() if "is not executable" not in line]
    check("systemd-analyze verify nautod.service", not problems, "\n".join(problems))


def boot(debs, upgrade_deb, work):
    root = os.path.join(work, "root")
    results = os.path.join(work, "results")
    os.makedirs(results)
    inside = "/var/cache/nauto-test"  # where the upgrade waits, inside the root
    unit = os.path.join(work, "nauto-package-checks.service")
    with open(unit, "w") as f:
        f.write(CHECK_UNIT.format(upgrade_deb=f"{inside}/{os.path.basename(upgrade_deb)}"))
    # apt installs local packages by path, outside and inside the root alike: the same path.
    deb_dir = os.path.dirname(debs[0])
    command = [
        "mmdebstrap", "--variant=apt", "--mode=root", "--quiet",
        "--include=systemd-sysv,dbus,mawk," + ",".join(debs),
        f'--setup-hook=mkdir -p "$1{deb_dir}" && cp {" ".join(debs)} "$1{deb_dir}/"',
        "--customize-hook=chroot \"$1\" useradd -m -G nauto alice",
        "--customize-hook=chroot \"$1\" useradd -m bob",
        f'--customize-hook=mkdir -p "$1{inside}" && cp {upgrade_deb} "$1{inside}/"',
        f"--customize-hook=cp {HERE}/in_container_checks.sh \"$1/usr/local/sbin/nauto-package-checks\"",
        f"--customize-hook=cp {unit} \"$1/etc/systemd/system/\"",
        "--customize-hook=chroot \"$1\" systemctl enable nauto-package-checks.service",
        "bookworm", root,
    ]
    rc, out = run(command, timeout=900)
    if not check("mmdebstrap: a clean Debian 12 root with nauto and nauto-lab installed",
                 rc == 0, tail(out)):
        return
    machine = subprocess.Popen(["systemd-nspawn", "--quiet", "--register=no", "--keep-unit",
                                "--private-network", f"--bind={results}:/results", "-D", root,
                                "--boot"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = machine.communicate(timeout=420)
    except subprocess.TimeoutExpired:
        machine.terminate()  # systemd-nspawn powers the machine off
        try:
            out, _ = machine.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            machine.kill()
            out, _ = machine.communicate()
        out += "\n(the machine did not end within 420 s)"
    rc = machine.returncode
    report_path = os.path.join(results, "report.txt")
    report = open(report_path).read() if os.path.exists(report_path) else ""
    check("systemd-nspawn booted the machine, which ran the checks and exited", bool(report),
          tail(out))
    lines = report.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("ok - "):
            check("machine: " + line[5:], True)
        elif line.startswith("not ok - "):
            detail = []
            for following in lines[i + 1:]:
                if not following.startswith("#   "):
                    break
                detail.append(following[4:])
            check("machine: " + line[9:], False, "\n".join(detail))
        elif line.startswith("# "):
            print(line)
    check("the checks in the machine exited 0", rc == 0, f"systemd-nspawn exit {rc}")


def main():
    work = tempfile.mkdtemp(prefix="nauto-package-test-")
    try:
        out_dir = os.path.join(work, "debs")
        rc, out = run([os.path.join(REPO, "scripts", "package"), out_dir])
        if not check("scripts/package builds the packages", rc == 0, tail(out, 40)):
            return check.summary()
        lint = open(os.path.join(out_dir, "lintian.txt")).read()
        flagged = [line for line in lint.splitlines() if re.match(r"^[EW]: ", line)]
        check("lintian: no error, no warning", not flagged, "\n".join(flagged))
        debs = sorted(glob.glob(os.path.join(out_dir, "*.deb")))
        debs = [d for d in debs if "-dbgsym" not in d]
        nauto_deb = [d for d in debs if os.path.basename(d).startswith("nauto_")][0]
        man_pages(debs, work)
        boot(debs, newer_version(nauto_deb, work), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
