"""End to end over every bundled sample: each labeled upload gets the verdict, fields and error code its label says.

This is the acceptance test of the core path (real pdfplumber, tesseract, spaCy/medspaCy; nothing faked). The
samples are read once per session with one worker per core.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.scoring import Label, load_labels, score
from flows.runner import Job, check_many
from pipeline.evaluate import Intake
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Field, Status

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
LABELS = load_labels(SAMPLES / "labels.jsonl")


@pytest.fixture(scope="session")
def reports() -> dict[str, Report]:
    jobs = [Job(SAMPLES / "inputs" / lb.file, Intake(lb.intake.patient_name, lb.intake.payer)) for lb in LABELS]
    out: dict[str, Report] = {}
    for outcome in check_many(jobs, Settings()):
        assert outcome.report is not None, f"{outcome.job.path.name} failed with {outcome.error_code}"
        out[outcome.job.path.name] = outcome.report
    return out


@pytest.mark.slow
@pytest.mark.parametrize("label", LABELS, ids=[lb.file for lb in LABELS])
def test_when_a_sample_is_checked_then_the_report_matches_its_label(label: Label, reports: dict[str, Report]) -> None:
    report = reports[label.file]
    exp = label.expected
    assert report.status is exp.status, f"{label.purpose}: {report.reasons}"
    if exp.status is Status.REJECTED:
        assert report.error is not None and report.error.code == exp.error_code
        return
    assert report.error is None
    s = score([(label, report)])
    for field in Field:
        assert s.fields[field].fp == 0 and s.fields[field].fn == 0, [m for m in s.mistakes if m.what == field.value]


@pytest.mark.slow
def test_when_all_samples_are_scored_then_the_issue_goals_hold(reports: dict[str, Report]) -> None:
    s = score([(lb, reports[lb.file]) for lb in LABELS])
    assert len(LABELS) >= 40
    assert s.wrongly_complete == ()
    for field, fs in s.fields.items():
        assert fs.f1 >= 0.95, f"{field}: F1 {fs.f1:.3f}"


@pytest.mark.slow
def test_when_a_field_is_found_then_it_carries_evidence_with_page_and_box(reports: dict[str, Report]) -> None:
    checked = 0
    for report in reports.values():
        for field in (report.fields.patient_name, report.fields.physician_name, report.fields.pain_diagnosis):
            if field.value is None:
                continue
            checked += 1
            assert field.evidence, "a finding without evidence"
            ev = field.evidence[0]
            assert ev.page is not None and ev.page >= 1
            assert ev.bbox is not None and ev.bbox[0] < ev.bbox[2] and ev.bbox[1] < ev.bbox[3]
            assert ev.text.strip()
    assert checked > 60
