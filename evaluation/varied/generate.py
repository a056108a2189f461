"""CLI: write a split of varied documents with labels, intake manifest and catalog.

    python -m evaluation.varied.generate --split dev|test|train --out DIR [--count N] [--jobs J]
"""

# ruff: noqa: S311 -- seeded random.Random is the point here: reproducible synthetic data, not secrets.

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from evaluation.varied.cases import KINDS, Case, build_case
from evaluation.varied.layouts import (
    blank_style,
    desktop_portal,
    fax_cover,
    paper_blocks,
    paper_layout_for,
    paper_style,
    phone_portal,
)
from evaluation.varied.render import (
    Block,
    Style,
    fax_pages,
    flow_images,
    flow_pdf,
    image_bytes,
    image_pdf_bytes,
    photo_effect,
    scan_effect,
    tiff_bytes,
)

# Seed spaces: dev document i uses seed 1_000_000 + i, test document i 2_000_000 + i, train document i 3_000_000 + i.
# The spaces never meet for fewer than SPACE documents, so no document shares a generator state with another split's.
# train: what learned models (training/roles.py) are fitted on, so that dev figures are not scored on training data.
SPACE = 1_000_000
SEED_BASE = {"dev": 1_000_000, "test": 2_000_000, "train": 3_000_000}
DEFAULT_COUNT = 120
# Status shares per block of 20 documents: 9 complete (45%), 7 incomplete (35%), 4 needs_review (20%).
STATUS_BLOCK = ("complete",) * 9 + ("incomplete",) * 7 + ("needs_review",) * 4


@dataclass(frozen=True)
class Planned:
    """Where document i of a split sits: its seed, kind and designed status."""

    split: str
    index: int
    seed: int
    kind: str
    status: str


def plan(split: str, index: int) -> Planned:
    """Document i of a split; independent of how many documents are generated (a prefix is always the same)."""
    if split not in SEED_BASE:
        raise ValueError(f"unknown split {split!r}: dev, test or train")
    if not 0 <= index < SPACE:
        raise ValueError("index outside the seed space")
    kinds = list(KINDS)
    random.Random(f"{split}-kinds-{index // len(KINDS)}").shuffle(kinds)
    statuses = list(STATUS_BLOCK)
    random.Random(f"{split}-status-{index // len(STATUS_BLOCK)}").shuffle(statuses)
    return Planned(split, index, SEED_BASE[split] + index, kinds[index % len(KINDS)],
                   statuses[index % len(STATUS_BLOCK)])


def make_case(p: Planned) -> Case:
    """The designed truth for a planned document."""
    return build_case(p.index, p.split, p.seed, p.kind, p.status)


# --- rendering -------------------------------------------------------------------------------------------------------


def _single_page(blocks: list[Block], st: Style, dpi: int) -> tuple[Image.Image, list[str]]:
    """One page image: shrink type and margins until the document fits, as people print "fit to page"."""
    for base, margin, height in ((st.base, st.margin, 792), (9.5, 42, 792), (8.8, 36, 792), (8.8, 36, 1008),
                                 (8.0, 30, 1008)):
        s2 = replace(st, base=min(st.base, base), margin=min(st.margin, margin))
        pages, texts = flow_images(blocks, s2, dpi, height)
        if len(pages) == 1:
            return pages[0], texts
    raise RuntimeError("document does not fit on one page")


def _crop_header(img: Image.Image, header_end: float, scale: float) -> Image.Image:
    """Cut the account header off: the screenshot was taken scrolled down."""
    return img.crop((0, round((header_end + 6) * scale), img.width, img.height))


