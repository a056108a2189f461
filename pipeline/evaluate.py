"""Evaluation: findings + intake + policy → field statuses, checks, coverage and the verdict.

The verdict rule (README, "Status rule"):
- rejected: the upload could not be read (see `rejected_report`);
- incomplete: the patient, the treating physician or a pain diagnosis (affirmed or uncertain) is absent;
- needs_review: all three are present but something is doubtful — a field below the confidence threshold, the
  name differs from the intake name, several candidate patients, a near-tie between physicians, only an uncertain
  pain diagnosis, or active content in the PDF;
- complete: otherwise.
Wrongly marking a document complete is the costliest error, so every doubt leads to needs_review, never complete.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import DocverifyError
from pipeline.names import match_intake
from pipeline.policy import Policy
from pipeline.report import (
    Check,
    Coverage,
    DiagnosisField,
    DiagnosisReport,
    ErrorReport,
    EvidenceReport,
    Fields,
    NameField,
    PageReport,
    PersonReport,
    Report,
    UploadReport,
)
from pipeline.types import (
    COMPLAINT_SECTIONS,
    DIAGNOSTIC_SECTIONS,
    Assertion,
    Category,
    CheckResult,
    DiagnosisMention,
    Document,
    Findings,
    Payer,
    Role,
    Source,
    Status,
)


@dataclass(frozen=True, slots=True)
class Intake:
    """What the patient or coordinator said at upload time."""

    patient_name: str | None = None
    payer: Payer = Payer.UNKNOWN


# Reasons that other stages recognise (a case reads its uploads' reports: docs/POLICY.md "Cases").
NO_PATIENT = "no patient name found"
NO_PHYSICIAN = "no treating physician found"
NAME_DIFFERS = "the patient name on the document does not match the name given at upload"
UNCERTAIN_ONLY = "the only pain diagnosis is uncertain (possible / rule-out)"
WEAK_ONLY = "pain is named only as a complaint or plan item, not as a diagnosis"
UNLABELLED_PHYSICIAN = ("the physician is named with no treating label or signature, and the learned ranker confirms "
                        "them only with confidence {:.2f} (below {:.2f})")

_PAYER_NAMES = {Payer.MEDICARE: "Medicare", Payer.MEDICAID: "Medicaid", Payer.TRICARE: "TRICARE",
                Payer.CHAMPVA: "CHAMPVA", Payer.SELF_PAY: "self-pay", Payer.COMMERCIAL: "commercial",
                Payer.UNKNOWN: "unknown"}

@dataclass(frozen=True, slots=True)
class PainChoice:
    """The pain diagnosis that meets the rule (or None), and what else was seen.

    An affirmed pain mention counts when it is stated as a diagnosis: in a diagnostic section (diagnoses, problem
    list, assessment, past medical history) or where the document has no recognised section (portal screenshots).
    A pain condition named only as a complaint, finding or plan item ("Chief complaint: chronic pain") is weaker
    evidence (docs/POLICY.md): it does not count when the document's own diagnostic sections list no affirmed pain
    diagnosis, and it sends the document to review when the document has no diagnostic section at all.
    """

    chosen: DiagnosisMention | None
    weak_only: DiagnosisMention | None  # a complaint/plan-only pain mention in a document without diagnostic sections
    complaint_only: bool  # pain named only in complaint/plan sections, contradicted by the diagnostic sections
    uncertain: bool


def on_pages(diagnoses: tuple[DiagnosisMention, ...], pages: tuple[int, ...] | None) -> tuple[DiagnosisMention, ...]:
    """The diagnoses printed on `pages`: the chosen patient's when the upload holds another patient's record too
    (`Findings.patient_pages`; a diagnosis on another patient's page is not this patient's). None: all of them."""
    if pages is None:
        return diagnoses
    return tuple(d for d in diagnoses if not d.evidence or d.evidence[0].page in pages)


def choose_pain_diagnosis(diagnoses: tuple[DiagnosisMention, ...]) -> PainChoice:
    """Apply the documentation rule's diagnosis part (see `PainChoice`)."""
    pain = [d for d in diagnoses if d.category.is_pain]
    affirmed = [d for d in pain if d.assertion is Assertion.AFFIRMED]
    uncertain = any(d.assertion is Assertion.UNCERTAIN for d in pain)
    strong = [d for d in affirmed if d.section not in COMPLAINT_SECTIONS]
    weak = [d for d in affirmed if d.section in COMPLAINT_SECTIONS]
    if strong:
        # docs/POLICY.md decision 10: a named category before other_pain ("Migraine with aura" before "headache")
        best = max(strong, key=lambda d: (d.section in DIAGNOSTIC_SECTIONS, d.category is not Category.OTHER_PAIN,
                                          d.confidence, d.icd10 is not None))
        return PainChoice(best, None, False, uncertain)
    has_diagnostic_section = any(d.section in DIAGNOSTIC_SECTIONS for d in diagnoses)
    if weak and not has_diagnostic_section:
        return PainChoice(None, max(weak, key=lambda d: d.confidence), False, uncertain)
    return PainChoice(None, None, bool(weak), uncertain)


