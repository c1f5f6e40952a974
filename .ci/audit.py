"""CI: known vulnerabilities in the installed environment, by pip-audit.

    .ci/tools/bin/python .ci/audit.py --site-packages .venv/lib/python3.11/site-packages

Fails (exit 1) when pip-audit reports a known vulnerability in any installed package: what
requirements.txt pins and everything it pulls in. When the vulnerability service cannot be
reached (this project's build machines reach no service but the package registries), pip-audit
reports every package as "skipped"; that is printed loudly as UNCHECKED, and fails only with
``--require-service`` (set it where the service is reachable, so an outage cannot pass silently).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def audit_json(site_packages: str) -> dict[str, Any]:
    """pip-audit's JSON report on the packages installed under ``site_packages``."""
    done = subprocess.run([sys.executable, "-m", "pip_audit", "--path", site_packages, "--format", "json",
                           "--progress-spinner", "off", "--timeout", "15"], capture_output=True, text=True)
    if not done.stdout.strip():
        raise SystemExit(f"pip-audit produced no report (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def verdict(report: dict[str, Any], require_service: bool) -> tuple[int, list[str]]:
    """Exit code and lines to print for a pip-audit JSON report."""
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    lines = [f"VULNERABLE {d['name']} {d.get('version', '?')}: " + "; ".join(map(_describe, d["vulns"]))
             for d in vulnerable]
    if skipped:
        reasons = sorted({d["skip_reason"].split(":")[0] for d in skipped})
        lines.append(f"UNCHECKED {len(skipped)} of {len(dependencies)} packages: {'; '.join(reasons)}")
    lines.append(f"audited={len(dependencies) - len(skipped)} vulnerable={len(vulnerable)} unchecked={len(skipped)}")
    failed = bool(vulnerable) or (require_service and bool(skipped))
    return (1 if failed else 0), lines


def _describe(vuln: dict[str, Any]) -> str:
    aliases = ", ".join(vuln.get("aliases", []))
    fixed = ", ".join(vuln.get("fix_versions", [])) or "no release yet"
    return f"{vuln['id']} ({aliases}) fixed in {fixed}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--site-packages", help="the environment to audit (its site-packages folder)")
    source.add_argument("--report", type=Path, help="judge an existing pip-audit JSON report instead")
    parser.add_argument("--require-service", action="store_true",
                        help="also fail when packages could not be checked (vulnerability service unreachable)")
    args = parser.parse_args()
    report = json.loads(args.report.read_text()) if args.report else audit_json(args.site_packages)
    code, lines = verdict(report, args.require_service)
    print("\n".join(f"pip-audit: {line}" for line in lines), file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
