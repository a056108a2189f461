"""Scoring reports against labels: the figures `docverify eval` prints and gates on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.scoring import Label, load_labels, score
from pipeline.errors import ConfigError
from pipeline.report import Coverage, DiagnosisField, ErrorReport, Fields, NameField, Report, UploadReport
from pipeline.types import Category, Field, Payer, Status


def _report(status: Status, patient: str | None, physician: str | None, category: Category | None,
            error: str | None = None) -> Report:
    def name(v: str | None) -> NameField:
        return NameField(value=v, confidence=0.9 if v else 0.0, evidence=[])

    return Report(status=status, reasons=[], upload=UploadReport(sha256="0" * 64, media_type=None, size_bytes=1),
                  fields=Fields(patient_name=name(patient), physician_name=name(physician),
                                pain_diagnosis=DiagnosisField(value="x" if category else None, confidence=0.9,
                                                              evidence=[], icd10=None, category=category)),
                  diagnoses=[], people=[], coverage=Coverage(payer=Payer.UNKNOWN, insurance_billable=None, reasons=[]),
                  checks=[], pages=[], flags=[], error=ErrorReport(code=error, message="m") if error else None,
                  versions={})


def _label(file: str, status: Status, patient: str | None, physician: str | None, category: Category | None,
           error: str | None = None) -> Label:
    return Label.model_validate({"file": file, "kind": "text_pdf", "purpose": "p", "intake": {"payer": "commercial"},
                                 "expected": {"status": status, "patient_name": patient, "physician_name": physician,
                                              "pain_category": category, "error_code": error}})


def test_when_every_report_matches_its_label_then_all_figures_are_perfect() -> None:
    pairs = [(_label("a", Status.COMPLETE, "Ana Diaz", "Li Wu", Category.CRPS),
              _report(Status.COMPLETE, "ANA DIAZ", "Li Wu", Category.CRPS))]
    s = score(pairs)
    assert all(fs.f1 == 1.0 for fs in s.fields.values())
    assert s.status_accuracy == 1.0
    assert s.wrongly_complete == ()
    assert s.mistakes == ()


def test_when_names_differ_only_in_order_accents_or_case_then_they_match() -> None:
    pairs = [(_label("a", Status.COMPLETE, "José Núñez", "Li Wu", None),
              _report(Status.COMPLETE, "Nunez, Jose", "WU LI", None))]
    assert score(pairs).fields[Field.PATIENT_NAME].tp == 1
    assert score(pairs).fields[Field.PHYSICIAN_NAME].tp == 1


def test_when_names_differ_only_in_letters_unicode_does_not_decompose_then_they_match() -> None:
    # regression: "Bjørn Ødegård" printed, "Bjorn Odegard" reported, counted as a miss (NFKD keeps ø whole)
    pairs = [(_label("a", Status.COMPLETE, "Bjørn Ødegård", "Łucja Bæk", None),
              _report(Status.COMPLETE, "Bjorn Odegard", "LUCJA BAEK", None))]
    assert score(pairs).fields[Field.PATIENT_NAME].tp == 1
    assert score(pairs).fields[Field.PHYSICIAN_NAME].tp == 1


def test_when_a_wrong_name_is_predicted_then_it_counts_as_false_positive_and_false_negative() -> None:
    s = score([(_label("a", Status.COMPLETE, "Ana Diaz", None, None),
                _report(Status.COMPLETE, "Tom Diaz", None, None))])
    fs = s.fields[Field.PATIENT_NAME]
    assert (fs.tp, fs.fp, fs.fn) == (0, 1, 1)
    assert fs.f1 == 0.0


def test_when_a_document_is_wrongly_marked_complete_then_it_is_counted_and_named() -> None:
    s = score([(_label("neg.pdf", Status.INCOMPLETE, "A B", "C D", None),
                _report(Status.COMPLETE, "A B", "C D", Category.MIGRAINE))])
    assert s.wrongly_complete == ("neg.pdf",)
    assert s.status_accuracy == 0.0
    assert s.confusion[(Status.INCOMPLETE, Status.COMPLETE)] == 1
    assert s.fields[Field.PAIN_DIAGNOSIS].fp == 1


def test_when_the_error_code_differs_then_it_is_a_mistake() -> None:
    s = score([(_label("x.pdf", Status.REJECTED, None, None, None, "pdf_encrypted"),
                _report(Status.REJECTED, None, None, None, "unreadable_file"))])
    assert [m.what for m in s.mistakes] == ["error_code"]
    assert s.status_accuracy == 1.0


def test_when_labels_file_has_an_unknown_key_then_config_error_names_the_line(tmp_path: Path) -> None:
    good = {"file": "a.pdf", "kind": "k", "purpose": "p", "intake": {}, "expected": {"status": "complete"}}
    bad = dict(good, colour="red")
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ConfigError, match="line 2"):
        load_labels(path)


def _printed(summary_only: bool) -> str:
    from rich.console import Console

    from evaluation.samples import print_scores

    pairs = [(_label("test_017.png", Status.INCOMPLETE, "Ana Diaz", "Li Wu", None),
              _report(Status.COMPLETE, "Tom Diaz", "Li Wu", Category.MIGRAINE))]
    con = Console(record=True, width=200)
    print_scores(score(pairs), {lb.file: r for lb, r in pairs}, con, summary_only=summary_only)
    return con.export_text()


def test_when_only_the_summary_is_asked_then_no_file_name_or_name_is_printed() -> None:
    # regression: scoring the varied test split printed its mistakes (file names, expected and found names) on screen
    text = _printed(summary_only=True)
    assert "Status accuracy 0.000" in text
    assert "Wrongly marked complete: 1" in text
    assert "patient_name" in text  # the per-field table is there
    for leaked in ("test_017", "Ana Diaz", "Tom Diaz", "Mistakes"):
        assert leaked not in text


def test_when_details_are_asked_then_each_mistake_is_printed_with_its_file() -> None:
    text = _printed(summary_only=False)
    assert "test_017.png: patient_name expected 'Ana Diaz', got 'Tom Diaz'" in text
    assert "Wrongly marked complete: 1 (test_017.png)" in text