def evaluate(document: Document, findings: Findings, intake: Intake, policy: Policy,
             versions: dict[str, str]) -> Report:
    """The report for a document that was read; never raises for document content."""
    threshold = policy.thresholds.field_min_confidence
    reasons: list[str] = []
    checks: list[Check] = []
    missing: list[str] = []
    doubtful: list[str] = []

    patient, physician = findings.patient, findings.physician
    if patient.person is None and patient.ambiguous:
        doubtful.append(patient.reason)  # e.g. only the intake's surname is printed: a person must look
    elif patient.person is None:
        missing.append(NO_PATIENT)
    else:
        if patient.person.confidence < threshold:
            doubtful.append(f"patient name read with low confidence ({patient.person.confidence:.2f})")
        several = patient.ambiguous and patient.doubt is None
        checks.append(Check(id="single_patient", result=CheckResult.FAIL if several else CheckResult.PASS,
                            detail=patient.reason))
        if patient.doubt is not None:
            doubtful.append(patient.doubt)  # e.g. the intake names the patient's relative, not the patient
        elif several:
            doubtful.append("several different patient names in one document")
    if physician.person is None and physician.ambiguous:
        doubtful.append(physician.reason)  # e.g. "Dr. Ferreira" alone: a physician, but not named well enough
    elif physician.person is None:
        missing.append(NO_PHYSICIAN)
    else:
        unlabelled_min = policy.thresholds.unlabelled_physician_min_confidence
        if physician.person.confidence < threshold and physician.doubt is None:
            doubtful.append(f"physician name read with low confidence ({physician.person.confidence:.2f})")
        elif physician.person.role is Role.OTHER_CLINICIAN and physician.person.confidence < unlabelled_min:
            # docs/POLICY.md "Thresholds": no treating label or signature, and the learned ranker not sure enough
            doubtful.append(UNLABELLED_PHYSICIAN.format(physician.person.confidence, unlabelled_min))
        checks.append(Check(id="treating_physician_unambiguous",
                            result=CheckResult.FAIL if physician.ambiguous else CheckResult.PASS,
                            detail=physician.reason))
        if physician.doubt is not None:
            doubtful.append(physician.doubt)
        elif physician.ambiguous:
            doubtful.append("more than one physician could be the treating physician")

    own = on_pages(findings.diagnoses, findings.patient_pages)
    choice = choose_pain_diagnosis(own)
    pain, uncertain = choice.chosen, choice.uncertain
    if pain is None and choice.weak_only is not None:
        doubtful.append(WEAK_ONLY)
    elif pain is None and not uncertain:
        missing.append(_no_pain_reason(own, choice.complaint_only))
    elif pain is None:
        doubtful.append(UNCERTAIN_ONLY)
    elif pain.confidence < threshold:
        doubtful.append(f"pain diagnosis read with low confidence ({pain.confidence:.2f})")
    checks.append(Check(id="pain_diagnosis_affirmed",
                        result=CheckResult.PASS if pain else (
                            CheckResult.UNKNOWN if uncertain or choice.weak_only else CheckResult.FAIL),
                        detail=_pain_detail(choice) + _other_patients_pages(findings)))

    if intake.patient_name:
        if patient.person is None:
            checks.append(Check(id="patient_name_matches_intake", result=CheckResult.UNKNOWN,
                                detail="no patient name found to compare"))
        else:
            # docs/POLICY.md "Thresholds": spelling tolerance only for a name that OCR read.
            read = any(e.source is Source.OCR for e in patient.person.evidence)
            t = policy.thresholds
            m = match_intake(intake.patient_name, patient.person.normalized,
                             t.name_match_min if read else t.name_match_min_text)
            checks.append(Check(id="patient_name_matches_intake", result=m.result, detail=m.detail))
            if m.result is not CheckResult.PASS:
                doubtful.append(NAME_DIFFERS)

    if "active_content" in document.flags:
        checks.append(Check(id="active_content", result=CheckResult.FAIL,
                            detail="the PDF contains scripts, actions or embedded files"))
        doubtful.append("the PDF contains active content (scripts or embedded files)")

    unread = [p for p in document.pages if p.unread]
    if unread:
        listed = ", ".join(f"page {p.number} ({p.unread})" for p in unread)
        checks.append(Check(id="every_page_read", result=CheckResult.FAIL, detail=f"not read: {listed}"))
        if missing:
            # A missing field could be on a page that was not read: a person must look (docs/POLICY.md "Status rule").
            doubtful.append(f"{listed} could not be read; what is missing may be on it")
    if missing and not unread:
        status = Status.INCOMPLETE
        reasons = missing + doubtful
    elif missing:
        status = Status.NEEDS_REVIEW
        reasons = missing + doubtful
    elif doubtful:
        status = Status.NEEDS_REVIEW
        reasons = doubtful
    else:
        status = Status.COMPLETE
        reasons = ["patient, treating physician and an affirmed pain diagnosis found"]
        if unread:
            reasons.append(f"{listed} could not be read; nothing required is missing")

    return Report(
        status=status,
        reasons=reasons,
        upload=UploadReport(sha256=document.sha256, media_type=document.media_type.value,
                            size_bytes=document.size_bytes),
        fields=Fields(
            patient_name=NameField.of(patient.person, patient.reason),
            physician_name=NameField.of(physician.person, physician.reason),
            pain_diagnosis=_diagnosis_field(pain, uncertain),
        ),
        diagnoses=[DiagnosisReport.of(d) for d in findings.diagnoses],
        people=[PersonReport(name=p.normalized, role=p.role, confidence=round(p.confidence, 3), reason=p.reason)
                for p in findings.people],
        coverage=coverage(intake.payer, own, policy),
        checks=checks,
        pages=[PageReport(page=p.number, source=p.source, reason=p.reason, words=len(p.words),
                          mean_confidence=round(p.mean_confidence, 3), unread=p.unread) for p in document.pages],
        flags=list(document.flags),
        error=None,
        versions=versions,
    )


