"""Behaviour of the varied-document generator (evaluation/varied): determinism, split rule, labels, files."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from evaluation.varied.cases import KINDS
from evaluation.varied.generate import SEED_BASE, generate, make_case, plan, render
from evaluation.varied.people import strip_accents

STATUSES = {"complete", "incomplete", "needs_review", "rejected"}
PAYERS = {"commercial", "medicare", "medicaid", "tricare", "champva", "self_pay", "unknown"}
CATEGORIES = {"crps", "fibromyalgia", "migraine", "neuropathic_pain", "other_pain"}
ROLES = {"referring_physician", "pcp", "nurse", "np_pa", "ma", "emergency_contact", "family_member", "clinic"}
ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
# Anything a label name must not contain: titles, credentials, periods, commas.
NOT_IN_NAMES = re.compile(r"\b(Dr|MD|DO|MBBS|PhD|RN|NP|PA-C|FAAPMR|FIPP|DABPM)\b|[.,]")

FIRST_BLOCK = 12  # the first 12 documents hold one of each kind


@pytest.fixture(scope="module")
def dev_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 dev documents written by the CLI entry point."""
    out = tmp_path_factory.mktemp("varied-dev")
    generate("dev", out, FIRST_BLOCK, jobs=2)
    return out


@pytest.fixture(scope="module")
def labels(dev_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (dev_dir / "labels.jsonl").read_text(encoding="utf-8").splitlines()]


def test_when_same_seed_generated_twice_then_files_are_byte_identical(dev_dir: Path, labels: list[dict]) -> None:
    # One of each kind: text PDF, image PDF/scan, TIFF fax, photos and screenshots all re-render identically.
    for i in range(FIRST_BLOCK):
        data, _ = render(make_case(plan("dev", i)))
        assert data == (dev_dir / "inputs" / labels[i]["file"]).read_bytes(), labels[i]["file"]
    assert make_case(plan("dev", 3)).label() == labels[3]


def test_when_splits_planned_then_seed_spaces_are_disjoint_and_fixed() -> None:
    dev = [plan("dev", i) for i in range(500)]
    test = [plan("test", i) for i in range(500)]
    train = [plan("train", i) for i in range(500)]
    assert not {p.seed for p in dev} & {p.seed for p in test}
    assert not {p.seed for p in train} & ({p.seed for p in dev} | {p.seed for p in test})
    assert [p.seed for p in dev] == [SEED_BASE["dev"] + i for i in range(500)]
    # The plan is a pure function of (split, index): asking again gives the same kind, status and seed.
    assert dev == [plan("dev", i) for i in range(500)]
    # The two splits are different documents, not the same ones renamed.
    assert [make_case(p).patient for p in dev[:20]] != [make_case(p).patient for p in test[:20]]
    with pytest.raises(ValueError):
        plan("holdout", 0)


def test_when_count_is_smaller_then_documents_are_a_prefix(tmp_path: Path, labels: list[dict]) -> None:
    small = generate("dev", tmp_path, 3, jobs=1)
    assert small == labels[:3]


def test_when_a_range_starts_later_then_its_documents_are_those_of_the_whole_split(tmp_path: Path,
                                                                                   labels: list[dict]) -> None:
    later = generate("dev", tmp_path, 2, jobs=1, start=3)
    assert later == labels[3:5]
    assert sorted(p.name for p in (tmp_path / "inputs").iterdir()) == sorted(str(lab["file"]) for lab in later)


def test_when_a_full_split_is_planned_then_kinds_are_even_and_statuses_match_the_shares() -> None:
    for split in ("dev", "test"):
        plans = [plan(split, i) for i in range(120)]
        assert Counter(p.kind for p in plans) == {k: 10 for k in KINDS}
        assert Counter(p.status for p in plans) == {"complete": 54, "incomplete": 42, "needs_review": 24}


