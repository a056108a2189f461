"""`python samples/generate.py`: write the inputs, labels.jsonl, manifest.csv and README catalog (seeded)."""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

from .cases import SAMPLES
from .catalog import write_labels, write_manifest, write_readme
from .multi import write_cases
from .renderers import render

SEED = 20260314
SAMPLES_DIR = Path(__file__).resolve().parents[1]  # samples/


def main(argv: list[str] | None = None) -> int:
    """Write inputs, labels and catalog under `--out` (default: samples/)."""
    ap = argparse.ArgumentParser(description="Generate docverify's labeled synthetic sample set.")
    ap.add_argument("--out", type=Path, default=SAMPLES_DIR, help="output directory (default: samples/)")
    args = ap.parse_args(argv)
    names = [s.file for s in SAMPLES]
    assert len(names) == len(set(names)), "duplicate file names"
    inputs = args.out / "inputs"
    if inputs.exists():
        shutil.rmtree(inputs)
    inputs.mkdir(parents=True)
    for s in SAMPLES:
        (inputs / s.file).write_bytes(render(s, random.Random(f"{SEED}:{s.file}")))
    write_labels(args.out / "labels.jsonl", SAMPLES)
    write_readme(args.out / "README.md", SAMPLES)
    write_manifest(args.out / "manifest.csv", SAMPLES)
    total = sum(p.stat().st_size for p in inputs.iterdir())
    print(f"wrote {len(SAMPLES)} inputs ({total / 1e6:.1f} MB) to {inputs}", file=sys.stderr)
    n_case_files = write_cases(args.out / "cases")
    print(f"wrote {n_case_files} case files to {args.out / 'cases'}", file=sys.stderr)
    return 0
