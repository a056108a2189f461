"""Frozen domain types shared by every layer.

Coordinate convention (one frame for the whole project, like pdfplumber): PDF points (1/72 inch), origin at the
top-left of the page, x to the right, y downwards. Readers convert into this frame in exactly one place each
(`extractors.pdf_text` for text layers, `extractors.ocr` for pixels).
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    """The three facts a document must show."""

    PATIENT_NAME = "patient_name"
    PHYSICIAN_NAME = "physician_name"
    PAIN_DIAGNOSIS = "pain_diagnosis"


class Assertion(StrEnum):
    """How a mention is asserted (medspaCy ConText vocabulary)."""

    AFFIRMED = "affirmed"
    NEGATED = "negated"
    UNCERTAIN = "uncertain"
    HISTORICAL = "historical"
    FAMILY = "family"
    HYPOTHETICAL = "hypothetical"


class Source(StrEnum):
    """How the text of a page was obtained."""

    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    STRUCTURED = "structured"


class Category(StrEnum):
    """Diagnosis categories of the clinic's pain policy."""

    CRPS = "crps"
    FIBROMYALGIA = "fibromyalgia"
    MIGRAINE = "migraine"
    NEUROPATHIC_PAIN = "neuropathic_pain"
    OTHER_PAIN = "other_pain"
    MENTAL_HEALTH = "mental_health"
    OTHER = "other"

    @property
    def is_pain(self) -> bool:
        """True for the five categories that can satisfy the documentation rule."""
        return self in PAIN_CATEGORIES


PAIN_CATEGORIES = frozenset(
    {Category.CRPS, Category.FIBROMYALGIA, Category.MIGRAINE, Category.NEUROPATHIC_PAIN, Category.OTHER_PAIN}
)


class SectionKind(StrEnum):
    """Normalised clinical section a mention sits in (medspaCy Sectionizer titles mapped by rules/sections.yaml)."""

    CHIEF_COMPLAINT = "chief_complaint"
    HPI = "hpi"
    PAST_MEDICAL_HISTORY = "past_medical_history"
    FAMILY_HISTORY = "family_history"
    SOCIAL_HISTORY = "social_history"
    ASSESSMENT = "assessment"
    ASSESSMENT_AND_PLAN = "assessment_and_plan"
    DIAGNOSES = "diagnoses"
    PROBLEM_LIST = "problem_list"
    MEDICATIONS = "medications"
    ALLERGIES = "allergies"
    PLAN = "plan"
    REVIEW_OF_SYSTEMS = "review_of_systems"
    PHYSICAL_EXAM = "physical_exam"
    OTHER = "other"



DIAGNOSTIC_SECTIONS = frozenset({SectionKind.DIAGNOSES, SectionKind.PROBLEM_LIST, SectionKind.ASSESSMENT,
                                 SectionKind.ASSESSMENT_AND_PLAN, SectionKind.PAST_MEDICAL_HISTORY})
"""Sections where a condition is stated as a diagnosis (docs/POLICY.md: stronger than a complaint or a plan)."""

COMPLAINT_SECTIONS = frozenset({SectionKind.CHIEF_COMPLAINT, SectionKind.HPI, SectionKind.PLAN,
                                SectionKind.REVIEW_OF_SYSTEMS, SectionKind.PHYSICAL_EXAM, SectionKind.MEDICATIONS})
"""Sections where a pain condition is a complaint, a finding or a reason for a plan, not a stated diagnosis."""


class Status(StrEnum):
    """The report's verdict."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"


class MediaType(StrEnum):
    """Upload types recognised by their bytes."""

    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"
    HEIF = "image/heif"
    WEBP = "image/webp"
    CCDA_XML = "application/hl7-cda+xml"  # HL7 C-CDA document (a portal's health-summary export)
    XDM_ZIP = "application/zip"  # IHE XDM package: a zip with METADATA.XML and one or more C-CDA documents

    @property
    def is_image(self) -> bool:
        """True for every raster type."""
        return self in _RASTER_TYPES

    @property
    def is_structured(self) -> bool:
        """True for the coded-document types (C-CDA, XDM) read without OCR or NLP."""
        return self in (MediaType.CCDA_XML, MediaType.XDM_ZIP)


_RASTER_TYPES = frozenset({MediaType.PNG, MediaType.JPEG, MediaType.TIFF, MediaType.HEIF, MediaType.WEBP})


class Payer(StrEnum):
    """Payer class given at intake."""

    COMMERCIAL = "commercial"
    MEDICARE = "medicare"
    MEDICAID = "medicaid"
    TRICARE = "tricare"
    CHAMPVA = "champva"
    SELF_PAY = "self_pay"
    UNKNOWN = "unknown"


class CheckResult(StrEnum):
    """Outcome of one named check."""

    PASS = "pass"  # noqa: S105 (a check outcome, not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """Role of a person named in a document."""

    PATIENT = "patient"
    TREATING_PHYSICIAN = "treating_physician"
    REFERRING_PHYSICIAN = "referring_physician"
    PCP = "pcp"
    NURSE = "nurse"
    EMERGENCY_CONTACT = "emergency_contact"
    FAMILY_MEMBER = "family_member"
    OTHER_CLINICIAN = "other_clinician"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BBox:
    """A box in PDF points, top-left origin (x0 < x1, top < bottom)."""

    x0: float
    top: float
    x1: float
    bottom: float

    def union(self, other: BBox) -> BBox:
        """The smallest box holding both."""
        return BBox(min(self.x0, other.x0), min(self.top, other.top), max(self.x1, other.x1),
                    max(self.bottom, other.bottom))

    def as_list(self) -> list[float]:
        """[x0, y0, x1, y1] rounded to 0.1 pt, the report's bbox form."""
        return [round(self.x0, 1), round(self.top, 1), round(self.x1, 1), round(self.bottom, 1)]