def coverage(payer: Payer, diagnoses: tuple[DiagnosisMention, ...], policy: Policy) -> Coverage:
    """Insurance billability: a commercial payer and an affirmed pain diagnosis (docs/POLICY.md)."""
    choice = choose_pain_diagnosis(diagnoses)
    mental = any(d.category is Category.MENTAL_HEALTH and d.assertion is Assertion.AFFIRMED for d in diagnoses)
    return billability(payer, choice.chosen.category if choice.chosen else None, mental=mental,
                       uncertain=choice.uncertain or choice.weak_only is not None, policy=policy)


def billability(payer: Payer, pain: Category | None, *, mental: bool, uncertain: bool, policy: Policy) -> Coverage:
    """The billable rule (docs/POLICY.md) on what was found: the affirmed pain diagnosis's category (None: none),
    whether an affirmed mental-health diagnosis stands, and whether a pain diagnosis is only uncertain. One upload's
    report and a case's report both decide by it."""
    if payer in policy.non_billable_payers:
        return Coverage(payer=payer, insurance_billable=False, reasons=[superbill_reason(payer)])
    if pain is None:
        if mental:
            return Coverage(payer=payer, insurance_billable=False,
                            reasons=["superbill only: mental-health diagnosis"])
        if uncertain:
            return Coverage(payer=payer, insurance_billable=None, reasons=["pain diagnosis uncertain"])
        return Coverage(payer=payer, insurance_billable=False, reasons=["no pain diagnosis found"])
    if payer is Payer.UNKNOWN:
        return Coverage(payer=payer, insurance_billable=None,
                        reasons=["payer unknown", f"affirmed pain diagnosis ({pain})"])
    return Coverage(payer=payer, insurance_billable=True,
                    reasons=["commercial payer", f"affirmed pain diagnosis ({pain})"])


