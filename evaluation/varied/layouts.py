"""Document kinds: paper layouts as flow blocks (AVS, letters, ED, forms, superbills, notes, fax covers) and screens."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from evaluation.varied.cases import Case, Distractor
from evaluation.varied.content import Clinical, Entry
from evaluation.varied.people import Person
from evaluation.varied.render import (
    KV,
    Bar,
    Block,
    Boxes,
    Canvas,
    Checks,
    Color,
    ImageCanvas,
    Rule,
    Space,
    Style,
    T,
    Table,
    wrap,
)

# --- shared pieces ---------------------------------------------------------------------------------------------------


def _phone(rng: random.Random) -> str:
    return f"(555) 01{rng.randint(0, 9)}-{rng.randint(1000, 9999)}"


def contact_pairs(case: Case, rng: random.Random) -> list[tuple[str, str]]:
    """Label/value rows naming every person distractor, in this document's wording."""
    pairs: list[tuple[str, str]] = []
    for d in case.distractors:
        if d.role == "clinic" or (case.physician is None and d.display == case.provider.signed()):
            continue
        label = {
            "referring_physician": rng.choice(("Referring provider", "Referred by", "Referring physician")),
            "pcp": rng.choice(("PCP", "Primary care provider", "Primary care")),
            "nurse": rng.choice(("Nurse", "Triage nurse", "Care coordinator")),
            "np_pa": rng.choice(("Also seen by", "Co-provider", "Advanced practice provider")),
            "ma": rng.choice(("Printed by", "Roomed by", "Scribe")),
            "emergency_contact": "Emergency contact",
            "family_member": rng.choice(("Accompanied by", "Caregiver", "Family present")),
        }[d.role]
        value = d.display
        if d.role == "emergency_contact":
            value = f"{d.display} ({d.relation}) {_phone(rng)}"
        elif d.role == "family_member":
            value = f"{d.display} ({d.relation.lower()})"
        pairs.append((label, value))
    return pairs


def dx_text(e: Entry) -> str:
    """A diagnosis line as lists print it."""
    return f"{e.text} ({e.code})" if e.code else e.text


def provider_label(rng: random.Random) -> str:
    """How documents label the clinician who saw the patient."""
    return rng.choice(("Provider", "Attending", "Seen by", "Treating physician", "Visit provider", "Physician"))


