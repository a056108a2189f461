"""Generate docverify's labeled synthetic sample set: `samples/inputs/*`, `samples/labels.jsonl`, `samples/README.md`.

Run from the repository root:  python samples/generate.py

Every person, clinic, phone number and MRN here is invented. Each upload is described by a small data model
(`Person`, `Dx`, `Case`, `Sample`): a `Case` is one patient's clinical content, a layout (`note`, `avs`, `problems`,
`fax_referral`, `portal`) turns cases into either paper lines or a portal screen, and one renderer per kind turns those
into bytes (fpdf2 text PDF, Pillow page images degraded like scans/faxes/photos, portal screenshots). Labels are
written next to the content they describe, in `SAMPLES` at the bottom, so a reader can check one against the other.

Determinism: every sample draws from its own `random.Random(f"{SEED}:{file}")`; PDFs carry a fixed creation date;
Pillow writes no metadata. Rerunning produces byte-identical files (HEIC depends on the x265 encoder build).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

SEED = 20260314
HERE = Path(__file__).resolve().parent
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PDF_DATE = datetime(2026, 1, 1, tzinfo=UTC)
LETTER_IN = (8.5, 11.0)  # page size in inches, used by every paper renderer

# --------------------------------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------------------------------


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


def expect(case: Case, status: str, pain: tuple[str, str] | None, *, patient: str | None | bool = True,
           physician: str | None | bool = True) -> Expected:
    """Expected fields derived from the case; pass patient/physician explicitly to override (None = absent)."""
    pat = (case.patient.normalized if case.patient else None) if patient is True else patient
    doc = (case.physician.normalized if case.physician else None) if physician is True else physician
    return Expected(status, pat, doc, pain[0] if pain else None, pain[1] if pain else None)


def rejected(code: str) -> Expected:
    return Expected("rejected", None, None, None, None, code)


# --------------------------------------------------------------------------------------------------------------------
# Layouts: cases -> paper lines, or cases -> a portal screen
# --------------------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------------------
# Renderers
# --------------------------------------------------------------------------------------------------------------------

FONT_FILES = {
    ("sans", False): "DejaVuSans.ttf", ("sans", True): "DejaVuSans-Bold.ttf",
    ("serif", False): "DejaVuSerif.ttf", ("serif", True): "DejaVuSerif-Bold.ttf",
    ("mono", False): "DejaVuSansMono.ttf", ("mono", True): "DejaVuSansMono-Bold.ttf",
}
# point sizes of paper line styles; the body never goes below 10 pt so scans stay OCR-able
PT = {"title": 16, "heading": 12.5, "bold": 11, "body": 11, "small": 10, "faxhead": 10, "row": 10.5}
BOLD_STYLES = {"title", "heading", "bold"}


def font(family: str, bold: bool, px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / FONT_FILES[family, bold]), max(1, round(px)))


def bare_pdf() -> FPDF:
    """An fpdf2 document in points on US letter with the fixed creation date (no fonts embedded)."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_creation_date(PDF_DATE)
    return pdf


def new_pdf() -> FPDF:
    """`bare_pdf` with margins and the DejaVu families registered (fpdf2 embeds every registered font)."""
    pdf = bare_pdf()
    pdf.set_auto_page_break(True, margin=54)
    pdf.set_margins(54, 54, 54)
    for (fam, bold), fname in FONT_FILES.items():
        pdf.add_font(fam, "B" if bold else "", str(FONT_DIR / fname))
    return pdf


