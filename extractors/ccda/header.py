"""The C-CDA header: the recordTarget patient and the clinicians (ranked for the treating-physician choice)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from xml.etree.ElementTree import Element

from extractors.ccda.tree import Tree, h, local, text
from pipeline.names import CredentialKind, credential_of, is_title
from pipeline.types import PersonMention, Role

# Confidence of a structured finding: the XML states it; what is left is whether the code says what the text says.
CONF_PERSON = 0.97
CONF_PHYSICIAN_NO_CREDENTIAL = 0.9


class CredentialRank(IntEnum):
    """How strongly a clinician's credentials say physician (lower ranks first)."""

    PHYSICIAN = 0  # a physician credential or "Dr"
    ADVANCED_PRACTICE = 1
    NONE = 2  # no clinical credential


@dataclass(frozen=True, slots=True)
class RankedClinician:
    """One distinct clinician of a document and where they rank for the treating-physician choice."""

    tier: int  # the header slot they hold (`_TIERS`; lower wins)
    credential_rank: CredentialRank
    person: PersonMention

    @property
    def rank(self) -> tuple[int, int]:
        """(tier, credential rank): the sort key of the choice, lower first."""
        return self.tier, self.credential_rank


@dataclass(frozen=True, slots=True)
class _Person:
    """A name element read into parts."""

    element: Element
    printed: str
    normalized: str
    credentials: tuple[str, ...]
    kinds: frozenset[CredentialKind]
    doctor_title: bool


def _person(name_el: Element | None) -> _Person | None:
    """Parts of an hl7 PN: given names, family, prefixes, suffixes (credentials); None without a name."""
    if name_el is None or name_el.get("nullFlavor"):
        return None
    given = [text(g) for g in name_el.findall(h("given")) if text(g)]
    family = [text(f) for f in name_el.findall(h("family")) if text(f)]
    prefixes = [text(p) for p in name_el.findall(h("prefix")) if text(p)]
    suffixes = [text(s) for s in name_el.findall(h("suffix")) if text(s)]
    if given or family:
        core = " ".join(given + family[:1] + family[1:])
    else:  # an unstructured name: "Henry Seven" as plain text
        core = text(name_el)
        tokens = core.split()
        prefixes += [t for t in tokens[:1] if is_title(t)]
        core = " ".join(t for t in tokens if not is_title(t) and credential_of(t) is None)
        suffixes += [t for t in tokens if credential_of(t) is not None]
    if not core:
        return None
    credentials: list[str] = []
    kinds: set[CredentialKind] = set()
    for token in re.split(r"[,;/\s]+", " ".join(suffixes)):
        hit = credential_of(token) if token else None
        if hit is not None and hit[0] not in credentials:
            credentials.append(hit[0])
            kinds.add(hit[1])
    printed = " ".join(prefixes + [core] + suffixes)
    return _Person(element=name_el, printed=printed, normalized=_title_case(core), credentials=tuple(credentials),
                   kinds=frozenset(kinds), doctor_title=any(p.strip(". ").lower() == "dr" for p in prefixes))


def _title_case(name: str) -> str:
    """Title-case tokens printed all upper or all lower ("ALICE NEWMAN" → "Alice Newman"); keep "McDonald"."""
    def one(tok: str) -> str:
        if tok.isupper() or tok.islower():
            return "-".join(p[:1].upper() + p[1:].lower() for p in tok.split("-"))
        return tok
    return " ".join(one(t) for t in name.split())


@dataclass(frozen=True, slots=True)
class _Slot:
    """A header element that names a clinician, what holding it means, and its tier (lower wins)."""

    path: str
    why: str
    tier: int


# The clinician elements, in the order that decides the treating physician (lower tier wins).
_TIERS: tuple[_Slot, ...] = (
    _Slot("legalAuthenticator/assignedEntity/assignedPerson/name", "legal authenticator (signed the document)", 0),
    _Slot("componentOf/encompassingEncounter/responsibleParty/assignedEntity/assignedPerson/name",
          "responsible party of the encounter", 1),
    _Slot("author/assignedAuthor/assignedPerson/name", "author of the document", 2),
    _Slot("documentationOf/serviceEvent/performer/assignedEntity/assignedPerson/name", "care-team performer", 3),
)
_PERFORMER_TIER = 3  # care-team performers: a PCP function makes them a `pcp`
_ENCOUNTER_PARTICIPANTS = "componentOf/encompassingEncounter/encounterParticipant"
_PARTICIPANT_ROLES = {"ATND": (Role.TREATING_PHYSICIAN, "attending physician of the encounter", 1),
                      "REF": (Role.REFERRING_PHYSICIAN, "referring physician of the encounter", 9)}
