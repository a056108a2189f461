#!/usr/bin/env python3
"""Known-vulnerability audit of the pinned releases from PyPI's JSON API (the fallback of scripts/audit.sh).

pip-audit is the first choice (scripts/audit.sh); where its data cannot be had it reports "No known vulnerabilities
found" with every package skipped, so audit.sh falls back to this script. For each `name==version` in the lock it
reads the "vulnerabilities" field that PyPI publishes (the Python Packaging Advisory Database, via OSV):

1. `/pypi/<name>/<version>/json`: the release's own list, authoritative;
2. where that is not served, `/pypi/<name>/json`: its list is for the latest release only, so it counts as a check
   of the pin only when the pin IS the latest release;
3. anything else is "unchecked" and named: a warning, or a failure with AUDIT_REQUIRED=1.

Known, accepted findings are listed in requirements/audit-ignore.txt (an id, then the reason; the reason is required).
Exit codes: 0 clean (perhaps with unchecked pins warned about), 1 a finding not accepted or (AUDIT_REQUIRED=1) a pin
that could not be checked, 2 bad input. Standard library only: it runs before any venv exists. See README "Supply
chain" and docs/THREAT-MODEL.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_INDEX = "https://pypi.org/pypi"
ROOT = Path(__file__).resolve().parents[1]

Fetch = Callable[[str], "tuple[int, bytes]"]


@dataclass(frozen=True)
class Vulnerability:
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    summary: str
    link: str


@dataclass
class Result:
    name: str
    version: str
    checked: bool
    note: str = ""
    vulnerabilities: list[Vulnerability] = field(default_factory=list)


def normalize(name: str) -> str:
    """PEP 503 name normalization (the form PyPI's URLs use)."""
    return re.sub(r"[-_.]+", "-", name).lower()


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s;\\]+)")


def parse_lock(text: str) -> list[tuple[str, str]]:
    """Every `name==version` of a requirements file (hash continuation lines, comments and options skipped)."""
    pins: list[tuple[str, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-", "--")):
            continue
        m = _PIN.match(stripped)
        if m:
            pins.append((m.group(1), m.group(2)))
    return pins


def parse_ignore(text: str) -> dict[str, str]:
    """requirements/audit-ignore.txt: `ID reason…` per line; a line without a reason is an error."""
    ignored: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if not stripped:
            continue
        parts = stripped.split(None, 1)
        if len(parts) < 2:
            raise ValueError(f"audit-ignore line {n}: {parts[0]} has no reason")
        ignored[parts[0]] = parts[1]
    return ignored


def _first_line(text: object) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0][:200] if lines else ""


def parse_vulnerabilities(payload: dict[str, object]) -> list[Vulnerability]:
    """The "vulnerabilities" field of a PyPI JSON API answer, withdrawn advisories dropped."""
    raw = payload.get("vulnerabilities")
    if not isinstance(raw, list):
        raise ValueError('PyPI answer has no "vulnerabilities" list')
    out: list[Vulnerability] = []
    for v in raw:
        if not isinstance(v, dict) or v.get("withdrawn"):
            continue
        out.append(
            Vulnerability(
                id=str(v.get("id", "")),
                aliases=tuple(str(a) for a in v.get("aliases") or ()),
                fixed_in=tuple(str(f) for f in v.get("fixed_in") or ()),
                summary=_first_line(v.get("summary") or v.get("details")),
                link=str(v.get("link") or ""),
            )
        )
    return out


def http_fetch(timeout: float, attempts: int = 3) -> Fetch:
    def fetch(url: str) -> tuple[int, bytes]:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"not an http(s) index URL: {url}")
        headers = {"Accept": "application/json", "User-Agent": "docverify-audit"}
        req = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only, checked above
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only
                    return resp.status, resp.read()
            except urllib.error.HTTPError as e:
                if e.code < 500 or attempt == attempts - 1:
                    return e.code, b""
            except OSError:  # refused, reset, timed out, name not resolved: tried again, then "unchecked"
                if attempt == attempts - 1:
                    raise
            time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    return fetch


def check_pin(name: str, version: str, index: str, fetch: Fetch) -> Result:
    base = f"{index.rstrip('/')}/{normalize(name)}"
    try:
        status, body = fetch(f"{base}/{version}/json")
        if status == 200 and body:
            vulns = parse_vulnerabilities(json.loads(body))
            return Result(name, version, True, "release JSON", vulns)
        status, body = fetch(f"{base}/json")
        if status != 200 or not body:
            return Result(name, version, False, f"PyPI answered {status}")
        payload = json.loads(body)
        latest = str(payload.get("info", {}).get("version", ""))
        if latest == version:
            return Result(
                name, version, True, "project JSON (pin is the latest release)", parse_vulnerabilities(payload)
            )
        return Result(name, version, False, f"per-release data not served; the latest release is {latest}")
    except (OSError, ValueError) as e:  # URLError, timeouts, refused connections; bad JSON
        return Result(name, version, False, f"unreachable or unreadable: {type(e).__name__}")


def audit(pins: Iterable[tuple[str, str]], index: str, fetch: Fetch, workers: int = 8) -> list[Result]:
    pins = list(pins)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: check_pin(p[0], p[1], index, fetch), pins))


def findings(results: Iterable[Result], ignored: dict[str, str]) -> list[tuple[Result, Vulnerability]]:
    out = []
    for r in results:
        for v in r.vulnerabilities:
            if v.id in ignored or any(a in ignored for a in v.aliases):
                continue
            out.append((r, v))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("requirements", nargs="*", type=Path, default=[ROOT / "requirements" / "lock.txt"])
    ap.add_argument("--ignore", type=Path, default=ROOT / "requirements" / "audit-ignore.txt")
    ap.add_argument("--index", default=os.environ.get("DOCVERIFY_AUDIT_INDEX", DEFAULT_INDEX))
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args(argv)
    required = os.environ.get("AUDIT_REQUIRED") == "1"

    try:
        # The same pin in two files (numpy in lock.txt and train.txt) is checked once.
        unique = {(normalize(n), v): (n, v) for f in args.requirements for n, v in parse_lock(f.read_text())}
        pins = list(unique.values())
        ignored = parse_ignore(args.ignore.read_text()) if args.ignore.exists() else {}
    except (OSError, ValueError) as e:
        print(f"pypi_audit: {e}", file=sys.stderr)
        return 2
    if not pins:
        print("pypi_audit: no pinned requirement found", file=sys.stderr)
        return 2

    results = audit(pins, args.index, http_fetch(args.timeout))
    found = findings(results, ignored)
    unchecked = [r for r in results if not r.checked]
    checked = len(results) - len(unchecked)
    for r, v in found:
        fix = ", ".join(v.fixed_in) or "no fix released"
        print(f"VULNERABLE {r.name}=={r.version}: {v.id} ({', '.join(v.aliases)}) fixed in {fix}: {v.summary} {v.link}")
    for r in unchecked:
        print(f"UNCHECKED {r.name}=={r.version}: {r.note}", file=sys.stderr)
    print(
        f"pypi_audit: {len(results)} pins, {checked} checked, {len(unchecked)} unchecked, "
        f"{len(found)} vulnerabilities not accepted ({len(ignored)} accepted in {args.ignore.name})"
    )
    if found:
        return 1
    if unchecked:
        if required:
            print(f"pypi_audit: AUDIT_REQUIRED=1 and {len(unchecked)} pins could not be checked", file=sys.stderr)
            return 1
        print(f"pypi_audit: WARNING: {len(unchecked)} pins could not be checked (see UNCHECKED above)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
