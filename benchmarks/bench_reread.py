"""What the Latin-script re-read of name lines costs per OCR'd page (extractors/script_reread.py).

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_reread.py [--pages 12] [--rounds 3]

Generated pages (the varied generator's dev split, images only, written to a temporary folder) are prepared once,
then read by `TesseractEngine(script=None)` and `TesseractEngine()` alternately, one page at a time in this process,
so both see the same machine load. Prints seconds per page for each and their ratio; nothing is kept.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from evaluation.varied.generate import generate  # noqa: E402
from extractors.imaging import IDENTITY  # noqa: E402
from extractors.ocr import TesseractEngine, _cleaned, _finished  # noqa: E402
from pipeline.limits import DEFAULT_LIMITS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--pages", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        generate("dev", Path(tmp), count=60, jobs=1)
        files = sorted(p for p in (Path(tmp) / "inputs").iterdir() if p.suffix in (".png", ".jpg", ".webp"))
        pages = []
        for path in files[:args.pages]:
            with Image.open(path) as im:
                gray, steps = _cleaned(im)
                pages.append(_finished(gray, IDENTITY, steps, DEFAULT_LIMITS).image)
    english, both = TesseractEngine(script=None), TesseractEngine()
    times: dict[str, list[float]] = {"english only": [], "with re-read": []}
    for _ in range(args.rounds):
        for image in pages:
            for name, engine in (("english only", english), ("with re-read", both)):
                start = time.perf_counter()
                engine.read(image, 60)
                times[name].append(time.perf_counter() - start)
    a, b = statistics.median(times["english only"]), statistics.median(times["with re-read"])
    print(f"{len(pages)} pages x {args.rounds} rounds: english only {a:.2f} s/page (median), with re-read "
          f"{b:.2f} s/page; ratio {b / a:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
