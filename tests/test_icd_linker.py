"""extractors.icd_linker: char 3-gram linking with OCR noise, printed codes, categories from the policy."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from extractors import icd_linker
from extractors.icd_linker import IcdIndex, get_linker, printed_codes
from pipeline import icd10cm
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


INCLUSION = [
    ("plantar fasciitis", "M72.2"),  # an inclusion term of M72.2 "Plantar fascial fibromatosis"
    ("Thoracic outlet syndrome", "G54.0"),  # of G54.0 "Brachial plexus disorders"
    ("Morton's metatarsalgia", "G57.60"),  # of G57.6 (not billable) → its one "unspecified" child
    ("Phthisis bulbi", "H44.529"),  # of H44.52 (not billable) → "Atrophy of globe, unspecified eye"
    ("complex regional pain syndrome II of upper limb", "G56.40"),  # was G90.512, CRPS I, from the descriptions
]


@pytest.mark.parametrize(("text", "code"), INCLUSION)
def test_when_a_mention_is_an_inclusion_term_then_it_links_to_its_code_with_the_official_description(
        text: str, code: str) -> None:
    best = get_linker().link(text)[0]
    assert (best.code, best.source, best.score) == (code, "icd10cm", 1.0)
    assert best.description == icd10cm.description(code)


@pytest.mark.parametrize(("text", "code"), [("Plantar fascial fibromatosis", "M72.2"),
                                            ("Brachial plexus disorders", "G54.0"),
                                            ("Complex regional pain syndrome I of left upper limb", "G90.512")])
def test_when_a_mention_is_a_code_description_then_it_still_links_to_that_code(text: str, code: str) -> None:
    best = get_linker().link(text)[0]
    assert (best.code, best.source, best.score) == (code, "icd10cm", 1.0)


SKIPPED_TERMS = [
    ("Polyneuropathy", ("A69.22",)),  # "Other neurologic disorders in Lyme disease": means it only in that context
    ("Nephropathy", ("N08",)),  # "Glomerular disorders in diseases classified elsewhere"
    ("Arrest", ("Z65.3",)),  # "Problems related to other legal circumstances"
    ("TIA", ("G45.9",)),  # an acronym on its own: the lexicon's business
    ("Eosinophilic granuloma", ("K13.4", "C96.6")),  # listed under two codes: ambiguous
    ("Ciliary neuralgia", ("G44.001", "G44.009")),  # on G44.00, whose children differ only by intractability
    ("4H syndrome", ("G11.5",)),  # "4h" has no 3-gram in the vocabulary: the row would stand for "syndrome"
    ("pneumonia", ("J15.211",)),  # "MSSA pneumonia": the acronym is only partly in the vocabulary
]


@pytest.mark.parametrize(("text", "codes"), SKIPPED_TERMS)
def test_when_an_inclusion_term_is_generic_ambiguous_or_unrepresentable_then_it_does_not_link_to_its_code(
        text: str, codes: tuple[str, ...]) -> None:
    assert not {c.code for c in get_linker().link(text)} & set(codes)


def test_when_the_table_lists_coding_notes_as_inclusion_terms_then_they_are_not_indexed() -> None:
    assert icd10cm.inclusion_terms("O99.35") == ("Conditions in G00-G99",)
    texts = set(get_linker().index.texts)
    assert "Conditions in G00-G99" not in texts and "Codes also, if applicable, other types of pneumonias" not in texts


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


@pytest.fixture(scope="module")
def previous_format(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IcdIndex]:
    """An index as INDEX_FORMAT 1 built and cached it (lexicon and description rows only), in its own directory."""
    d = tmp_path_factory.mktemp("icd_index_format_1")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(icd_linker, "INDEX_FORMAT", 1)
        mp.setattr(icd_linker, "inclusion_rows", lambda descriptions: [])
        return d, IcdIndex(load_lexicon(), d)


def test_when_the_cached_index_has_the_previous_format_then_it_is_rebuilt_with_inclusion_terms(
        previous_format: tuple[Path, IcdIndex], tmp_path: Path) -> None:
    (old_file,) = previous_format[0].glob("icd_index-*.npz")
    shutil.copy(old_file, tmp_path)  # under its own name (keyed by format 1)
    # and under the current key's name too, so that the key stored inside the file is what is checked
    current = hashlib.sha256(get_linker().index.cache_key.encode()).hexdigest()[:20]
    shutil.copy(old_file, tmp_path / f"icd_index-{current}.npz")
    lexicon = load_lexicon()
    rebuilt = IcdIndex(lexicon, tmp_path)
    assert not rebuilt.from_cache and "Plantar fasciitis" in rebuilt.texts
    assert "Plantar fasciitis" not in previous_format[1].texts
    reloaded = IcdIndex(lexicon, tmp_path)  # the rewritten file
    assert reloaded.from_cache and reloaded.codes == rebuilt.codes


def test_when_inclusion_terms_are_indexed_then_no_existing_row_or_query_vector_changes(
        previous_format: tuple[Path, IcdIndex]) -> None:
    before, after = previous_format[1], get_linker().index
    n = len(before.codes)
    assert after.codes[:n] == before.codes and after.texts[:n] == before.texts and len(after.codes) > n + 8000
    assert (after.matrix[:n] != before.matrix).nnz == 0
    # Rare 3-grams of inclusion terms ("and/or", "dsm-iv") would otherwise weaken these queries' old links.
    queries = ["Leg and/or back pain", "DSM-IV bipolar I", "limb-girdle muscular dystrophy", "fibromyalgla"]
    assert (after.vectorizer.transform(queries) != before.vectorizer.transform(queries)).nnz == 0
    assert get_linker().link("Leg and/or back pain")[0].code == "M54.9"