def render(case: Case) -> tuple[bytes, list[str]]:
    """The file bytes for a case and every string drawn in it."""
    rng = random.Random(case.seed * 7919 + 17)  # rendering draws from its own stream so labels stay put
    kind, fmt = case.kind, case.fmt
    if kind in ("portal_phone", "provider_card", "portal_desktop", "photo_screen"):
        phone = kind in ("portal_phone", "provider_card") or (kind == "photo_screen" and rng.random() < 0.6)
        if phone:
            canvas, texts, hend = phone_portal(case, rng, provider_card=kind == "provider_card")
        else:
            canvas, texts, hend = desktop_portal(case, rng)
        img = canvas.pages[0]
        if not case.show_patient:
            img = _crop_header(img, hend, canvas.scale)
        if kind == "photo_screen":
            return image_bytes(photo_effect(img, rng, screen=True), "jpg", rng), texts
        return image_bytes(img, fmt, rng), texts
    layout = paper_layout_for(kind, rng)
    st = paper_style(rng, case)
    blocks = paper_blocks(case, rng, layout, st)
    if fmt == "pdf":
        return flow_pdf(blocks, st)
    if kind == "fax_tiff":
        doc_pages, texts = flow_images(blocks, st, 200)
        cover, ctexts = flow_images(fax_cover(case, rng, len(doc_pages) + 1, st), blank_style(st), 200)
        fine = rng.random() < 0.5
        when = case.visit.strftime("%b %d %Y") + f" {rng.randint(1, 12)}:{rng.randint(0, 59):02d}" + \
            rng.choice(("AM", "PM"))
        header = f"{when}  {case.clinic.name.upper()[:22]}  {case.clinic.fax}  p.{{page}}/{{pages}}"
        return tiff_bytes(fax_pages(cover + doc_pages, rng, header, fine), fine), ctexts + texts
    dpi = rng.choice((200, 300)) if kind != "photo_paper" else rng.choice((150, 200))
    if kind == "photo_paper":
        page, texts = _single_page(blocks, st, dpi)
        return image_bytes(photo_effect(page, rng, screen=False), "jpg", rng), texts
    gray = rng.random() < 0.65
    if fmt == "pdfimg":
        pages, texts = flow_images(blocks, st, dpi)
        return image_pdf_bytes([scan_effect(p, rng, gray) for p in pages], dpi, rng), texts
    page, texts = _single_page(blocks, st, dpi)
    return image_bytes(scan_effect(page, rng, gray), fmt, rng), texts


def _work(args: tuple[Planned, str]) -> dict[str, object]:
    p, inputs = args
    case = make_case(p)
    data, _ = render(case)
    (Path(inputs) / case.file).write_bytes(data)
    return case.label()


# --- outputs ---------------------------------------------------------------------------------------------------------


def write_catalog(out: Path, split: str, labels: list[dict[str, object]]) -> None:
    """CATALOG.md: one row per file plus counts by kind and status."""
    kinds = Counter(str(lab["kind"]) for lab in labels)
    statuses = Counter(str(lab["expected"]["status"]) for lab in labels)  # type: ignore[index]
    lines = [f"# Varied documents: {split} split", "",
             "Synthetic uploads written by `python -m evaluation.varied.generate`; labels in `labels.jsonl`, "
             "intake in `manifest.csv`. Every person, clinic and number is invented.", "",
             "| file | kind | expected status | purpose |", "|---|---|---|---|"]
    for lab in labels:
        lines.append(f"| `{lab['file']}` | {lab['kind']} | {lab['expected']['status']} | "  # type: ignore[index]
                     f"{str(lab['purpose']).replace('|', '/')} |")
    lines += ["", f"{len(labels)} files. Kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ".",
              "Statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) + ".", ""]
    (out / "CATALOG.md").write_text("\n".join(lines), encoding="utf-8")


def generate(split: str, out: Path, count: int = DEFAULT_COUNT, jobs: int = 1,
             start: int = 0) -> list[dict[str, object]]:
    """Write documents start..start+count-1 of a split into out/, with labels.jsonl, manifest.csv and CATALOG.md.

    A range that starts later is a fresh held-out set of the same split: the night of 2026-12-06 found errors on
    train documents 360-1799, never fitted or tuned on, instead of reading test (README "Documents written
    independently of the finders")."""
    if start < 0:
        raise ValueError("start must be >= 0")
    inputs = out / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    work = [(plan(split, i), str(inputs)) for i in range(start, start + count)]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            labels = list(pool.map(_work, work, chunksize=2))
    else:
        labels = [_work(w) for w in work]
    with (out / "labels.jsonl").open("w", encoding="utf-8") as fh:
        for lab in labels:
            fh.write(json.dumps(lab, ensure_ascii=False) + "\n")
    with (out / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "patient_name", "payer"])
        for lab in labels:
            intake = lab["intake"]
            assert isinstance(intake, dict)
            w.writerow([lab["file"], intake["patient_name"] or "", intake["payer"]])
    write_catalog(out, split, labels)  # no timings: the catalog is as reproducible as the files
    return labels


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--split", choices=sorted(SEED_BASE), required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT)
    ap.add_argument("--start", type=int, default=0, help="first document index (a later range is a fresh held-out set)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    labels = generate(a.split, a.out, a.count, a.jobs, start=a.start)
    print(f"wrote {len(labels)} {a.split} documents to {a.out} in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
