"""From candidates to mentions: role decisions, confidence adjustments, reasons, and merging repeats of a person."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from extractors.people.candidates import _Candidate
from extractors.people.weights import (
    BARE_LABEL_PENALTY,
    FINDER,
    NO_CREDENTIAL_PENALTY,
    PATIENT_WITH_TITLE_PENALTY,
    REPEAT_BONUS,
    REPEAT_BONUS_CAP,
    SAME_PERSON_THRESHOLD,
)
from pipeline.names import CredentialKind, NameRules, parse_person_name, same_person
from pipeline.types import (
    Adjustment,
    Evidence,
    LinearText,
    PersonMention,
    Role,
    evidence_from_span,
    name_reading_confidence,
    ocr_confidence,
)

_CLINICIAN_ROLES = frozenset({Role.TREATING_PHYSICIAN, Role.OTHER_CLINICIAN, Role.UNKNOWN})
# The OCR confidence a label repaired from one misread letter counts for ("Treating physikian").
REPAIRED_LABEL_CONFIDENCE = 0.9


def _clamp(x: float) -> float:
    return round(min(1.0, max(0.0, x)), 3)


@dataclass(frozen=True, slots=True)
class _Found:
    """A candidate read into a mention: where its name starts, and whether only the spaCy fallback found it."""

    mention: PersonMention
    start: int
    fallback: bool


def _to_mention(c: _Candidate, text: LinearText, rules: NameRules) -> _Found | None:
    raw = c.raw if c.raw is not None else text.text[c.start:c.end]
    name = parse_person_name(raw, rules)
    if name is None:
        return None
    role, reason = c.role, c.why
    kinds = name.credential_kinds(rules)
    physician_like = CredentialKind.PHYSICIAN in kinds or name.has_physician_title(rules)
    adjustments: list[Adjustment] = []
    # A name read over debris ("NÚÑEZ GARCÍA,⏎ae ALEJANDRO J"): its own words' confidence, not the debris'.
    name_ocr = name_reading_confidence(text, c.start, c.end, {w.strip(",.;:") for w in c.raw.split()}
                                      if c.raw is not None else None)
    if c.cue_repaired:
        # The label was read one letter off and repaired (extractors/people/ocr_labels.py): the misread letter's
        # doubt is already spent on the repair, which is weighed instead.
        ocr = min(REPAIRED_LABEL_CONFIDENCE, name_ocr)
        reason += " (the label read with one letter wrong)"
    elif c.cue_end is not None and c.cue_start < c.cue_end < c.start:
        # the cue's words and the name's: not a neighbouring cell's words printed between them ("Specialty")
        ocr = min(ocr_confidence(text, c.cue_start, c.cue_end), name_ocr)
    else:
        ocr = min(ocr_confidence(text, c.cue_start, c.start), name_ocr) if c.cue_start < c.start else name_ocr
    if ocr < 1.0:
        adjustments.append(Adjustment(f"x{ocr:.2f} OCR confidence of the name's reading",
                                      round(c.weight * ocr - c.weight, 3)))
    if (role in _CLINICIAN_ROLES and CredentialKind.NURSING in kinds and not physician_like
            and CredentialKind.ADVANCED_PRACTICE not in kinds):
        role = Role.NURSE
        reason += "; the credential marks a nurse or assistant"
    if role is Role.TREATING_PHYSICIAN and not physician_like and CredentialKind.ADVANCED_PRACTICE in kinds:
        # An NP or PA-C may render the visit, but the document must name a physician (docs/POLICY.md "People"):
        # labelled as the provider, they are another clinician, never the treating physician.
        role = Role.OTHER_CLINICIAN
        reason += "; the credential marks an advanced-practice provider, not a physician"
    if role is Role.TREATING_PHYSICIAN and not physician_like:
        adjustments.append(Adjustment(f"{NO_CREDENTIAL_PENALTY:+.2f} no credential or Dr. title",
                                      NO_CREDENTIAL_PENALTY))
    if c.bare_label:
        adjustments.append(Adjustment(f"{BARE_LABEL_PENALTY:+.2f} label printed without a colon", BARE_LABEL_PENALTY))
    if role is Role.PATIENT and physician_like:
        adjustments.append(Adjustment(f"{PATIENT_WITH_TITLE_PENALTY:+.2f} printed with a physician title or "
                                      "credential", PATIENT_WITH_TITLE_PENALTY))
    confidence = _clamp(c.weight + sum(a.delta for a in adjustments))
    ev = evidence_from_span(text, c.cue_start, c.end, finder=FINDER, rule=c.rule, score=c.weight,
                            adjustments=tuple(adjustments))
    mention = PersonMention(value=raw, normalized=name.normalized, role=role, confidence=confidence, evidence=(ev,),
                            reason=_sentence(reason, role), credentials=name.credentials)
    return _Found(mention, c.start, c.fallback)


_ROLE_LABEL = {Role.PATIENT: "Patient", Role.TREATING_PHYSICIAN: "Treating physician",
               Role.REFERRING_PHYSICIAN: "Referring physician", Role.PCP: "Primary care provider", Role.NURSE: "Nurse",
               Role.EMERGENCY_CONTACT: "Emergency contact", Role.FAMILY_MEMBER: "Family member",
               Role.OTHER_CLINICIAN: "Other clinician", Role.UNKNOWN: "Unknown role"}


def _sentence(why: str, role: Role) -> str:
    return f"{_ROLE_LABEL[role]}: {why}."


def _merge_group(group: list[_Found]) -> _Found:
    """One mention for one person in one role: the strongest reading, every evidence, a bonus for repeats."""
    ordered = sorted(group, key=lambda g: (g.mention.confidence, len(g.mention.normalized)), reverse=True)
    primary = ordered[0].mention
    first_pos = min(g.start for g in group)
    if len(group) == 1:
        return _Found(primary, first_pos, ordered[0].fallback)
    evidence: list[Evidence] = [e for g in ordered for e in g.mention.evidence]
    repeats = len(group) - 1
    bonus = min(REPEAT_BONUS * repeats, REPEAT_BONUS_CAP)
    pages = sorted({e.page for e in evidence if e.page is not None})
    where = f" on {len(pages)} pages" if len(pages) > 1 else ""
    evidence[0] = dataclasses.replace(evidence[0], adjustments=evidence[0].adjustments + (
        Adjustment(f"{bonus:+.2f} named {len(group)} times{where}", bonus),))
    credentials = tuple(dict.fromkeys(c for g in ordered for c in g.mention.credentials))
    merged = dataclasses.replace(primary, confidence=_clamp(primary.confidence + bonus), evidence=tuple(evidence),
                                 credentials=credentials,
                                 reason=primary.reason.rstrip(".") + f" (named {len(group)} times).")
    return _Found(merged, first_pos, ordered[0].fallback)


def _group_by_person(items: list[_Found]) -> list[list[_Found]]:
    groups: list[list[_Found]] = []
    for item in items:
        for g in groups:
            if g[0].mention.role is item.mention.role and same_person(g[0].mention.normalized, item.mention.normalized,
                                                                      SAME_PERSON_THRESHOLD):
                g.append(item)
                break
        else:
            groups.append([item])
    return groups



def _role_priority(role: Role) -> int:
    order = (Role.TREATING_PHYSICIAN, Role.PATIENT, Role.REFERRING_PHYSICIAN, Role.PCP, Role.NURSE,
             Role.OTHER_CLINICIAN, Role.EMERGENCY_CONTACT, Role.FAMILY_MEMBER, Role.UNKNOWN)
    return len(order) - order.index(role)
