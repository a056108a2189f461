"""The held-out C-CDA corpus evaluation: judging reports against visible ground truth, counting, and scan degradation.

No corpus is read here: ground-truth rows and reports are built in the test, pages are drawn with Pillow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pytest
from fakes import text_image
from fpdf import FPDF
from PIL import Image

from evaluation.corpus import (
    Cause,
    GroundTruth,
    PainTruth,
    Verdict,
    degrade_page,
    degrade_pdf,
    expectation,
    field_score,
    judge,
    seed_for,
    summarise,
)
from pipeline.report import (
    Coverage,
    DiagnosisField,
    DiagnosisReport,
    Fields,
    NameField,
    PersonReport,
    Report,
    UploadReport,
)
from pipeline.types import Assertion, Category, Payer, Role, Status


def _row(patient: str | None = "Eve Betterhalf", patient_visible: bool = True,
         clinicians: tuple[tuple[str, bool], ...] = (("Patricia Patty Primary", True),),
         problems: tuple[tuple[str, bool, bool, bool], ...] = ()) -> GroundTruth:
    """A ground-truth row; problems are (display, pain_related, negated, visible)."""
    def name(full: str) -> dict[str, Any]:
        *given, family = full.split()
        return {"full": full, "given": given, "family": family}

    return GroundTruth.model_validate({
        "file": "xml/doc.xml", "html": "html/doc.html", "unknown_key": "ignored",
        "patient": {"name": name(patient), "name_visible": patient_visible} if patient else None,
        "clinicians": [{"role": "author", "name": name(c), "name_visible": v} for c, v in clinicians],
        "problems": [{"codes": [{"system": "SNOMED-CT", "code": "1", "display": d, "display_visible": vis,
                                 "code_visible": False}], "negated": neg, "pain_related": pain}
                     for d, pain, neg, vis in problems],
    })


def _report(patient: str | None = None, physician: str | None = None, pain: Category | None = None,
            diagnoses: tuple[tuple[Category, Assertion], ...] = (),
            people: tuple[tuple[str, Role], ...] = (), status: Status = Status.INCOMPLETE) -> Report:
    def nf(v: str | None) -> NameField:
        return NameField(value=v, confidence=0.9 if v else 0.0, evidence=[])

    return Report(
        status=status, reasons=[], upload=UploadReport(sha256="0" * 64, media_type=None, size_bytes=1),
        fields=Fields(patient_name=nf(patient), physician_name=nf(physician),
                      pain_diagnosis=DiagnosisField(value="x" if pain else None, confidence=0.9, evidence=[],
                                                    icd10=None, category=pain,
                                                    assertion=Assertion.AFFIRMED if pain else None)),
        diagnoses=[DiagnosisReport(text="d", icd10=None, description=None, category=c, assertion=a, section=None,
                                   confidence=0.9, evidence=[]) for c, a in diagnoses],
        people=[PersonReport(name=n, role=r, confidence=0.9, reason="r") for n, r in people],
        coverage=Coverage(payer=Payer.UNKNOWN, insurance_billable=None, reasons=[]),
        checks=[], pages=[], flags=[], error=None, versions={})


CHEST_PAIN = ("Chest pain", True, False, True)
PNEUMONIA = ("Pneumonia", False, False, True)


@pytest.mark.parametrize(("problems", "expected"), [
    ((CHEST_PAIN, PNEUMONIA), PainTruth.POSITIVE),
    ((PNEUMONIA,), PainTruth.NEGATIVE),
    ((), PainTruth.NEGATIVE),
    ((("Migraine", True, True, True),), PainTruth.NEGATIVE),  # negated: no live pain problem
    ((("Low back pain", True, False, False),), PainTruth.UNSCORED),  # live but not printed
])
def test_when_problems_differ_then_the_pain_truth_follows_visibility_and_negation(
        problems: tuple[tuple[str, bool, bool, bool], ...], expected: PainTruth) -> None:
    assert expectation(_row(problems=problems)).pain is expected


@pytest.mark.parametrize(("found", "verdict"), [
    ("Eve Betterhalf", Verdict.TP),
    ("BETTERHALF, EVE", Verdict.TP),  # "Family, Given" header
    ("Eve Q Betterhalf", Verdict.TP),  # middle initial
    ("Adam Everyman", Verdict.WRONG),
    (None, Verdict.MISSING),
])
def test_when_the_patient_value_varies_then_the_verdict_follows_the_name_match(
        found: str | None, verdict: Verdict) -> None:
    assert judge(_row(), _report(patient=found)).patient is verdict


def test_when_the_patient_name_is_not_printed_then_the_patient_is_not_scored() -> None:
    assert judge(_row(patient_visible=False), _report(patient="Someone Else")).patient is Verdict.UNSCORED


@pytest.mark.parametrize(("clinicians", "found", "verdict"), [
    ((("Henry Seven", True), ("Patricia Patty Primary", True)), "Patricia Primary", Verdict.TP),  # any visible one
    ((("Henry Seven", True), ("Patricia Patty Primary", False)), "Patricia Primary", Verdict.WRONG),  # invisible
    ((("Henry Seven", True),), None, Verdict.MISSING),
    ((("Henry Seven", False),), "Henry Seven", Verdict.UNSCORED),  # nothing visible: not scored
])
def test_when_clinicians_vary_then_any_visible_clinician_counts_as_the_physician(
        clinicians: tuple[tuple[str, bool], ...], found: str | None, verdict: Verdict) -> None:
    assert judge(_row(clinicians=clinicians), _report(physician=found)).physician is verdict


@pytest.mark.parametrize(("report", "pain", "mention", "cause"), [
    (_report(pain=Category.OTHER_PAIN, diagnoses=((Category.OTHER_PAIN, Assertion.AFFIRMED),)),
     Verdict.TP, Verdict.TP, None),
    (_report(), Verdict.MISSING, Verdict.MISSING, Cause.PAIN_NOT_EXTRACTED),
    (_report(diagnoses=((Category.OTHER_PAIN, Assertion.HISTORICAL),)), Verdict.MISSING, Verdict.TP,
     Cause.PAIN_NOT_AFFIRMED),
    (_report(diagnoses=((Category.MIGRAINE, Assertion.AFFIRMED),)), Verdict.MISSING, Verdict.TP,
     Cause.PAIN_NOT_CHOSEN),
    (_report(diagnoses=((Category.OTHER, Assertion.AFFIRMED),)), Verdict.MISSING, Verdict.MISSING,
     Cause.PAIN_NOT_EXTRACTED),
])
def test_when_a_pain_document_is_checked_then_recall_and_the_miss_cause_are_recorded(
        report: Report, pain: Verdict, mention: Verdict, cause: Cause | None) -> None:
    r = judge(_row(problems=(CHEST_PAIN,)), report)
    assert (r.pain, r.pain_mention) == (pain, mention)
    assert [m.cause for m in r.misses if m.field == "pain_diagnosis"] == ([cause] if cause else [])


@pytest.mark.parametrize(("report", "pain", "wrongly_complete"), [
    (_report(pain=Category.MIGRAINE, status=Status.COMPLETE), Verdict.FALSE_ALARM, True),
    (_report(pain=Category.MIGRAINE, status=Status.NEEDS_REVIEW), Verdict.FALSE_ALARM, False),
    (_report(diagnoses=((Category.MIGRAINE, Assertion.NEGATED),)), Verdict.TN, False),
])
def test_when_a_document_without_pain_is_checked_then_false_pain_is_a_false_positive(
        report: Report, pain: Verdict, wrongly_complete: bool) -> None:
    r = judge(_row(problems=(PNEUMONIA,)), report)
    assert r.pain is pain
    assert r.pain_mention is Verdict.UNSCORED
    assert r.wrongly_complete is wrongly_complete


@pytest.mark.parametrize(("report", "fld", "cause"), [
    (_report(people=(("Eve Betterhalf", Role.FAMILY_MEMBER),)), "patient_name", Cause.NAME_OTHER_ROLE),
    (_report(patient="Patricia Primary"), "patient_name", Cause.PATIENT_IS_CLINICIAN),
    (_report(), "patient_name", Cause.NAME_NOT_EXTRACTED),
    (_report(physician="Eve Betterhalf"), "physician_name", Cause.PHYSICIAN_IS_PATIENT),
    (_report(people=(("Patricia Primary", Role.OTHER_CLINICIAN),)), "physician_name", Cause.NAME_OTHER_ROLE),
    (_report(physician="Nancy Nightingale", people=(("Patricia Primary", Role.TREATING_PHYSICIAN),)),
     "physician_name", Cause.PHYSICIAN_IS_OTHER),
])
def test_when_a_name_is_missed_then_the_cause_says_whether_it_was_read_and_with_which_role(
        report: Report, fld: str, cause: Cause) -> None:
    assert cause in [m.cause for m in judge(_row(), report).misses if m.field == fld]


def test_when_the_pipeline_failed_then_expected_fields_are_false_negatives() -> None:
    r = judge(_row(problems=(CHEST_PAIN,)), None)
    assert (r.patient, r.physician, r.pain, r.status) == (Verdict.MISSING, Verdict.MISSING, Verdict.MISSING, None)
    assert [m.cause for m in r.misses] == [Cause.FAILED]


@pytest.mark.parametrize(("verdicts", "counts"), [
    ([Verdict.TP, Verdict.TP], (2, 0, 0)),
    ([Verdict.WRONG], (0, 1, 1)),  # a wrong value: fp and fn, as evaluation/scoring.py counts
    ([Verdict.MISSING, Verdict.FALSE_ALARM, Verdict.TN, Verdict.UNSCORED], (0, 1, 1)),
])
def test_when_verdicts_are_counted_then_the_scoring_convention_is_kept(
        verdicts: list[Verdict], counts: tuple[int, int, int]) -> None:
    s = field_score(verdicts)
    assert (s.tp, s.fp, s.fn) == counts


def test_when_a_corpus_is_summarised_then_false_pain_and_wrongly_complete_are_named() -> None:
    bad = judge(_row(problems=(PNEUMONIA,)), _report("Eve Betterhalf", "Patricia Primary", Category.MIGRAINE,
                                                     status=Status.COMPLETE))
    good = judge(_row(problems=(CHEST_PAIN,)), _report("Eve Betterhalf", "Patricia Primary", Category.OTHER_PAIN))
    s = summarise("c", "text", [bad, good], 1.0)
    assert s.false_pain_affirmed == ("xml/doc.xml",)
    assert s.wrongly_complete == ("xml/doc.xml",)
    assert s.scores["patient_name"].f1 == 1.0
    assert (s.scores["pain_diagnosis"].tp, s.scores["pain_diagnosis"].fp) == (1, 1)
    assert "Eve" not in str(s.to_json())  # codes only, no document text


def _page() -> Image.Image:
    return text_image(["Patient: Test Person", "Diagnosis: low back pain"], size=(500, 200)).convert("RGB")


@pytest.mark.parametrize(("seed_a", "seed_b", "same"), [(7, 7, True), (7, 8, False)])
def test_when_a_page_is_degraded_then_the_pixels_depend_only_on_the_seed(seed_a: int, seed_b: int,
                                                                          same: bool) -> None:
    a, b = np.asarray(degrade_page(_page(), seed_a)), np.asarray(degrade_page(_page(), seed_b))
    assert np.array_equal(a, b) is same
    assert a.shape == (200, 500)
    assert not np.array_equal(a, np.asarray(_page().convert("L")))  # it did degrade


def test_when_a_file_name_is_seeded_then_the_seed_is_stable() -> None:
    assert seed_for("a.pdf") == seed_for("a.pdf") != seed_for("b.pdf")


def test_when_a_text_pdf_is_degraded_then_the_output_is_image_only_and_reproducible(tmp_path: Path) -> None:
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(72, 72, "Patient: Test Person")
    src = tmp_path / "text.pdf"
    pdf.output(str(src))
    with pdfplumber.open(src) as doc:
        assert doc.pages[0].extract_words()  # the source has a text layer
    first = degrade_pdf(src, tmp_path / "out" / "a.pdf", seed=3, dpi=100)
    second = degrade_pdf(src, tmp_path / "out" / "b.pdf", seed=3, dpi=100)
    with pdfplumber.open(first) as doc:
        assert len(doc.pages) == 1
        assert not doc.pages[0].extract_words()
        assert len(doc.pages[0].images) == 1
    assert _first_image(first) == _first_image(second)


def _first_image(path: Path) -> bytes:
    with pdfplumber.open(path) as doc:
        data: bytes = doc.pages[0].images[0]["stream"].get_data()
        return data


# Regression: the ground truth's "full" name of a clinician without given/family parts carried its credential
# ("Albert Davis, M. D."), so the right physician was scored as a wrong value.
@pytest.mark.parametrize(("full", "found", "verdict"), [
    ("Albert Davis, M. D.", "Albert Davis", Verdict.TP),
    ("Albert Davis, M.D.", "Albert Davis", Verdict.TP),
    ("Dr. Albert Davis", "Albert Davis", Verdict.TP),
    ("Davis, Albert, MD", "Albert Davis", Verdict.TP),
    ("Albert Davis, M. D.", "Tracy Davis", Verdict.WRONG),
])
def test_when_a_clinicians_full_name_carries_credentials_then_the_name_without_them_matches(
        full: str, found: str, verdict: Verdict) -> None:
    row = GroundTruth.model_validate({
        "file": "xml/doc.xml", "html": "html/doc.html",
        "clinicians": [{"role": "author", "name": {"full": full}, "name_visible": True}],
    })
    assert judge(row, _report(physician=found)).physician is verdict
