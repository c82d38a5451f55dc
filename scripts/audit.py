"""Audits the locked dependencies (requirements/app.txt, requirements/dev.txt) for known
vulnerabilities with pip-audit; ./test.sh runs it, so CI does.

Exit 1 when an advisory matches a pinned version (bump the pin in pyproject.toml or the lock
with scripts/lock.sh, or, when no fixed release exists, add the advisory to IGNORED below with
the reason). When no advisory database can be reached (an offline machine; PyPI's JSON API and
osv.dev both tried) it says so in one line and exits 0: a network problem is not a test
failure, and the audit then simply did not happen.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements/app.txt", "requirements/dev.txt")
# pip-audit's two databases, in the order tried, and the host each one asks.
SERVICES = (("pypi", "pypi.org"), ("osv", "api.osv.dev"))
TIMEOUT_S = 10  # per request
TOTAL_TIMEOUT_S = 180  # per database: a network that drops packets must not hang the suite

# Advisories accepted on purpose: {"ID": "why, and until when"}. Empty: nothing accepted.
IGNORED: dict[str, str] = {}


def pip_audit() -> Path:
    found = Path(sys.executable).with_name("pip-audit")
    return found if found.exists() else Path("pip-audit")


def reachable(host: str) -> str:
    """ "" when a TLS port of ``host`` accepts a connection, else why not (fast when offline)."""
    try:
        with socket.create_connection((host, 443), timeout=5):
            return ""
    except OSError as exc:
        return f"cannot connect to {host} ({exc.strerror or type(exc).__name__})"


def short(error: str) -> str:
    """pip-audit's last error line, shortened to what a person needs."""
    host = re.search(r"host='([^']+)'", error)
    if host and "Error" in error:
        return f"cannot connect to {host.group(1)}"
    return error[:160]


def run(service: str) -> tuple[dict[str, object] | None, str]:
    """(pip-audit's JSON report, "") or (None, why it could not audit)."""
    cmd = [str(pip_audit()), "--disable-pip", "--format", "json", "--progress-spinner", "off"]
    cmd += ["--vulnerability-service", service, "--timeout", str(TIMEOUT_S)]
    for lock in LOCKS:
        cmd += ["-r", lock]
    for vuln in IGNORED:
        cmd += ["--ignore-vuln", vuln]
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    try:
        done = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=TOTAL_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"pip-audit did not run ({exc})"
    try:
        report = json.loads(done.stdout)
    except ValueError:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return None, short(lines[-1]) if lines else f"pip-audit exited {done.returncode}"
    if not isinstance(report, dict):
        return None, "pip-audit gave no report"
    return report, ""


def main() -> int:
    reasons = []
    for service, host in SERVICES:
        why = reachable(host)
        report = None
        if not why:
            report, why = run(service)
        if report is None:
            reasons.append(f"{service}: {why}")
            continue
        deps = [d for d in report.get("dependencies", []) if isinstance(d, dict)]
        audited = [d for d in deps if "skip_reason" not in d]
        if not audited:
            # PyPI answering 404 for every package (a mirror without the JSON API) lands here.
            reasons.append(f"{service}: {host} knew none of the {len(deps)} packages")
            continue
        found = [(d, v) for d in audited for v in d.get("vulns", [])]
        skipped = len(deps) - len(audited)
        note = f", {skipped} not found there" if skipped else ""
        if not found:
            print(
                f"audit: no known vulnerabilities in {len(audited)} locked packages "
                f"({service} database{note})"
            )
            return 0
        print(f"audit: {len(found)} known vulnerabilities in the locked packages ({service}):")
        for dep, vuln in found:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            print(f"  {dep['name']} {dep['version']}: {vuln.get('id')} (fixed in: {fixed})")
        print("audit: bump the pin and run scripts/lock.sh, or accept it in scripts/audit.py")
        return 1
    print(
        "audit: SKIPPED, the advisory database could not be reached ("
        + "; ".join(reasons)
        + "); nothing was audited, the tests go on"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
