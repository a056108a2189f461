"""The completeness report: the JSON contract of `docverify check` and its text rendering.

Keys documented in README.md ("Report contract") are stable; new keys may be added, none removed or renamed.
Every model is frozen and rejects unknown keys, so a report read back from disk is validated too.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict

from pipeline.rulefiles import rule_files
from pipeline.types import (
    Assertion,
    Category,
    CheckResult,
    DiagnosisMention,
    Evidence,
    Payer,
    PersonMention,
    Role,
    SectionKind,
    Source,
    Status,
)

SCHEMA_VERSION = "1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdjustmentReport(_Model):
    reason: str
    delta: float


class EvidenceReport(_Model):
    page: int | None
    text: str
    bbox: list[float] | None
    source: Source
    finder: str
    rule: str
    score: float
    adjustments: list[AdjustmentReport] = []

    @classmethod
    def of(cls, ev: Evidence) -> EvidenceReport:
        """The report form of one piece of evidence."""
        return cls(page=ev.page, text=ev.snippet, bbox=ev.bbox.as_list() if ev.bbox else None, source=ev.source,
                   finder=ev.finder, rule=ev.rule, score=round(ev.original_score, 3),
                   adjustments=[AdjustmentReport(reason=a.reason, delta=round(a.delta, 3)) for a in ev.adjustments])


class NameField(_Model):
    value: str | None
    confidence: float
    evidence: list[EvidenceReport]
    reason: str | None = None
    credentials: list[str] = []

    @classmethod
    def of(cls, person: PersonMention | None, reason: str) -> NameField:
        """The report field for a chosen person (or its absence, with the reason)."""
        if person is None:
            return cls(value=None, confidence=0.0, evidence=[], reason=reason)
        return cls(value=person.normalized, confidence=round(person.confidence, 3),
                   evidence=[EvidenceReport.of(e) for e in person.evidence], reason=reason,
                   credentials=list(person.credentials))


class DiagnosisField(_Model):
    value: str | None
    confidence: float
    evidence: list[EvidenceReport]
    icd10: str | None
    category: Category | None
    description: str | None = None
    assertion: Assertion | None = None
    reason: str | None = None


class DiagnosisReport(_Model):
    text: str
    icd10: str | None
    description: str | None
    category: Category
    assertion: Assertion
    section: SectionKind | None
    confidence: float
    evidence: list[EvidenceReport]

    @classmethod
    def of(cls, d: DiagnosisMention) -> DiagnosisReport:
        """The report form of one diagnosis mention."""
        return cls(text=d.text, icd10=d.icd10, description=d.description, category=d.category,
                   assertion=d.assertion, section=d.section, confidence=round(d.confidence, 3),
                   evidence=[EvidenceReport.of(e) for e in d.evidence])


class PersonReport(_Model):
    name: str
    role: Role
    confidence: float
    reason: str


class Fields(_Model):
    patient_name: NameField
    physician_name: NameField
    pain_diagnosis: DiagnosisField


class Coverage(_Model):
    payer: Payer
    insurance_billable: bool | None
    reasons: list[str]


class Check(_Model):
    id: str
    result: CheckResult
    detail: str


class ErrorReport(_Model):
    code: str
    message: str


class PageReport(_Model):
    page: int
    source: Source
    reason: str
    words: int
    mean_confidence: float
    unread: str | None = None  # the error code of a page that could not be read (e.g. "ocr_timeout"); None: read


class UploadReport(_Model):
    sha256: str
    media_type: str | None
    size_bytes: int


class Report(_Model):
    schema_version: str = SCHEMA_VERSION
    status: Status
    reasons: list[str]
    upload: UploadReport
    fields: Fields
    diagnoses: list[DiagnosisReport]
    people: list[PersonReport]
    coverage: Coverage
    checks: list[Check]
    pages: list[PageReport]
    flags: list[str]
    error: ErrorReport | None
    versions: dict[str, str]

    def check(self, check_id: str) -> Check | None:
        """The check with this id, if it was run."""
        return next((c for c in self.checks if c.id == check_id), None)


def rules_versions() -> dict[str, str]:
    """sha256 (first 16 hex digits) of every rule, lexicon and policy file, keyed `rules/<name>`."""
    return {f"rules/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in rule_files()}


_STATUS_WORDS = {
    Status.COMPLETE: "COMPLETE — patient, treating physician and a pain diagnosis are shown",
    Status.INCOMPLETE: "INCOMPLETE — something required is missing",
    Status.NEEDS_REVIEW: "NEEDS REVIEW — a coordinator should look at this document",
    Status.REJECTED: "REJECTED — the file could not be read",
}


def render_text(report: Report, name: str = "") -> str:
    """A readable summary for a person at a terminal (plain text; the caller escapes for any other medium)."""
    lines = [f"{name}: {_STATUS_WORDS[report.status]}" if name else _STATUS_WORDS[report.status]]
    if report.error:
        lines.append(f"  error {report.error.code}: {report.error.message}")
        return "\n".join(lines)
    for reason in report.reasons:
        lines.append(f"  - {reason}")
    f = report.fields
    for label, field in (("Patient", f.patient_name), ("Physician", f.physician_name)):
        lines.append(f"  {label + ':':<11}{_field_line(field.value, field.confidence, field.evidence)}")
    dx = f.pain_diagnosis
    dx_value = f"{dx.value} [{dx.icd10} {dx.category}]" if dx.value else None
    lines.append(f"  {'Diagnosis:':<11}{_field_line(dx_value, dx.confidence, dx.evidence)}")
    others = [d for d in report.diagnoses if d.text != dx.value or d.assertion != Assertion.AFFIRMED]
    if others:
        lines.append("  Other diagnosis mentions:")
        for d in others[:12]:
            lines.append(f"    {d.text!r} {d.icd10 or '?'} {d.category} ({d.assertion})")
    cov = report.coverage
    billable = {True: "yes", False: "no", None: "unknown"}[cov.insurance_billable]
    lines.append(f"  Insurance billable: {billable} ({'; '.join(cov.reasons)})")
    for c in report.checks:
        lines.append(f"  check {c.id}: {c.result} — {c.detail}")
    return "\n".join(lines)


def _field_line(value: str | None, confidence: float, evidence: list[EvidenceReport]) -> str:
    if value is None:
        return "not found"
    where = f" (page {evidence[0].page}, {evidence[0].source})" if evidence and evidence[0].page else ""
    return f"{value}  confidence {confidence:.2f}{where}"