def test_when_labels_are_written_then_every_row_is_valid_against_the_schema(dev_dir: Path) -> None:
    rows = [make_case(plan(split, i)).label() for split in ("dev", "test") for i in range(120)]
    for lab in rows:
        assert set(lab) == {"file", "kind", "purpose", "intake", "expected", "distractors", "split", "seed"}
        assert lab["kind"] in KINDS and lab["split"] in ("dev", "test") and isinstance(lab["seed"], int)
        assert lab["file"].startswith(f"{lab['split']}_") and isinstance(lab["purpose"], str) and lab["purpose"]
        assert set(lab["intake"]) == {"patient_name", "payer"} and lab["intake"]["payer"] in PAYERS
        exp = lab["expected"]
        assert set(exp) == {"status", "patient_name", "physician_name", "pain_category", "pain_icd10", "error_code"}
        assert exp["status"] in STATUSES and exp["error_code"] is None
        assert (exp["pain_category"] is None) == (exp["pain_icd10"] is None)
        assert exp["pain_category"] is None or exp["pain_category"] in CATEGORIES
        assert exp["pain_icd10"] is None or ICD10.match(exp["pain_icd10"])
        for name in (exp["patient_name"], exp["physician_name"]):
            assert name is None or (not NOT_IN_NAMES.search(name) and name == name.strip() and "  " not in name)
        shown = [exp["patient_name"], exp["physician_name"], exp["pain_category"]]
        if exp["status"] == "complete":
            assert None not in shown
        elif exp["status"] == "incomplete":
            assert shown.count(None) == 1
        for d in lab["distractors"]:
            assert set(d) == {"name", "role"} and d["role"] in ROLES and d["name"]
            assert d["name"] not in (exp["patient_name"], exp["physician_name"])
    assert {lab["expected"]["status"] for lab in rows} == {"complete", "incomplete", "needs_review"}
    # The manifest carries exactly the labels' intake.
    with (dev_dir / "manifest.csv").open(encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    assert list(manifest[0]) == ["file", "patient_name", "payer"]
    assert [(m["file"], m["patient_name"] or None, m["payer"]) for m in manifest] == \
        [(r["file"], r["intake"]["patient_name"], r["intake"]["payer"]) for r in rows[:FIRST_BLOCK]]


def test_when_intake_names_someone_else_then_status_is_needs_review() -> None:
    for i in range(120):
        case = make_case(plan("dev", i))
        typed = strip_accents(case.intake_name or "").lower()
        doc = strip_accents(case.patient.label()).lower()
        if case.scenario in ("intake_mismatch", "intake_is_contact"):
            assert case.status == "needs_review" and typed != doc
        if case.scenario == "intake_is_contact":
            assert any(set(typed.split()) <= set(strip_accents(d.name).lower().split()) for d in case.distractors
                       if d.role in ("emergency_contact", "family_member"))


def _magic(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tif"
    return "unknown"


def test_when_files_are_written_then_bytes_are_the_type_the_name_says(dev_dir: Path, labels: list[dict]) -> None:
    for lab in labels:
        path = dev_dir / "inputs" / lab["file"]
        data = path.read_bytes()
        assert _magic(data) == path.suffix[1:], lab["file"]
        if path.suffix == ".pdf":
            doc = pdfium.PdfDocument(data)
            text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
            # Text-layer kinds carry text; scans embedded as images carry none.
            assert bool(text.strip()) == (make_case(plan("dev", labels.index(lab))).fmt == "pdf"), lab["file"]
            assert b"CreationDate" in data and b"D:20240101" in data
        else:
            img = Image.open(io.BytesIO(data))
            img.load()
            # No camera, software or timestamp metadata (TIFF keeps only its structural tags).
            assert not set(img.getexif()) & {271, 272, 305, 306, 315, 36867}, lab["file"]
            if path.suffix != ".tif":
                assert not img.getexif() and "exif" not in img.info and "xmp" not in img.info, lab["file"]
            if path.suffix == ".tif":
                assert img.mode == "1" and getattr(img, "n_frames", 1) >= 2  # cover sheet + document
                assert img.info["dpi"][0] == 200 and img.info["dpi"][1] in (100, 200)
                assert img.info["compression"] == "group4"


def test_when_distractors_are_labelled_then_they_appear_in_the_document(labels: list[dict]) -> None:
    for i in range(FIRST_BLOCK):
        case = make_case(plan("dev", i))
        data, texts = render(case)
        drawn = " ".join(texts)
        for d in case.distractors:
            assert d.display in drawn, (case.file, d)
        if case.fmt == "pdf":
            doc = pdfium.PdfDocument(data)
            text = " ".join(doc[p].get_textpage().get_text_range() for p in range(len(doc)))
            flat = " ".join(text.split())
            for d in case.distractors:
                assert " ".join(d.display.split()) in flat, (case.file, d.display)


def test_when_patient_is_not_shown_then_the_name_is_absent_from_the_drawn_text() -> None:
    hidden = [make_case(plan("dev", i)) for i in range(120)]
    hidden = [c for c in hidden if not c.show_patient][:3]
    assert hidden
    for case in hidden:
        _, texts = render(case)
        drawn = " ".join(texts).lower()
        assert case.patient.family.lower() not in drawn or any(
            case.patient.family.lower() in d.display.lower() for d in case.distractors), case.file


def test_when_a_small_count_is_generated_then_it_takes_a_few_seconds(tmp_path: Path) -> None:
    start = time.monotonic()
    generate("test", tmp_path, 3, jobs=1)
    assert time.monotonic() - start < 15
    assert len(list((tmp_path / "inputs").iterdir())) == 3
    assert (tmp_path / "CATALOG.md").read_text(encoding="utf-8").count("| `test_") == 3
