"""The case report: the JSON contract of a case (several uploads of one patient judged together).

The same contract as an upload's report (status, reasons, fields with evidence, checks, coverage, versions), with
each piece of evidence naming the upload it was seen on, plus every upload's own report (docs/POLICY.md "Cases").
Every model is frozen and rejects unknown keys, like `pipeline.report`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from pipeline.report import Check, Coverage, EvidenceReport, Report
from pipeline.types import Assertion, Category, IdentifierKind, Identity, Payer, Status

CASE_SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseEvidenceReport(EvidenceReport):
    """One piece of evidence and the upload (id, file name) it was seen on; `page` is that upload's page."""

    upload_id: str
    file_name: str

    @classmethod
    def on(cls, upload_id: str, file_name: str, evidence: EvidenceReport) -> CaseEvidenceReport:
        """The evidence of an upload's report, tagged with that upload."""
        return cls(**evidence.model_dump(), upload_id=upload_id, file_name=file_name)


class CaseNameField(_Model):
    value: str | None
    confidence: float
    evidence: list[CaseEvidenceReport]
    reason: str | None = None
    credentials: list[str] = []


class CaseDiagnosisField(_Model):
    value: str | None
    confidence: float
    evidence: list[CaseEvidenceReport]
    icd10: str | None
    category: Category | None
    description: str | None = None
    assertion: Assertion | None = None
    reason: str | None = None


class CaseFields(_Model):
    patient_name: CaseNameField
    physician_name: CaseNameField
    pain_diagnosis: CaseDiagnosisField


class IdentifierReport(_Model):
    kind: IdentifierKind
    value: str
    page: int | None


class CaseUploadReport(_Model):
    """One upload of the case: how it is tied to the patient, what identifiers it prints, and its own report."""

    upload_id: str
    file_name: str
    identity: Identity
    identity_reason: str
    identifiers: list[IdentifierReport]
    report: Report


class CaseIntakeReport(_Model):
    patient_name: str | None
    payer: Payer
    external_id: str | None


class CaseReport(_Model):
    schema_version: str = CASE_SCHEMA_VERSION
    kind: Literal["case"] = "case"
    status: Status
    reasons: list[str]
    intake: CaseIntakeReport
    fields: CaseFields
    checks: list[Check]
    coverage: Coverage
    uploads: list[CaseUploadReport]
    versions: dict[str, str]
    # What to tell the patient when the case is not complete: which piece is still missing, in plain words.
    patient_message: str | None = None

    def check(self, check_id: str) -> Check | None:
        """The check with this id, if it was run."""
        return next((c for c in self.checks if c.id == check_id), None)

    def upload(self, upload_id: str) -> CaseUploadReport | None:
        """The upload with this id, if it belongs to the case."""
        return next((u for u in self.uploads if u.upload_id == upload_id), None)


_STATUS_WORDS = {
    Status.COMPLETE: "COMPLETE — together, the uploads show the patient, the treating physician and a pain diagnosis",
    Status.INCOMPLETE: "INCOMPLETE — something required is missing from every upload",
    Status.NEEDS_REVIEW: "NEEDS REVIEW — a coordinator should look at this case",
    Status.REJECTED: "REJECTED — none of the files could be read",
}


def render_case_text(report: CaseReport) -> str:
    """A readable summary of a case for a person at a terminal (plain text; callers escape for other media)."""
    lines = [f"case: {_STATUS_WORDS[report.status]}"]
    lines += [f"  - {r}" for r in report.reasons]
    if report.patient_message:
        lines.append(f"  For the patient: {report.patient_message}")
    f = report.fields
    for label, value, confidence, evidence in (
            ("Patient", f.patient_name.value, f.patient_name.confidence, f.patient_name.evidence),
            ("Physician", f.physician_name.value, f.physician_name.confidence, f.physician_name.evidence),
            ("Diagnosis", f"{f.pain_diagnosis.value} [{f.pain_diagnosis.icd10} {f.pain_diagnosis.category}]"
             if f.pain_diagnosis.value else None, f.pain_diagnosis.confidence, f.pain_diagnosis.evidence)):
        if value is None:
            lines.append(f"  {label + ':':<11}not found")
            continue
        where = sorted({f"{e.file_name.replace(chr(10), ' ').replace(chr(13), ' ')} page {e.page}"
                        for e in evidence})
        lines.append(f"  {label + ':':<11}{value}  confidence {confidence:.2f} (on {'; '.join(where)})")
    cov = report.coverage
    billable = {True: "yes", False: "no", None: "unknown"}[cov.insurance_billable]
    lines.append(f"  Insurance billable: {billable} ({'; '.join(cov.reasons)})")
    for c in report.checks:
        lines.append(f"  check {c.id}: {c.result} — {c.detail}")
    lines.append("  Uploads:")
    for u in report.uploads:
        name = u.file_name.replace("\n", " ").replace("\r", " ")
        lines.append(f"    {name}: {u.report.status} — {u.identity} ({u.identity_reason})")
    return "\n".join(lines)
