"""C-CDA problems: every coded Problem Observation with its ICD-10-CM code, assertion and section."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from extractors.ccda.snomed_map import SnomedMap
from extractors.ccda.tree import Tree, h, hl7, local, templates, text
from pipeline import icd10cm
from pipeline.codes import icd10_dotted
from pipeline.policy import Policy
from pipeline.types import Adjustment, Assertion, Category, DiagnosisMention, SectionKind

ICD10CM_OID = "2.16.840.1.113883.6.90"
SNOMED_OID = "2.16.840.1.113883.6.96"
PROBLEM_OBSERVATION = "2.16.840.1.113883.10.20.22.4.4"
PROBLEM_STATUS = "2.16.840.1.113883.10.20.22.4.6"
ENCOUNTER_DIAGNOSIS = "2.16.840.1.113883.10.20.22.4.80"
_PROBLEM_STATUS_LOINC = "33999-4"
_RESOLVED_STATUS_CODES = {"413322009", "73425007"}  # SNOMED CT: resolved, inactive
_ACTIVE_STATUS_CODES = {"55561003"}  # SNOMED CT: active

# Section templateId root → how the policy weighs a diagnosis found there (see pipeline.types section sets).
_SECTIONS: dict[str, SectionKind] = {
    "2.16.840.1.113883.10.20.22.2.5": SectionKind.PROBLEM_LIST,
    "2.16.840.1.113883.10.20.22.2.5.1": SectionKind.PROBLEM_LIST,
    "2.16.840.1.113883.10.20.22.2.22": SectionKind.DIAGNOSES,  # encounters (encounter diagnoses)
    "2.16.840.1.113883.10.20.22.2.22.1": SectionKind.DIAGNOSES,
    "2.16.840.1.113883.10.20.22.2.24": SectionKind.DIAGNOSES,  # hospital discharge diagnosis
    "2.16.840.1.113883.10.20.22.2.43": SectionKind.DIAGNOSES,  # hospital admission diagnosis
    "2.16.840.1.113883.10.20.22.2.34": SectionKind.DIAGNOSES,  # preoperative diagnosis
    "2.16.840.1.113883.10.20.22.2.35": SectionKind.DIAGNOSES,  # postoperative diagnosis
    "2.16.840.1.113883.10.20.22.2.36": SectionKind.DIAGNOSES,  # postprocedure diagnosis
    "2.16.840.1.113883.10.20.22.2.20": SectionKind.PAST_MEDICAL_HISTORY,
    "2.16.840.1.113883.10.20.22.2.8": SectionKind.ASSESSMENT,
    "2.16.840.1.113883.10.20.22.2.9": SectionKind.ASSESSMENT_AND_PLAN,
    "2.16.840.1.113883.10.20.22.2.10": SectionKind.PLAN,  # plan of treatment
    "2.16.840.1.113883.10.20.22.2.1": SectionKind.MEDICATIONS,  # a problem here is a medication's indication
    "2.16.840.1.113883.10.20.22.2.1.1": SectionKind.MEDICATIONS,
    "2.16.840.1.113883.10.20.22.2.12": SectionKind.CHIEF_COMPLAINT,  # reason for visit
    "2.16.840.1.113883.10.20.22.2.13": SectionKind.CHIEF_COMPLAINT,
    "1.3.6.1.4.1.19376.1.5.3.1.1.13.2.1": SectionKind.CHIEF_COMPLAINT,
    "1.3.6.1.4.1.19376.1.5.3.1.3.4": SectionKind.HPI,
    "1.3.6.1.4.1.19376.1.5.3.1.3.18": SectionKind.REVIEW_OF_SYSTEMS,
    "2.16.840.1.113883.10.20.2.10": SectionKind.PHYSICAL_EXAM,
}

# Confidence of a structured finding: the XML states it; what is left is whether the code says what the text says.
_CONF_ICD10 = 0.97
_CONF_MAPPED = 0.95
_CONF_UNCODED = 0.9
_DOUBTED_CODE_DELTA = -0.45  # code's category contradicts the display text: below the 0.6 review threshold


def problems_of(tree: Tree, policy: Policy, snomed: SnomedMap) -> Iterator[DiagnosisMention]:
    """Every Problem Observation with a code, wherever it sits (problem list, encounter diagnoses, history, …)."""
    for obs in tree.root.iter(hl7("observation")):
        if PROBLEM_OBSERVATION not in templates(obs):
            continue
        mention = _problem(tree, obs, policy, snomed)
        if mention is not None:
            yield mention


def _codes(value: Element) -> list[Element]:
    """The value and its translations that carry a code."""
    return [c for c in [value, *value.findall(h("translation"))] if c.get("code")]


def _display(tree: Tree, value: Element) -> str:
    """The problem's display text: displayName, else originalText (or the narrative it references), else a
    translation's displayName."""
    if value.get("displayName", "").strip():
        return " ".join(value.get("displayName", "").split())
    original = value.find(h("originalText"))
    if original is not None:
        direct = text(original)
        if direct:
            return direct
        ref = original.find(h("reference"))
        target = (ref.get("value") or "").lstrip("#") if ref is not None else ""
        if target:
            for el in tree.root.iter():
                if el.get("ID") == target:
                    return text(el)
    for t in value.findall(h("translation")):
        if t.get("displayName", "").strip():
            return " ".join(t.get("displayName", "").split())
    return ""


