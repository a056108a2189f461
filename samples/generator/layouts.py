"""Document kinds: cases -> paper lines (note, after-visit summary, problem list, fax cover) or a portal screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .model import Case, Dx, Person, Sample


@dataclass(frozen=True)
class Line:
    """One paper line. style: title | heading | bold | body | small | rule | pagebreak | faxhead | row."""

    text: str = ""
    style: str = "body"
    cells: tuple[str, ...] = ()  # for style "row": table cells, widths from ROW_WIDTHS


ROW_WIDTHS = (0.56, 0.13, 0.14, 0.17)  # problem table: Problem | ICD-10 | Status | Onset (fractions of text width)

OTHER_TEMPLATES = {
    "pcp": "PCP: {name}",
    "referring": "Referring provider: {name}",
    "emergency": "Emergency Contact: {name} ({relation})  (555) 555-0{num}",
    "nurse": "Vitals and intake recorded by {name}",
    "app": "Seen with: {name}",
    "family": "Accompanied by {name} ({relation})",
}
ROLE_LABELS = {"pcp": "PCP", "referring": "Referring", "nurse": "Nurse", "emergency": "Emergency contact",
               "family": "Family"}
APP_LABELS = {"NP": "Nurse Practitioner", "PA-C": "Physician Assistant"}


def role_label(p: Person) -> str:
    """How a portal or AVS describes a care-team member's role."""
    return APP_LABELS.get(p.credentials, "Care team") if p.role == "app" else ROLE_LABELS[p.role]


def _other_line(p: Person, i: int) -> str:
    return OTHER_TEMPLATES[p.role].format(name=p.printed(), relation=p.relation, num=110 + i)


def _dx_line(i: int, d: Dx) -> str:
    return f"{i}. {d.text}" + (f" ({d.code})" if d.code else "")


def _section(title: str, lines: tuple[str, ...] | list[str]) -> list[Line]:
    return [Line(title, "heading"), *[Line(t) for t in lines]] if lines else []


def _clinic_header(c: Case) -> list[Line]:
    return [Line(c.clinic.name, "title"), Line(c.clinic.address, "small"), Line(c.clinic.phone, "small"),
            Line(style="rule")]


def _patient_line(c: Case) -> Line:
    if c.patient is None:  # a continuation page: identifiers but no name
        return Line(f"MRN: {c.mrn}    DOB: {c.dob}    Page 2 of 2", "bold")
    return Line(f"{c.patient_label}: {c.patient.printed()}    DOB: {c.dob}    MRN: {c.mrn}", "bold")


def _signature(c: Case, verb: str = "Electronically signed by") -> list[Line]:
    s = c.signed_by
    if s is None:
        return []
    return [Line(), Line(f"{verb} {s.printed('natural')} on {c.visit} 16:42", "small")]


def note_lines(c: Case) -> list[Line]:
    """A visit note: clinic header, identifiers, SOAP-ish sections, numbered assessment, signature."""
    out = _clinic_header(c) + [Line(c.title.upper(), "heading"), _patient_line(c)]
    visit = f"Date of Service: {c.visit}"
    if c.physician and c.provider_label:
        visit += f"    {c.provider_label}: {c.physician.printed()}"
    out.append(Line(visit))
    out += [Line(_other_line(p, i)) for i, p in enumerate(c.others)]
    out += _section("Chief Complaint", [c.complaint] if c.complaint else [])
    out += _section("History of Present Illness", c.hpi)
    out += _section("Past Medical History", c.pmh)
    out += _section("Family History", c.family)
    out += _section("Medications", c.meds)
    out += _section("Allergies", [c.allergies] if c.allergies else [])
    for title, lines in c.extra:
        out += _section(title, lines)
    if c.break_before_assessment:
        out += [Line(style="pagebreak"), _patient_line(c)]
    out += _section(c.dx_title, [_dx_line(i, d) for i, d in enumerate(c.dx, 1)] + list(c.plan))
    return out + _signature(c)


