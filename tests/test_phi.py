"""No patient data leaves the report: logs, stdout/stderr and error texts carry ids and codes only (docs/THREAT-MODEL.md
item 49, for the core path; the Prefect and API sweeps come with those layers)."""

from __future__ import annotations

import logging

import pytest
from fpdf import FPDF

from flows.verify import check_bytes
from pipeline.evaluate import Intake
from pipeline.settings import Settings
from pipeline.types import Status

CANARY = "Zzcanary Qxj"
MRN = "CANARY-MRN-7"


def _note(extra: str = "") -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in (f"Patient: {CANARY}   DOB: 01/02/1970   MRN: {MRN}", "SSN 900-00-0000",
                 "Assessment: Fibromyalgia M79.7", "Electronically signed by Priya Raman, MD", extra):
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# Regression: pdfminer.psparser logged every parsed string (the patient's name, MRN, SSN) at DEBUG.
@pytest.mark.parametrize("data", [_note(), _note()[:900]], ids=["readable", "truncated"])
def test_when_a_document_with_a_canary_is_checked_then_no_log_or_output_contains_it(
        data: bytes, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    with caplog.at_level(logging.DEBUG):
        report = check_bytes(data, f"{CANARY}.pdf", Intake(patient_name=CANARY), Settings())
    out, err = capfd.readouterr()
    for haystack in (caplog.text, out, err):
        assert CANARY.lower() not in haystack.lower() and MRN not in haystack and "900-00-0000" not in haystack
    if report.status is Status.REJECTED:
        assert report.error is not None and CANARY.lower() not in report.error.message.lower()
    else:
        assert report.fields.patient_name.value == CANARY  # the report itself is where the name belongs
    assert CANARY.lower() not in report.upload.model_dump_json().lower()  # the file name is not kept in the report