def _problem(tree: Tree, obs: Element, policy: Policy, snomed: SnomedMap) -> DiagnosisMention | None:
    value = obs.find(h("value"))
    if value is None:
        return None
    codes = _codes(value)
    if not codes:
        return None  # "no known problems" (value nullFlavor) is not a diagnosis
    display = _display(tree, value)
    icd = next((c for c in codes if c.get("codeSystem") == ICD10CM_OID), None)
    sct = next((c for c in codes if c.get("codeSystem") == SNOMED_OID), None)
    adjustments: list[Adjustment] = []
    coded_el: Element
    if icd is not None:
        code = icd10_dotted(icd.get("code", ""))
        confidence, coded_el = _CONF_ICD10, icd
        category = policy.classify(code)
        mapped = snomed.icd10.get(sct.get("code", "")) if sct is not None else None
        pain_sct = mapped is not None and policy.classify(mapped).is_pain
        if category.is_pain and not pain_sct and not snomed.pain_words_in(display):
            adjustments.append(Adjustment("ICD-10-CM code names pain but the problem's text does not",
                                          _DOUBTED_CODE_DELTA))
    elif sct is not None and sct.get("code", "") in snomed.icd10:
        code = snomed.icd10[sct.get("code", "")]
        confidence, coded_el = _CONF_MAPPED, sct
        adjustments.append(Adjustment(f"SNOMED CT {sct.get('code')} mapped to ICD-10-CM by snomed_pain_map.yaml", 0.0))
    else:
        code, confidence, coded_el = "", _CONF_UNCODED, value
    icd10 = code or None
    category = policy.classify(icd10) if icd10 else Category.OTHER
    score = max(0.0, confidence + sum(a.delta for a in adjustments))
    shown = display or (coded_el.get("code") or "")
    evidence = tree.evidence(coded_el, shown, confidence, tuple(adjustments))
    return DiagnosisMention(text=shown, icd10=icd10, description=icd10cm.description(icd10) if icd10 else None,
                            category=category, assertion=_assertion(tree, obs), section=_section(tree, obs),
                            confidence=score, evidence=(evidence,), link_score=1.0 if icd10 else 0.0)


def _assertion(tree: Tree, obs: Element) -> Assertion:
    """family > negated > historical (resolved) > affirmed; see the package docstring."""
    if obs.find(h("subject/relatedSubject")) is not None:
        return Assertion.FAMILY
    if (obs.get("negationInd") or "").lower() == "true":
        return Assertion.NEGATED
    for rel in obs.findall(h("entryRelationship/observation")):
        rel_code = rel.find(h("code"))
        if PROBLEM_STATUS in templates(rel) or (rel_code is not None and rel_code.get("code") == _PROBLEM_STATUS_LOINC):
            status = rel.find(h("value"))
            code = (status.get("code") or "") if status is not None else ""
            shown = (status.get("displayName") or "").lower() if status is not None else ""
            if code in _RESOLVED_STATUS_CODES or shown in {"resolved", "inactive", "completed"}:
                return Assertion.HISTORICAL
            if code in _ACTIVE_STATUS_CODES or shown == "active":
                return Assertion.AFFIRMED
    if _has_end(obs):
        return Assertion.HISTORICAL
    concern = next((a for a in tree.ancestors(obs) if local(a.tag) == "act"), None)
    if concern is not None:
        status_code = concern.find(h("statusCode"))
        if status_code is not None and status_code.get("code") == "completed" and _has_end(concern):
            return Assertion.HISTORICAL
    return Assertion.AFFIRMED


def _has_end(el: Element) -> bool:
    """True when effectiveTime/high carries a date (a nullFlavor high means "not known to have ended")."""
    high = el.find(h("effectiveTime/high"))
    return high is not None and bool((high.get("value") or "").strip())


def _section(tree: Tree, obs: Element) -> SectionKind:
    for a in tree.ancestors(obs):
        if local(a.tag) == "act" and ENCOUNTER_DIAGNOSIS in templates(a):
            return SectionKind.DIAGNOSES
        if local(a.tag) == "section":
            for root in sorted(templates(a)):
                if root in _SECTIONS:
                    return _SECTIONS[root]
            return SectionKind.OTHER
    return SectionKind.OTHER
