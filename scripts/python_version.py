#!/usr/bin/env python3
"""Warns when the Python runtime is older than the newest 3.12 security release named in requirements/python.toml.

Run by scripts/setup.sh with .venv's interpreter (a warning on stderr, exit 0: development may go on with an older
3.12, production may not; README "Supply chain"). `--strict` exits 1 instead, for a production install.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tomllib
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "requirements" / "python.toml"


def parse_version(text: str) -> tuple[int, int, int]:
    """'3.12.1', '3.12.1+' or '3.12.13rc1' -> (3, 12, 1): the numeric release (a pre-release counts as its release)."""
    m = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not m:
        raise ValueError(f"not a Python version: {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def newest_security_release(path: Path = DATA) -> str:
    with path.open("rb") as f:
        return str(tomllib.load(f)["python"]["newest_security_release"])


def runtime_warning(runtime: str, newest: str) -> str | None:
    """The warning for `runtime` against `newest` (same series), or None when the runtime is not older."""
    have, want = parse_version(runtime), parse_version(newest)
    if have[:2] != want[:2]:
        return (
            f"Python {runtime} is not the {want[0]}.{want[1]} series that docverify supports (needs {newest} or later)"
        )
    if have < want:
        return (
            f"Python {runtime} is older than {newest}, the newest {want[0]}.{want[1]} security release known "
            f"(requirements/python.toml): fine for development, not for production (README: Supply chain)"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--runtime", default=platform.python_version(), help="the version to check (default: this one)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when the runtime is older")
    args = ap.parse_args(argv)
    warning = runtime_warning(args.runtime, newest_security_release())
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