def pdf_bytes(lines: list[Line], family: str) -> bytes:
    """A born-digital PDF with a text layer (fpdf2, DejaVu so accents survive)."""
    pdf = new_pdf()
    pdf.add_page()
    for ln in lines:
        if ln.style == "pagebreak":
            pdf.add_page()
            continue
        if ln.style == "rule":
            pdf.set_draw_color(120, 120, 120)
            pdf.line(pdf.l_margin, pdf.get_y() + 3, pdf.w - pdf.r_margin, pdf.get_y() + 3)
            pdf.ln(9)
            continue
        size = PT[ln.style]
        pdf.set_font(family, "B" if ln.style in BOLD_STYLES else "", size)
        if ln.style == "heading":
            pdf.ln(5)
        if ln.style == "row":
            width = pdf.w - pdf.l_margin - pdf.r_margin
            bold = ln.cells[0] == "Problem"
            pdf.set_font(family, "B" if bold else "", size)
            for cell, frac in zip(ln.cells, ROW_WIDTHS, strict=True):
                pdf.cell(width * frac, size * 1.6, cell, border="B" if bold else 0)
            pdf.ln(size * 1.6)
            continue
        pdf.multi_cell(0, size * 1.35, ln.text or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _wrap(text: str, f: ImageFont.FreeTypeFont, width: float) -> list[str]:
    words, out, cur = text.split(), [], ""
    for w in words:
        trial = f"{cur} {w}".strip()
        if cur and f.getlength(trial) > width:
            out.append(cur)
            cur = w
        else:
            cur = trial
    return out + [cur] if cur or not out else out


def page_images(lines: list[Line], family: str, dpi: int, fax_header: str | None = None) -> list[Image.Image]:
    """Paper lines drawn on white US-letter pages (grayscale) at `dpi`, paginating as needed."""
    w, h = int(LETTER_IN[0] * dpi), int(LETTER_IN[1] * dpi)
    margin = int(0.75 * dpi)
    px = dpi / 72  # pixels per point
    pages: list[Image.Image] = []

    def start() -> tuple[Image.Image, ImageDraw.ImageDraw, float]:
        img = Image.new("L", (w, h), 255)
        pages.append(img)
        return img, ImageDraw.Draw(img), margin

    img, d, y = start()
    for ln in lines:
        if ln.style == "pagebreak":
            img, d, y = start()
            continue
        if ln.style == "rule":
            d.line((margin, y + 4 * px, w - margin, y + 4 * px), fill=90, width=max(1, int(px)))
            y += 10 * px
            continue
        size = PT[ln.style]
        f = font(family, ln.style in BOLD_STYLES or (ln.style == "row" and ln.cells[0] == "Problem"), size * px)
        lh = size * 1.4 * px
        if ln.style == "heading":
            y += 5 * px
        if ln.style == "row":
            rows = [ln.cells]
        else:
            rows = [(t,) for t in _wrap(ln.text, f, w - 2 * margin)] if ln.text else [("",)]
        for row in rows:
            if y + lh > h - margin:
                img, d, y = start()
            x = margin
            for cell, frac in zip(row, ROW_WIDTHS if ln.style == "row" else (1.0,), strict=False):
                d.text((x, y), cell, font=f, fill=0)
                x += frac * (w - 2 * margin)
            y += lh
    if fax_header:  # drawn last: "P. 1/2" needs the page count; it sits in the top margin, above the content
        for i, pg in enumerate(pages, 1):
            text = fax_header.format(page=i, total=len(pages))
            ImageDraw.Draw(pg).text((margin // 2, int(0.2 * dpi)), text, font=font("mono", False, PT["faxhead"] * px),
                                    fill=0)
    return pages


def noise_layer(rng: random.Random, size: tuple[int, int], low: int) -> Image.Image:
    """Multiplicative paper/sensor noise: values in [low, 255], drawn from the sample's seeded RNG."""
    raw = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return raw.point(lambda v: low + v * (255 - low) // 255)


def degrade_scan(img: Image.Image, rng: random.Random, angle: float) -> Image.Image:
    """A flatbed scan: slight rotation, sensor noise, a little blur, a gray edge where the platen shows."""
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=235)
    img = ImageChops.multiply(img, noise_layer(rng, img.size, 215))
    return img.filter(ImageFilter.GaussianBlur(0.7))


def jpeg_bytes(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def render_text_pdf(s: Sample, rng: random.Random) -> bytes:
    return pdf_bytes(paper_lines(s), s.font)


def render_scanned_pdf(s: Sample, rng: random.Random) -> bytes:
    """Image-only PDF: each page a degraded 200 dpi JPEG filling a letter page, no text layer."""
    pdf = new_pdf()
    for i, page in enumerate(page_images(paper_lines(s), s.font, 200)):
        pdf.add_page()
        angle = s.angle * (1 if i % 2 == 0 else -0.6)
        pdf.image(io.BytesIO(jpeg_bytes(degrade_scan(page, rng, angle), 80)), x=0, y=0, w=pdf.w, h=pdf.h)
    return bytes(pdf.output())


def render_jpeg_scan(s: Sample, rng: random.Random) -> bytes:
    (page, *_) = page_images(paper_lines(s), s.font, 200)
    return jpeg_bytes(degrade_scan(page, rng, s.angle))


FAX_HEADER = "MAR-02-2026 09:14  FROM: (262) 555-0143  TO: (503) 555-0149   P. {page}/{total}"


def render_tiff_fax(s: Sample, rng: random.Random) -> bytes:
    """Multi-page 1-bit CCITT G4 TIFF at 200 dpi with a fax header line and a few specks."""
    frames = []
    for page in page_images(paper_lines(s), s.font, 200, fax_header=FAX_HEADER):
        page = page.rotate(s.angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
        a = Image.frombytes("L", page.size, rng.randbytes(page.size[0] * page.size[1]))
        b = Image.frombytes("L", page.size, rng.randbytes(page.size[0] * page.size[1]))
        # a speck where both draws are 255: p = 1/65536, ~60 specks on a 1700x2200 page
        specks = ImageChops.darker(a, b).point(lambda v: 0 if v == 255 else 255)
        page = ImageChops.darker(page, specks)
        frames.append(page.point(lambda v: 255 if v > 150 else 0).convert("1", dither=Image.Dither.NONE))
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", compression="group4", dpi=(200, 200), save_all=True, append_images=frames[1:])
    return buf.getvalue()


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8x8, for perspective coefficients)."""
    n = len(b)
    m = [row[:] + [v] for row, v in zip(a, b, strict=True)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        for r in range(n):
            if r != col:
                k = m[r][col] / m[col][col]
                m[r] = [x - k * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points `dst` to input points `src`."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return _solve(a, b)


def render_heic_photo(s: Sample, rng: random.Random) -> bytes:
    """A phone photo of a printed page: on a desk, perspective-skewed, unevenly lit, saved as HEIC."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    (page, *_) = page_images(paper_lines(s), s.font, 200)
    paper = ImageOps.colorize(page, black=(28, 28, 32), white=(246, 242, 233))
    pw, ph = paper.size
    cw, ch = 2000, 2600
    canvas = Image.new("RGB", (cw, ch), (96, 78, 62))  # a wooden desk
    canvas = ImageChops.multiply(canvas, noise_layer(rng, (cw, ch), 200).convert("RGB"))
    j = [rng.uniform(-40, 40) for _ in range(8)]
    quad = [(110 + j[0], 120 + j[1]), (cw - 150 + j[2], 60 + j[3]), (cw - 60 + j[4], ch - 90 + j[5]),
            (70 + j[6], ch - 140 + j[7])]  # where the page's corners land in the photo (TL, TR, BR, BL)
    coeffs = perspective_coeffs(quad, [(0, 0), (pw, 0), (pw, ph), (0, ph)])
    warped = paper.transform((cw, ch), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    mask = Image.new("L", paper.size, 255).transform((cw, ch), Image.Transform.PERSPECTIVE, coeffs,
                                                     Image.Resampling.BILINEAR)
    canvas.paste(warped, (0, 0), mask)
    canvas = canvas.rotate(s.angle, resample=Image.Resampling.BICUBIC, fillcolor=(80, 66, 52))
    # uneven lighting: a radial falloff centred off the page's middle (a desk lamp to the upper left)
    light = Image.radial_gradient("L").resize((cw * 2, ch * 2)).crop((cw // 2 + 300, ch // 2 + 350,
                                                                       cw // 2 + 300 + cw, ch // 2 + 350 + ch))
    light = ImageOps.invert(light).point(lambda v: 150 + v * 105 // 255)
    canvas = ImageChops.multiply(canvas, Image.merge("RGB", (light, light, light)))
    canvas = canvas.filter(ImageFilter.GaussianBlur(0.8))
    buf = io.BytesIO()
    canvas.save(buf, format="HEIF", quality=82)
    return buf.getvalue()


@dataclass(frozen=True)
class Theme:
    bg: tuple[int, int, int]
    card: tuple[int, int, int]
    text: tuple[int, int, int]
    muted: tuple[int, int, int]
    brand: tuple[int, int, int]
    line: tuple[int, int, int]


LIGHT = Theme((242, 244, 247), (255, 255, 255), (25, 28, 33), (96, 102, 112), (0, 94, 162), (222, 226, 232))
DARK = Theme((14, 15, 17), (30, 32, 36), (236, 238, 241), (160, 166, 175), (24, 40, 64), (58, 62, 70))


def _initials(name: str) -> str:
    parts = [p for p in name.replace(",", " ").split() if p[0].isalpha()]
    return (parts[0][0] + parts[-1][0]).upper() if parts else "?"


def phone_image(screen: Screen, theme: Theme) -> Image.Image:
    """A 1170x2532 (iPhone, 3x) portal screenshot: status bar, app bar with account holder, cards, tab bar."""
    w, h, m = 1170, 2532, 42
    img = Image.new("RGB", (w, h), theme.bg)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, w, 420), fill=theme.brand)
    d.text((80, 48), "9:41", font=font("sans", True, 46), fill=(255, 255, 255))
    d.rounded_rectangle((w - 160, 58, w - 80, 94), 8, outline=(255, 255, 255), width=4)
    d.rectangle((w - 154, 64, w - 100, 88), fill=(255, 255, 255))
    d.text((w // 2, 190), screen.app, font=font("sans", True, 60), fill=(255, 255, 255), anchor="mm")
    d.ellipse((m, 280, m + 100, 380), fill=(255, 255, 255))
    d.text((m + 50, 330), _initials(screen.account), font=font("sans", True, 40), fill=theme.brand, anchor="mm")
    d.text((m + 130, 300), screen.account, font=font("sans", True, 46), fill=(255, 255, 255))
    d.text((m, 470), screen.page_title, font=font("sans", True, 62), fill=theme.text)
    y = 580
    title_f, row_f, sub_f = font("sans", True, 48), font("sans", False, 44), font("sans", False, 38)
    for card in screen.cards:
        body: list[tuple[str, ImageFont.FreeTypeFont, tuple[int, int, int]]] = []
        for primary, secondary in card.rows:
            body += [(t, row_f, theme.text) for t in _wrap(primary, row_f, w - 4 * m)]
            if secondary:
                body += [(t, sub_f, theme.muted) for t in _wrap(secondary, sub_f, w - 4 * m)]
            body.append(("", sub_f, theme.muted))
        height = 110 + sum(58 if f is row_f else 50 for _, f, _ in body)
        if y + height > h - 230:
            raise ValueError(f"card {card.title!r} does not fit the phone screen")
        d.rounded_rectangle((m, y, w - m, y + height), 28, fill=theme.card, outline=theme.line, width=2)
        d.text((2 * m, y + 36), card.title, font=title_f, fill=theme.text)
        yy = y + 110
        for t, f, col in body:
            d.text((2 * m, yy), t, font=f, fill=col)
            yy += 58 if f is row_f else 50
        y += height + 36
    d.rectangle((0, h - 200, w, h), fill=theme.card)
    d.line((0, h - 200, w, h - 200), fill=theme.line, width=2)
    for i, label in enumerate(("Home", "Messages", "Visits", "Menu")):
        d.text(((i + 0.5) * w / 4, h - 110), label, font=font("sans", False, 34), fill=theme.muted, anchor="mm")
    return img


def desktop_image(screen: Screen, px: int) -> Image.Image:
    """A 1920x1080 portal page (light): top bar with the account name, left navigation, two columns of cards."""
    w, h, t = 1920, 1080, LIGHT
    img = Image.new("RGB", (w, h), t.bg)
    d = ImageDraw.Draw(img)
    bar = int(px * 4)
    d.rectangle((0, 0, w, bar), fill=t.brand)
    d.text((32, bar // 2), screen.app, font=font("sans", True, px * 1.6), fill=(255, 255, 255), anchor="lm")
    d.text((w - 32, bar // 2), f"Welcome, {screen.account}   |   Log out", font=font("sans", False, px),
           fill=(255, 255, 255), anchor="rm")
    nav_w = 280
    d.rectangle((0, bar, nav_w, h), fill=(255, 255, 255))
    for i, item in enumerate(("Home", "Messages", "Test Results", "Visits", "Health Summary", "Medications",
                              "Billing", "Share My Record")):
        y = bar + 24 + i * px * 2.6
        if item == screen.page_title:
            d.rectangle((0, y - px * 0.6, nav_w, y + px * 1.8), fill=(228, 238, 248))
        d.text((32, y), item, font=font("sans", item == screen.page_title, px), fill=t.text)
    x0 = nav_w + 40
    d.text((x0, bar + 28), screen.page_title, font=font("sans", True, px * 1.9), fill=t.text)
    col_w = (w - x0 - 40 - 30) // 2
    ys = [bar + 28 + int(px * 3.6)] * 2
    title_f, row_f, sub_f = font("sans", True, px * 1.2), font("sans", False, px), font("sans", False, px * 0.95)
    for i, card in enumerate(screen.cards):
        col = i % 2
        x, y = x0 + col * (col_w + 30), ys[col]
        rows = [(p, s) for p, s in card.rows]
        height = int(px * 3.4 + len(rows) * px * 2.9)
        d.rounded_rectangle((x, y, x + col_w, y + height), 8, fill=t.card, outline=t.line, width=1)
        d.text((x + 20, y + px * 0.9), card.title, font=title_f, fill=t.text)
        yy = y + px * 3.0
        for primary, secondary in rows:
            d.text((x + 20, yy), primary, font=row_f, fill=t.text)
            if secondary:
                d.text((x + col_w - 20, yy), secondary, font=sub_f, fill=t.muted, anchor="ra")
            d.line((x + 20, yy + px * 2.0, x + col_w - 20, yy + px * 2.0), fill=t.line)
            yy += px * 2.9
        ys[col] = y + height + 24
        if ys[col] > h:
            raise ValueError(f"card {card.title!r} does not fit the desktop screen")
    return img


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def render_phone(s: Sample, rng: random.Random) -> bytes:
    return png_bytes(phone_image(portal_screen(s.cases[0]), LIGHT))


def render_phone_dark(s: Sample, rng: random.Random) -> bytes:
    return png_bytes(phone_image(portal_screen(s.cases[0]), DARK))


def render_webp(s: Sample, rng: random.Random) -> bytes:
    buf = io.BytesIO()
    phone_image(portal_screen(s.cases[0]), LIGHT).save(buf, "WEBP", quality=88, method=4)
    return buf.getvalue()


def render_desktop(s: Sample, rng: random.Random) -> bytes:
    img = desktop_image(portal_screen(s.cases[0], app="MyHealth Portal"), s.ui_px)
    return jpeg_bytes(img, 90) if s.file.endswith(".jpg") else png_bytes(img)


def render_raw(s: Sample, rng: random.Random) -> bytes:
    assert s.raw is not None
    return s.raw(rng)


RENDERERS: dict[str, Callable[[Sample, random.Random], bytes]] = {
    "text_pdf": render_text_pdf, "scanned_pdf": render_scanned_pdf, "jpeg_scan": render_jpeg_scan,
    "tiff_fax": render_tiff_fax, "heic_photo": render_heic_photo, "screenshot_phone": render_phone,
    "screenshot_phone_dark": render_phone_dark, "screenshot_desktop": render_desktop, "webp": render_webp,
}


# --------------------------------------------------------------------------------------------------------------------
# Rejected uploads: bytes made directly
# --------------------------------------------------------------------------------------------------------------------


def _valid_pdf(rng: random.Random) -> bytes:
    return pdf_bytes(note_lines(CRPS_CASE), "sans")


def truncated_pdf(rng: random.Random) -> bytes:
    """The first 1 KiB of a valid PDF: header present, no xref, no trailer."""
    return _valid_pdf(rng)[:1024]


def html_as_pdf(rng: random.Random) -> bytes:
    return (b"<!DOCTYPE html>\n<html><head><title>MyChart - Visit Summary</title></head>\n<body><h1>Session "
            b"expired</h1><p>Please log in again to download your After Visit Summary.</p></body></html>\n")


def encrypted_pdf(rng: random.Random) -> bytes:
    """A real visit note behind a user password (RC4, fpdf2's default; needs a password to open)."""
    pdf = new_pdf()
    # fixture passwords protect nothing: the point is only that the file needs one to open
    pdf.set_encryption(owner_password="clinic-owner-2026", user_password="DOB19790412")  # noqa: S106
    pdf.add_page()
    pdf.set_font("sans", "", 11)
    for ln in note_lines(CRPS_CASE):
        if ln.text and ln.style != "row":
            pdf.multi_cell(0, 15, ln.text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def blank_pdf(rng: random.Random) -> bytes:
    pdf = bare_pdf()
    pdf.add_page()
    return bytes(pdf.output())


def blank_png(rng: random.Random) -> bytes:
    return png_bytes(Image.new("RGB", (1170, 2532), (255, 255, 255)))


def truncated_jpeg(rng: random.Random) -> bytes:
    """The first 1 KiB of a scan JPEG: headers and tables, no image data to speak of."""
    (page, *_) = page_images(note_lines(CRPS_CASE), "sans", 150)
    return jpeg_bytes(page)[:1024]


# --------------------------------------------------------------------------------------------------------------------
# The people and the samples (all invented)
# --------------------------------------------------------------------------------------------------------------------


def md(first: str, last: str, creds: str = "MD", style: str = "natural") -> Person:
    return Person(first, last, credentials=creds, style=style)


def other(first: str, last: str, role: str, creds: str = "", relation: str = "", style: str = "natural") -> Person:
    return Person(first, last, credentials=creds, role=role, relation=relation, style=style)


RAMAN, REYES, KOWALCZYK = md("Priya", "Raman"), md("Alan", "Reyes"), md("Hannah", "Kowalczyk", "DO")
OYELARAN, ALVAREZ, OBRIEN = md("Marcus", "Oyelaran", style="dr"), md("Sofía", "Álvarez-Ruiz"), md("Thomas", "O'Brien")
CHU, MONTOYA, HALVORSEN = md("Evelyn", "Chu"), md("Rafael", "Montoya", "DO"), md("Ingrid", "Halvorsen")
HADDAD, ASANTE, BERGER = md("Nadia", "Haddad"), md("Kwame", "Asante"), md("Jean-Luc", "Berger")
TANAKA, NWOSU, MARSH = md("Hiroshi", "Tanaka", style="dr"), md("Amara", "Nwosu"), md("Gideon", "Marsh")
HOLM, FAIRBANKS, VESTERGAARD = md("Beatrix", "Holm"), md("Owen", "Fairbanks"), md("Lars", "Vestergaard")
IBARRA, DELACROIX = md("Marisol", "Ibarra"), md("Yvette", "Delacroix", "DO")

PCP_HALE = other("Gregory", "Hale", "pcp", "MD")
NP_FOSTER = other("Linda", "Foster", "pcp", "NP")
RN_GREENE = other("Tasha", "Greene", "nurse", "RN")
MA_PRUITT = other("Devon", "Pruitt", "nurse", "MA")
PA_LEE = other("Jordan", "Lee", "app", "PA-C")
NP_OKORO = other("Chidi", "Okoro", "app", "NP")
REF_WHITMAN = other("Paul", "Whitman", "referring", "MD")
REF_SATO = other("Kenji", "Sato", "referring", "DO")

CRPS_PLAN = ("Plan: ketamine infusion series for CRPS; continue desensitization therapy; follow up in 4 weeks.",)
ROUTINE_MEDS = ("Gabapentin 600 mg PO TID", "Duloxetine 60 mg PO daily", "Ondansetron 4 mg ODT PRN nausea")

CRPS_CASE = Case(
    patient=Person("Mary-Kate", "O'Neil"), physician=RAMAN, mrn="00417736", dob="02/09/1986",
    others=(PCP_HALE, other("Sean", "O'Neil", "emergency", relation="spouse"), RN_GREENE),
    hpi=("40-year-old woman with burning pain, allodynia, swelling and color change of the left hand since a distal "
         "radius fracture in 2024. Failed stellate ganglion blocks x3. Pain 8/10.",),
    pmh=("Distal radius fracture, left (2024), ORIF", "Generalized anxiety disorder"),
    family=("Father: hypertension. Mother: hypothyroidism.",), meds=ROUTINE_MEDS, allergies="Penicillin (rash)",
    dx=(Dx("Complex regional pain syndrome I of left upper limb", "G90.512"),
        Dx("Generalized anxiety disorder", "F41.1")),
    plan=CRPS_PLAN)


def _samples() -> list[Sample]:
    s: list[Sample] = []
    add = s.append

    # ---- born-digital PDFs --------------------------------------------------------------------------------------
    c = CRPS_CASE
    add(Sample("visit_note_crps.pdf", "text_pdf", "Baseline: CRPS with ICD code, PCP/nurse/spouse distractors",
               expect(c, "complete", ("crps", "G90.512")), (c,), intake_name="Mary-Kate O'Neil"))

    c = Case(Person("José", "Núñez"), REYES, clinic=CLINICS[1], dob="07/30/1971", mrn="HV-228190",
             others=(NP_FOSTER, MA_PRUITT, other("Lucía", "Núñez", "emergency", relation="daughter")),
             dx=(Dx("Fibromyalgia"), Dx("Primary insomnia")), meds=("Pregabalin 75 mg PO BID", "Melatonin 3 mg QHS"),
             plan=("Ketamine infusion #1 scheduled 03/21/2026.", "Continue pregabalin; gentle aerobic exercise."))
    add(Sample("avs_fibromyalgia_nocodes.pdf", "text_pdf",
               "After-visit summary, fibromyalgia without codes; intake name lacks accents (Jose Nunez)",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), layout="avs", intake_name="Jose Nunez"))

    c = Case(Person("Zoë", "Lindqvist"), KOWALCZYK, clinic=CLINICS[3], provider_label="Attending", mrn="BR-55102",
             dob="11/02/1990",
             dx=(Dx("Chronic migraine w/o aura, not intractable", "G43.709", onset="2012"),
                 Dx("Essential hypertension", "I10", onset="2019"),
                 Dx("Appendicitis", "K37", "Resolved", "2004"),
                 Dx("Insomnia, unspecified", "G47.00", onset="2021")),
             others=(other("Erik", "Lindqvist", "emergency", relation="brother"),), signer=MA_PRUITT)
    add(Sample("problem_list_migraine.pdf", "text_pdf",
               "Problem-list table with codes and status column; attending named in header, printed by an MA",
               expect(c, "complete", ("migraine", "G43.709")), (c,), layout="problems", intake_name="Zoe Lindqvist"))

    c = Case(Person("Harold", "Jenkins", "P", style="natural_dot"), OYELARAN, clinic=CLINICS[2], dob="06/18/1951",
             mrn="DS-009871", provider_label="Rendering provider",
             hpi=("74-year-old man with RSD of the left arm after a crush injury; constant burning pain, cold "
                  "intolerance and stiffness of the fingers.",),
             dx=(Dx("RSD of the left upper limb"), Dx("Type 2 diabetes mellitus without complications")),
             signer=Person("Marcus", "Oyelaran", credentials="MD"), plan=CRPS_PLAN)
    add(Sample("visit_note_medicare_rsd.pdf", "text_pdf",
               "Medicare payer; 'RSD of the left upper limb' with no code; physician printed as 'Dr. First Last'",
               expect(c, "complete", ("crps", "G90.512")), (c,), intake_name="Harold Jenkins", payer="medicare"))

    c = Case(Person("Ana", "Garcia-Lopez", style="LAST_FIRST"), ALVAREZ, clinic=CLINICS[4], patient_label="PATIENT",
             dob="01/23/1968", mrn="LIP-77310", others=(REF_SATO, RN_GREENE),
             hpi=("Burning and numbness in both feet for 6 years, worse at night; A1c 7.4%.",),
             dx=(Dx("Type 2 diabetes mellitus with diabetic polyneuropathy", "E11.42"),
                 Dx("Major depressive disorder, recurrent, moderate", "F33.1")))
    add(Sample("visit_note_lastfirst_caps.pdf", "text_pdf",
               "Patient printed 'GARCIA-LOPEZ, ANA'; intake 'Ana Garcia-Lopez'; accented physician name",
               expect(c, "complete", ("neuropathic_pain", "E11.42")), (c,), intake_name="Ana Garcia-Lopez"))

    c = Case(Person("William", "Thompson", "J", style="LAST_FIRST"), OBRIEN, dob="09/05/1963", mrn="00588120",
             others=(other("Margaret", "Thompson", "emergency", relation="wife"), PCP_HALE),
             complaint="Low back pain radiating down the left leg.",
             dx=(Dx("Radiculopathy, lumbar region", "M54.16"), Dx("Nicotine dependence, cigarettes", "F17.210")))
    add(Sample("visit_note_nickname.pdf", "text_pdf",
               "Intake 'Bill Thompson' vs printed 'THOMPSON, WILLIAM J' (nickname + LAST, FIRST M) still matches",
               expect(c, "complete", ("neuropathic_pain", "M54.16")), (c,), intake_name="Bill Thompson"))

    c = Case(Person("Katherine", "Welsh"), CHU, clinic=CLINICS[1], dob="12/11/1958", mrn="HV-301177",
             hpi=("Shingles of the right T6 dermatome in 2024; persistent lancinating pain since.",),
             dx=(Dx("Postherpetic neuralgia", "B02.29"),), others=(RN_GREENE,))
    add(Sample("visit_note_name_mismatch.pdf", "text_pdf",
               "Intake says 'Karen Walsh' but the note is Katherine Welsh's: name mismatch",
               expect(c, "needs_review", ("neuropathic_pain", "B02.29")), (c,), intake_name="Karen Walsh"))

    c = Case(Person("Björn", "Eriksson"), None, title="Infusion Nursing Note", mrn="00611042", dob="03/03/1977",
             others=(REF_WHITMAN, other("Carla", "Mendes", "nurse", "RN"),
                     other("Astrid", "Eriksson", "emergency", relation="spouse")),
             complaint="Ketamine infusion #3 of 6.",
             hpi=("Tolerated infusion well. Reports widespread pain 6/10, down from 8/10.",),
             dx=(Dx("Fibromyalgia", "M79.7"),), dx_title="Diagnoses",
             plan=("Next infusion 03/17/2026.",), signer=other("Carla", "Mendes", "nurse", "RN"))
    add(Sample("visit_note_no_physician.pdf", "text_pdf",
               "Nursing note signed by an RN; only a REFERRING physician is named: no treating physician",
               expect(c, "incomplete", ("fibromyalgia", "M79.7")), (c,), intake_name="Björn Eriksson"))

    c = Case(None, HALVORSEN, clinic=CLINICS[3], mrn="BR-60021", dob="08/14/1969",
             others=(other("Marcus", "Lee", "family", relation="spouse"),), complaint="",
             dx=(Dx("Trigeminal neuralgia", "G50.0"),),
             plan=("Ketamine infusion series; continue carbamazepine 200 mg BID.",))
    add(Sample("visit_note_no_patient.pdf", "text_pdf",
               "Continuation page with MRN/DOB but no patient name; the spouse is named (must not become patient)",
               expect(c, "incomplete", ("neuropathic_pain", "G50.0")), (c,), intake_name="Naomi Okafor"))

    c = Case(Person("Dolores", "Fitzgerald"), MONTOYA, clinic=CLINICS[2], dob="05/27/1955", mrn="DS-011204",
             complaint="Follow-up; medication refills.", others=(MA_PRUITT,),
             dx=(Dx("Essential hypertension", "I10"), Dx("Insomnia, unspecified", "G47.00"),
                 Dx("Nicotine dependence, cigarettes", "F17.210")),
             plan=("Continue lisinopril 10 mg daily; sleep hygiene counseling.",))
    add(Sample("visit_note_no_diagnosis.pdf", "text_pdf",
               "Visit note with only non-pain diagnoses (hypertension, insomnia, nicotine): no pain diagnosis",
               expect(c, "incomplete", None), (c,), payer="unknown"))

    c = Case(Person("D'Andre", "Jackson"), HADDAD, dob="10/19/1994", mrn="00702253",
             complaint="Treatment-resistant depression; evaluation for ketamine.",
             others=(other("Tamara", "Jackson", "emergency", relation="mother"),),
             dx=(Dx("Major depressive disorder, recurrent, moderate", "F33.1"),
                 Dx("Post-traumatic stress disorder, unspecified", "F43.10"),
                 Dx("Suicidal ideation, passive, no plan", "R45.851")),
             plan=("Plan: ketamine infusion series for treatment-resistant depression; safety plan reviewed.",))
    add(Sample("visit_note_mental_health_only.pdf", "text_pdf",
               "Mental-health only (MDD F33.1, PTSD F43.10, SI): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="D'Andre Jackson", payer="self_pay"))

    c = Case(Person("Siobhán", "Gallagher"), BERGER, clinic=CLINICS[1], dob="04/01/1982", mrn="HV-118733",
             dx=(Dx("Major depressive disorder, recurrent, moderate", "F33.1"), Dx("Fibromyalgia", "M79.7"),
                 Dx("Generalized anxiety disorder", "F41.1")), others=(NP_OKORO,))
    add(Sample("visit_note_mh_plus_pain.pdf", "text_pdf",
               "Mental health plus fibromyalgia: the pain diagnosis decides",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Siobhan Gallagher"))

    c = Case(Person("François", "Dubois"), ASANTE, dob="02/14/1973", mrn="00731120",
             complaint="Referred for ketamine therapy for depression.",
             hpi=("Denies migraines. Denies neuropathic symptoms. Mild low mood for 2 years.",),
             extra=(("Physical Exam",
                     ("Extremities: no edema, no allodynia, no trophic changes. No evidence of CRPS.",)),),
             dx=(Dx("Generalized anxiety disorder", "F41.1"), Dx("Insomnia, unspecified", "G47.00")),
             plan=("Plan: ketamine infusion series for mood; sleep hygiene.",))
    add(Sample("visit_note_negated.pdf", "text_pdf",
               "Pain named only negated ('Denies migraines', 'No evidence of CRPS'): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Francois Dubois", font="serif"))

    c = Case(Person("Renée", "Castillo"), TANAKA, clinic=CLINICS[4], dob="09/09/1988", mrn="LIP-80044",
             others=(other("Esperanza", "Ruiz", "emergency", relation="mother"),),
             family=("Mother: fibromyalgia.", "Father: migraine with aura.", "Sister: depression."),
             dx=(Dx("Bipolar II disorder", "F31.81"), Dx("Insomnia, unspecified", "G47.00")),
             signer=Person("Hiroshi", "Tanaka", credentials="MD"))
    add(Sample("visit_note_family_history.pdf", "text_pdf",
               "Fibromyalgia and migraine only in Family History (mother/father): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Renee Castillo"))

    c = Case(Person("Tomás", "Ortega"), NWOSU, dob="12/30/1979", mrn="00745518",
             hpi=("Right ankle sprain 5 months ago; persistent pain and swelling, intermittent color change.",),
             dx=(Dx("R/O CRPS of right lower limb - Budapest criteria incomplete, bone scan ordered"),
                 Dx("Possible fibromyalgia - widespread tenderness, labs pending")),
             plan=("Plan: bone scan; reassess in 2 weeks before any ketamine infusion.",))
    add(Sample("visit_note_uncertain.pdf", "text_pdf",
               "Only uncertain pain diagnoses ('R/O CRPS', 'Possible fibromyalgia'): review",
               expect(c, "needs_review", None), (c,), intake_name="Tomas Ortega"))

    c = Case(Person("Aisha", "Rahman"), MARSH, clinic=CLINICS[3], dob="06/06/1991", mrn="BR-61877",
             pmh=("Migraines in adolescence, resolved.", "Asthma, mild intermittent."),
             dx=(Dx("Major depressive disorder, recurrent, severe without psychotic features", "F33.2"),
                 Dx("Generalized anxiety disorder", "F41.1")))
    add(Sample("visit_note_resolved.pdf", "text_pdf",
               "Pain only as resolved history ('Migraines in adolescence, resolved'): no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Aisha Rahman"))

    c = Case(Person("Eleanor", "Vance"), HOLM, dob="03/22/1967", mrn="00760093",
             hpi=("58-year-old woman with a history of fibromyalgia presents for ketamine infusion consultation. "
                  "Widespread pain 7/10, non-restorative sleep.",),
             dx=(Dx("History of fibromyalgia - ongoing widespread pain, FIQR 64"),),
             others=(other("Robert", "Vance", "emergency", relation="husband"),))
    add(Sample("visit_note_history_of_fibro.pdf", "text_pdf",
               "'History of fibromyalgia' in a current note names an ongoing condition: counts",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Eleanor Vance"))

    a = Case(Person("Nikolai", "Petrov"), CHU, clinic=CLINICS[1], dob="01/15/1970", mrn="HV-400112",
             dx=(Dx("Complex regional pain syndrome I of right lower limb", "G90.521"),))
    b = Case(Person("Fatima", "Al-Sayed"), BERGER, clinic=CLINICS[1], dob="08/08/1985", mrn="HV-400967",
             dx=(Dx("Fibromyalgia", "M79.7"),))
    add(Sample("two_patients.pdf", "text_pdf",
               "Two patients' notes in one file (page 1 Nikolai Petrov, page 2 Fatima Al-Sayed): review",
               expect(a, "needs_review", ("crps", "G90.521")), (a, b), intake_name="Nikolai Petrov"))

    c = Case(Person("Connor", "O'Malley"), Person("Rafael", "Montoya", credentials="DO", style="dr"),
             clinic=CLINICS[2], dob="05/05/1984", mrn="DS-014450", others=(PA_LEE,),
             dx=(Dx("Trigeminal neuralgia, left V2"),), signer=MONTOYA)
    add(Sample("visit_note_trigeminal_dr.pdf", "text_pdf",
               "TRICARE; 'Dr. Rafael Montoya' in header with a PA-C co-provider; trigeminal neuralgia, no code",
               expect(c, "complete", ("neuropathic_pain", "G50.0")), (c,), intake_name="Connor O'Malley",
               payer="tricare"))

    c = Case(Person("Keisha", "Washington"), FAIRBANKS, clinic=CLINICS[4], dob="02/28/1976", mrn="LIP-82210",
             others=(PCP_HALE, other("Andre", "Washington", "emergency", relation="son")),
             dx=(Dx("Chronic pain syndrome", "G89.4"), Dx("Postlaminectomy syndrome, not elsewhere classified",
                                                         "M96.1")),
             meds=("Oxycodone 5 mg PO q6h PRN", "Naloxone 4 mg nasal spray"))
    add(Sample("avs_chronic_pain_medicaid.pdf", "text_pdf", "Medicaid; AVS with chronic pain syndrome G89.4",
               expect(c, "complete", ("other_pain", "G89.4")), (c,), layout="avs", intake_name="Keisha Washington",
               payer="medicaid"))

    # ---- scans ---------------------------------------------------------------------------------------------------
    c = Case(Person("Olusegun", "Adeyemi"), NWOSU, clinic=CLINICS[0], dob="10/10/1960", mrn="00377210",
             hpi=("Right below-knee amputation 2019 after trauma; phantom limb pain, cramping and burning, 7/10.",),
             dx=(Dx("Phantom limb pain, right lower extremity"),), others=(RN_GREENE,))
    add(Sample("scanned_note_phantom_limb.pdf", "scanned_pdf",
               "Image-only PDF (200 dpi, 1.2 deg), phantom limb pain without code; no intake name",
               expect(c, "complete", ("neuropathic_pain", "G54.6")), (c,), angle=1.2))

    c = Case(Person("Grace", "Kim", style="CAPS"), VESTERGAARD, clinic=CLINICS[3], dob="07/07/1992", mrn="BR-70001",
             provider_label="Attending", others=(other("Daniel", "Kim", "emergency", relation="brother"), PCP_HALE),
             dx=(Dx("Complex regional pain syndrome I of right lower limb", "G90.521"),))
    add(Sample("scanned_note_crps_codes.pdf", "scanned_pdf",
               "Image-only PDF, 1.8 deg skew, patient name in CAPS, CRPS G90.521",
               expect(c, "complete", ("crps", "G90.521")), (c,), intake_name="Grace Kim", angle=-1.8, font="serif"))

    c = Case(Person("Patrick", "Delaney"), DELACROIX, dob="11/11/1981", mrn="00789932",
             hpi=("Denies migraines or chronic headaches. No neuropathic pain.",),
             extra=(("Physical Exam", ("Right hand: full range of motion, no color change. No evidence of CRPS.",)),),
             dx=(Dx("Major depressive disorder, single episode, moderate", "F32.1"),))
    add(Sample("scanned_note_negated.pdf", "scanned_pdf", "Scanned note where pain appears only negated",
               expect(c, "incomplete", None), (c,), intake_name="Patrick Delaney", angle=0.7))

    c = Case(Person("Carmen", "Villanueva", "R", style="LAST_FIRST"), IBARRA, clinic=CLINICS[2],
             provider_label="Attending", mrn="DS-020093", dob="04/04/1974",
             dx=(Dx("Migraine without aura", "G43.009", "Resolved", "1995"), Dx("Fibromyalgia", "M79.7", onset="2016"),
                 Dx("Hypothyroidism", "E03.9", onset="2010")))
    add(Sample("scanned_problem_list_resolved.pdf", "scanned_pdf",
               "Scanned problem list: migraine marked Resolved, fibromyalgia Active (fibromyalgia decides)",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), layout="problems",
               intake_name="VILLANUEVA, CARMEN", angle=0.9))

    c = Case(Person("Yolanda", "Brooks"), FAIRBANKS, clinic=CLINICS[4], dob="12/01/1965", mrn="LIP-83302",
             dx=(Dx("Chronic pain syndrome"), Dx("Lumbar spinal stenosis")), others=(MA_PRUITT,))
    add(Sample("jpeg_scan_chronic_pain.jpg", "jpeg_scan", "JPEG scan; 'chronic pain syndrome' without code",
               expect(c, "complete", ("other_pain", "G89.4")), (c,), intake_name="Yolanda Brooks", angle=0.6))

    c = Case(Person("Trevor", "Haskins"), KOWALCZYK, clinic=CLINICS[3], dob="03/17/1987", mrn="BR-71455",
             dx=(Dx("?CRPS left foot - swelling and allodynia after fracture"),
                 Dx("Possible complex regional pain syndrome; thermography pending")))
    add(Sample("jpeg_scan_uncertain.jpg", "jpeg_scan", "JPEG scan; only '?CRPS' / 'possible CRPS': review",
               expect(c, "needs_review", None), (c,), intake_name="Trevor Haskins", angle=-1.4, font="serif"))

    c = Case(Person("Wei", "Zhang"), ASANTE, dob="08/21/1983", mrn="00801234", provider_label="Attending",
             others=(other("Lin", "Zhang", "emergency", relation="wife"),),
             dx=(Dx("Chronic migraine without aura, intractable, without status migrainosus", "G43.719"),))
    add(Sample("jpeg_scan_migraine.jpg", "jpeg_scan", "JPEG scan; intractable chronic migraine G43.719",
               expect(c, "complete", ("migraine", "G43.719")), (c,), intake_name="Wei Zhang", angle=1.9))

    # ---- faxes ---------------------------------------------------------------------------------------------------
    c = Case(Person("Margaret", "Ellison"), HALVORSEN, dob="01/09/1957", mrn="00812001", others=(REF_WHITMAN,),
             title="New Patient Consultation", complaint="Burning pain in both feet.",
             dx=(Dx("Diabetic peripheral neuropathy"), Dx("Type 2 diabetes mellitus")))
    add(Sample("fax_referral_neuropathy.tif", "tiff_fax",
               "2-page G4 fax: referring MD's cover sheet, then the consult; diabetic peripheral neuropathy, no code",
               expect(c, "complete", ("neuropathic_pain", "E11.42")), (c,), layout="fax_referral",
               intake_name="Margaret Ellison", angle=0.4))

    c = Case(Person("Dmitri", "Volkov"), ASANTE, dob="06/30/1972", mrn="00820417",
             hpi=("Army veteran; chronic widespread pain and nightmares since deployment.",),
             pmh=("Post-traumatic stress disorder", "Lumbar strain (2008)"), meds=ROUTINE_MEDS,
             extra=(("Physical Exam", ("Tender points in 14 of 18 sites.",)),),
             dx=(Dx("Post-traumatic stress disorder, chronic", "F43.12"), Dx("Fibromyalgia", "M79.7")),
             break_before_assessment=True)
    add(Sample("fax_fibro_ptsd.tif", "tiff_fax", "CHAMPVA; 1-bit fax, PTSD plus fibromyalgia: fibromyalgia decides",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Dmitri Volkov",
               payer="champva", font="mono"))

    # ---- phone photos (HEIC) -------------------------------------------------------------------------------------
    c = Case(Person("Lucía", "Fernández"), IBARRA, clinic=CLINICS[2], dob="09/14/1989", mrn="DS-021100",
             dx=(Dx("Chronic migraine without aura, not intractable", "G43.709"),))
    add(Sample("photo_visit_note_migraine.heic", "heic_photo", "iPhone HEIC photo of a printed note; migraine",
               expect(c, "complete", ("migraine", "G43.709")), (c,), intake_name="Lucia Fernandez", angle=1.1))

    c = Case(Person("Beatriz", "Souza"), OBRIEN, clinic=CLINICS[0], mrn="00833310", dob="02/02/1980",
             provider_label="Attending", dx=(Dx("Lumbar radiculopathy", onset="2023"),
                                             Dx("Obesity, unspecified", "E66.9", onset="2018")))
    add(Sample("photo_problem_list_mismatch.heic", "heic_photo",
               "HEIC photo of a problem list; intake 'Patricia Souza' differs from Beatriz Souza: review",
               expect(c, "needs_review", ("neuropathic_pain", "M54.16")), (c,), layout="problems",
               intake_name="Patricia Souza", angle=-0.8))

    # ---- portal screenshots ----------------------------------------------------------------------------------------
    c = Case(Person("Samuel", "Whitfield"), REYES, dob="05/16/1978",
             others=(other("Gregory", "Hale", "pcp", "MD", style="last_first"), NP_OKORO),
             dx=(Dx("Complex regional pain syndrome type 1 of left lower limb"), Dx("Anxiety")))
    add(Sample("mychart_phone_crps.png", "screenshot_phone",
               "Phone portal (light): account holder in header, CRPS in health issues; intake 'WHITFIELD, SAMUEL'",
               expect(c, "complete", ("crps", "G90.522")), (c,), intake_name="WHITFIELD, SAMUEL"))

    c = Case(Person("Astrid", "Nilsen"), OBRIEN, dob="10/31/1993",
             family=("Mother - Fibromyalgia", "Father - Migraines"), dx=(Dx("Insomnia"), Dx("Anxiety disorder")))
    add(Sample("mychart_phone_family_history.png", "screenshot_phone",
               "Phone portal: fibromyalgia/migraine only in the Family History card: no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Astrid Nilsen"))

    c = Case(Person("Hyun", "Seo"), CHU, others=(PCP_HALE,),
             extra=(("Upcoming Appointments", ("Tue Mar 24 - Infusion visit 9:00 AM", "Fri Apr 10 - Follow-up")),))
    add(Sample("mychart_phone_no_diagnosis.png", "screenshot_phone",
               "Phone portal with visits and care team only, no diagnoses listed: no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Hyun Seo"))

    c = Case(Person("Priscilla", "Duarte"), BERGER, others=(MA_PRUITT,),
             dx=(Dx("Fibromyalgia"), Dx("Irritable bowel syndrome")))
    add(Sample("mychart_phone_dark_fibro.png", "screenshot_phone_dark", "Phone portal in dark mode; fibromyalgia",
               expect(c, "complete", ("fibromyalgia", "M79.7")), (c,), intake_name="Priscilla Duarte"))

    c = Case(Person("Wendell", "Price"), HADDAD,
             dx=(Dx("Major depressive disorder, recurrent"), Dx("PTSD"), Dx("Alcohol use disorder, in remission")))
    add(Sample("mychart_phone_dark_mh_only.png", "screenshot_phone_dark",
               "Dark-mode phone portal, mental-health issues only: no pain diagnosis",
               expect(c, "incomplete", None), (c,), intake_name="Wendell Price"))

    c = Case(Person("Esperanza", "Ruiz"), DELACROIX, others=(NP_FOSTER, RN_GREENE),
             dx=(Dx("Chronic migraine without aura", "G43.709"), Dx("Vitamin D deficiency", "E55.9")))
    add(Sample("portal_desktop_migraine.png", "screenshot_desktop", "Desktop portal (16 px text) with codes; migraine",
               expect(c, "complete", ("migraine", "G43.709")), (c,), ui_px=16))

    c = Case(Person("Ruth", "Abernathy"), TANAKA, others=(PCP_HALE,),
             dx=(Dx("Postherpetic neuralgia", "B02.29"), Dx("Hyperlipidemia", "E78.5")))
    add(Sample("portal_desktop_small_text.jpg", "screenshot_desktop",
               "Desktop portal JPEG with deliberately small 13 px text; postherpetic neuralgia",
               expect(c, "complete", ("neuropathic_pain", "B02.29")), (c,), intake_name="Ruth Abernathy", ui_px=13))

    c = Case(Person("Gabriel", "Moreau"), VESTERGAARD, others=(PA_LEE,),
             dx=(Dx("Possible fibromyalgia"), Dx("Rule out CRPS, right hand"), Dx("Seasonal allergic rhinitis")))
    add(Sample("portal_desktop_uncertain.png", "screenshot_desktop",
               "Desktop portal (15 px): 'Possible fibromyalgia', 'Rule out CRPS' only: review",
               expect(c, "needs_review", None), (c,), intake_name="Gabriel Moreau", ui_px=15))

    c = Case(Person("Daniel", "Kowalski"), NWOSU, others=(NP_FOSTER,),
             dx=(Dx("Occipital neuralgia", "M54.81"), Dx("Cervicalgia", "M54.2")))
    add(Sample("mychart_phone.webp", "webp", "Phone portal screenshot saved as WEBP; occipital neuralgia",
               expect(c, "complete", ("neuropathic_pain", "M54.81")), (c,), intake_name="Dan Kowalski"))

    # ---- rejected ------------------------------------------------------------------------------------------------
    add(Sample("empty.pdf", "corrupt", "0-byte upload", rejected("empty_file"), raw=lambda r: b""))
    add(Sample("truncated.pdf", "corrupt", "First 1 KiB of a valid PDF (no xref/trailer)",
               rejected("unreadable_file"), raw=truncated_pdf))
    add(Sample("html_disguised.pdf", "corrupt", "An HTML error page saved with a .pdf name",
               rejected("unsupported_type"), raw=html_as_pdf))
    add(Sample("truncated_scan.jpg", "corrupt", "First 1 KiB of a JPEG scan: headers only",
               rejected("unreadable_file"), raw=truncated_jpeg))
    add(Sample("encrypted.pdf", "encrypted_pdf", "Visit note PDF behind a user password",
               rejected("pdf_encrypted"), intake_name="Mary-Kate O'Neil", raw=encrypted_pdf))
    add(Sample("blank_page.pdf", "blank_page", "A PDF whose only page is empty", rejected("no_readable_text"),
               raw=blank_pdf))
    add(Sample("blank_white.png", "blank_page", "A blank white phone-size PNG", rejected("no_readable_text"),
               raw=blank_png))
    return s


SAMPLES = _samples()


# --------------------------------------------------------------------------------------------------------------------
# Output: inputs, labels, catalog
# --------------------------------------------------------------------------------------------------------------------


def label(s: Sample) -> dict[str, object]:
    return {"file": s.file, "kind": s.kind, "purpose": s.purpose,
            "intake": {"patient_name": s.intake_name, "payer": s.payer},
            "expected": {"status": s.expected.status, "patient_name": s.expected.patient_name,
                         "physician_name": s.expected.physician_name, "pain_category": s.expected.pain_category,
                         "pain_icd10": s.expected.pain_icd10, "error_code": s.expected.error_code}}


README_HEAD = """# samples: labeled synthetic uploads

Every file in `inputs/` is synthetic: the people, clinics, phone numbers and record numbers are invented.
Regenerate everything (inputs, `labels.jsonl`, this catalog) from the repository root with

    python samples/generate.py

The generator is seeded (`SEED` in `generate.py`, one `random.Random` per file) and writes fixed PDF dates and no
image metadata, so reruns are byte-identical (HEIC depends on the installed x265 build). Do not edit files here by
hand: change the data model in `generate.py` and rerun. Needs fpdf2, Pillow, pillow-heif and the DejaVu fonts in
`/usr/share/fonts/truetype/dejavu/`.

## Label schema (`labels.jsonl`, one object per input)

```json
{"file": "visit_note_crps.pdf", "kind": "text_pdf", "purpose": "one line",
 "intake": {"patient_name": "name or null", "payer": "commercial|medicare|medicaid|tricare|champva|self_pay|unknown"},
 "expected": {"status": "complete|incomplete|needs_review|rejected",
              "patient_name": "First [Middle] Last or null", "physician_name": "First Last or null",
              "pain_category": "crps|fibromyalgia|migraine|neuropathic_pain|other_pain or null",
              "pain_icd10": "code or null",
              "error_code": "null, or empty_file|unreadable_file|unsupported_type|pdf_encrypted|no_readable_text"}}
```

- Names are normalised "First [Middle] Last" in natural case, without titles, credentials or the middle initial's
  period ("THOMPSON, WILLIAM J" -> "William J Thompson"); accents, hyphens and apostrophes are kept.
- `physician_name` is the **treating** physician only; referring physicians, PCPs, nurses, MAs, NPs/PA-Cs and
  family members are distractors. A note without a treating physician has `null` even if other doctors are named.
- `pain_category`/`pain_icd10` describe the affirmed, current pain diagnosis that meets the rule; `null` when none
  does (negated, family, resolved, uncertain or absent). When the document prints no code, `pain_icd10` is the code
  the mention should link to (e.g. "RSD of the left upper limb" -> G90.512, "diabetic peripheral neuropathy" ->
  E11.42, "phantom limb pain" -> G54.6).
- With `needs_review` the fields still hold what the document shows: for a name mismatch the document's name, for
  two patients in one file the patient matching intake (page 1).
- Payer never changes the status: billability is reported separately.

## Catalog

| file | kind | purpose | expected status |
|---|---|---|---|
"""


def readme(samples: list[Sample]) -> str:
    rows = [f"| `{s.file}` | {s.kind} | {s.purpose.replace('|', '/')} | {s.expected.status}"
            + (f" ({s.expected.error_code})" if s.expected.error_code else "") + " |" for s in samples]
    kinds = Counter(s.kind for s in samples)
    statuses = Counter(s.expected.status for s in samples)
    tail = ["", f"{len(samples)} files. Kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ".",
            "Statuses: " + ", ".join(f"{k} {n}" for k, n in sorted(statuses.items())) + "."]
    return README_HEAD + "\n".join(rows + tail) + "\n"


def write_manifest(path: Path) -> None:
    """The intake manifest `docverify batch --manifest` reads (file, patient_name, payer), from the labels."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["file", "patient_name", "payer"])
        for s in SAMPLES:
            lb = label(s)
            writer.writerow([lb["file"], lb["intake"]["patient_name"] or "", lb["intake"]["payer"]])


def main(argv: list[str] | None = None) -> int:
    """Write inputs, labels and catalog under `--out` (default: this directory)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: samples/)")
    args = ap.parse_args(argv)
    names = [s.file for s in SAMPLES]
    assert len(names) == len(set(names)), "duplicate file names"
    inputs = args.out / "inputs"
    if inputs.exists():
        shutil.rmtree(inputs)
    inputs.mkdir(parents=True)
    for s in SAMPLES:
        rng = random.Random(f"{SEED}:{s.file}")
        data = render_raw(s, rng) if s.raw else RENDERERS[s.kind](s, rng)
        (inputs / s.file).write_bytes(data)
    with open(args.out / "labels.jsonl", "w", encoding="utf-8") as fh:
        for s in SAMPLES:
            fh.write(json.dumps(label(s), ensure_ascii=False) + "\n")
    (args.out / "README.md").write_text(readme(SAMPLES), encoding="utf-8")
    write_manifest(args.out / "manifest.csv")
    total = sum(p.stat().st_size for p in inputs.iterdir())
    print(f"wrote {len(SAMPLES)} inputs ({total / 1e6:.1f} MB) to {inputs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
