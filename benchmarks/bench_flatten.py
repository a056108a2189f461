"""Cost of looking for a photographed page or screen (`imaging.flatten_perspective`) on every OCR'd page image.

Run from the repository root on a folder of generated varied documents (evaluation/varied/README.md):

    .venv/bin/python -m evaluation.varied.generate --split dev --out out/varied/dev --jobs 1
    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_flatten.py out/varied/dev/inputs [--runs 3]

Every raster image of the folder (JPEG, PNG, WEBP, TIFF: PDFs are skipped) is decoded once, then
`flatten_perspective` is timed `--runs` times on it (best run kept). Prints, per document kind (the file name's
suffix after the number), how many images were flattened and the median and largest ms, split into the search alone
(images left untouched: what every scan and screenshot pays) and search plus warp (photos).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from the repository root: make the packages importable
    sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from extractors import imaging  # noqa: E402

RASTERS = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    by_kind: dict[str, list[tuple[bool, float]]] = {}
    for path in sorted(args.folder.iterdir()):
        if path.suffix.lower() not in RASTERS:
            continue
        with Image.open(path) as im:
            im.load()
            image = im.copy()
        best = float("inf")
        flattened = False
        for _ in range(args.runs):
            start = time.perf_counter()
            _, back, _ = imaging.flatten_perspective(image)
            best = min(best, time.perf_counter() - start)
            flattened = back is not None
        kind = path.stem.split("_", 2)[-1]
        by_kind.setdefault(kind, []).append((flattened, best * 1000))
    print(f"{'kind':<16} {'images':>6} {'flattened':>9} {'median ms':>10} {'max ms':>7}")
    for kind, rows in sorted(by_kind.items()):
        ms = [t for _, t in rows]
        print(f"{kind:<16} {len(rows):>6} {sum(f for f, _ in rows):>9} {statistics.median(ms):>10.0f} "
              f"{max(ms):>7.0f}")


if __name__ == "__main__":
    main()
