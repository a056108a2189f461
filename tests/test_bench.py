"""`make bench` cannot rot silently: its corpus generator and one measurement run here (benchmarks/README.md)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))
    try:
        corpus = importlib.import_module("bench_corpus")
        pages = importlib.import_module("bench_pages")
    finally:
        sys.path.remove(str(BENCH))
    out = tmp_path_factory.mktemp("bench") / "corpus"
    items = corpus.build(out, corpus.QUICK)
    return corpus, pages, out, items


def test_when_the_quick_corpus_is_built_then_every_kind_is_there_with_its_pages(bench) -> None:  # type: ignore[no-untyped-def]
    corpus, _, out, items = bench
    kinds = {i.kind for i in items}
    assert kinds == {"scan", "screen", "text", "export", "ladder"}
    scan = next(i for i in items if i.kind == "scan")
    assert scan.pages >= 2 and len(scan.page_images) == scan.pages  # multi-page, one image per page
    assert all((out / p).exists() for i in items for p in (i.path, *i.page_images))
    export = next(i for i in items if i.kind == "export")
    assert export.pages == corpus.QUICK.export_pages
    manifest = json.loads((out / "corpus.json").read_text())
    assert manifest["recipe"] == corpus.RECIPE and len(manifest["items"]) == len(items)
    assert corpus.load_or_build(out, corpus.QUICK) == items  # the same corpus is reused, not rebuilt


def test_when_the_floor_is_measured_on_a_page_then_it_takes_time_and_the_export_reads_as_text(bench) -> None:  # type: ignore[no-untyped-def]
    _, pages, out, items = bench
    image = out / next(i for i in items if i.kind == "screen").page_images[0]
    assert pages.floor([image], 1) > 0.0
    layer = pages.text_layer_rates(out / next(i for i in items if i.kind == "export").path, rounds=1)
    assert layer["pages"] == 12 and layer["read_outcome"] == "ok" and layer["read_pages_per_s"] > 0