_OTHER_TIER = 9


@dataclass(frozen=True, slots=True)
class _Clinician:
    person: _Person
    role: Role
    why: str
    tier: int


def _clinicians(tree: Tree) -> list[_Clinician]:
    root = tree.root
    out: list[_Clinician] = []
    for slot in _TIERS:
        # `why` is not reset per name: a performer after a PCP performer keeps the PCP reason (as before the split;
        # reported as a bug, fixed separately so that this move changes no output).
        why = slot.why
        for name_el in root.findall(h(slot.path)):
            person = _person(name_el)
            if person is None:
                continue
            role = Role.TREATING_PHYSICIAN
            if slot.tier == _PERFORMER_TIER:
                performer = next(a for a in tree.ancestors(name_el) if local(a.tag) == "performer")
                function = performer.find(h("functionCode"))
                if function is not None and (function.get("code") or "").upper() == "PCP":
                    role, why = Role.PCP, "primary care provider (serviceEvent performer, function PCP)"
            out.append(_Clinician(person, role, why, slot.tier))
    for participant in root.findall(h(_ENCOUNTER_PARTICIPANTS)):
        person = _person(participant.find(h("assignedEntity/assignedPerson/name")))
        if person is None:
            continue
        type_code = (participant.get("typeCode") or "").upper()
        role, why, tier = _PARTICIPANT_ROLES.get(
            type_code, (Role.OTHER_CLINICIAN, f"encounter participant ({type_code or 'no type'})", _OTHER_TIER))
        out.append(_Clinician(person, role, why, tier))
    for name_el in root.findall(h("authenticator/assignedEntity/assignedPerson/name")):
        person = _person(name_el)
        if person is not None:
            out.append(_Clinician(person, Role.OTHER_CLINICIAN, "authenticator", _OTHER_TIER))
    return out


def _credential_rank(person: _Person) -> CredentialRank:
    if CredentialKind.PHYSICIAN in person.kinds or person.doctor_title:
        return CredentialRank.PHYSICIAN
    return CredentialRank.ADVANCED_PRACTICE if CredentialKind.ADVANCED_PRACTICE in person.kinds else CredentialRank.NONE


def _is_nursing_only(person: _Person) -> bool:
    return CredentialKind.NURSING in person.kinds and _credential_rank(person) is CredentialRank.NONE


def patient_of(tree: Tree) -> PersonMention | None:
    """The recordTarget patient (the legal name, use="L", when several), or None."""
    names = tree.root.findall(h("recordTarget/patientRole/patient/name"))
    if not names:
        return None
    legal = [n for n in names if "L" in (n.get("use") or "").split()]
    for name_el in legal + [n for n in names if n not in legal]:
        person = _person(name_el)
        if person is not None:
            ev = tree.evidence(name_el, person.printed, CONF_PERSON)
            return PersonMention(value=person.printed, normalized=person.normalized, role=Role.PATIENT,
                                 confidence=CONF_PERSON, evidence=(ev,),
                                 reason="recordTarget patient of the C-CDA header")
    return None


def clinicians_of(tree: Tree) -> list[RankedClinician]:
    """One mention per distinct clinician (merged by name), with the best role they hold and why."""
    grouped: dict[str, list[_Clinician]] = {}
    for c in _clinicians(tree):
        grouped.setdefault(c.person.normalized.casefold(), []).append(c)
    out: list[RankedClinician] = []
    for mentions in grouped.values():
        treating = [c for c in mentions if c.role is Role.TREATING_PHYSICIAN]
        best = min(treating or mentions, key=lambda c: c.tier)
        person = max((c.person for c in mentions), key=lambda p: (len(p.credentials), p.doctor_title))
        role = best.role
        if _is_nursing_only(person):
            role = Role.NURSE
        rank = _credential_rank(person)
        confidence = CONF_PERSON if rank < CredentialRank.NONE else CONF_PHYSICIAN_NO_CREDENTIAL
        whys = dict.fromkeys(c.why for c in sorted(mentions, key=lambda c: c.tier))  # ordered, without repeats
        reason = "; ".join(whys) + (" (nursing credentials only)" if role is Role.NURSE else "")
        evidence = tuple(tree.evidence(c.person.element, c.person.printed, confidence) for c in mentions)
        mention = PersonMention(value=person.printed, normalized=person.normalized, role=role,
                                confidence=confidence, evidence=evidence, reason=reason,
                                credentials=person.credentials)
        out.append(RankedClinician(best.tier, rank, mention))
    return out
