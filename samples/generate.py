"""Generate docverify's labeled synthetic sample set: `samples/inputs/*`, `samples/labels.jsonl`, `samples/README.md`.

Run from the repository root:  python samples/generate.py   (what `make samples` does)

A thin entry point: the generator is the package `samples/generator/` (see its `__init__` for the layout). The
repository root goes on `sys.path` so `samples.generator` and `evaluation.degrade` import when run as a script.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samples.generator.cli import SEED, main  # noqa: E402

__all__ = ["SEED", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