def avs_lines(c: Case) -> list[Line]:
    """An after-visit summary: the patient-facing print-out of a visit."""
    out = _clinic_header(c) + [Line("After Visit Summary", "heading")]
    out.append(Line(f"{c.patient.printed()}    DOB: {c.dob}", "bold") if c.patient else _patient_line(c))
    if c.physician:
        out.append(Line(f"{c.visit}  Office visit with {c.physician.printed()} - Pain Medicine"))
    out += _section("Today's Diagnoses", [d.text + (f"  {d.code}" if d.code else "") for d in c.dx])
    team = [f"{c.physician.printed()} - Attending physician"] if c.physician else []
    team += [f"{p.printed()} - {role_label(p)}" for p in c.others if p.role not in ("emergency", "family")]
    out += _section("Your Care Team", team)
    out += _section("Medications", c.meds)
    out += _section("What's Next", c.plan)
    out += _section("Emergency Contact on File", [f"{p.printed()} ({p.relation})" for p in c.others
                                                  if p.role == "emergency"])
    return out


def problem_lines(c: Case) -> list[Line]:
    """A printed problem list: a four-column table with status and onset."""
    out = _clinic_header(c) + [Line("PROBLEM LIST", "heading"), _patient_line(c)]
    if c.physician and c.provider_label:
        out.append(Line(f"{c.provider_label}: {c.physician.printed()}    Printed: {c.visit}"))
    out.append(Line(style="row", cells=("Problem", "ICD-10", "Status", "Onset")))
    out += [Line(style="row", cells=(d.text, d.code or "", d.status, d.onset)) for d in c.dx]
    out += [Line(_other_line(p, i)) for i, p in enumerate(c.others)]
    out += _section("Family History", c.family)
    return out + _signature(c, "Printed by")


def fax_referral_lines(c: Case) -> list[Line]:
    """Page 1: a referring office's fax cover; page 2: the clinic's consult note."""
    ref = next(p for p in c.others if p.role == "referring")
    cover = [Line("FAX", "title"), Line("Lakeside Family Medicine", "heading"),
             Line("1290 Harbor Rd, Kenosha, WI 53140  Tel (262) 555-0142  Fax (262) 555-0143", "small"),
             Line(style="rule"),
             Line(f"To: {c.clinic.name}   Fax: (503) 555-0149"), Line(f"From: {ref.printed()}"),
             Line(f"Re: Referral for ketamine infusion - {c.patient.printed() if c.patient else ''}  DOB {c.dob}"),
             Line("Pages: 2 (including cover)"), Line(),
             Line("Please evaluate this patient for ketamine infusion therapy. Burning pain in both feet, "
                  "failed gabapentin and duloxetine. Office note attached."),
             Line(),
             Line("CONFIDENTIALITY NOTICE: This facsimile contains protected health information. If you received "
                  "it in error, notify the sender and destroy all copies.", "small"),
             Line(style="pagebreak")]
    return cover + note_lines(c)


PAPER_LAYOUTS: dict[str, Callable[[Case], list[Line]]] = {
    "note": note_lines, "avs": avs_lines, "problems": problem_lines, "fax_referral": fax_referral_lines}


def paper_lines(s: Sample) -> list[Line]:
    """All cases of a sample in its layout; several cases (two patients in one file) start on new pages."""
    out: list[Line] = []
    for i, c in enumerate(s.cases):
        if i:
            out.append(Line(style="pagebreak"))
        out += PAPER_LAYOUTS[s.layout](c)
    return out


@dataclass(frozen=True)
class Card:
    title: str
    rows: tuple[tuple[str, str], ...]  # (primary, secondary); secondary may be ""


@dataclass(frozen=True)
class Screen:
    app: str
    account: str  # the account holder's name as shown in the portal header
    page_title: str
    cards: tuple[Card, ...]


def portal_screen(c: Case, app: str = "MyChart") -> Screen:
    """A patient-portal health summary: issues, care team, last visit, family history."""
    cards = []
    if c.dx:
        cards.append(Card("Current Health Issues", tuple((d.text, d.code or "") for d in c.dx)))
    if c.physician:
        cards.append(Card("Recent Visit", ((f"Office Visit - {c.visit}", f"with {c.physician.printed()}"),
                                           (c.clinic.name, ""))))
    team = [(c.physician.printed(), "Pain Medicine - Attending")] if c.physician else []
    team += [(p.printed(), role_label(p)) for p in c.others if p.role not in ("emergency", "family")]
    if team:
        cards.append(Card("Care Team", tuple(team)))
    if c.family:
        cards.append(Card("Family History", tuple((f, "") for f in c.family)))
    cards += [Card(t, tuple((x, "") for x in lines)) for t, lines in c.extra]
    account = c.patient.printed() if c.patient else ""
    return Screen(app, account, "Health Summary", tuple(cards))
