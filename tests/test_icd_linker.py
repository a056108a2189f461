"""extractors.icd_linker: char 3-gram linking with OCR noise, printed codes, categories from the policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.icd_linker import IcdIndex, get_linker, printed_codes
from pipeline.policy import load_lexicon
from pipeline.types import Category

NOISY = [
    ("fibromyalgla", "M79.7", Category.FIBROMYALGIA),
    ("Complex regional paln syndrome", "G90.50", Category.CRPS),
    ("Migrane", "G43.909", Category.MIGRAINE),
    ("trigeminal neuralga", "G50.0", Category.NEUROPATHIC_PAIN),
    ("Chronc pain syndrom", "G89.4", Category.OTHER_PAIN),
    ("Major depresive disorder", "F32.9", Category.MENTAL_HEALTH),
    ("complex regional pain syndrome of left upper limb", "G90.512", Category.CRPS),  # a table description
]


@pytest.mark.parametrize(("text", "code", "category"), NOISY)
def test_when_a_term_has_ocr_noise_then_it_still_links_above_threshold(text: str, code: str,
                                                                       category: Category) -> None:
    linker = get_linker()
    best = linker.link(text)[0]
    assert (best.code, best.category) == (code, category)
    assert best.score >= linker.policy.thresholds.link_min_score


@pytest.mark.parametrize("text", ["Patient ambulating well", "left knee", "Blood pressure: 120/80", "seen today",
                                  "insurance card", "ketamine infusion", "follow up in 2 weeks"])
def test_when_words_are_unrelated_then_nothing_links(text: str) -> None:
    assert get_linker().link(text) == []


def test_when_lexicon_and_table_both_match_then_the_lexicon_row_ranks_first() -> None:
    best = get_linker().link("reflex sympathetic dystrophy")[0]
    assert (best.code, best.source) == ("G90.50", "lexicon")


PRINTED = [
    ("Dx: fibromyalgia (M79.7)", ["M79.7"]),
    ("G90.512 CRPS I of left upper limb", ["G90.512"]),
    ("(G43.709) chronic migraine", ["G43.709"]),
    ("Hypertension I10", ["I10"]),
    ("fake code Q99.999 and M79.99", []),  # not in ICD-10-CM
    ("vitamin B12 and L4-5 and A1C", []),
]


@pytest.mark.parametrize(("text", "codes"), PRINTED)
def test_when_codes_are_printed_then_only_valid_ones_are_recognised(text: str, codes: list[str]) -> None:
    assert [c for _, _, c in printed_codes(text)] == codes


def test_when_a_printed_code_is_resolved_then_category_comes_from_the_policy() -> None:
    cand = get_linker().printed("G43.A0")
    assert cand is not None and cand.category is Category.OTHER and cand.score == 1.0
    assert get_linker().printed("M79.99") is None


def test_when_the_index_is_cached_then_a_new_process_loads_the_same_index(tmp_path: Path) -> None:
    lexicon = load_lexicon()
    built = IcdIndex(lexicon, tmp_path)
    loaded = IcdIndex(lexicon, tmp_path)
    queries = ["fibromyalgla", "Migrane", "left knee", "Major depresive disorder"]
    assert (built.from_cache, loaded.from_cache) == (False, True)
    assert (loaded.codes, loaded.texts, loaded.sources) == (built.codes, built.texts, built.sources)
    assert loaded.query(queries, 5) == built.query(queries, 5)


@pytest.mark.parametrize("damage", [b"", b"not a zip", b"PK\x03\x04truncated"])
def test_when_the_cached_index_is_corrupt_then_it_is_rebuilt_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    lexicon = load_lexicon()
    IcdIndex(lexicon, tmp_path)
    (cached,) = tmp_path.glob("icd_index-*.npz")
    cached.write_bytes(damage)
    rebuilt = IcdIndex(lexicon, tmp_path)
    assert not rebuilt.from_cache
    assert IcdIndex(lexicon, tmp_path).from_cache
    assert list(tmp_path.iterdir()) == [cached]  # no temp files left behind


def test_when_the_cache_dir_cannot_be_written_then_the_index_still_works(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    index = IcdIndex(load_lexicon(), blocker / "sub")
    assert index.query(["fibromyalgia"], 1)[0]
