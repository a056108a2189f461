"""pipeline.icd10cm: the cached ICD-10-CM facade answers as simple_icd_10_cm does, and never imports it on a hit."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import icd10cm
from pipeline.icd10cm import CACHE_FILE, FORMAT, IcdTable, cache_key, load_table

ROOT = Path(__file__).resolve().parent.parent

CODES = [
    "G90.512", "G90512", "g90.512", " G90.512 ", "M79.7", "M797", "G43.909", "G43", "G90.5", "G90.50", "F32.9",
    "S52.501A", "S52501A", "T40.2X1A", "I10", "R52", "B20", "B99", "C50", "D3A", "D3A.0", "E36",  # B20…: also blocks
    "1", "22", "A00-A09", "F20-F29",  # a chapter and blocks: items, not codes
    "Q99.999", "M79.99", "G90.5.12", "A00.", "A00..0", "", "X", "ZZZ", "12.3", "B12", "L4-5",
]


@pytest.fixture(scope="module")
def cm():  # type: ignore[no-untyped-def]
    return pytest.importorskip("simple_icd_10_cm")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache file built once for the module (building takes ~1 s after simple_icd_10_cm is imported)."""
    d = tmp_path_factory.mktemp("icd10cm")
    load_table(d)
    return d / CACHE_FILE


def _fresh_dir(built: Path, tmp_path: Path) -> Path:
    shutil.copy(built, tmp_path / CACHE_FILE)
    return tmp_path


def _expected(cm, code: str) -> tuple[bool, bool, str | None]:  # type: ignore[no-untyped-def]
    c = code.strip().upper()
    item = cm.is_valid_item(c)
    valid = item and cm.is_category_or_subcategory(c)
    return valid, bool(valid and cm.is_leaf(c)), (cm.get_description(c) if item else None)


def _sampled_codes(cm) -> list[str]:  # type: ignore[no-untyped-def]
    every = cm.get_all_codes(True)
    return CODES + every[::97] + [c.replace(".", "") for c in every[5::211]]


def test_when_the_cache_is_built_then_answers_equal_simple_icd_10_cm_on_a_table_of_codes(cm, built: Path) -> None:
    table = load_table(built.parent)
    for code in _sampled_codes(cm):
        got = (table.is_valid(code), table.is_billable(code), table.description(code))
        assert got == _expected(cm, code), code


def test_when_the_cache_is_built_then_billable_codes_and_release_equal_the_package(cm, built: Path) -> None:
    table = load_table(built.parent)
    want = [c for c in cm.get_all_codes(True) if "-" not in c and cm.is_category_or_subcategory(c) and cm.is_leaf(c)]
    assert list(table.billable) == want
    assert table.release == cm.simple_icd_10_cm._all_codes_package_file_name
    assert set(table.codes()) == {c for c in cm.get_all_codes(True) if cm.is_category_or_subcategory(c)}


def test_when_the_cache_is_built_then_inclusion_terms_and_children_equal_simple_icd_10_cm(cm, built: Path) -> None:
    table = load_table(built.parent)
    children = table.children_map()
    for code in _sampled_codes(cm) + ["M72.2", "M722", "G54.0", "G90.5", "H44.52", "Z40-Z53", "1"]:
        c = code.strip().upper()
        want = tuple(cm.get_inclusion_term(c)) if cm.is_valid_item(c) else ()
        assert table.inclusion_terms(code) == want, code
    for name in cm.get_all_codes(True)[::97] + ["1", "A00-A09", "G90.5", "H44.52", "M72.2"]:
        assert children.get(name, ()) == tuple(cm.get_children(name)), name
    assert table.inclusion_terms("M72.2") == ("Plantar fasciitis",) == icd10cm.inclusion_terms("m722")