@dataclass(frozen=True, slots=True)
class Word:
    """One word as read from a page; `line` numbers the visual lines of the page from 0, top to bottom."""

    text: str
    bbox: BBox
    line: int
    confidence: float  # 0..1; 1.0 for a text layer
    # How this word was read when not as the rest of its page: OCR of an embedded scan on a text-layer page
    # (extractors/routing.py). None: the page's source.
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page: its words and how (and why that way) its text was obtained."""

    number: int  # 1-based
    width: float  # points
    height: float  # points
    source: Source
    reason: str
    words: tuple[Word, ...] = ()
    # The error code when the page could not be read (e.g. "ocr_timeout"): it is kept, without words, while the
    # other pages are read (docs/POLICY.md "Status rule": a missing field could be on it). None: read.
    unread: str | None = None

    @property
    def mean_confidence(self) -> float:
        """Mean word confidence, 0.0 for a page without words."""
        return sum(w.confidence for w in self.words) / len(self.words) if self.words else 0.0


@dataclass(frozen=True, slots=True)
class Document:
    """What the readers made of one upload."""

    sha256: str
    media_type: MediaType
    size_bytes: int
    pages: tuple[Page, ...]
    flags: tuple[str, ...] = ()  # e.g. "active_content"
    structured: Findings | None = None  # set by the C-CDA reader: coded findings that replace the NLP finders


@dataclass(frozen=True, slots=True)
class TextSpan:
    """Where a piece of a document's linear text came from: page number and the words it covers."""

    start: int
    end: int
    page: int
    word_index: int


@dataclass(frozen=True, slots=True)
class LinearText:
    """A document flattened to text for NLP, with a map from character offsets back to words.

    Words of one line are joined by a space, lines by "\\n", pages by "\\n\\n". Built once per document by
    `linearize` and shared by every finder.
    """

    text: str
    spans: tuple[TextSpan, ...]
    document: Document

    def words_between(self, start: int, end: int) -> list[tuple[int, Word]]:
        """(page number, word) for each word overlapping the character range [start, end)."""
        out: list[tuple[int, Word]] = []
        # Spans are in text order (starts and ends both increasing): bisect to the first one ending after `start`
        # rather than walk from the first word (per finding, that walk made long records quadratic).
        first = bisect.bisect_right(self.spans, start, key=lambda span: span.end)
        for span in itertools.islice(self.spans, first, None):
            if span.start >= end:
                break
            page = self.document.pages[span.page - 1]
            out.append((span.page, page.words[span.word_index]))
        return out


def page_from_lines(number: int, lines: list[str], *, source: Source, reason: str,
                    confidence: float = 1.0) -> Page:
    """A US-letter page holding plain text: one visual line per item, words split on whitespace, laid out on a
    fixed grid (10 pt per word, 12 pt per line) so every word has a box. For text that arrives without layout
    (dictated notes, tests)."""
    words: list[Word] = []
    for line_no, line in enumerate(lines):
        for col, w in enumerate(line.split()):
            x, y = 10.0 * col, 12.0 * line_no
            words.append(Word(w, BBox(x, y, x + 9.0, y + 10.0), line_no, confidence))
    return Page(number, 612.0, 792.0, source, reason, tuple(words))


def page_chars(page: Page) -> int:
    """Characters one page adds to the linear text (its words and their separators, as `linearize` joins them)."""
    return sum(len(w.text) + 1 for w in page.words)


