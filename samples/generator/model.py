"""The data model of a sample: people, diagnoses, clinics, a patient's case, the upload and its expected label."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Person:
    """Someone named in a document. `style` says how the name is printed; `normalized` is the label form."""

    first: str
    last: str
    middle: str = ""
    credentials: str = ""  # "MD", "DO", "NP", "PA-C", "RN", "MA"
    role: str = ""  # for distractors: pcp | referring | nurse | app | emergency | family
    relation: str = ""  # for emergency contacts and family: "spouse", "mother", ...
    style: str = "natural"  # natural | natural_dot | last_first | LAST_FIRST | CAPS | dr

    @property
    def normalized(self) -> str:
        """'First [Middle] Last' without title, credentials or the middle initial's period."""
        return " ".join(p for p in (self.first, self.middle, self.last) if p)

    def printed(self, style: str | None = None) -> str:
        """The name as the document prints it."""
        s = style or self.style
        creds = f", {self.credentials}" if self.credentials else ""
        middle = f"{self.middle}." if s == "natural_dot" and len(self.middle) == 1 else self.middle
        natural = " ".join(p for p in (self.first, middle, self.last) if p)
        if s == "dr":
            return f"Dr. {self.first} {self.last}"
        if s in ("natural", "natural_dot"):
            return natural + creds
        if s == "CAPS":
            return (natural + creds).upper()
        last_first = f"{self.last}, {' '.join(p for p in (self.first, self.middle) if p)}"
        last_first += f" {self.credentials}" if self.credentials else ""
        return last_first.upper() if s == "LAST_FIRST" else last_first


@dataclass(frozen=True)
class Dx:
    """One line of a diagnosis/assessment/problem list, printed as-is (assertion cues live in `text`)."""

    text: str
    code: str | None = None
    status: str = "Active"  # problem-list status column
    onset: str = ""


@dataclass(frozen=True)
class Clinic:
    name: str
    address: str
    phone: str


CLINICS = (
    Clinic("Cascade Ketamine & Pain Institute", "2140 Alder Ridge Blvd, Suite 300, Portland, OR 97205",
           "Tel (503) 555-0148   Fax (503) 555-0149"),
    Clinic("Harborview Infusion Center", "88 Wharf Street, Floor 4, Boston, MA 02110",
           "Phone 617-555-0190 | Fax 617-555-0191"),
    Clinic("Desert Sun Pain & Wellness", "4410 E Camelback Rd, Phoenix, AZ 85018", "(602) 555-0123"),
    Clinic("BLUE RIDGE NEUROLOGY & PAIN ASSOCIATES", "17 Mountain View Pkwy, Asheville, NC 28801",
           "P: 828-555-0166  F: 828-555-0167"),
    Clinic("Lakeshore Interventional Pain, PLLC", "600 N Lake Shore Dr, Chicago, IL 60611", "(312) 555-0177"),
)


@dataclass(frozen=True)
class Case:
    """One patient's document content. Empty tuples/None mean the section or field is absent."""

    patient: Person | None
    physician: Person | None
    clinic: Clinic = CLINICS[0]
    title: str = "Office Visit Note"
    dob: str = "04/12/1979"
    mrn: str = "00417736"
    visit: str = "03/14/2026"
    patient_label: str = "Patient"
    provider_label: str | None = "Provider"  # None: the physician is not named in the header
    others: tuple[Person, ...] = ()
    complaint: str = "Chronic pain; evaluation for ketamine infusion therapy."
    hpi: tuple[str, ...] = ()
    pmh: tuple[str, ...] = ()
    family: tuple[str, ...] = ()
    meds: tuple[str, ...] = ()
    allergies: str = "No known drug allergies."
    dx: tuple[Dx, ...] = ()
    dx_title: str = "Assessment and Plan"
    plan: tuple[str, ...] = ("Plan: ketamine infusion series, 6 infusions over 2-3 weeks, 0.5 mg/kg over 40 minutes.",)
    signer: Person | None = None  # who signs; defaults to the physician
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()  # extra (section title, lines) before the assessment
    break_before_assessment: bool = False  # start the assessment on a new page (multi-page faxes)

    @property
    def signed_by(self) -> Person | None:
        return self.signer or self.physician


@dataclass(frozen=True)
class Expected:
    status: str
    patient_name: str | None
    physician_name: str | None
    pain_category: str | None
    pain_icd10: str | None
    error_code: str | None = None


@dataclass(frozen=True)
class Sample:
    """One upload: content, how it is rendered, what intake said, and what docverify should report."""

    file: str
    kind: str
    purpose: str
    expected: Expected
    cases: tuple[Case, ...] = ()
    layout: str = "note"
    intake_name: str | None = None
    payer: str = "commercial"
    font: str = "sans"  # sans | serif | mono (paper kinds)
    angle: float = 0.0  # degrees of scan/photo rotation
    ui_px: int = 16  # desktop body text size in px
    raw: Callable[[random.Random], bytes] | None = None  # rejected uploads: make the bytes directly


def expect(case: Case, status: str, pain: tuple[str, str] | None, *, patient: str | None | Literal[True] = True,
           physician: str | None | Literal[True] = True) -> Expected:
    """Expected fields derived from the case; pass patient/physician explicitly to override (None = absent)."""
    pat = (case.patient.normalized if case.patient else None) if patient is True else patient
    doc = (case.physician.normalized if case.physician else None) if physician is True else physician
    return Expected(status, pat, doc, pain[0] if pain else None, pain[1] if pain else None)


def rejected(code: str) -> Expected:
    return Expected("rejected", None, None, None, None, code)


def label(s: Sample) -> dict[str, object]:
    return {"file": s.file, "kind": s.kind, "purpose": s.purpose,
            "intake": {"patient_name": s.intake_name, "payer": s.payer},
            "expected": {"status": s.expected.status, "patient_name": s.expected.patient_name,
                         "physician_name": s.expected.physician_name, "pain_category": s.expected.pain_category,
                         "pain_icd10": s.expected.pain_icd10, "error_code": s.expected.error_code}}
