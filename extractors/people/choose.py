"""Choosing the patient and the treating physician among the people found, with reasons and near-tie flags."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from extractors.people.roles import _clamp
from extractors.people.weights import FALLBACK_TREATING_FACTOR, NEAR_TIE_MARGIN, SAME_PERSON_THRESHOLD
from pipeline.names import CredentialKind, credential_of, parse_person_name, same_person
from pipeline.types import Choice, PersonMention, Role


def _physician_like(p: PersonMention) -> bool:
    """A physician credential (MD, DO…) or printed with "Dr."."""
    if any((hit := credential_of(c)) is not None and hit[1] is CredentialKind.PHYSICIAN for c in p.credentials):
        return True
    name = parse_person_name(p.value)
    return name is not None and name.has_physician_title()


def _non_physician_elsewhere(p: PersonMention, people: Sequence[PersonMention]) -> bool:
    """True when another mention of the same person carries a nursing or advanced-practice credential and none of
    their mentions a physician credential or "Dr." ("ED provider: Hervé Beaumont" and, below, "signed by Hervé
    Beaumont, RN"): the credential printed once decides for every mention."""
    same = [q for q in people if same_person(q.normalized, p.normalized, SAME_PERSON_THRESHOLD)]
    kinds = {hit[1] for q in same for c in q.credentials if (hit := credential_of(c)) is not None}
    return bool(kinds & {CredentialKind.NURSING, CredentialKind.ADVANCED_PRACTICE}) and not any(
        _physician_like(q) for q in same)


def _distinct_people(mentions: Sequence[PersonMention]) -> list[list[PersonMention]]:
    groups: list[list[PersonMention]] = []
    for p in mentions:
        for g in groups:
            if same_person(g[0].normalized, p.normalized, SAME_PERSON_THRESHOLD):
                g.append(p)
                break
        else:
            groups.append([p])
    return groups


def _best_with_tie(mentions: Sequence[PersonMention]) -> tuple[PersonMention, bool]:
    groups = _distinct_people(mentions)
    bests = sorted((max(g, key=lambda p: p.confidence) for g in groups), key=lambda p: p.confidence, reverse=True)
    near_tie = len(bests) > 1 and bests[0].confidence - bests[1].confidence < NEAR_TIE_MARGIN - 1e-9
    return bests[0], near_tie


def choose_treating_physician(people: Sequence[PersonMention]) -> Choice:
    """The treating physician among `people`, why, and whether it is a near-tie (`Choice.ambiguous`).

    Rule: (1) people labelled treating/attending/rendering/provider or who signed the note, strongest confidence
    first; (2) failing that, an unlabelled clinician with a physician credential or "Dr." title (a care-team member
    without a role, a titled name in running text), with confidence × 0.7. A referring physician, a PCP, a nurse,
    a family member or an emergency contact is never chosen: a PCP counts only when the note shows them rendering or
    signing it, which makes them a treating mention by rule (1). near_tie: the two best different people differ
    by less than 0.05.
    """
    explicit = [p for p in people if p.role is Role.TREATING_PHYSICIAN and not _non_physician_elsewhere(p, people)]
    if explicit:
        best, tie = _best_with_tie(explicit)
        reason = f"{best.reason} Chosen as treating physician by its label or signature."
        also = sorted({p.role.value for p in people if p.role is not Role.TREATING_PHYSICIAN
                       and same_person(p.normalized, best.normalized, SAME_PERSON_THRESHOLD)})
        if also:
            reason += f" The same person is also listed as {', '.join(also)}."
        if tie:
            reason += " Another person has nearly equal treating evidence."
        return Choice(best, reason, tie)
    unlabelled = [p for p in people if p.role is Role.OTHER_CLINICIAN and _physician_like(p)]
    if unlabelled:
        best, tie = _best_with_tie(unlabelled)
        lowered = _clamp(best.confidence * FALLBACK_TREATING_FACTOR)
        chosen = dataclasses.replace(best, confidence=lowered)
        reason = (f"{best.reason} No one is labelled as treating or signed the note; chosen as the only kind of "
                  f"candidate left, confidence x{FALLBACK_TREATING_FACTOR}.")
        return Choice(chosen, reason, tie)
    excluded = sorted({p.role.value for p in people if p.role in (Role.PCP, Role.REFERRING_PHYSICIAN, Role.NURSE)})
    if excluded:
        return Choice(None, f"No treating physician: only {', '.join(excluded)} named, and none of them signed or "
                            "rendered the visit.")
    return Choice(None, "No treating physician is named.")


def choose_patient(people: Sequence[PersonMention]) -> Choice:
    """The patient among `people`, why, and whether several different patients are named (`Choice.ambiguous`).

    Rule: people with role patient, grouped by person (so "SMITH, JOHN" and "John Smith" are one); the group with
    the strongest mention wins. several_candidates: two or more different patient names (e.g. two records in one
    upload). Emergency contacts, family, guarantors and clinicians are never chosen.
    """
    patients = [p for p in people if p.role is Role.PATIENT]
    if not patients:
        return Choice(None, "No person is labelled as the patient.")
    groups = _distinct_people(patients)
    best = max((max(g, key=lambda p: p.confidence) for g in groups), key=lambda p: p.confidence)
    several = len(groups) > 1
    reason = f"{best.reason} Chosen as the patient."
    if several:
        reason += f" {len(groups)} different patient names were found; the strongest was chosen."
    return Choice(best, reason, several)
