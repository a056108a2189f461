"""A long text-layer chart export, read and checked whole: time per stage and peak memory (benchmarks/README.md
"bench_long.py").

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_long.py            # the 300-page export
    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_long.py --pages 30 --json out/bench/long.json

The export is `bench_corpus.long_pdf` (the bundled visit notes one after another, ~4,500 characters a page). The run
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


def run(pages: int) -> dict[str, Any]:
    """Build the export, check it whole and return the figures."""
    from bench_corpus import long_pdf

    started = time.perf_counter()
    data = long_pdf(pages, dense=True)
    build_s = time.perf_counter() - started

    from extractors.finders import model_versions
    from extractors.windows import find_in_windows, page_chars, page_windows
    from flows.isolation import read_bounded
    from flows.verify import versions
    from pipeline.evaluate import Intake, evaluate
    from pipeline.intake import accept
    from pipeline.limits import DEFAULT_LIMITS
    from pipeline.policy import load_policy
    from pipeline.settings import Settings
    from pipeline.types import Payer

    settings = Settings()
    t = time.perf_counter()
    model_versions(settings.ner_model_name)  # the models loaded before the clock starts (a warm worker)
    policy = load_policy()
    load_s = time.perf_counter() - t
    limits = DEFAULT_LIMITS
    with PeakMemory() as peak:
        t0 = time.perf_counter()
        document = read_bounded(data, accept(data, "export.pdf", limits), limits)
        t1 = time.perf_counter()
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
        "peak_rss_mib": round(peak.own / MIB), "peak_reader_child_rss_mib": round(peak.children / MIB),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = run(args.pages)
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