def test_when_the_built_table_is_read_back_then_every_field_round_trips(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    built = load_table(tmp_path)  # no file yet: built from simple_icd_10_cm and written

    def no_rebuild() -> IcdTable:
        raise AssertionError("rebuilt instead of read")

    monkeypatch.setattr(icd10cm, "_build", no_rebuild)
    read = load_table(tmp_path)
    assert read == built  # entries, billable, inclusion terms, parents and release
    assert read.inclusion_terms("G54.0") == ("Thoracic outlet syndrome",)
    assert read.children_map()["G90.5"] == ("G90.50", "G90.51", "G90.52", "G90.59")


def test_when_no_cache_exists_then_it_is_built_and_written(tmp_path: Path) -> None:
    table = load_table(tmp_path)
    with gzip.open(tmp_path / CACHE_FILE) as f:
        data = json.loads(f.read())
    assert data["key"] == cache_key() and table.is_valid("G90.512")
    assert [p.name for p in tmp_path.iterdir()] == [CACHE_FILE]  # no temp file left behind


@pytest.mark.parametrize("content", [b"", b"not gzip at all", gzip.compress(b"{not json"), gzip.compress(b"[1, 2]"),
                                     gzip.compress(b'{"key": "KEY", "release": "r"}')])
def test_when_the_cache_is_corrupt_then_it_is_rebuilt(tmp_path: Path, content: bytes) -> None:
    (tmp_path / CACHE_FILE).write_bytes(content.replace(b"KEY", cache_key().encode()))
    table = load_table(tmp_path)
    assert table.description("M79.7") == "Fibromyalgia"
    assert isinstance(load_table(tmp_path), IcdTable)  # the rewritten file reads back
    with gzip.open(tmp_path / CACHE_FILE) as f:
        assert json.loads(f.read())["key"] == cache_key()


def test_when_the_cache_key_is_stale_then_it_is_rebuilt(built: Path, tmp_path: Path) -> None:
    d = _fresh_dir(built, tmp_path)
    with gzip.open(d / CACHE_FILE) as f:
        data = json.loads(f.read())
    data["key"] = "format=0|simple-icd-10-cm=0.0.1"
    data["descriptions"] = ["stale"] * len(data["descriptions"])
    (d / CACHE_FILE).write_bytes(gzip.compress(json.dumps(data).encode()))
    assert load_table(d).description("M79.7") == "Fibromyalgia"
    with gzip.open(d / CACHE_FILE) as f:
        assert json.loads(f.read())["key"] == cache_key()


def test_when_the_cache_has_the_previous_format_then_it_is_rebuilt_with_inclusion_terms(built: Path,
                                                                                      tmp_path: Path) -> None:
    d = _fresh_dir(built, tmp_path)
    with gzip.open(d / CACHE_FILE) as f:
        data = json.loads(f.read())
    del data["inclusion"], data["parents"]  # what format 1 stored
    data["key"] = cache_key().replace(f"format={FORMAT}", "format=1")
    (d / CACHE_FILE).write_bytes(gzip.compress(json.dumps(data).encode()))
    assert load_table(d).inclusion_terms("M72.2") == ("Plantar fasciitis",)
    with gzip.open(d / CACHE_FILE) as f:
        rewritten = json.loads(f.read())
    assert rewritten["key"] == cache_key() and rewritten["inclusion"]["G54.0"] == ["Thoracic outlet syndrome"]


@pytest.mark.parametrize("damage", ["parent_out_of_range", "inclusion_of_unknown_name", "inclusion_not_a_list"])
def test_when_the_cached_inclusion_terms_or_parents_are_corrupt_then_it_is_rebuilt(built: Path, tmp_path: Path,
                                                                                  damage: str) -> None:
    d = _fresh_dir(built, tmp_path)
    with gzip.open(d / CACHE_FILE) as f:
        data = json.loads(f.read())
    if damage == "parent_out_of_range":
        data["parents"][0] = len(data["names"])
    elif damage == "inclusion_of_unknown_name":
        data["inclusion"]["Q99.999"] = ["not a code"]
    else:
        data["inclusion"]["M72.2"] = "Plantar fasciitis"
    (d / CACHE_FILE).write_bytes(gzip.compress(json.dumps(data).encode()))
    table = load_table(d)
    assert table.inclusion_terms("M72.2") == ("Plantar fasciitis",) and "Q99.999" not in table.inclusion
    assert table.children_map()["G90.5"] == ("G90.50", "G90.51", "G90.52", "G90.59")


def test_when_the_cache_is_valid_then_it_is_read_not_rebuilt(built: Path, tmp_path: Path) -> None:
    d = _fresh_dir(built, tmp_path)
    with gzip.open(d / CACHE_FILE) as f:
        data = json.loads(f.read())
    i = data["names"].index("M79.7")
    data["descriptions"][i] = "from the cache"
    data["inclusion"]["M72.2"] = ["from the cache too"]
    (d / CACHE_FILE).write_bytes(gzip.compress(json.dumps(data).encode()))
    table = load_table(d)
    assert table.description("M797") == "from the cache"
    assert table.inclusion_terms("M722") == ("from the cache too",)


def test_when_the_cache_dir_cannot_be_written_then_the_table_still_answers(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where the directory should be: mkdir fails
    assert load_table(blocker / "docverify").is_billable("G90.512")


_PROBE = """
import sys
from pipeline import icd10cm
from pipeline.policy import load_lexicon, load_policy
load_policy(); load_lexicon()
print(icd10cm.is_valid("G90.512"), icd10cm.description("M79.7"), len(icd10cm.billable_codes()) > 70000)
print("simple_icd_10_cm" in sys.modules)
"""


def _probe(cache_home: Path) -> list[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.strip().splitlines()


def test_when_the_cache_is_valid_then_a_fresh_process_never_imports_simple_icd_10_cm(built: Path,
                                                                                    tmp_path: Path) -> None:
    (tmp_path / "docverify").mkdir()
    shutil.copy(built, tmp_path / "docverify" / CACHE_FILE)
    assert _probe(tmp_path) == ["True Fibromyalgia True", "False"]


def test_when_a_fresh_process_finds_no_cache_then_it_builds_one_the_next_process_reuses(tmp_path: Path) -> None:
    assert _probe(tmp_path) == ["True Fibromyalgia True", "True"]
    assert (tmp_path / "docverify" / CACHE_FILE).is_file()
    assert _probe(tmp_path) == ["True Fibromyalgia True", "False"]


def test_when_the_module_functions_are_called_then_they_use_the_process_table() -> None:
    assert icd10cm.is_valid("g90512") and icd10cm.is_valid("G90") and not icd10cm.is_valid("G89-G99")
    assert icd10cm.is_billable("G90.512") and not icd10cm.is_billable("G90.5")  # G90.5 has children
    assert icd10cm.description("Q99.999") is None and icd10cm.release().startswith("code-list")
