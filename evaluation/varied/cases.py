"""One document's designed truth: who is in it, what it says, how it is shown, and the label that follows."""

# ruff: noqa: S311 -- seeded random.Random is the point here: reproducible synthetic data, not secrets.

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from evaluation.varied.content import NO_PAIN_SCENARIOS, PAIN_SCENARIOS, Clinical, make_clinical
from evaluation.varied.people import (
    Clinician,
    Person,
    intake_same_person,
    make_person,
    make_physician,
    make_staff,
    relative_of,
    similar_person,
    strip_accents,
)

KINDS = ("portal_phone", "portal_desktop", "avs_pdf", "letter_pdf", "ed_discharge", "referral_form", "superbill",
         "fax_tiff", "provider_card", "photo_screen", "photo_paper", "scan")

# Output format per kind, with weights. "pdf" has a text layer, "pdfimg" is an image-only PDF.
FORMATS: dict[str, tuple[tuple[str, int], ...]] = {
    "portal_phone": (("png", 55), ("jpg", 20), ("webp", 25)),
    "portal_desktop": (("png", 50), ("jpg", 25), ("webp", 25)),
    "avs_pdf": (("pdf", 1),),
    "letter_pdf": (("pdf", 1),),
    "ed_discharge": (("pdf", 60), ("pdfimg", 20), ("jpg", 20)),
    "referral_form": (("pdf", 50), ("png", 20), ("jpg", 30)),
    "superbill": (("pdf", 50), ("jpg", 30), ("png", 20)),
    "fax_tiff": (("tif", 1),),
    "provider_card": (("png", 45), ("jpg", 30), ("webp", 25)),
    "photo_screen": (("jpg", 1),),
    "photo_paper": (("jpg", 1),),
    "scan": (("jpg", 40), ("pdfimg", 45), ("png", 15)),
}
MULTIPAGE = ("pdf", "pdfimg", "tif")
SCREEN_KINDS = ("portal_phone", "portal_desktop", "provider_card", "photo_screen")

PAYERS = (("commercial", 58), ("medicare", 15), ("medicaid", 12), ("tricare", 5), ("champva", 2),
          ("self_pay", 6), ("unknown", 2))

INCOMPLETE = ("no_patient", "no_physician", *NO_PAIN_SCENARIOS)
REVIEW = ("intake_mismatch", "two_patients", "uncertain", "surname_only", "intake_is_contact")

STREETS = ("Harbor View Dr", "Old Mill Rd", "Quarry Ln", "Cedar Crest Blvd", "Lantern Way", "Riverside Pkwy",
           "Orchard Hill Ave", "Founders Ct", "Meridian St", "Kestrel Ridge Rd")
CITIES = ("Millbrook, OH 43017", "Port Ashby, WA 98204", "Grantsville, PA 17028", "Cedar Falls, MN 55313",
          "Bayfield, NJ 07031", "Sutter Creek, CA 95685", "Linwood, TX 75067", "Marlow, NC 27513")


@dataclass(frozen=True)
class Clinic:
    """An organisation; `person_like` names (surnames, saints) are distractors for name finders."""

    name: str
    department: str
    street: str
    city: str
    phone: str
    fax: str
    person_like: bool


CLINICS = (
    ("Hudson Pain Physicians", True), ("Bennett & Cole Neurology", True), ("St. Mary's Medical Center", True),
    ("Lakeside Comprehensive Pain Center", True), ("Whitaker Spine & Pain", True), ("Gonzalez Family Medicine", True),
    ("Sinclair Rehabilitation Associates", True), ("Ashford Memorial Hospital", True), ("Mercy Harbor Health", False),
    ("North Valley Pain & Spine", False), ("Riverbend Headache Center", False), ("Summit Integrated Pain Care", False),
    ("Crestview Neurology Group", False), ("Tri-County Regional Medical Center", False),
    ("St. Jude Thaddeus Community Hospital", True), ("Marlowe-Kaplan Pain Institute", True),
)


@dataclass(frozen=True)
class Distractor:
    """A person (or person-like organisation) in the document who is not the patient or treating physician."""

    role: str  # referring_physician|pcp|nurse|np_pa|ma|emergency_contact|family_member|clinic
    name: str  # label form
    display: str  # exactly as printed
    relation: str = ""  # "Spouse", "Daughter" for contacts


