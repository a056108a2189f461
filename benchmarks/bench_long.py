"""A long text-layer chart export, read and checked whole: time per stage and peak memory (benchmarks/README.md
"bench_long.py").

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_long.py            # the 300-page export
    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_long.py --pages 30 --json out/bench/long.json

The export (`export_pdf`) is the bundled visit notes one after another as paragraphs, ~6,300 characters a page. The run
goes the way `flows.verify.check_bytes` does: accepted, read in the bounded reader child (flows/isolation.py), the
finders over page windows (extractors/windows.py), evaluated. A sampling thread records the resident memory of this
process and of the reader child (with its tesseract children, none here) every 50 ms; the figures are their peaks.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):  # the repository's packages first, and bench_corpus beside this file
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

MIB = 1024 * 1024


class PeakMemory:
    """Peak resident memory of this process and, separately, of all its descendants at once (sampled)."""

    def __init__(self, every_s: float = 0.05) -> None:
        self.every_s = every_s
        self.own = 0
        self.children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                self.own = max(self.own, me.memory_info().rss)
                kids = 0
                for child in me.children(recursive=True):
                    try:
                        kids += child.memory_info().rss
                    except psutil.Error:
                        continue
                self.children = max(self.children, kids)
            except psutil.Error:
                pass
            self._stop.wait(self.every_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def export_pdf(pages: int) -> bytes:
    """A text-layer chart export of exactly `pages` pages, each filled with paragraphs of the bundled visit notes
    (~6,300 characters a page: 300 pages hold ~1.9 M characters, over the 1,000,000 of one spaCy parse)."""
    from bench_corpus import _paper_cases

    from samples.generator.paper import new_pdf

    papers = _paper_cases()
    pdf = new_pdf()
    pdf.set_auto_page_break(False)
    k = 0
    for _ in range(pages):
        pdf.add_page()
        pdf.set_font("sans", "", 9)
        while pdf.get_y() < pdf.h - 80:
            _, lines = papers[k % len(papers)]
            paragraph = " ".join(ln.text for ln in lines if ln.text)  # type: ignore[attr-defined]
            pdf.multi_cell(0, 11, paragraph, new_x="LMARGIN", new_y="NEXT",
                           max_line_height=11)
            k += 1
    return bytes(pdf.output())


def run(pages: int, window_chars: int | None = None) -> dict[str, Any]:
    """Build the export, check it whole and return the figures. `window_chars`: the finders' window (default: the
    one of pipeline/limits.py; a window larger than the record makes one parse of it)."""
    import dataclasses

    started = time.perf_counter()
    data = export_pdf(pages)
    build_s = time.perf_counter() - started

    from extractors.finders import model_versions
    from extractors.windows import find_in_windows, page_windows
    from flows.isolation import read_bounded
    from flows.verify import versions
    from pipeline.evaluate import Intake, evaluate
    from pipeline.intake import accept
    from pipeline.limits import DEFAULT_LIMITS
    from pipeline.policy import load_policy
    from pipeline.settings import Settings
    from pipeline.types import Payer, page_chars

    settings = Settings()
    t = time.perf_counter()
    model_versions(settings.ner_model_name)  # the models loaded before the clock starts (a warm worker)
    policy = load_policy()
    load_s = time.perf_counter() - t
    limits = DEFAULT_LIMITS if window_chars is None else dataclasses.replace(DEFAULT_LIMITS, window_chars=window_chars)
    before = psutil.Process().memory_info().rss
    with PeakMemory() as peak:
        t0 = time.perf_counter()
        document = read_bounded(data, accept(data, "export.pdf", limits), limits)
        t1 = time.perf_counter()
        after_read = psutil.Process().memory_info().rss
        findings = find_in_windows(document, policy, ner_model=settings.ner_model_name,
                                   window_chars=limits.window_chars)
        t2 = time.perf_counter()
        report = evaluate(document, findings, Intake(None, Payer.UNKNOWN), policy, versions(settings.ner_model_name))
        t3 = time.perf_counter()
    chars = sum(page_chars(p) for p in document.pages)
    return {
        "pages": len(document.pages), "bytes": len(data), "characters": chars,
        "windows": len(page_windows(document, limits.window_chars)), "window_chars": limits.window_chars,
        "status": report.status.value, "error": report.error.code if report.error else None,
        "build_s": round(build_s, 2), "model_load_s": round(load_s, 2),
        "read_s": round(t1 - t0, 2), "find_s": round(t2 - t1, 2), "evaluate_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2), "pages_per_s": round(len(document.pages) / (t3 - t0), 2),
        "rss_before_read_mib": round(before / MIB), "rss_after_read_mib": round(after_read / MIB),
        "peak_rss_mib": round(peak.own / MIB),
        "peak_reader_child_rss_mib": round(peak.children / MIB),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--window-chars", type=int, help="the finders' window (default: pipeline/limits.py's)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args.pages, args.window_chars)
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
