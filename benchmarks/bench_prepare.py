"""Image preparation per OCR'd page: seconds per page and a digest of every prepared image (no tesseract).

Every page that `extractors.routing.read_document` would OCR (the frames of image uploads, the pages of PDFs whose
text layer is not usable) is decoded or rendered once, then prepared the way `extractors.ocr.read_image` prepares it
for its first read (`_cleaned` then `_finished`: dark-mode and dark-region inversion, contrast, shading, deskew, line
height, ruling lines, upscaling). OSD and tesseract are left out: they are tesseract's cost, not preparation's.

    OMP_THREAD_LIMIT=1 PYTHONPATH=. .venv/bin/python benchmarks/bench_prepare.py DIR [DIR ...] --rounds 3 \
        --digests out/prepare.json

prints seconds per page (best of `--rounds` per page, summed, over the page count) and, with `--digests`, writes the
sha256 of each prepared image's pixels with its size, steps and map back: two trees whose digests files are equal
prepared every page identically (benchmarks/README.md "bench_prepare.py").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from extractors import imaging, ocr, pdf_text  # noqa: E402
from extractors.imaging import IDENTITY  # noqa: E402
from pipeline.errors import DocverifyError  # noqa: E402
from pipeline.intake import sniff  # noqa: E402
from pipeline.limits import DEFAULT_LIMITS  # noqa: E402
from pipeline.types import MediaType  # noqa: E402


def ocr_pages(path: Path) -> Iterator[tuple[str, Image.Image]]:
    """(label, image) of every page of `path` that routing would OCR; nothing for unreadable or structured files."""
    data = path.read_bytes()
    media_type = sniff(data)
    try:
        if media_type is MediaType.PDF:
            with pdf_text.TextLayerReader(data) as reader:
                for layer in reader.pages():
                    if not layer.verdict.usable:
                        yield f"{path.name}#{layer.number}", pdf_text.render_page(data, layer.number - 1).image
        elif media_type is not None and not media_type.is_structured:
            for number, frame in enumerate(imaging.iter_frames(data, media_type), start=1):
                yield f"{path.name}#{number}", frame.image
    except DocverifyError:
        return


def prepare(image: Image.Image) -> ocr.Prepared:
    """The image `read_image` hands tesseract for its first read."""
    gray, steps = ocr._cleaned(image)
    return ocr._finished(gray, IDENTITY, steps, DEFAULT_LIMITS)


def digest(prepared: ocr.Prepared) -> dict[str, object]:
    """What identifies a prepared image: its pixels' sha256, size, steps and map back."""
    image = prepared.image
    return {"sha256": hashlib.sha256(image.tobytes()).hexdigest(), "size": list(image.size), "mode": image.mode,
            "steps": list(prepared.steps), "to_original": [round(v, 9) for v in (
                prepared.to_original.a, prepared.to_original.b, prepared.to_original.c, prepared.to_original.d,
                prepared.to_original.e, prepared.to_original.f)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="directories of uploads (their inputs/ if present)")
    parser.add_argument("--rounds", type=int, default=3, help="preparations per page; the fastest counts")
    parser.add_argument("--digests", type=Path, help="write the prepared images' digests here (JSON)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    files = sorted(p for d in args.dirs for p in ((d / "inputs") if (d / "inputs").is_dir() else d).iterdir()
                   if p.is_file())
    best: dict[str, float] = {}
    digests: dict[str, dict[str, object]] = {}
    for path in files:
        for label, image in ocr_pages(path):
            image.load()
            times = []
            for _ in range(max(1, args.rounds)):
                t0 = time.perf_counter()
                prepared = prepare(image)
                times.append(time.perf_counter() - t0)
            best[label] = min(times)
            digests[label] = digest(prepared)
    total = sum(best.values())
    print(json.dumps({"pages": len(best), "seconds": round(total, 3),
                      "seconds_per_page": round(total / max(1, len(best)), 4), "load": os.getloadavg()[0]}))
    if args.digests:
        args.digests.parent.mkdir(parents=True, exist_ok=True)
        args.digests.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