@dataclass(frozen=True)
class Case:
    """Everything a layout needs to draw one document, and everything the label says about it."""

    index: int
    split: str
    seed: int
    kind: str
    fmt: str
    status: str
    scenario: str
    patient: Person  # the document's patient as shown (middle name form fixed for this document)
    show_patient: bool
    name_style: str  # natural|last_first|caps|family_first
    physician: Clinician | None  # the treating physician, when named
    phys_style: str  # signed|dr|caps|last_first|surname
    provider: Clinician  # who the document says saw the patient (the physician, or an NP/RN when none)
    second: Person | None  # a second patient in the same upload
    second_clinical: Clinical | None
    clinical: Clinical
    clinic: Clinic
    distractors: tuple[Distractor, ...]
    intake_name: str | None
    intake_note: str
    payer: str
    dob: dt.date
    visit: dt.date
    mrn: str
    date_style: int
    file: str

    def date(self, d: dt.date) -> str:
        """A date in this document's style."""
        return fmt_date(d, self.date_style)

    def patient_name(self, person: Person | None = None) -> str:
        """The patient's name printed in this document's style."""
        p = person or self.patient
        return {"natural": p.natural(), "last_first": p.last_first(), "caps": p.ehr_caps(),
                "family_first": p.family_first_form() if p.family_first else p.ehr_caps()}[self.name_style]

    def physician_name(self, style: str | None = None) -> str:
        """The treating physician (or the NP/RN provider when none) as printed."""
        c = self.physician or self.provider
        if self.physician is None:
            return c.signed()
        s = style or self.phys_style
        if self.phys_style == "surname":
            return c.surname_only()
        return {"signed": c.signed(), "dr": c.dr(), "caps": c.caps(), "last_first": c.last_first()}[s]

    def roles(self, *roles: str) -> list[Distractor]:
        """The distractors with these roles."""
        return [d for d in self.distractors if d.role in roles]

    def label(self) -> dict[str, object]:
        """The labels.jsonl row."""
        pain = self.clinical.pain
        phys: str | None = None
        if self.physician is not None:
            phys = self.physician.person.family if self.phys_style == "surname" else self.physician.person.label()
        return {
            "file": self.file, "kind": self.kind, "purpose": purpose(self),
            "intake": {"patient_name": self.intake_name, "payer": self.payer},
            "expected": {"status": self.status,
                         "patient_name": self.patient.label() if self.show_patient else None,
                         "physician_name": phys,
                         "pain_category": pain.category if pain else None,
                         "pain_icd10": pain.code if pain else None,
                         "error_code": None},
            "distractors": [{"name": d.name, "role": d.role} for d in self.distractors],
            "split": self.split, "seed": self.seed,
        }


def fmt_date(d: dt.date, style: int) -> str:
    """m/d/yyyy in the common US variants."""
    return (f"{d.month}/{d.day}/{d.year}", d.strftime("%m/%d/%Y"), d.strftime("%b %d, %Y").replace(" 0", " "),
            d.strftime("%B %d, %Y").replace(" 0", " "))[style]


def _weighted(rng: random.Random, items: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def _rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days))


def _phys_display(c: Clinician, rng: random.Random) -> str:
    return rng.choice((c.signed(), c.dr(), c.last_first()))


def _key(p: Person) -> str:
    return strip_accents(f"{p.given} {p.family}").lower()


def _me(p: Person) -> Person:
    return p


def _who(c: Clinician) -> Person:
    return c.person


def _fresh[X](used: set[str], draw: Callable[[], X], person: Callable[[X], Person]) -> X:
    """Draw until the person's name is new in this document: two people never share a name by accident."""
    for _ in range(100):
        x = draw()
        k = _key(person(x))
        if k not in used:
            used.add(k)
            return x
    raise RuntimeError("could not draw a distinct name")