def superbill_reason(payer: Payer) -> str:
    """The coverage reason for a payer that is never billed to insurance (`coverage.non_billable_payers`)."""
    return f"superbill only: {_PAYER_NAMES[payer]}"


def rejected_report(error: DocverifyError, *, sha256: str, media_type: str | None, size_bytes: int,
                    payer: Payer, versions: dict[str, str]) -> Report:
    """The report for an upload that could not be read: status rejected, a stable code, what to do."""
    empty_name = NameField(value=None, confidence=0.0, evidence=[])
    return Report(
        status=Status.REJECTED,
        reasons=[error.user_message],
        upload=UploadReport(sha256=sha256, media_type=media_type, size_bytes=size_bytes),
        fields=Fields(patient_name=empty_name, physician_name=empty_name,
                      pain_diagnosis=DiagnosisField(value=None, confidence=0.0, evidence=[], icd10=None,
                                                    category=None)),
        diagnoses=[], people=[],
        coverage=Coverage(payer=payer, insurance_billable=None, reasons=["document could not be read"]),
        checks=[], pages=[], flags=[],
        error=ErrorReport(code=error.code, message=error.user_message),
        versions=versions,
    )


def _diagnosis_field(pain: DiagnosisMention | None, uncertain: bool) -> DiagnosisField:
    if pain is None:
        reason = "only an uncertain pain diagnosis" if uncertain else "no affirmed pain diagnosis"
        return DiagnosisField(value=None, confidence=0.0, evidence=[], icd10=None, category=None, reason=reason)
    return DiagnosisField(value=pain.text, confidence=round(pain.confidence, 3),
                          evidence=[EvidenceReport.of(e) for e in pain.evidence], icd10=pain.icd10,
                          category=pain.category, description=pain.description, assertion=pain.assertion,
                          reason=f"affirmed {pain.category} diagnosis"
                          + (f" in {pain.section}" if pain.section else ""))


def _no_pain_reason(diagnoses: tuple[DiagnosisMention, ...], complaint_only: bool) -> str:
    if complaint_only:
        return "pain is named only as a complaint or plan item; the diagnoses listed include no pain diagnosis"
    pain = [d for d in diagnoses if d.category.is_pain]
    if any(d.category is Category.MENTAL_HEALTH and d.assertion is Assertion.AFFIRMED for d in diagnoses) and not pain:
        return "no pain diagnosis: only mental-health diagnoses (superbill)"
    if pain:
        kinds = sorted({d.assertion.value for d in pain})
        return f"no affirmed pain diagnosis (pain mentions are {', '.join(kinds)})"
    return "no pain diagnosis found"


def _other_patients_pages(findings: Findings) -> str:
    """A note on the pain check when diagnoses of another patient's pages were set aside (no names)."""
    if findings.patient_pages is None:
        return ""
    aside = sorted({d.evidence[0].page for d in findings.diagnoses if d.category.is_pain and d.evidence
                    and d.evidence[0].page not in findings.patient_pages and d.evidence[0].page is not None})
    if not aside:
        return ""
    return f"; pain diagnoses on page {', '.join(map(str, aside))}, another patient's record, not counted"


def _pain_detail(choice: PainChoice) -> str:
    if choice.chosen is not None:
        return f"{choice.chosen.category} ({choice.chosen.icd10 or 'no code'})"
    if choice.weak_only is not None:
        return "pain named only as a complaint or plan item"
    return "only uncertain pain mentions" if choice.uncertain else "none affirmed"