def paper_style(rng: random.Random, case: Case, base: float | None = None) -> Style:
    """A paper look: font family, size, margins and colours."""
    accent = rng.choice(((30, 60, 110), (20, 90, 80), (110, 30, 40), (60, 60, 60), (40, 40, 120)))
    shade = tuple(min(255, 200 + c // 5) for c in accent)
    family = rng.choice(("sans", "sans", "serif", "cond"))
    return Style(family=family, base=base or rng.choice((9.5, 10, 10.5, 11)), margin=rng.choice((44, 50, 54, 60)),
                 accent=accent, shade=(shade[0], shade[1], shade[2]),
                 footer=rng.choice(("", f"{case.clinic.name} | Confidential", f"MRN {case.mrn}", "Printed copy")))


def letterhead(case: Case, rng: random.Random, st: Style) -> list[Block]:
    """Clinic name, department, address and phone lines."""
    c = case.clinic
    align = rng.choice("LC")
    return [T(c.name, 5, True, align, st.accent, 1), T(c.department, 0, False, align, (80, 80, 80), 1),
            T(f"{c.street}, {c.city}  |  Tel {c.phone}  |  Fax {c.fax}", -1.5, False, align, (80, 80, 80), 4),
            Rule(1.2)]


def patient_pairs(case: Case, who: Person, show: bool, rng: random.Random) -> list[tuple[str, str]]:
    """Patient identification rows; without the name when the document does not show it."""
    pairs = []
    if show:
        pairs.append((rng.choice(("Patient", "Patient name", "Name")), case.patient_name(who)))
    pairs += [("DOB", case.date(case.dob)), ("MRN", case.mrn)]
    return pairs


def dx_blocks(case: Case, cl: Clinical, rng: random.Random, title: str) -> list[Block]:
    """Diagnoses as a table with codes/status, or as a numbered list."""
    if not cl.diagnoses:
        return []
    out: list[Block] = [Bar(title)]
    if rng.random() < 0.5:
        rows = tuple((e.text, e.code or "", e.status) for e in cl.diagnoses)
        out.append(Table(("Diagnosis", "ICD-10", "Status"), rows, (0.62, 0.16, 0.22)))
    else:
        for i, e in enumerate(cl.diagnoses, 1):
            status = f" - {e.status}" if e.status != "Active" else ""
            out.append(T(f"{i}. {dx_text(e)}{status}", gap=1, indent=6))
        out.append(Space(6))
    return out


def narrative_blocks(cl: Clinical, rng: random.Random, hpi_title: str = "History") -> list[Block]:
    """HPI, notes, family history, bare modifiers."""
    out: list[Block] = [T(hpi_title, 1, True, gap=1), T(cl.hpi, gap=5)]
    for n in cl.notes:
        out.append(T(n, gap=3))
    if cl.family_history:
        fh = "; ".join(f"{rel}: {cond.lower() if rng.random() < 0.5 else cond}" for rel, cond in cl.family_history)
        out.append(T(f"Family history: {fh}.", gap=4))
    if cl.modifiers:
        out.append(KV(tuple((m.split(": ")[0], m.split(": ")[1]) for m in cl.modifiers), 3))
    return out


def meds_blocks(cl: Clinical) -> list[Block]:
    """Medication list."""
    return [T("Medications", 1, True, gap=1), *[T(f"- {m}", gap=0, indent=6) for m in cl.meds], Space(6)]


def signature(case: Case, rng: random.Random) -> list[Block]:
    """An electronic signature line by whoever saw the patient."""
    who = case.physician_name("signed")
    return [Space(6), T(f"Electronically signed by {who} on {case.date(case.visit)} "
                        f"{rng.randint(7, 18)}:{rng.randint(0, 59):02d}", -1, gap=2, color=(60, 60, 60))]


def _contacts(case: Case, rng: random.Random, title: str = "Care team and contacts") -> list[Block]:
    pairs = contact_pairs(case, rng)
    return [Bar(title), KV(tuple(pairs), 1)] if pairs else []


# --- paper documents -------------------------------------------------------------------------------------------------


def avs(case: Case, rng: random.Random, who: Person, cl: Clinical, first: bool, st: Style) -> list[Block]:
    """After-visit summary."""
    out = letterhead(case, rng, st)
    out += [T(rng.choice(("After Visit Summary", "AFTER VISIT SUMMARY", "Your Visit Summary")), 4, True, gap=6)]
    pairs = patient_pairs(case, who, case.show_patient or not first, rng)
    pairs.append(("Visit date", case.date(case.visit)))
    pairs.append((provider_label(rng), case.physician_name()))
    if case.physician and rng.random() < 0.5:
        pairs.append(("Specialty", case.physician.specialty))
    out.append(KV(tuple(pairs), 2))
    out.append(T(f"Reason for visit: {cl.reason}", gap=6))
    out += dx_blocks(case, cl, rng, rng.choice(("Diagnoses", "Today's diagnoses", "Your diagnoses")))
    out += narrative_blocks(cl, rng, "Visit notes")
    out += meds_blocks(cl)
    out += [T("Instructions", 1, True, gap=1), *[T(p, gap=1) for p in cl.plan], Space(6)]
    if first:
        out += _contacts(case, rng)
    return out


def letter(case: Case, rng: random.Random, who: Person, cl: Clinical, first: bool, st: Style) -> list[Block]:
    """Consult or follow-up letter to the referring physician or PCP."""
    out = letterhead(case, rng, st)
    to = next(iter(case.roles("referring_physician", "pcp")), None) if first else None
    to_name = to.display if to else "Colleague"
    salutation = f"Dear Dr. {to.name.split(' ')[-1]}," if to else "Dear Colleague,"
    out += [Space(8), T(case.date(case.visit), gap=8)]
    if to:
        out += [T(to_name, gap=0), T(f"{rng.randint(10, 999)} {rng.choice(('Main St', 'Elm Ave', 'Park Rd'))}", gap=0),
                T(case.clinic.city, gap=8)]
    if case.show_patient or not first:
        out.append(T(f"RE: {case.patient_name(who)}   DOB {case.date(case.dob)}", bold=True, gap=8))
    else:
        out.append(T(f"RE: MRN {case.mrn}   DOB {case.date(case.dob)}", bold=True, gap=8))
    out.append(T(salutation, gap=6))
    kind = rng.choice(("consultation", "follow-up visit"))
    pron = "her" if who.sex == "F" else "his"
    out.append(T(f"Thank you for the opportunity to see your patient in {kind} on {case.date(case.visit)}. "
                 f"{cl.hpi}", gap=6))
    for n in cl.notes:
        out.append(T(n, gap=4))
    if cl.family_history:
        fh = "; ".join(f"{r.lower()} with {c.lower()}" for r, c in cl.family_history)
        out.append(T(f"Family history is notable for {fh}.", gap=6))
    if cl.modifiers:
        out.append(T(" ".join(f"{m}." for m in cl.modifiers), gap=6))
    imp = "; ".join(dx_text(e) + (f" ({e.status.lower()})" if e.status != "Active" else "") for e in cl.diagnoses)
    out.append(T(f"Impression: {imp}.", gap=6))
    out.append(T(f"Plan: {' '.join(cl.plan)} I have continued {pron} {cl.meds[0].split(' ')[0].lower()}.", gap=6))
    if first:
        others = [d for d in case.distractors if d.role in ("nurse", "np_pa", "family_member", "emergency_contact")
                  and not (case.physician is None and d.display == case.provider.signed())]
        for d in others:
            out.append(T({"nurse": f"Our nurse, {d.display}, will call with the injection date.",
                          "np_pa": f"{d.display} also saw the patient today and will follow up in clinic.",
                          "family_member": f"The patient was accompanied by {pron} {d.relation.lower()}, {d.display}.",
                          "emergency_contact": f"Emergency contact on file: {d.display} ({d.relation.lower()})."
                          }[d.role], gap=4))
    out += [Space(6), T("Sincerely,", gap=22)]
    c = case.physician or case.provider
    if case.phys_style == "surname":
        out.append(T(case.physician_name(), bold=True, gap=0))
    else:
        out.append(T(c.signed(), bold=True, gap=0))
    out.append(T(c.specialty, gap=0, color=(70, 70, 70)))
    out.append(T(case.clinic.name, gap=8, color=(70, 70, 70)))
    if first:
        cc = [d.display for d in case.roles("pcp", "referring_physician") if d is not to]
        ma = case.roles("ma")
        if cc:
            out.append(T(f"cc: {', '.join(cc)}", -1, gap=2))
        if ma:
            out.append(T(f"Transcribed by: {ma[0].display}", -1, gap=2))
    return out


def ed_discharge(case: Case, rng: random.Random, who: Person, cl: Clinical, first: bool, st: Style) -> list[Block]:
    """Emergency department discharge summary."""
    out = letterhead(case, rng, st)
    out.append(T(rng.choice(("Emergency Department Discharge Summary", "ED DISCHARGE INSTRUCTIONS",
                             "Emergency Department - Discharge Summary")), 3, True, gap=6))
    pairs = patient_pairs(case, who, case.show_patient or not first, rng)
    pairs += [("Arrival", f"{case.date(case.visit)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"),
              ("ED attending" if case.physician else "ED provider", case.physician_name()),
              ("Disposition", "Discharged home"), ("Acuity (ESI)", str(rng.randint(3, 4)))]
    out.append(KV(tuple(pairs), 2))
    out.append(Bar("Discharge diagnosis"))
    for e in cl.diagnoses[:3]:
        out.append(T(dx_text(e) + (f" - {e.status}" if e.status != "Active" else ""), gap=1, indent=6))
    out.append(Space(6))
    out += narrative_blocks(cl, rng, "ED course")
    out.append(T("Given in the ED: ketorolac 15 mg IV, ondansetron 4 mg IV, normal saline 1 L.", gap=6))
    out += meds_blocks(cl)
    pcp = case.roles("pcp")
    follow = f"Follow up with your primary care provider {pcp[0].display} in 2-3 days." if pcp and first else \
        "Follow up with your primary care provider in 2-3 days."
    out += [T("Follow-up", 1, True, gap=1), T(follow, gap=1),
            T("Return to the ED for fever, weakness, numbness, or worsening symptoms.", gap=6)]
    if first:
        out += _contacts(case, rng, "Contacts")
    out += signature(case, rng)
    return out


def referral_form(case: Case, rng: random.Random, who: Person, cl: Clinical, first: bool, st: Style) -> list[Block]:
    """Pain-management referral/intake form with labelled boxes."""
    out = letterhead(case, rng, st)
    out.append(T(rng.choice(("REFERRAL FORM - PAIN MANAGEMENT", "Specialty Referral / Intake Form",
                             "Patient Referral Form")), 3, True, "C", gap=8))
    show = case.show_patient or not first
    cells: list[tuple[str, str]] = [("Patient name", case.patient_name(who) if show else ""),
                                    ("Date of birth", case.date(case.dob)), ("MRN", case.mrn),
                                    ("Phone", _phone(rng)), ("Insurance", case.payer.replace("_", " ").title()),
                                    ("Date", case.date(case.visit))]
    out.append(Boxes(tuple(cells), 3))
    pcp = case.roles("pcp")
    ref = case.roles("referring_physician")
    pcells = [("Treating physician" if case.physician else "Evaluating clinician", case.physician_name()),
              ("Specialty", (case.physician or case.provider).specialty)]
    if first:
        pcells += [("Referring provider", ref[0].display if ref else "Self-referral"),
                   ("Primary care physician", pcp[0].display if pcp else "None on file")]
    out.append(Boxes(tuple(pcells), 2))
    dx = [(f"Diagnosis {i}" if i > 1 else "Diagnosis", dx_text(e) + (f" - {e.status}" if e.status != "Active" else ""))
          for i, e in enumerate(cl.diagnoses[:3], 1)]
    out.append(Boxes(tuple(dx), 1))
    out.append(Checks("Urgency:", (("Routine", rng.random() < 0.7), ("Urgent", False), ("STAT", False))))
    out.append(Space(6))
    out += [T("Reason for referral / clinical summary", 0, True, gap=1), T(cl.hpi, gap=3)]
    out += [T(n, gap=3) for n in cl.notes]
    if cl.family_history:
        out.append(T("Family history: " + "; ".join(f"{r}: {c}" for r, c in cl.family_history), gap=3))
    if cl.modifiers:
        out.append(T("  ".join(cl.modifiers), gap=3))
    if first:
        rest = [p for p in contact_pairs(case, rng) if p[0] not in ("Referring provider", "Referred by",
                                                                     "Referring physician", "PCP", "Primary care",
                                                                     "Primary care provider")]
        if rest:
            out.append(Boxes(tuple(rest), 2))
    out.append(Checks("Records attached:", (("Office notes", True), ("Imaging", rng.random() < 0.5),
                                            ("Labs", rng.random() < 0.5))))
    return out


CPT = (("99204", "New patient office visit, level 4", 285), ("99214", "Established patient visit, level 4", 190),
       ("64450", "Injection, peripheral nerve block", 410), ("20552", "Trigger point injection, 1-2 muscles", 160),
       ("64405", "Greater occipital nerve block", 295), ("64520", "Lumbar sympathetic block", 720),
       ("J1030", "Methylprednisolone acetate 40 mg", 18), ("96372", "Therapeutic injection, IM/SC", 45))


def superbill(case: Case, rng: random.Random, who: Person, cl: Clinical, first: bool, st: Style) -> list[Block]:
    """Superbill / encounter form with CPT lines, ICD-10 pointers and money labels."""
    out = letterhead(case, rng, st)
    out.append(T(rng.choice(("SUPERBILL", "Encounter Form / Superbill", "Statement of Services")), 3, True, gap=6))
    show = case.show_patient or not first
    pairs = patient_pairs(case, who, show, rng)
    pairs += [("Date of service", case.date(case.visit)),
              ("Rendering provider", case.physician_name()), ("NPI", str(rng.randint(1_000_000_000, 1_999_999_999))),
              ("Payer", case.payer.replace("_", " ").title()), ("Account #", str(rng.randint(100000, 999999)))]
    out.append(KV(tuple(pairs), 2))
    lines = rng.sample(CPT, rng.randint(2, 3))
    rows = tuple((code, desc, "A" if i == 0 else "A,B", f"${fee:,.2f}") for i, (code, desc, fee) in enumerate(lines))
    out.append(Table(("CPT", "Description", "Dx ptr", "Fee"), rows, (0.13, 0.55, 0.12, 0.20)))
    dxrows = tuple((chr(65 + i), e.code or "-", e.text + (f" ({e.status})" if e.status != "Active" else ""))
                   for i, e in enumerate(cl.diagnoses[:4]))
    out.append(Table(("Ptr", "ICD-10-CM", "Diagnosis"), dxrows, (0.1, 0.18, 0.72)))
    total = sum(f for _, _, f in lines)
    copay = rng.choice((0, 20, 35, 50))
    out.append(Table(("Total Charges", "Copay", "Amount Due", "Balance"),
                     ((f"${total:,.2f}", f"${copay:,.2f}", f"${copay:,.2f}", f"${total - copay:,.2f}"),),
                     (0.25, 0.25, 0.25, 0.25)))
    if cl.notes or cl.family_history or cl.modifiers:
        out.append(T("Notes: " + " ".join(cl.notes) + (" Family history: " + "; ".join(
            f"{r}: {c}" for r, c in cl.family_history) + "." if cl.family_history else "") +
            (" " + "; ".join(cl.modifiers) if cl.modifiers else ""), -1, gap=6))
    if first:
        out += _contacts(case, rng, "Other providers / contacts")
    out.append(T(f"Provider signature: {case.physician_name('signed')}", gap=2))
    return out


def clinic_note(case: Case, rng: random.Random, who: Person, cl: Clinical, first: bool, st: Style) -> list[Block]:
    """Office/progress note, the commonest scanned or photographed paper."""
    out = letterhead(case, rng, st)
    out.append(T(rng.choice(("Progress Note", "Office Visit", "Clinic Note", "Follow-up Visit")), 3, True, gap=5))
    pairs = patient_pairs(case, who, case.show_patient or not first, rng)
    pairs += [("Date of service", case.date(case.visit)), (provider_label(rng), case.physician_name())]
    out.append(KV(tuple(pairs), 2))
    out += narrative_blocks(cl, rng, "Subjective")
    out += dx_blocks(case, cl, rng, rng.choice(("Assessment", "Assessment and Plan", "Problem List")))
    out += [T("Plan: " + " ".join(cl.plan), gap=6)]
    if first:
        out += _contacts(case, rng)
    out += signature(case, rng)
    return out


def fax_cover(case: Case, rng: random.Random, pages: int, st: Style) -> list[Block]:
    """A fax cover sheet from the clinic."""
    dest = next(iter(case.roles("pcp", "referring_physician")), None)
    ma = next(iter(case.roles("ma", "nurse")), None)
    re = f"Records for {case.patient_name()}" if case.show_patient and rng.random() < 0.5 else "Medical records"
    out: list[Block] = [T(case.clinic.name, 4, True, gap=1), T(f"{case.clinic.street}, {case.clinic.city}", gap=10),
                        T("FAX", 18, True, gap=14), Rule(1.5)]
    out.append(KV((("To", dest.display if dest else "Medical Records Dept."), ("Fax", _phone(rng)),
                   ("From", ma.display if ma else case.clinic.name), ("Phone", case.clinic.phone),
                   ("Date", case.date(case.visit)), ("Pages", f"{pages} (including cover)"), ("Re", re)), 1, gap=16))
    out.append(Checks("", (("Urgent", False), ("For review", True), ("Please reply", False))))
    out += [Space(30), T("CONFIDENTIALITY NOTICE: This facsimile contains protected health information. If you "
                         "received it in error, notify the sender and destroy all copies.", -1, gap=4)]
    return out


PAPER = {"avs": avs, "letter": letter, "ed": ed_discharge, "referral_form": referral_form, "superbill": superbill,
         "clinic_note": clinic_note}


def paper_blocks(case: Case, rng: random.Random, layout: str, st: Style) -> list[Block]:
    """The whole paper document: the patient's part, then a second patient's when the upload has two."""
    from evaluation.varied.render import PageBreak

    fn = PAPER[layout]
    blocks = fn(case, rng, case.patient, case.clinical, True, st)
    if case.second is not None and case.second_clinical is not None:
        blocks += [PageBreak(), *fn(case, rng, case.second, case.second_clinical, False, st)]
    return blocks


# --- screens ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vendor:
    """A fictional patient-portal look."""

    name: str
    accent: Color
    radius: float
    tabs: tuple[str, ...]
    dx_title: str


VENDORS = (
    Vendor("MyCarePath", (0, 94, 184), 12, ("Summary", "Medications", "Results", "Care Team"), "Health Issues"),
    Vendor("Kinnect Health", (120, 40, 160), 16, ("Overview", "Meds", "Labs", "Messages"), "Diagnoses"),
    Vendor("HealthHarbor", (0, 128, 110), 8, ("Visit", "Problems", "Medications", "Documents"), "Problem List"),
    Vendor("Lumen Patient", (200, 80, 20), 20, ("Summary", "Conditions", "Results"), "Conditions"),
    Vendor("CareBridge Portal", (30, 60, 120), 4, ("Visits", "Health Summary", "Billing"), "Visit Diagnoses"),
)


@dataclass(frozen=True)
class Theme:
    """Screen colours."""

    bg: Color
    card: Color
    text: Color
    sub: Color
    line: Color


LIGHT = Theme((242, 243, 247), (255, 255, 255), (20, 22, 28), (95, 100, 112), (222, 225, 232))
DARK = Theme((14, 15, 18), (32, 34, 40), (236, 238, 242), (160, 165, 175), (60, 63, 72))


class Screen:
    """Helpers for drawing portal screens on an ImageCanvas, recording the strings drawn."""

    def __init__(self, c: ImageCanvas, th: Theme, min_size: float) -> None:
        self.c, self.th, self.min_size = c, th, min_size
        self.texts: list[str] = []

    def t(self, x: float, y: float, s: str, size: float, bold: bool = False, color: Color | None = None) -> None:
        """Text at a baseline, never below the legibility floor."""
        self.c.text(x, y, s, max(size, self.min_size), bold, color or self.th.text)
        self.texts.append(s)

    def para(self, x: float, y: float, s: str, size: float, width: float, color: Color | None = None,
             bold: bool = False) -> float:
        """Wrapped text; returns the y after it."""
        size = max(size, self.min_size)
        for line in wrap(self.c, s, size, width, bold):
            y += size * 1.35
            self.t(x, y, line, size, bold, color)
        return y

    def avatar(self, x: float, y: float, d: float, initials: str, color: Color) -> None:
        """An initials avatar circle."""
        self.c.ellipse(x, y, d, d, color)
        size = max(d * 0.4, self.min_size)
        w = self.c.width(initials, size, True)
        self.c.text(x + (d - w) / 2, y + d / 2 + size * 0.36, initials, size, True, (255, 255, 255))


def _screen_rows(case: Case, cl: Clinical, rng: random.Random) -> list[tuple[str, list[tuple[str, str]]]]:
    """Card title and (main, secondary) rows for a portal screen, in display order."""
    cards: list[tuple[str, list[tuple[str, str]]]] = []
    c = case.physician or case.provider
    prov_rows = [(case.physician_name(), c.specialty if case.phys_style != "surname" or rng.random() < 0.5 else ""),
                 (case.date(case.visit), case.clinic.name)]
    cards.append((rng.choice(("Visit details", "Your visit", "Appointment")), prov_rows))
    dx = [(e.text, " ".join(p for p in (e.code or "", "" if e.status == "Active" else e.status) if p))
          for e in cl.diagnoses]
    cards.append(("__dx__", dx))
    notes = [(cl.hpi, "")] + [(n, "") for n in cl.notes]
    if cl.modifiers:
        notes += [(m, "") for m in cl.modifiers]
    cards.append((rng.choice(("Visit notes", "Notes from your visit", "Clinical notes")), notes))
    if cl.family_history:
        cards.append(("Family History", [(cond, rel) for rel, cond in cl.family_history]))
    team = [(d.display, {"referring_physician": "Referring provider", "pcp": "Primary care provider",
                         "nurse": "Nurse", "np_pa": "Nurse practitioner / PA", "ma": "Medical assistant"}[d.role])
            for d in case.distractors if d.role in ("referring_physician", "pcp", "nurse", "np_pa", "ma")
            and not (case.physician is None and d.display == case.provider.signed())]
    if team:
        cards.append(("Care Team", team))
    contacts = [(d.display, d.relation + (" - emergency contact" if d.role == "emergency_contact" else ""))
                for d in case.distractors if d.role in ("emergency_contact", "family_member")]
    if contacts:
        cards.append(("Contacts", contacts))
    if rng.random() < 0.5:
        cards.append(("Medications", [(m, "") for m in cl.meds]))
    return cards


def phone_portal(case: Case, rng: random.Random, provider_card: bool = False) -> tuple[ImageCanvas, list[str], float]:
    """A phone portal screenshot; returns the canvas, strings drawn and the y where the account header ends."""
    vendor = rng.choice(VENDORS)
    th = DARK if rng.random() < 0.35 else LIGHT
    w = rng.choice((360, 375, 390, 393, 412, 430))
    scale = rng.choice((2.0, 3.0, 2.625, 3.0))
    min_size = 22 / scale  # about 12 px x-height in the saved image
    c = ImageCanvas(w, 4000, scale, th.bg)
    s = Screen(c, th, min_size)
    pad = 16
    # Status bar.
    s.t(pad + 6, 30, f"{rng.randint(7, 12)}:{rng.randint(0, 59):02d}", 15, True)
    c.rect(w - 48, 19, 26, 12, outline=th.text, lw=1, radius=3)
    c.rect(w - 46, 21, rng.randint(8, 20), 8, fill=th.text, radius=1)
    y = 52.0
    # Account header: avatar + "First Last ▾".
    c.rect(0, y - 6, w, 60, fill=vendor.accent if th is LIGHT else th.card)
    if case.show_patient:
        s.avatar(pad, y + 2, 40, case.patient.initials(), (min(255, vendor.accent[0] + 60), 90, 110))
        s.t(pad + 50, y + 28, f"{case.patient.first_last()} ▾", 17, True, (255, 255, 255))
    name_end = pad + 50 + c.width(f"{case.patient.first_last()} ▾", max(17, min_size), True)
    vendor_x = w - pad - c.width(vendor.name, max(13, min_size))
    if vendor_x > name_end + 12 or not case.show_patient:  # the vendor mark only where the name leaves room
        s.t(vendor_x, y + 27, vendor.name, 13, False, (230, 235, 245))
    header_end = y + 58
    y = header_end + 14
    title = "Care Team" if provider_card else rng.choice(("Visit Summary", "Health Summary", "After Visit Summary"))
    s.t(pad, y + 26, title, 26, True)
    y += 44
    # Tabs.
    x = float(pad)
    for i, tab in enumerate(vendor.tabs):
        size = 15
        s.t(x, y + 18, tab, size, i == 0, vendor.accent if i == 0 else th.sub)
        tw = c.width(tab, max(size, min_size), i == 0)
        if i == 0:
            c.rect(x, y + 25, tw, 3, fill=vendor.accent)
        x += tw + 20
        if x > w - 40:
            break
    c.line(0, y + 28, w, y + 28, 0.6, th.line)
    y += 40
    if provider_card:
        y = _provider_card(case, rng, s, vendor, pad, y, w)
    cards = _screen_rows(case, case.clinical, rng)
    if provider_card:
        cards = cards[1:]
    for title_, rows in cards:
        if title_ == "__dx__":
            title_ = vendor.dx_title
        y = _card(s, vendor, pad, y, w - 2 * pad, title_, rows)
    # Bottom navigation.
    y += 10
    c.rect(0, y, w, 64, fill=th.card)
    c.line(0, y, w, y, 0.6, th.line)
    for i, item in enumerate(("Home", "Messages", "Visits", "Menu")):
        s.t(12 + i * (w - 24) / 4, y + 38, item, 12, i == 2, vendor.accent if i == 2 else th.sub)
    y += 64
    bottom = max(y, rng.choice((780.0, 812.0, 844.0, 896.0)))
    c.pages[0] = c.pages[0].crop((0, 0, c.pages[0].width, round(bottom * scale)))
    return c, s.texts, header_end


def _card(s: Screen, vendor: Vendor, x: float, y: float, w: float, title: str, rows: list[tuple[str, str]]) -> float:
    """A rounded card with a title and rows; returns y below it."""
    c, th = s.c, s.th
    body = s.min_size
    # Measure first so the card background can be drawn under the text.
    h = 42.0
    for main, sub in rows:
        h += len(wrap(c, main, max(15, body), w - 28)) * max(15, body) * 1.35 + (max(13, body) * 1.35 if sub else 0)
        h += 10
    c.rect(x, y, w, h, fill=th.card, outline=th.line, lw=0.6, radius=vendor.radius)
    s.t(x + 14, y + 28, title, 17, True)
    yy = y + 36
    for i, (main, sub) in enumerate(rows):
        yy = s.para(x + 14, yy, main, 15, w - 28)
        if sub:
            yy = s.para(x + 14, yy, sub, 13, w - 28, th.sub)
        yy += 10
        if i < len(rows) - 1:
            c.line(x + 14, yy - 5, x + w - 14, yy - 5, 0.5, th.line)
    return y + h + 14


def _provider_card(case: Case, rng: random.Random, s: Screen, vendor: Vendor, pad: float, y: float, w: float) -> float:
    """The provider card: photo circle, "Name, DO" with the specialty under it, clinic and buttons."""
    c, th = s.c, s.th
    cw = w - 2 * pad
    who = case.physician or case.provider
    name = case.physician_name() if case.phys_style in ("surname", "dr") else who.signed()
    # Measure the text column first so the card can be drawn behind it.
    tw = cw - 112
    lines = (len(wrap(c, name, max(18, s.min_size), tw, True)) * max(18, s.min_size)
             + len(wrap(c, who.specialty, max(14, s.min_size), tw)) * max(14, s.min_size)
             + len(wrap(c, case.clinic.name, max(13, s.min_size), tw)) * max(13, s.min_size)) * 1.35 + 30
    text_h = max(96.0, lines)
    h = text_h + 100
    c.rect(pad, y, cw, h, fill=th.card, outline=th.line, lw=0.6, radius=vendor.radius)
    s.avatar(pad + 16, y + 18, 72, who.person.initials(), (110, 120, 140))
    yy = s.para(pad + 100, y + 16, name, 18, tw, bold=True)
    yy = s.para(pad + 100, yy + 2, who.specialty, 14, tw, th.sub)
    s.para(pad + 100, yy + 2, case.clinic.name, 13, tw, th.sub)
    s.t(pad + 16, y + text_h + 24, f"Phone {case.clinic.phone}", 14, False, th.sub)
    for i, label in enumerate(("Message", "Schedule")):
        bx = pad + 16 + i * (cw - 32) / 2
        c.rect(bx, y + text_h + 42, (cw - 48) / 2, 36, fill=vendor.accent, radius=18)
        s.t(bx + 24, y + text_h + 66, label, 14, True, (255, 255, 255))
    return y + h + 14


def desktop_portal(case: Case, rng: random.Random) -> tuple[ImageCanvas, list[str], float]:
    """A desktop portal screenshot with browser chrome, sidebar and tables; returns canvas, strings, header end."""
    vendor = rng.choice(VENDORS)
    th = DARK if rng.random() < 0.2 else LIGHT
    w = rng.choice((1280, 1366, 1440))
    scale = rng.choice((1.5, 2.0))
    min_size = 21 / scale
    c = ImageCanvas(w, 3000, scale, th.bg)
    s = Screen(c, th, min_size)
    chrome = (222, 225, 230) if th is LIGHT else (40, 42, 48)
    c.rect(0, 0, w, 84, fill=chrome)
    for i, col in enumerate(((236, 95, 90), (245, 190, 80), (98, 197, 85))):
        c.ellipse(14 + i * 20, 12, 12, 12, col)
    c.rect(90, 6, 260, 30, fill=th.bg, radius=8)
    s.t(104, 27, f"{vendor.name} - Visits", 14)
    c.rect(90, 46, w - 180, 30, fill=th.card, radius=15)
    slug = vendor.name.lower().replace(" ", "")
    s.t(110, 67, f"https://portal.{slug}.org/app/visits/summary?id={rng.randint(10000, 99999)}", 14, False, th.sub)
    y = 84.0
    # Top bar with the account holder.
    c.rect(0, y, w, 56, fill=vendor.accent)
    s.t(20, y + 36, vendor.name, 20, True, (255, 255, 255))
    if case.show_patient:
        label = f"{case.patient.first_last()} ▾"
        lw = c.width(label, max(16, min_size), True)
        s.avatar(w - lw - 70, y + 10, 36, case.patient.initials(), (60, 60, 80))
        s.t(w - lw - 26, y + 34, label, 16, True, (255, 255, 255))
    header_end = y + 56
    y = header_end
    # Sidebar.
    side = 230.0
    c.rect(0, y, side, 2000, fill=th.card)
    for i, item in enumerate(("Home", "Messages", "Visits", "Test Results", "Health Summary", "Medications",
                              "Billing", "Sharing")):
        active = item == "Visits"
        if active:
            c.rect(0, y + 16 + i * 44, side, 40, fill=th.line)
        s.t(24, y + 42 + i * 44, item, 16, active, vendor.accent if active else th.text)
    x0 = side + 36
    cw = w - x0 - 36
    y += 28
    s.t(x0, y + 30, rng.choice(("Visit Summary", "Health Summary", "Appointment Details")), 28, True)
    y += 48
    if case.show_patient and rng.random() < 0.5:
        s.t(x0, y + 18, f"{case.patient_name()}  ·  DOB {case.date(case.dob)}  ·  MRN {case.mrn}", 15, False, th.sub)
        y += 30
    cards = _screen_rows(case, case.clinical, rng)
    for title, rows in cards:
        if title == "__dx__":
            dx_rows = [(e.text, e.code or "-", e.status) for e in case.clinical.diagnoses]
            y = _desktop_table(s, vendor, x0, y, cw, vendor.dx_title, ("Diagnosis", "Code", "Status"), dx_rows)
        elif title in ("Care Team", "Contacts"):
            y = _desktop_table(s, vendor, x0, y, cw, title, ("Name", "Role"), [(m, sub) for m, sub in rows])
        else:
            y = _card(s, vendor, x0, y, cw, title, rows)
    bottom = max(y + 20, 820)
    c.pages[0] = c.pages[0].crop((0, 0, c.pages[0].width, round(bottom * scale)))
    return c, s.texts, header_end


def _desktop_table(s: Screen, vendor: Vendor, x: float, y: float, w: float, title: str, header: tuple[str, ...],
                   rows: Sequence[tuple[str, ...]]) -> float:
    """A titled table card on the desktop portal."""
    c, th = s.c, s.th
    size = max(15, s.min_size)
    widths = [0.6, 0.18, 0.22] if len(header) == 3 else [0.55, 0.45]
    row_h = [max(len(wrap(c, cell, size, w * f - 24)) for cell, f in zip(r, widths, strict=False)) * size * 1.35 + 14
             for r in rows]
    h = 50 + size * 1.35 + 14 + sum(row_h)
    c.rect(x, y, w, h, fill=th.card, outline=th.line, lw=0.6, radius=vendor.radius / 2)
    s.t(x + 16, y + 30, title, 18, True)
    yy = y + 44
    xx = x + 16
    for hd, f in zip(header, widths, strict=True):
        s.t(xx, yy + size * 1.2, hd, size, True, th.sub)
        xx += (w - 32) * f
    yy += size * 1.35 + 14
    for r, rh in zip(rows, row_h, strict=True):
        c.line(x + 12, yy - 4, x + w - 12, yy - 4, 0.5, th.line)
        xx = x + 16
        for cell, f in zip(r, widths, strict=False):
            s.para(xx, yy - 6, cell, size, (w - 32) * f - 12)
            xx += (w - 32) * f
        yy += rh
    return y + h + 18


def paper_layout_for(kind: str, rng: random.Random) -> str:
    """Which paper layout a paper kind uses."""
    return {
        "avs_pdf": "avs", "letter_pdf": "letter", "ed_discharge": "ed", "referral_form": "referral_form",
        "superbill": "superbill",
        "fax_tiff": rng.choice(("letter", "clinic_note", "referral_form", "avs")),
        "photo_paper": rng.choice(("avs", "letter", "clinic_note", "ed")),
        "scan": rng.choice(("clinic_note", "letter", "avs", "superbill", "referral_form")),
    }[kind]


def blank_style(st: Style) -> Style:
    """The same style for a fax cover, without a footer."""
    return Style(st.family, st.base, st.margin, st.accent, st.shade, st.leading, "")


__all__ = ["Canvas", "Distractor", "blank_style", "desktop_portal", "fax_cover", "paper_blocks", "paper_layout_for",
           "paper_style", "phone_portal"]
