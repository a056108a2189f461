"""The fixed, seeded page corpus of `bench_pages.py` (benchmarks/README.md "bench_pages.py").

Made from the bundled samples' cases (samples/generator) with a fixed seed, so every run measures the same pages:

- `scans/`: multi-page 200-dpi greyscale scans (several visit notes per file, degraded as a flatbed scan), one
  greyscale TIFF per document (what docverify reads) and one PNG per page (what the floor and the naive loop read);
- `screens/`: portal screenshots (phone, light and dark, and desktop), PNG;
- `text/`: born-digital text-layer PDFs (visit notes, after-visit summaries, problem lists), with each page also
  rendered to a 200-dpi greyscale PNG (for the floor and the naive loop, which cannot use a text layer);
- `export/`: one long text-layer chart export (`pages` pages of dense text, over the too_much_text cap of
  pipeline/limits.py at the full size), read by docverify and by pdfplumber alone; never OCR'd by the baselines;
- `ladder/`: text-layer PDFs of 1, 10 and 100 pages, for the cost-per-page curve.

`corpus.json` lists every file with its page count and kind. Everything is regenerated when the recipe changes
(`RECIPE` is part of the manifest).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20261205
RECIPE = 1  # bump when the corpus changes, so an old out/bench corpus is rebuilt
DPI = 200


@dataclass(frozen=True)
class Size:
    """How big a corpus is: scan documents (each 2-3 notes long), screenshots, text PDFs, export pages, ladder."""

    scans: int
    screens: int
    texts: int
    export_pages: int
    ladder: tuple[int, ...]


FULL = Size(scans=6, screens=4, texts=6, export_pages=300, ladder=(1, 10, 100))
QUICK = Size(scans=1, screens=1, texts=1, export_pages=12, ladder=(1, 3))


@dataclass(frozen=True)
class Item:
    """One upload of the corpus: its path (relative to the corpus folder), kind, page count and its page images."""

    path: str
    kind: str  # scan | screen | text | export | ladder
    pages: int
    page_images: tuple[str, ...] = ()  # PNGs of its pages (the baselines' input); empty for export and ladder


def _paper_cases() -> list[tuple[object, object]]:
    """(sample, its paper lines) for every bundled sample drawn on paper, in catalogue order."""
    from samples.generator.cases import SAMPLES
    from samples.generator.layouts import paper_lines

    return [(s, paper_lines(s)) for s in SAMPLES if s.cases and s.kind in ("text_pdf", "scanned_pdf", "jpeg_scan",
                                                                          "tiff_fax", "heic_photo")]


def _screen_samples() -> list[object]:
    from samples.generator.cases import SAMPLES

    return [s for s in SAMPLES if s.cases and s.kind.startswith("screenshot")]


def _png(img: object, path: Path) -> None:
    img.save(path, "PNG", dpi=(DPI, DPI))  # type: ignore[attr-defined]


def _scans(out: Path, n: int, rng: random.Random) -> list[Item]:
    from samples.generator.degrade import scan
    from samples.generator.layouts import Line
    from samples.generator.paper import page_images

    papers = _paper_cases()
    items = []
    (out / "scans").mkdir()
    for i in range(n):
        picks = [papers[(3 * i + k) % len(papers)] for k in range(2 + i % 2)]  # 2 or 3 notes: multi-page
        lines = [ln for k, (_, ls) in enumerate(picks) for ln in ([Line(style="pagebreak")] if k else []) + ls]
        font = picks[0][0].font  # type: ignore[attr-defined]
        pages = [scan(p, rng, rng.uniform(-1.5, 1.5)).convert("L") for p in page_images(lines, font, DPI)]
        name = f"scans/scan_{i:02d}.tif"
        pages[0].save(out / name, "TIFF", compression="tiff_adobe_deflate", dpi=(DPI, DPI), save_all=True,
                      append_images=pages[1:])
        pngs = []
        for j, page in enumerate(pages, 1):
            png = f"scans/scan_{i:02d}_p{j}.png"
            _png(page, out / png)
            pngs.append(png)
        items.append(Item(name, "scan", len(pages), tuple(pngs)))
    return items


def _screens(out: Path, n: int) -> list[Item]:
    from samples.generator.layouts import portal_screen
    from samples.generator.screens import DARK, LIGHT, desktop_image, phone_image

    samples = _screen_samples()
    (out / "screens").mkdir()
    items = []
    for i in range(n):
        s = samples[i % len(samples)]
        case = s.cases[0]  # type: ignore[attr-defined]
        if i % 3 == 2:
            img = desktop_image(portal_screen(case, app="MyHealth Portal"), 16)
        else:
            img = phone_image(portal_screen(case), DARK if i % 3 == 1 else LIGHT)
        name = f"screens/screen_{i:02d}.png"
        img.save(out / name, "PNG")
        items.append(Item(name, "screen", 1, (name,)))
    return items


def _render_pngs(pdf: bytes, stem: str, out: Path) -> tuple[str, ...]:
    """Each page of a PDF rendered to a 200-dpi greyscale PNG (pypdfium2), for the baselines."""
    import pypdfium2 as pdfium

    names = []
    doc = pdfium.PdfDocument(pdf)
    try:
        for j in range(len(doc)):
            img = doc[j].render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
            name = f"{stem}_p{j + 1}.png"
            _png(img, out / name)
            names.append(name)
    finally:
        doc.close()
    return tuple(names)


def _pdf_pages(pdf: bytes) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def _texts(out: Path, n: int) -> list[Item]:
    from samples.generator.paper import pdf_bytes

    papers = _paper_cases()
    (out / "text").mkdir()
    items = []
    for i in range(n):
        s, lines = papers[(5 * i + 1) % len(papers)]
        pdf = pdf_bytes(lines, s.font)  # type: ignore[arg-type, attr-defined]
        name = f"text/text_{i:02d}.pdf"
        (out / name).write_bytes(pdf)
        items.append(Item(name, "text", _pdf_pages(pdf), _render_pngs(pdf, f"text/text_{i:02d}", out)))
    return items


def long_pdf(pages: int, *, dense: bool) -> bytes:
    """A text-layer chart export of exactly `pages` pages: the bundled visit notes one after another, each page
    filled to the bottom (dense: ~4,500 characters a page, so 300 pages pass the 1,000,000-character cap)."""
    from samples.generator.paper import new_pdf

    papers = _paper_cases()
    pdf = new_pdf()
    pdf.set_auto_page_break(False)
    k = 0
    for _ in range(pages):
        pdf.add_page()
        pdf.set_font("sans", "", 9 if dense else 11)
        while pdf.get_y() < pdf.h - 72:
            s, lines = papers[k % len(papers)]
            for ln in lines:  # type: ignore[attr-defined]
                if ln.text and pdf.get_y() < pdf.h - 72:
                    pdf.multi_cell(0, 11 if dense else 14, ln.text, new_x="LMARGIN", new_y="NEXT")
            k += 1
    return bytes(pdf.output())


def build(out: Path, size: Size) -> list[Item]:
    """Write the corpus for `size` under `out` (replacing what is there) and return its items."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = random.Random(f"{SEED}:scans")  # noqa: S311 - a seeded corpus, not a secret
    items = _scans(out, size.scans, rng) + _screens(out, size.screens) + _texts(out, size.texts)
    (out / "export").mkdir()
    export = long_pdf(size.export_pages, dense=True)
    (out / "export/export.pdf").write_bytes(export)
    items.append(Item("export/export.pdf", "export", size.export_pages))
    (out / "ladder").mkdir()
    for n in size.ladder:
        name = f"ladder/ladder_{n:03d}.pdf"
        (out / name).write_bytes(long_pdf(n, dense=False))
        items.append(Item(name, "ladder", n))
    manifest = {"recipe": RECIPE, "seed": SEED, "size": asdict(size), "items": [asdict(i) for i in items]}
    (out / "corpus.json").write_text(json.dumps(manifest, indent=1))
    return items


def load_or_build(out: Path, size: Size) -> list[Item]:
    """The corpus under `out`, rebuilt when missing or made by another recipe or size."""
    manifest = out / "corpus.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        if data.get("recipe") == RECIPE and data.get("size") == json.loads(json.dumps(asdict(size))):
            return [Item(**{**i, "page_images": tuple(i["page_images"])}) for i in data["items"]]
    return build(out, size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench" / "corpus")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    items = build(args.out, QUICK if args.quick else FULL)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.kind] = counts.get(item.kind, 0) + item.pages
    print(json.dumps({"files": len(items), "pages": counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["FULL", "QUICK", "Item", "Size", "build", "load_or_build", "long_pdf"]