def purpose(case: Case) -> str:
    """A one-line description of what the document tests."""
    pain = case.clinical.pain
    bits = [case.kind.replace("_", " "), case.fmt.upper().replace("PDFIMG", "image-only PDF")]
    what = {
        "affirmed": "affirmed {dx}", "affirmed_mh": "mental health plus affirmed {dx}",
        "affirmed_with_negatives": "affirmed {dx} beside negated/family pain mentions",
        "no_patient": "patient name not shown (cropped/continuation page)",
        "no_physician": "no treating physician: only NP/RN and referring/PCP named",
        "mh_only": "mental-health diagnoses only", "negated": "pain only negated",
        "family": "pain only in family history", "resolved": "pain only as resolved history",
        "non_pain": "non-pain diagnoses only", "modifiers_only": "bare modifiers ('chronic', 'severe', Pain Medicine)",
        "intake_mismatch": "intake names a different person", "two_patients": "two patients in one upload",
        "uncertain": "only an uncertain pain diagnosis", "surname_only": "physician named by surname only",
        "intake_is_contact": "intake name appears only as a contact/family member",
    }[case.scenario]
    if pain:
        what = what.format(dx=f"{pain.short} {pain.code}" + ("" if case.clinical.codes_shown else " (no code printed)"))
    elif case.scenario in ("no_patient", "no_physician", "intake_mismatch", "two_patients", "surname_only",
                           "intake_is_contact"):
        what = what.format(dx="")
    bits.append(what)
    bits.append(f"patient as {case.name_style}")
    if case.intake_note and case.intake_note not in ("same name", "exact"):
        bits.append(case.intake_note)
    return "; ".join(bits)