def linearize(document: Document) -> LinearText:
    """Flatten a document into `LinearText` (see its docstring for the joining convention)."""
    parts: list[str] = []
    spans: list[TextSpan] = []
    pos = 0
    for p_i, page in enumerate(document.pages):
        if p_i:
            parts.append("\n\n")
            pos += 2
        last_line: int | None = None
        for w_i, word in enumerate(page.words):
            if last_line is not None:
                sep = " " if word.line == last_line else "\n"
                parts.append(sep)
                pos += 1
            parts.append(word.text)
            spans.append(TextSpan(pos, pos + len(word.text), page.number, w_i))
            pos += len(word.text)
            last_line = word.line
    return LinearText("".join(parts), tuple(spans), document)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One change to a finding's score and why it was made."""

    reason: str
    delta: float


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a finding was seen and how it was scored (modelled on Presidio's AnalysisExplanation)."""

    finder: str
    rule: str
    page: int | None
    bbox: BBox | None
    snippet: str
    source: Source
    original_score: float
    adjustments: tuple[Adjustment, ...] = ()


def evidence_from_span(text: LinearText, start: int, end: int, *, finder: str, rule: str, score: float,
                       adjustments: tuple[Adjustment, ...] = ()) -> Evidence:
    """Evidence for the character range [start, end) of `text`: page, union box and the snippet as read."""
    hits = text.words_between(start, end)
    page_no = hits[0][0] if hits else None
    bbox: BBox | None = None
    word_source: Source | None = None
    for p, w in hits:
        if p == page_no:
            bbox = w.bbox if bbox is None else bbox.union(w.bbox)
            word_source = word_source or w.source
    source = word_source or (text.document.pages[page_no - 1].source if page_no else Source.STRUCTURED)
    return Evidence(finder=finder, rule=rule, page=page_no, bbox=bbox, snippet=text.text[start:end], source=source,
                    original_score=score, adjustments=adjustments)


def ocr_confidence(text: LinearText, start: int, end: int) -> float:
    """Minimum word confidence over [start, end); 1.0 when no word is covered. Words with no letter or digit (a
    label's ":" read alone, a "|" of a cell border) carry none of the finding's letters and are left out unless
    nothing else is covered: a faint colon after "Treating physician" made a clearly read name doubtful."""
    words = [w for _, w in text.words_between(start, end)]
    lettered = [w.confidence for w in words if any(ch.isalnum() for ch in w.text)]
    confs = lettered or [w.confidence for w in words]
    return min(confs) if confs else 1.0


def name_reading_confidence(text: LinearText, start: int, end: int, only: set[str] | None = None) -> float:
    """Mean word confidence over the name in [start, end) (words with a letter; with `only`, those whose text
    without edge punctuation is in it); 1.0 when no word is covered.

    A name's reading is judged as a whole: tesseract's doubt about one word ("Àsa" at 36 % in the Latin re-read, a
    middle initial "F." at 59 %) sent correctly read physicians to review. On 720 varied documents, 11 of the 13
    OCR'd physician names whose weakest word was below 60 % were read right (the two others were one letter off).
    A label's words are still judged by the weakest (`ocr_confidence`)."""
    words = [w for _, w in text.words_between(start, end) if any(ch.isalnum() for ch in w.text)]
    if only is not None:
        words = [w for w in words if w.text.strip(",.;:") in only]
    return sum(w.confidence for w in words) / len(words) if words else 1.0


@dataclass(frozen=True, slots=True)
class PersonMention:
    """A person named in the document, with the role a finder gave them and the reason."""

    value: str  # as printed
    normalized: str  # "First Middle Last", title-cased, without titles or credentials
    role: Role
    confidence: float
    evidence: tuple[Evidence, ...]
    reason: str
    credentials: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DiagnosisMention:
    """A diagnosis mentioned in the document, linked to ICD-10-CM, classified by policy, with its assertion."""

    text: str
    icd10: str | None
    description: str | None
    category: Category
    assertion: Assertion
    section: SectionKind | None
    confidence: float
    evidence: tuple[Evidence, ...]
    link_score: float = 0.0


@dataclass(frozen=True, slots=True)
class Choice:
    """Which person a finder chose for a role, why, and whether the choice is doubtful (near-tie, several)."""

    person: PersonMention | None
    reason: str
    ambiguous: bool = False
    # Why a person must look at a chosen person, when the generic doubt of `ambiguous` does not say it (a physician
    # named by surname only is reported, but must be confirmed).
    doubt: str | None = None


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything the finders found in one document, with the chosen patient and treating physician."""

    people: tuple[PersonMention, ...]
    diagnoses: tuple[DiagnosisMention, ...]
    patient: Choice
    physician: Choice
    # The pages that are the chosen patient's when another patient is named on other pages of the upload (two
    # records in one file): the pain diagnosis is chosen from these only. None: every page (one patient).
    patient_pages: tuple[int, ...] | None = None


class IdentifierKind(StrEnum):
    """A patient identifier printed beside the name, used to tie a case's uploads together."""

    DATE_OF_BIRTH = "date_of_birth"
    MRN = "mrn"


@dataclass(frozen=True, slots=True)
class PatientIdentifier:
    """A date of birth (ISO 8601 when the year has four digits) or a record number (upper case, no separators)."""

    kind: IdentifierKind
    value: str
    page: int | None


class Identity(StrEnum):
    """How an upload of a case is tied to the case's patient (docs/POLICY.md "Cases")."""

    INTAKE_NAME = "intake_name"  # shows the name given at intake
    LINKED = "linked"  # the same name and date of birth or MRN as an upload showing the intake name
    UNNAMED = "unnamed"  # names no patient: its facts can lead to needs_review at most
    UNCONFIRMED = "unconfirmed"  # names a patient who cannot be tied to the intake name
    OTHER_PATIENT = "other_patient"  # names a different patient, or several: the case needs review
    UNREADABLE = "unreadable"  # rejected: could not be read
