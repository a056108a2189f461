"""Judging a case: one coverage request (the intake and its uploads), from each upload's own report.

The rule (docs/POLICY.md "Cases"):
- a fact (treating physician, pain diagnosis) counts only from an upload that identifies the case's patient: it shows
  the name given at intake, or the same name and the same date of birth or MRN as an upload that does;
- a fact from an upload that names nobody (or a patient who cannot be tied to the intake) leads to needs_review at
  most, with a reason naming that upload;
- an upload naming a different patient (or several patients) makes the case needs_review, whatever the others show;
- the physician and the diagnosis may come from different uploads of the patient; two different treating physicians,
  or a pain diagnosis affirmed on one upload and negated on another, send the case to review.
Wrongly marking a case complete is the costliest error: every doubt leads to needs_review, never to complete.

Pure: no I/O. The caller reads and checks each upload (`flows.verify`) and passes the reports in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.case_report import (
    CaseDiagnosisField,
    CaseEvidenceReport,
    CaseFields,
    CaseIntakeReport,
    CaseNameField,
    CaseReport,
    CaseUploadReport,
    IdentifierReport,
)
from pipeline.evaluate import (
    NAME_DIFFERS,
    NO_PATIENT,
    NO_PHYSICIAN,
    UNCERTAIN_ONLY,
    WEAK_ONLY,
    billability,
    superbill_reason,
)
from pipeline.names import match_intake, same_person
from pipeline.policy import Policy
from pipeline.report import Check, Coverage, EvidenceReport, NameField, Report
from pipeline.types import Assertion, Category, CheckResult, Identity, PatientIdentifier, Payer, Status


@dataclass(frozen=True, slots=True)
class CaseIntake:
    """What was given when the case was opened."""

    patient_name: str | None
    payer: Payer = Payer.UNKNOWN
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class CaseUpload:
    """One upload of a case: its id and display name, its own report and the identifiers it prints."""

    upload_id: str
    file_name: str
    report: Report
    identifiers: tuple[PatientIdentifier, ...] = ()


_COUNTED = (Identity.INTAKE_NAME, Identity.LINKED)
_UNTIED = (Identity.UNNAMED, Identity.UNCONFIRMED)


@dataclass(frozen=True, slots=True)
class FailedUpload:
    """An upload of the case that has no report because processing failed on our side (by its error code)."""

    upload_id: str
    file_name: str
    error_code: str


def judge_case(intake: CaseIntake, uploads: Sequence[CaseUpload], policy: Policy, versions: dict[str, str], *,
               failed: Sequence[FailedUpload] = ()) -> CaseReport:
    """The case report for these uploads (in the order they were received); `failed` uploads, which have no report,
    keep the case from complete. Never raises for document content."""
    ids = _identify(intake, uploads, policy.thresholds.name_match_min)
    entries = [CaseUploadReport(upload_id=u.upload_id, file_name=u.file_name, identity=ids[i][0],
                                identity_reason=ids[i][1],
                                identifiers=[IdentifierReport(kind=x.kind, value=x.value, page=x.page)
                                             for x in u.identifiers], report=u.report)
               for i, u in enumerate(uploads)]
    counted = [u for i, u in enumerate(uploads) if ids[i][0] in _COUNTED]
    untied = [u for i, u in enumerate(uploads) if ids[i][0] in _UNTIED]
    others = [u for i, u in enumerate(uploads) if ids[i][0] is Identity.OTHER_PATIENT]
    unreadable = [u for i, u in enumerate(uploads) if ids[i][0] is Identity.UNREADABLE]
    intake_report = CaseIntakeReport(patient_name=intake.patient_name, payer=intake.payer,
                                     external_id=intake.external_id)

    if not failed and (not uploads or len(unreadable) == len(uploads)):
        return _empty_case(intake_report, entries, uploads, policy, versions)

    missing: list[str] = []
    doubts: list[str] = [f"{_cite(u)} names a different patient than the case's patient ({ids[uploads.index(u)][1]})"
                         for u in others]
    doubts += [f"{_cite(u)} could not be read ({u.report.error.code if u.report.error else 'rejected'})"
               for u in unreadable]
    doubts += [f'upload "{_one_line(f.file_name)}" ({f.upload_id}) could not be processed ({f.error_code})'
               for f in failed]
    checks: list[Check] = []

    # The patient: shown on an upload that identifies them.
    anchors = [u for i, u in enumerate(uploads) if ids[i][0] is Identity.INTAKE_NAME]
    if intake.patient_name is None:
        doubts.append("no patient name was given for the case, so no upload can be tied to the case's patient")
    if anchors:
        patient = _name_field(counted, lambda r: r.fields.patient_name,
                              f"the name given for the case, shown on {len(counted)} of {len(uploads)} uploads")
    else:
        patient = CaseNameField(value=None, confidence=0.0, evidence=[], reason="no upload shows the patient's name")
    # A name that cannot be tied to the case's patient may be somebody else's: a person must look, even when the
    # other uploads show everything.
    named = [u for u in untied if u.report.fields.patient_name.value is not None]
    doubts += [f"{_cite(u)} names a patient who cannot be tied to the case's patient "
               f"({ids[uploads.index(u)][1]})" for u in named]
    if not anchors and not named and (intake.patient_name is not None or not others):
        missing.append("no upload shows the patient's name")
    checks.append(Check(id="uploads_same_patient",
                        result=CheckResult.FAIL if others else (CheckResult.PASS if not untied and not unreadable
                                                                else CheckResult.UNKNOWN),
                        detail=f"{len(counted)} of {len(uploads)} uploads identify the patient; {len(others)} name "
                               f"another patient; {len(untied)} cannot be tied to the patient"))

    physician = _physician(counted, untied, missing, doubts, checks, policy.thresholds.name_match_min)
    pain = _pain(counted, untied, missing, doubts, checks)

    # Doubts an upload raised about itself (low confidence, a near tie, only the patient's surname, active content,
    # ...). A pain doubt (only uncertain, only a complaint) does not count when an upload of the patient affirms one.
    for u in counted + untied:  # an untied upload's doubt ("only the surname is printed") may be about the patient
        for reason in _own_doubts(u.report):
            if pain.value is not None and reason in (UNCERTAIN_ONLY, WEAK_ONLY):
                continue
            doubts.append(f"{_cite(u)}: {reason}")

    if missing and not others and not failed:  # another patient's upload, or one we failed to read: a person looks
        status, reasons = Status.INCOMPLETE, missing + doubts
    elif missing or doubts:
        status, reasons = Status.NEEDS_REVIEW, doubts + missing
    else:
        status = Status.COMPLETE
        reasons = ["together, the uploads of the patient show the treating physician and an affirmed pain diagnosis"]
    message = None if status is Status.COMPLETE else _patient_message(patient, physician, pain, untied, others)
    return CaseReport(status=status, reasons=reasons, intake=intake_report,
                      fields=CaseFields(patient_name=patient, physician_name=physician, pain_diagnosis=pain),
                      checks=checks, coverage=_coverage(intake.payer, pain, counted, untied, policy),
                      uploads=entries, versions=versions, patient_message=message)


def _patient_message(patient: CaseNameField, physician: CaseNameField, pain: CaseDiagnosisField,
                     untied: list[CaseUpload], others: list[CaseUpload]) -> str:
    """Which piece is still missing, for the patient ("we have your diagnosis and your doctor's name, but no page
    shows your name"). Names no file and no value: the patient knows what they sent."""
    have = [what for what, shown in (("your name", patient.value), ("your doctor's name", physician.value),
                                     ("your diagnosis", pain.value)) if shown]
    problems: list[str] = []
    if patient.value is None:
        problems.append("no page shows your name")
    for what, shown, fact in (("your doctor's name", physician.value, "physician_name"),
                              ("your diagnosis", pain.value, "pain_diagnosis")):
        if shown is not None:
            continue
        if any(getattr(u.report.fields, fact).value for u in untied) and patient.value is not None:
            problems.append(f"the page that shows {what} does not show your name")
        else:
            problems.append(f"no page shows {what}")
    if others:
        problems.append("a page shows another person's name")
    if not problems:
        problems.append("a coordinator needs to check your pages")
    text = " and ".join(filter(None, [", ".join(have[:-1]), have[-1]])) if have else ""
    sentence = f"We have {text}, but {'; '.join(problems)}." if text else f"{'; '.join(problems)}."
    return sentence[0].upper() + sentence[1:]


def _identify(intake: CaseIntake, uploads: Sequence[CaseUpload], threshold: float) -> list[tuple[Identity, str]]:
    """Each upload's identity and why, in upload order."""
    out: list[tuple[Identity, str]] = []
    for u in uploads:
        r = u.report
        name = r.fields.patient_name.value
        single = r.check("single_patient")
        if r.status is Status.REJECTED:
            out.append((Identity.UNREADABLE, "the file could not be read"))
        elif single is not None and single.result is CheckResult.FAIL:
            out.append((Identity.OTHER_PATIENT, "it names several different patients"))
        elif name is None:
            out.append((Identity.UNNAMED, "it shows no patient name"))
        elif intake.patient_name is None:
            out.append((Identity.UNCONFIRMED, "no name was given for the case to compare with"))
        else:
            m = match_intake(intake.patient_name, name, threshold)
            if m.result is CheckResult.PASS:
                out.append((Identity.INTAKE_NAME, f"it shows the name given for the case ({m.detail})"))
            elif m.result is CheckResult.FAIL:
                out.append((Identity.OTHER_PATIENT, f"its patient's name differs from the case's ({m.detail})"))
            else:
                out.append((Identity.UNCONFIRMED, f"its patient's name cannot be compared with the case's "
                                                  f"({m.detail})"))
    # Second pass: an unconfirmed name is the patient when an upload showing the intake name prints the same name
    # (not contradicted) and the same date of birth or MRN.
    for i, u in enumerate(uploads):
        if out[i][0] is not Identity.UNCONFIRMED or intake.patient_name is None:
            continue
        name = u.report.fields.patient_name.value
        assert name is not None  # noqa: S101 (UNCONFIRMED with an intake name always has a name)
        for j, anchor in enumerate(uploads):
            if out[j][0] is not Identity.INTAKE_NAME:
                continue
            anchor_name = anchor.report.fields.patient_name.value or ""
            shared = {(x.kind, x.value) for x in u.identifiers} & {(x.kind, x.value) for x in anchor.identifiers}
            if shared and match_intake(anchor_name, name, threshold).result is not CheckResult.FAIL:
                kinds = " and ".join(sorted(k.value.replace("_", " ") for k, _ in shared))
                out[i] = (Identity.LINKED, f"the same name and {kinds} as {_cite(anchor)}")
                break
    return out


def _one_line(name: str) -> str:
    return name.replace("\n", " ").replace("\r", " ")


def _cite(u: CaseUpload) -> str:
    """How a reason names an upload: its file name (one line) and id."""
    return f'upload "{_one_line(u.file_name)}" ({u.upload_id})'


def _tagged(u: CaseUpload, evidence: list[EvidenceReport]) -> list[CaseEvidenceReport]:
    return [CaseEvidenceReport.on(u.upload_id, u.file_name, e) for e in evidence]


def _name_field(uploads: list[CaseUpload], get: Callable[[Report], NameField], reason: str) -> CaseNameField:
    """The first upload's name field, with the evidence of every given upload."""
    first = get(uploads[0].report)
    evidence = [e for u in uploads for e in _tagged(u, get(u.report).evidence)]
    return CaseNameField(value=first.value, confidence=first.confidence, evidence=evidence, reason=reason,
                         credentials=list(first.credentials))


def _physician(counted: list[CaseUpload], untied: list[CaseUpload], missing: list[str], doubts: list[str],
               checks: list[Check], threshold: float) -> CaseNameField:
    """The treating physician across the uploads; two different ones (anywhere in the case) need review."""
    shown = [u for u in counted if u.report.fields.physician_name.value]
    shown_untied = [u for u in untied if u.report.fields.physician_name.value]
    groups: list[list[CaseUpload]] = []
    for u in shown + shown_untied:
        value = u.report.fields.physician_name.value or ""
        for g in groups:
            if same_person(g[0].report.fields.physician_name.value or "", value, threshold):
                g.append(u)
                break
        else:
            groups.append([u])
    if len(groups) > 1:
        doubts.append("different treating physicians: " + "; ".join(
            f"{g[0].report.fields.physician_name.value} on {', '.join(_cite(u) for u in g)}" for g in groups))
    checks.append(Check(id="single_treating_physician",
                        result=CheckResult.FAIL if len(groups) > 1 else (
                            CheckResult.PASS if groups else CheckResult.UNKNOWN),
                        detail=f"{len(groups)} different treating physicians named across the uploads"))
    if shown:
        group = next(g for g in groups if g[0] in shown)
        return _name_field([u for u in group if u in shown], lambda r: r.fields.physician_name,
                           f"treating physician shown on {len([u for u in group if u in shown])} upload(s) of the "
                           f"patient")
    for u in shown_untied:
        doubts.append(f"{_cite(u)} names a treating physician, but nothing on it ties it to the case's patient")
    doubtful = [u for u in counted if u.report.fields.physician_name.value is None
                and NO_PHYSICIAN not in u.report.reasons and u.report.status is not Status.COMPLETE]
    if not shown_untied and not doubtful:
        missing.append("no upload of the patient shows the treating physician")
    return CaseNameField(value=None, confidence=0.0, evidence=[],
                         reason="no upload of the patient shows the treating physician")


def _pain(counted: list[CaseUpload], untied: list[CaseUpload], missing: list[str], doubts: list[str],
          checks: list[Check]) -> CaseDiagnosisField:
    """The pain diagnosis across the uploads; affirmed on one upload and negated on another needs review."""
    affirmed = [u for u in counted + untied if u.report.fields.pain_diagnosis.value]
    conflicts = []
    for u in affirmed:
        category = u.report.fields.pain_diagnosis.category
        for v in counted + untied:
            if v is not u and any(d.category is category and d.assertion is Assertion.NEGATED
                                  for d in v.report.diagnoses):
                conflicts.append(f"a {category} diagnosis is affirmed on {_cite(u)} but negated on {_cite(v)}")
    doubts += conflicts
    checks.append(Check(id="pain_diagnosis_consistent", result=CheckResult.FAIL if conflicts else CheckResult.PASS,
                        detail=f"{len(conflicts)} conflicts between uploads"))
    shown = [u for u in counted if u.report.fields.pain_diagnosis.value]
    if shown:
        first = shown[0].report.fields.pain_diagnosis
        same = [u for u in shown if u.report.fields.pain_diagnosis.category is first.category]
        return CaseDiagnosisField(
            value=first.value, confidence=first.confidence,
            evidence=[e for u in same for e in _tagged(u, u.report.fields.pain_diagnosis.evidence)],
            icd10=first.icd10, category=first.category, description=first.description, assertion=first.assertion,
            reason=f"{first.reason} on {_cite(shown[0])}")
    shown_untied = [u for u in untied if u.report.fields.pain_diagnosis.value]
    for u in shown_untied:
        doubts.append(f"{_cite(u)} shows a pain diagnosis, but nothing on it ties it to the case's patient")
    hedged = [u for u in counted + untied
              if (c := u.report.check("pain_diagnosis_affirmed")) is not None and c.result is CheckResult.UNKNOWN]
    if not shown_untied and not hedged:
        missing.append("no upload of the patient shows an affirmed pain diagnosis")
    for u in hedged:
        if u in untied:
            doubts.append(f"{_cite(u)} names pain only uncertainly or as a complaint, and nothing on it ties it to "
                          f"the case's patient")
    return CaseDiagnosisField(value=None, confidence=0.0, evidence=[], icd10=None, category=None,
                              reason="no upload of the patient shows an affirmed pain diagnosis")


def _own_doubts(r: Report) -> list[str]:
    """The doubts an upload's own evaluation raised, without what a case judges itself (missing fields, the name).

    `pipeline.evaluate` lists the missing items first (patient, physician, pain) and the doubts after them.
    """
    if r.status in (Status.COMPLETE, Status.REJECTED):
        return []
    reasons = list(r.reasons)
    if r.status is Status.INCOMPLETE:
        pain_check = r.check("pain_diagnosis_affirmed")
        n_missing = (NO_PATIENT in reasons) + (NO_PHYSICIAN in reasons) + (
            pain_check is not None and pain_check.result is CheckResult.FAIL)
        reasons = reasons[n_missing:]
    return [x for x in reasons if x != NAME_DIFFERS]


def _coverage(payer: Payer, pain: CaseDiagnosisField, counted: list[CaseUpload], untied: list[CaseUpload],
              policy: Policy) -> Coverage:
    """Insurance billability of the case: the upload rule (docs/POLICY.md "Billable rule") over counted facts."""
    mental = any(d.category is Category.MENTAL_HEALTH and d.assertion is Assertion.AFFIRMED
                 for u in counted for d in u.report.diagnoses)
    uncertain = any(u.report.fields.pain_diagnosis.value or (
        (c := u.report.check("pain_diagnosis_affirmed")) is not None and c.result is CheckResult.UNKNOWN)
        for u in counted + untied)
    return billability(payer, pain.category if pain.value is not None else None, mental=mental,
                       uncertain=uncertain, policy=policy)


def _empty_case(intake: CaseIntakeReport, entries: list[CaseUploadReport], uploads: Sequence[CaseUpload],
                policy: Policy, versions: dict[str, str]) -> CaseReport:
    """A case without uploads (incomplete) or whose every upload could not be read (rejected)."""
    nothing = CaseNameField(value=None, confidence=0.0, evidence=[])
    fields = CaseFields(patient_name=nothing, physician_name=nothing,
                        pain_diagnosis=CaseDiagnosisField(value=None, confidence=0.0, evidence=[], icd10=None,
                                                          category=None))
    if not uploads:
        status, reasons = Status.INCOMPLETE, ["no upload of the case has been read yet"]
    else:
        status = Status.REJECTED
        reasons = [f"{_cite(u)}: {u.report.reasons[0] if u.report.reasons else 'could not be read'}" for u in uploads]
    cov = Coverage(payer=intake.payer, insurance_billable=False if intake.payer in policy.non_billable_payers else None,
                   reasons=[superbill_reason(intake.payer)] if intake.payer in policy.non_billable_payers
                   else ["no document could be read"])
    return CaseReport(status=status, reasons=reasons, intake=intake, fields=fields, checks=[], coverage=cov,
                      uploads=entries, versions=versions)