def build_case(index: int, split: str, seed: int, kind: str, status: str) -> Case:
    """Draw one document's truth from its own seeded generator."""
    rng = random.Random(seed)
    fmt = _weighted(rng, FORMATS[kind])
    if status == "complete":
        scenario = rng.choice(PAIN_SCENARIOS)
    elif status == "incomplete":
        # A quarter without the patient's name, a quarter without a treating physician, half without pain.
        scenario = rng.choice(("no_patient", "no_physician", rng.choice(NO_PAIN_SCENARIOS),
                               rng.choice(NO_PAIN_SCENARIOS)))
    else:
        options = [s for s in REVIEW if s != "two_patients" or fmt in MULTIPAGE]
        scenario = rng.choice(options)
    clinical = make_clinical(rng, scenario if scenario in PAIN_SCENARIOS + NO_PAIN_SCENARIOS + ("uncertain",)
                             else rng.choice(PAIN_SCENARIOS))
    used: set[str] = set()
    full = _fresh(used, lambda: make_person(rng), _me)
    # The middle name as this document shows it: full, initial or absent.
    r = rng.random()
    shown = full if r < 0.35 else (full.with_middle_initial() if r < 0.7 else full.without_middle())
    if full.population == "vietnamese":
        shown = full  # "Thi"/"Van" is part of how the name is recorded
    name_style = rng.choice(("natural", "natural", "last_first", "caps", "caps"))
    if full.family_first and rng.random() < 0.5:
        name_style = "family_first"
    if kind in SCREEN_KINDS:
        # Portals show the account holder as "First Last": no middle name, no suffix.
        shown = replace(full, middle="", suffix="")
        name_style = rng.choice(("natural", "caps"))
    clinic_name, person_like = rng.choice(CLINICS)
    clinic = Clinic(clinic_name, rng.choice(("Pain Medicine", "Interventional Pain", "Neurology", "PM&R",
                                             "Headache Center", "Spine & Pain")),
                    f"{rng.randint(100, 9899)} {rng.choice(STREETS)}", rng.choice(CITIES),
                    f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}",
                    f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}", person_like)
    if kind == "ed_discharge":
        clinic = Clinic(rng.choice(("St. Mary's Medical Center", "Ashford Memorial Hospital",
                                    "Tri-County Regional Medical Center", "St. Jude Thaddeus Community Hospital")),
                        "Emergency Department", clinic.street, clinic.city, clinic.phone, clinic.fax, True)
    physician: Clinician | None = _fresh(used, lambda: make_physician(rng), _who)
    phys_style = rng.choice(("signed", "signed", "dr", "caps", "last_first"))
    if scenario == "surname_only":
        phys_style = "surname"
    # Distractors: a few, each with a role; the treating physician and the patient are never among them.
    distractors: list[Distractor] = []
    roles = rng.sample(("referring_physician", "pcp", "nurse", "np_pa", "ma", "emergency_contact", "family_member"),
                       rng.randint(2, 4))
    provider: Clinician
    if scenario == "no_physician":
        physician = None
        provider = _fresh(used, lambda: make_staff(rng, rng.choice(("np_pa", "nurse"))), _who)
        role = "np_pa" if provider.credential in ("FNP-C", "NP", "PA-C", "AGNP-C", "DNP, APRN") else "nurse"
        distractors.append(Distractor(role, provider.person.label(), provider.signed()))
        roles = [r for r in roles if r != role]
        if "referring_physician" not in roles and "pcp" not in roles:
            roles.append(rng.choice(("referring_physician", "pcp")))
    else:
        assert physician is not None
        provider = physician
    contact_for_intake: Person | None = None
    for role in roles:
        if role in ("referring_physician", "pcp"):
            spec = rng.choice(("Family Medicine", "Internal Medicine", "Orthopedic Surgery")) if role == "pcp" else None
            c = _fresh(used, partial(make_physician, rng, spec), _who)
            distractors.append(Distractor(role, c.person.label(), _phys_display(c, rng)))
        elif role in ("nurse", "np_pa", "ma"):
            c = _fresh(used, partial(make_staff, rng, role), _who)
            distractors.append(Distractor(role, c.person.label(), c.signed()))
        else:
            rel_name = rng.choice(("Spouse", "Husband", "Wife", "Daughter", "Son", "Mother", "Sister", "Partner"))
            sex = {"Husband": "M", "Wife": "F", "Daughter": "F", "Son": "M", "Mother": "F", "Sister": "F"}.get(rel_name)
            rel = _fresh(used, partial(relative_of, rng, full, sex=sex), _me)
            distractors.append(Distractor(role, rel.label(), rel.natural(), rel_name))
            contact_for_intake = rel
    if scenario == "intake_is_contact" and contact_for_intake is None:
        rel = _fresh(used, lambda: relative_of(rng, full), _me)
        rel_name = rng.choice(("Spouse", "Daughter", "Son", "Partner"))
        distractors.append(Distractor("emergency_contact", rel.label(), rel.natural(), rel_name))
        contact_for_intake = rel
    if clinic.person_like:
        distractors.append(Distractor("clinic", clinic.name, clinic.name))
    second = None
    second_clinical = None
    if scenario == "two_patients":
        second = _fresh(used, lambda: make_person(rng).without_middle(), _me)
        second_clinical = make_clinical(rng, rng.choice(PAIN_SCENARIOS))
    # Intake: usually the same person in another spelling; a different person only for review cases.
    intake: str | None
    if scenario == "intake_mismatch":
        other = _fresh(used, lambda: similar_person(rng, full) if rng.random() < 0.6 else
                       make_person(rng).without_middle(), _me)
        intake, note = other.first_last(), f"intake names a different person ({other.first_last()})"
    elif scenario == "intake_is_contact":
        assert contact_for_intake is not None
        intake, note = contact_for_intake.first_last(), "intake name is the document's contact/family member"
    elif status == "complete" and rng.random() < 0.06:
        intake, note = None, "no intake name"
    else:
        intake, note = intake_same_person(rng, shown, full)
        if rng.random() < 0.1:
            intake = strip_accents(intake)
    visit = _rand_date(rng, dt.date(2023, 1, 3), dt.date(2025, 11, 28))
    dob = _rand_date(rng, dt.date(1938, 1, 1), dt.date(2004, 12, 31))
    ext = {"pdfimg": "pdf"}.get(fmt, fmt)
    return Case(
        index=index, split=split, seed=seed, kind=kind, fmt=fmt, status=status, scenario=scenario, patient=shown,
        show_patient=scenario != "no_patient", name_style=name_style, physician=physician, phys_style=phys_style,
        provider=provider, second=second, second_clinical=second_clinical, clinical=clinical, clinic=clinic,
        distractors=tuple(distractors), intake_name=intake, intake_note=note, payer=_weighted(rng, PAYERS), dob=dob,
        visit=visit, mrn=str(rng.randint(10_000_000, 99_999_999)), date_style=rng.randrange(4),
        file=f"{split}_{index:03d}_{kind}.{ext}",
    )
