"""Search a read document for the person named at intake, the way a billing coordinator does.

The people finder (`extractors/people/`) reads *a* patient name out of a document and `pipeline/evaluate.py` then
compares it with the intake name. A coordinator works the other way round: they know whom they are looking for
(`pipeline.evaluate.Intake.patient_name`) and search the document for that person, accepting the many ways a name is
printed ("DUBOIS JR, RENÉ A" for "Rene Dubois", "THOMPSON, WILLIAM J" for "Bill Thompson", OCR's "Rnaria" for
"Maria") and noticing *where* it is printed: as the patient, or only as an emergency contact, a relative or a
provider. This module does that search over the words and lines of a `Document` and returns every hit with its
evidence, how it matched (`MatchKind`), where it sits (`Position`) and a `Verdict` with a plain reason.

Only `Verdict.PATIENT_CONFIRMED` confirms the intake name; every other verdict is a doubt, and by
`docs/POLICY.md "Status rule"` a patient name that differs from the intake name, or cannot be compared, sends the
document to `needs_review`. The verdict is evidence for that rule, not a status of its own.

Pure and fast: no NLP model, only the page words grouped into visual lines, the name lexicon of `pipeline/names.py`
and the cue words of `pipeline/rules/intake_search.yaml` (validated strictly on load). Nothing here logs, and no
reason or error message contains a name or any document text (`docs/CONVENTIONS.md "PHI"`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
import sys
import unicodedata
from collections.abc import Container, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import Field, PrivateAttr, field_validator, model_validator
from rapidfuzz.distance import Levenshtein

from pipeline.names import (
    are_nicknames,
    credential_of,
    default_name_rules,
    fold,
    is_avatar_initials,
    is_title,
    match_intake,
    parse_person_name,
)
from pipeline.rulefiles import StrictRuleModel, nonempty_phrases, parse_rule_model, read_rule_file, rule_path
from pipeline.types import (
    Adjustment,
    BBox,
    CheckResult,
    Document,
    Evidence,
    LinearText,
    Page,
    Source,
    TextSpan,
    evidence_from_span,
)

FINDER = "intake_search"
DEFAULT_RULES_PATH = rule_path("intake_search.yaml")

_MAX_MIDDLES = 2  # middle names or initials between a given name and a surname ("Ana K. Lindqvist")
_MAX_VALUE_TOKENS = 6  # words of a name value read after a patient label (pipeline.names.MAX_NAME_TOKENS)
_PHYSICIAN_TITLES = frozenset({"dr", "doctor"})


# --------------------------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------------------------

class MatchKind(StrEnum):
    """How a hit matched the intake name; the most lenient kind that applied is the hit's `match`."""

    EXACT = "exact"
    ANY_CASE = "any_case"  # "MARIA OKAFOR", "maria okafor"
    FOLDED = "folded"  # diacritics or apostrophes differ: "René" ↔ "Rene", "O'Neil" ↔ "ONeil"
    REORDERED = "reordered"  # "OKAFOR, MARIA", "OKAFOR MARIA"
    SUFFIX_IGNORED = "suffix_ignored"  # a generational suffix on one side only: "DUBOIS JR, RENÉ"
    PARTICLES = "particles"  # surname particles differ: "Broek" ↔ "van den Broek", "De La Vega" ↔ "de la Vega"
    INITIALS = "initials"  # a middle name or initial missing, extra, or printed as its initial
    COMPOUND_SURNAME = "compound_surname"  # one part of "Garcia-Lopez" / "Garcia Lopez", or hyphen ↔ space
    NICKNAME = "nickname"  # "Bill" ↔ "William" (the `nicknames` package)
    # The surname as typed with a portal account menu's caret read as letters glued to it: "Xuv" for "Xu ▾".
    CARET = "caret"
    OCR = "ocr"  # an OCR confusion (rn↔m, 0↔O, 1↔l) or a bounded edit distance, words of 4+ letters only
    SURNAME_ONLY = "surname_only"  # the surname without a matching given name ("Ms. Okafor", "M. Okafor")


class Position(StrEnum):
    """Where a hit sits in the document."""

    PATIENT = "patient"  # a patient label, a portal account header, an "RE:" line, a line with DOB/MRN
    CONTACT = "contact"  # emergency contact, family member, guarantor, subscriber
    PROVIDER = "provider"  # after "Dr.", with a credential, after "Provider:" / "Signed by"
    UNLABELLED = "unlabelled"


class Verdict(StrEnum):
    """What the search says about the intake person (first applicable, in this order)."""

    PATIENT_CONFIRMED = "patient_confirmed"  # a full-name hit in a patient position
    OTHER_PATIENT = "other_patient"  # a patient label holds a different full name; no full-name patient hit
    NOT_THE_PATIENT = "not_the_patient"  # full-name hits, all in contact or provider positions
    UNLABELLED = "unlabelled"  # full-name hits, some where the document does not say whose name it is
    SURNAME_ONLY = "surname_only"  # only the surname was found
    NOT_FOUND = "not_found"


# Most lenient first: a hit's `match` is the first of these among the kinds that applied.
_KIND_ORDER = (MatchKind.SURNAME_ONLY, MatchKind.OCR, MatchKind.CARET, MatchKind.NICKNAME, MatchKind.COMPOUND_SURNAME,
               MatchKind.SUFFIX_IGNORED, MatchKind.PARTICLES, MatchKind.INITIALS, MatchKind.REORDERED,
               MatchKind.FOLDED, MatchKind.ANY_CASE, MatchKind.EXACT)

_KIND_PHRASES = {
    MatchKind.EXACT: "as typed at intake",
    MatchKind.ANY_CASE: "in another case",
    MatchKind.FOLDED: "accents or apostrophes differ",
    MatchKind.REORDERED: "surname first",
    MatchKind.SUFFIX_IGNORED: "generational suffix ignored",
    MatchKind.PARTICLES: "surname particles differ",
    MatchKind.INITIALS: "middle name missing, extra or as an initial",
    MatchKind.COMPOUND_SURNAME: "part of a compound surname",
    MatchKind.NICKNAME: "first name as a nickname",
    MatchKind.OCR: "within OCR reading errors",
    MatchKind.CARET: "the account menu's caret read as letters after the name",
    MatchKind.SURNAME_ONLY: "surname without a matching first name",
}


@dataclass(frozen=True, slots=True)
class IntakeHit:
    """One place the intake person's name is printed.

    `match` is the most lenient kind that applied, `kinds` all of them; `score` (0..1) is the match weight × the
    position cue's weight × the lowest OCR confidence of the words (pipeline/rules/intake_search.yaml).
    """

    value_as_printed: str
    page: int
    evidence: Evidence
    match: MatchKind
    position: Position
    reason: str
    score: float
    kinds: frozenset[MatchKind] = frozenset()
    another_person: bool = False  # the surname with a different first or middle name or suffix: someone else
    # A name word printed right before the hit: "Karim Omar Abu-Zeid" holds "Omar Abu-Zeid" as its middle name
    # and surname (the intake may name the patient by a middle name, or a relative: extractors/finders.py)
    inside_longer_name: bool = False

    @property
    def full_name(self) -> bool:
        """True when a given name matched too (not `SURNAME_ONLY`)."""
        return self.match is not MatchKind.SURNAME_ONLY


@dataclass(frozen=True, slots=True)
class IntakeSearch:
    """Every hit of the intake name in a document and the verdict, with a reason free of names."""

    verdict: Verdict
    reason: str
    hits: tuple[IntakeHit, ...]
    other_patient_pages: tuple[int, ...] = ()  # pages where a patient label holds a different full name
    # Those names as printed, each with its evidence, in reading order (the first is what a coordinator would read
    # as "the patient" when the intake's person is nowhere in a patient position).
    other_patients: tuple[OtherPatient, ...] = ()


@dataclass(frozen=True, slots=True)
class OtherPatient:
    """A full name under a patient label that is not the intake's person."""

    value_as_printed: str
    evidence: Evidence


# --------------------------------------------------------------------------------------------------------------
# The rule file
# --------------------------------------------------------------------------------------------------------------

class LabelCue(StrictRuleModel):
    """A label that announces whose name follows ("Patient:", "Emergency contact:", "Signed by")."""

    id: str = Field(min_length=1)
    position: Position
    weight: float = Field(ge=0.0, le=1.0)
    colon: Literal["required", "optional"]
    inherit: bool = False
    phrases: list[str]
    # Words that may stand between the label and the name ("Re: Records for OKAFOR, MARIA"), compared folded.
    lead_words: list[str] = []

    _check_phrases = field_validator("phrases")(nonempty_phrases)

    @field_validator("lead_words")
    @classmethod
    def _check_lead_words(cls, words: list[str]) -> list[str]:
        if any(len(w.split()) != 1 for w in words):
            raise ValueError("lead_words are single words")
        return words

    @model_validator(mode="after")
    def _check_position(self) -> LabelCue:
        if self.position is Position.UNLABELLED:
            raise ValueError("a label cannot give the unlabelled position")
        return self


class PatientContext(StrictRuleModel):
    """Field labels that mark the patient's header line (DOB, MRN)."""

    weight: float = Field(ge=0.0, le=1.0)
    phrases: list[str]

    _check_phrases = field_validator("phrases")(nonempty_phrases)


class AccountMarkers(StrictRuleModel):
    """Glyphs printed after a portal account holder's name."""

    weight: float = Field(ge=0.0, le=1.0)
    glyphs: list[str] = Field(min_length=1)
    max_line: int = Field(ge=1, le=50)  # only the first lines of a page hold an account header
    titles_below: list[str] = Field(min_length=1)  # portal page titles printed under the header

    _check_titles = field_validator("titles_below")(nonempty_phrases)


class Heading(StrictRuleModel):
    """A heading line that gives the lines under it a position."""

    id: str = Field(min_length=1)
    position: Position
    weight: float = Field(ge=0.0, le=1.0)
    max_lines: int = Field(ge=1, le=50)
    phrases: list[str]

    _check_phrases = field_validator("phrases")(nonempty_phrases)


class EditBound(StrictRuleModel):
    """Words of at least `min_length` letters may differ by `edits` Levenshtein edits."""

    min_length: int = Field(ge=1, le=40)
    edits: int = Field(ge=0, le=3)


class OcrRules(StrictRuleModel):
    """How far an OCR reading may stray from the intake spelling."""

    min_length: int = Field(ge=2, le=20)
    max_edits: list[EditBound] = Field(min_length=1)
    confusions: list[tuple[str, str]]
    # Letters OCR makes of a portal header's dropdown caret ("Jian Xu ▾" read "Jian Xuv"): a printed word may carry
    # one of them after the intake word, whatever the word's length.
    caret_letters: list[str] = Field(default_factory=list)
    # A lone glyph OCR makes of a middle initial it cannot read ("£" for "Ł"): the printed glyph and the letter it is.
    initial_glyphs: dict[str, str] = Field(default_factory=dict)
    # Capitals OCR drops or reads as a lower-case letter ("Łukasz" read "tukasz"): see the rule file.
    fragile_capitals: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> OcrRules:
        lengths = [b.min_length for b in self.max_edits]
        if lengths != sorted(set(lengths)):
            raise ValueError("max_edits must be sorted by min_length without repeats")
        if lengths[0] < self.min_length:
            raise ValueError("max_edits may not start below ocr.min_length")
        if any(not a or a == b for a, b in self.confusions):
            raise ValueError("each confusion needs a non-empty source different from its target")
        if any(len(c) != 1 or not c.isalpha() or not c.islower() for c in self.caret_letters):
            raise ValueError("caret_letters must be single lower-case letters")
        if any(len(g) != 1 or g.isalpha() or len(c) != 1 or not c.isalpha() or not c.isupper()
               for g, c in self.initial_glyphs.items()):
            raise ValueError("initial_glyphs must map one non-letter glyph to one upper-case letter")
        if any(len(c) != 1 or not c.isupper() or any(len(r) > 1 or (r and not r.islower()) for r in reads)
               for c, reads in self.fragile_capitals.items()):
            raise ValueError("fragile_capitals must map one upper-case letter to lower-case letters or ''")
        return self


@dataclass(frozen=True, slots=True)
class _Compiled:
    """Lookup tables built once from the rule file (phrase words in `_key` form)."""

    by_first: dict[str, tuple[tuple[tuple[str, ...], LabelCue | None], ...]]  # None: a patient-context phrase
    headings: dict[tuple[str, ...], Heading]
    relationship: frozenset[str]
    relationship_labels: frozenset[str]
    self_words: frozenset[str]
    stop: frozenset[str]
    glyphs: frozenset[str]
    weights: dict[MatchKind, float]
    confusions: tuple[tuple[str, str], ...]
    ocr_min_length: int
    edit_bounds: tuple[tuple[int, int], ...]
    caret_letters: frozenset[str]
    initial_glyphs: dict[str, str]  # glyph → the upper-case letter it stands for as an initial
    fragile_reads: dict[str, frozenset[str]]  # folded first letter → what OCR prints for its fragile capital
    lead_words: dict[str, frozenset[str]]  # cue id → words allowed between the label and the name


class IntakeSearchRules(StrictRuleModel):
    """The validated content of `pipeline/rules/intake_search.yaml` (the file explains its notation)."""

    version: Literal[1]
    labels: list[LabelCue] = Field(min_length=1)
    patient_context: PatientContext
    account_markers: AccountMarkers
    headings: list[Heading]
    relation_weight: float = Field(ge=0.0, le=1.0)
    relationship_labels: list[str]
    relationship_words: list[str]
    self_words: list[str]
    value_stop_words: list[str]
    unlabelled_weight: float = Field(ge=0.0, le=1.0)
    provider_mark_weight: float = Field(ge=0.0, le=1.0)
    match_weights: dict[MatchKind, float]
    ocr: OcrRules

    _compiled: _Compiled | None = PrivateAttr(default=None)

    _check_words = field_validator("relationship_labels", "relationship_words", "self_words",
                                   "value_stop_words")(nonempty_phrases)

    @model_validator(mode="after")
    def _check_consistency(self) -> IntakeSearchRules:
        ids = [c.id for c in self.labels] + [h.id for h in self.headings]
        if len(ids) != len(set(ids)):
            raise ValueError("label and heading ids must be unique")
        seen: set[tuple[str, ...]] = set()
        for phrases in [c.phrases for c in self.labels] + [self.patient_context.phrases]:
            for p in phrases:
                key = _phrase_key(p)
                if not key:
                    raise ValueError("a phrase has no letters")
                if key in seen:
                    raise ValueError("a phrase is listed in two cues")
                seen.add(key)
        missing = set(MatchKind) - set(self.match_weights)
        if missing:
            raise ValueError(f"match_weights lacks {sorted(missing)}")
        if any(not 0.0 <= w <= 1.0 for w in self.match_weights.values()):
            raise ValueError("match_weights must be within 0..1")
        return self

    @property
    def compiled(self) -> _Compiled:
        """Lookup tables built on first use."""
        if self._compiled is None:
            by_first: dict[str, list[tuple[tuple[str, ...], LabelCue | None]]] = {}
            entries: list[tuple[tuple[str, ...], LabelCue | None]] = [
                (_phrase_key(p), cue) for cue in self.labels for p in cue.phrases]
            entries += [(_phrase_key(p), None) for p in self.patient_context.phrases]
            for key, cue in sorted(entries, key=lambda e: -len(e[0])):
                by_first.setdefault(key[0], []).append((key, cue))
            self._compiled = _Compiled(
                by_first={k: tuple(v) for k, v in by_first.items()},
                headings={_phrase_key(p): h for h in self.headings for p in h.phrases},
                relationship=frozenset(_key(w) for w in self.relationship_words),
                relationship_labels=frozenset(_key(w) for w in self.relationship_labels),
                self_words=frozenset(_key(w) for w in self.self_words),
                stop=frozenset(_key(w) for w in self.value_stop_words),
                glyphs=frozenset(self.account_markers.glyphs),
                weights=dict(self.match_weights),
                confusions=tuple((a, b) for a, b in self.ocr.confusions),
                ocr_min_length=self.ocr.min_length,
                edit_bounds=tuple((b.min_length, b.edits) for b in self.ocr.max_edits),
                caret_letters=frozenset(self.ocr.caret_letters),
                initial_glyphs=dict(self.ocr.initial_glyphs),
                fragile_reads={_key(c): frozenset(r) for c, r in self.ocr.fragile_capitals.items()},
                lead_words={c.id: frozenset(_key(w) for w in c.lead_words) for c in self.labels if c.lead_words},
            )
        return self._compiled


def load_intake_search_rules(path: Path = DEFAULT_RULES_PATH) -> IntakeSearchRules:
    """Load and validate an intake-search rule file. Raises ConfigError naming the file and the problem."""
    return parse_rule_model(read_rule_file(path, "intake search rules"), path, IntakeSearchRules)


@functools.cache
def default_intake_search_rules() -> IntakeSearchRules:
    """The bundled rule file, loaded once. Raises ConfigError when it is invalid."""
    return load_intake_search_rules()


# --------------------------------------------------------------------------------------------------------------
# Words and lines
# --------------------------------------------------------------------------------------------------------------

# Characters around a word that are not part of it (label colons, commas, brackets, bullets, dropdown glyphs).
_EDGE = " \t_~@,;:!?-–—|•·*()[]{}\"<>«»“”‘’/\\▾▼⌄˅⏷🔽"


@functools.lru_cache(maxsize=65536)
def _key(s: str) -> str:
    """Comparison form of one word: folded (case, accents), periods and apostrophes removed: "D.O.B." → "dob"."""
    return fold(s).replace(".", "").replace("'", "").replace("’", "")


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(k for k in (_key(w.strip(_EDGE)) for w in phrase.split()) if k)


class _Tok(NamedTuple):
    """One printed word with what the search needs of it (a NamedTuple, not a frozen dataclass: one is built per
    word of the document, and a frozen dataclass's __init__ made building them a third of the search time)."""

    word: int  # word index on its page
    raw: str  # as printed
    text: str  # without surrounding punctuation
    key: str  # `_key(text)`
    parts: tuple[str, ...]  # key split at hyphens: "garcia-lopez" → ("garcia", "lopez")
    raw_parts: tuple[str, ...]  # text split at hyphens, as printed
    colon: bool  # printed with a trailing ":" (OCR ";")
    comma: bool  # printed with a trailing ","
    particle: bool  # a surname particle of the name lexicon ("van", "de")
    suffix: bool  # a generational suffix of the name lexicon ("Jr", "III")
    confidence: float


@dataclass(frozen=True, slots=True)
class _Line:
    page: int
    toks: tuple[_Tok, ...]


@functools.cache
def _name_lexicon() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(particles, suffixes, not-name words) of `pipeline/rules/name_rules.yaml`, folded."""
    lex = default_name_rules().lexicon
    return lex.particles, lex.suffixes, lex.not_name_words


_GLUED_SYMBOLS = frozenset({"Sm", "Sk", "So"})


def _strip_symbols(text: str) -> str:
    """`text` without symbols at either end (Unicode categories Sm, Sk, So: "=", "^", "©", "®", "°"), which OCR glues
    to a word from an avatar or an icon beside it ("=©Ana"); letters, digits and punctuation stay, and so do currency
    signs, which are OCR's readings of letters ("Simi¢" for "Šimić", "£." for "Ł.")."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) in _GLUED_SYMBOLS:
        start += 1
    while end > start and unicodedata.category(text[end - 1]) in _GLUED_SYMBOLS:
        end -= 1
    return text[start:end]


@functools.lru_cache(maxsize=65536)
def _tok_fields(raw: str) -> tuple[str, str, tuple[str, ...], tuple[str, ...], bool, bool, bool, bool]:
    """Everything about a printed word that does not depend on where it is (cached: words repeat)."""
    particles, suffixes, _ = _name_lexicon()
    text = _strip_symbols(raw.strip(_EDGE)).strip(_EDGE)
    glyphs = default_intake_search_rules().compiled.initial_glyphs
    # "£." read for the middle initial "Ł."; "|." for "I." (a "|" without its period is a cell border, an edge)
    dotted = raw.strip()[:-1] if raw.strip().endswith(".") else None
    glyph = next((g for g in (dotted, text.rstrip(".")) if g and g in glyphs), None)
    if glyph is not None:
        text = glyphs[glyph]
    key = _key(text)
    tail = raw.rstrip(" )]}\"'▾▼⌄˅⏷🔽")
    raw_parts = tuple(p for p in re.split(r"[\-‐–]", text) if p) or (text,)
    return (text, key, tuple(_key(p) for p in raw_parts), raw_parts, tail.endswith((":", ";")), tail.endswith(","),
            bool(key) and key in particles, bool(key) and key in suffixes)


def _tok(index: int, raw: str, confidence: float) -> _Tok:
    text, key, parts, raw_parts, colon, comma, particle, suffix = _tok_fields(raw)
    return _Tok(index, raw, text, key, parts, raw_parts, colon, comma, particle, suffix, confidence)


# A label glued to its value with no space after the colon ("Name:Inês", "present:Beatriz"): letters, a colon, then a
# letter (never a time, "10:15", or an address, "https://").
_GLUED_LABEL = re.compile(r"^([^\W\d_][\w.'’\-]*:)([^\W\d_].*)$")


def _lines(document: Document) -> list[_Line]:
    """Visual lines of every page, in reading order (consecutive words with one `line` number, as `linearize`), a
    form cell's name that wraps onto the next line joined back (`_rejoin_wrapped_cells`)."""
    out: list[_Line] = []
    for page in document.pages:
        lines: list[list[_Tok]] = []
        current: list[_Tok] = []
        last: int | None = None
        for i, w in enumerate(page.words):
            if last is not None and w.line != last:
                lines.append(current)
                current = []
            glued = _GLUED_LABEL.match(w.text)
            if glued is not None:  # "Name:Inês" in a text layer: the label and the value as two words
                current.extend((_tok(i, glued.group(1), w.confidence), _tok(i, glued.group(2), w.confidence)))
            else:
                current.append(_tok(i, w.text, w.confidence))
            last = w.line
        if current:
            lines.append(current)
        out.extend(_Line(page.number, tuple(toks)) for toks in _rejoin_wrapped_cells(page, lines) if toks)
    return out


_WRAP_MAX_WORDS = 3  # given names, a middle name or initial: what a "SURNAME," cell wraps onto its next line


def _rejoin_wrapped_cells(page: Page, lines: list[list[_Tok]]) -> list[list[_Tok]]:
    """`lines` with the words a form's value cell wrapped onto the next line put back after the cell's last word:
    "SUBRAMANIAN-DVOŘÁK,  April 7, 1989  38615780" over "SURESH SANJAY" (the name cell of a Patient name | Date of
    birth | MRN row) reads "SUBRAMANIAN-DVOŘÁK, SURESH SANJAY  April 7, 1989 …" (fresh seeds 8700-9299, train_8819,
    train_9188: only the surname was found, and the document went to review).

    Only where the cell's text ends with a comma (a surname waiting for its given names) at the line's end or before
    a gap wider than a line's height (the next cell), and the next line, no more than a line's height below, opens
    at the cell's left edge (within half a line's height) with one to three capitalised name words that end before
    the next cell starts. Likewise a given name alone (an initial may follow) in the row's first cell, whose surname
    wrapped onto a next line that holds nothing else: "Priya  August 5, 1990  85668117" over
    "Krishnamurthy-Venkataraman" (fresh seeds 9900-10499, train_9920, train_10170, train_9971)."""
    words = page.words
    for a, b in itertools.pairwise(range(len(lines))):
        upper, lower = lines[a], lines[b]
        if not upper or not lower:
            continue
        for k, tok in enumerate(upper):
            box = words[tok.word].bbox
            height = box.bottom - box.top
            nxt = words[upper[k + 1].word].bbox if k + 1 < len(upper) else None
            if nxt is not None and _box_gap(box, nxt) < height:
                continue  # "Doe, Jane": the comma is inside the cell
            start = k  # the cell's first word: back to the gap before it
            while start > 0 and _box_gap(words[upper[start - 1].word].bbox, words[upper[start].word].bbox) < height:
                start -= 1
            given_only = not tok.comma and _given_name_cell(upper[start:k + 1]) and start == 0
            if not tok.comma and not given_only:
                continue
            left = words[upper[start].word].bbox.x0
            first = words[lower[0].word].bbox
            if abs(first.x0 - left) > height / 2 or not 0 <= first.top - box.bottom <= height:
                continue
            take = 0
            while (take < min(len(lower), _WRAP_MAX_WORDS) and _capitalised(lower[take].raw)
                   and lower[take].text.replace("-", "").replace("'", "").replace(".", "").isalpha()
                   and (nxt is None or words[lower[take].word].bbox.x1 < nxt.x0)):
                take += 1
            if take == 0 or (take < len(lower) and _box_gap(words[lower[take - 1].word].bbox,
                                                           words[lower[take].word].bbox) < height):
                continue  # the next line's words run on past the name: prose or another field, not the cell's rest
            if given_only and (take != len(lower) or take > 2):
                continue  # a surname wrapped alone; "Phone  Insurance  Date" under "Priya" is the next row's labels
            lines[a] = [*upper[:k + 1], *lower[:take], *upper[k + 1:]]
            lines[b] = lower[take:]
            break
    return lines


def _given_name_cell(cell: Sequence[_Tok]) -> bool:
    """A form cell holding a given name alone, an initial perhaps after it ("Priya", "Meenakshi L."): capitalised
    letters, no comma, no colon (a label), no particle or suffix."""
    if not 1 <= len(cell) <= 2 or any(t.comma or t.colon or t.particle or t.suffix for t in cell):
        return False
    given, *initial = cell
    return (len(given.text) > 1 and given.text.replace("-", "").isalpha() and _capitalised(given.raw)
            and all(len(t.text.rstrip(".")) == 1 and t.text[:1].isupper() for t in initial))


def _box_gap(left: BBox, right: BBox) -> float:
    """Horizontal white space from `left`'s right edge to `right`'s left edge (negative when they overlap)."""
    return right.x0 - left.x1


# --------------------------------------------------------------------------------------------------------------
# The intake name
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Intake:
    given: str  # key
    given_raw: str
    middles: tuple[str, ...]  # keys
    family: tuple[str, ...]  # significant surname parts (keys), particles dropped, hyphens split
    family_raw: tuple[str, ...]
    family_words: int  # printed words the significant surname parts make: 1 for "Garcia-Lopez"
    particles: tuple[str, ...]  # surname particles as typed, keys
    particles_raw: tuple[str, ...]
    middle_surnames: tuple[str, ...]  # "Ana Garcia Lopez": "garcia" may be printed as the surname
    suffix: str  # key, "" when none


def _intake(name: str) -> _Intake | None:
    parsed = parse_person_name(name)
    particle_words = _name_lexicon()[0]
    if parsed is not None:
        given, middle, family, suffix = parsed.given, parsed.middle, parsed.family, parsed.suffix
    else:
        words = [w.strip(_EDGE) for w in name.split()]
        words = [w for w in words if _key(w)]
        if len(words) < 2:
            return None
        given, middle, family, suffix = words[0], " ".join(words[1:-1]), words[-1], ""
    spaced = [w for w in family.split() if _key(w) not in particle_words] or family.split()
    split_words = [w for w in re.split(r"[\s\-‐–]+", family) if w]
    significant = [w for w in split_words if _key(w) not in particle_words] or split_words
    particles = [w for w in split_words if w not in significant]
    middles = [_key(w) for w in middle.split() if _key(w)]
    given_key = _key(given.split()[0]) if given.split() else ""
    if not given_key or not significant:
        return None
    # Compare spellings with the words as typed at intake ("maria okafor"), not as the parser capitalised them.
    typed = {_key(w): w for w in (t.strip(_EDGE) for t in re.split(r"[\s,\-‐–]+", name)) if _key(w)}
    return _Intake(given=given_key, given_raw=typed.get(given_key, given.split()[0]), middles=tuple(middles),
                   family=tuple(_key(w) for w in significant),
                   family_raw=tuple(typed.get(_key(w), w) for w in significant), family_words=len(spaced),
                   particles=tuple(_key(w) for w in particles),
                   particles_raw=tuple(typed.get(_key(w), w) for w in particles),
                   middle_surnames=tuple(m for m in middles if len(m) > 1), suffix=_key(suffix))


# --------------------------------------------------------------------------------------------------------------
# Word comparison
# --------------------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8192)
def _are_nicknames(a: str, b: str) -> bool:
    """`pipeline.names.are_nicknames` for two words of letters (initials and OCR debris never are), cached: the search
    asks it for every capitalised word of a document."""
    if not (a.isalpha() and b.isalpha()) or min(len(a), len(b)) < 2:
        return False
    return are_nicknames(a, b)


@functools.lru_cache(maxsize=65536)
def ocr_form(key: str, confusions: tuple[tuple[str, str], ...]) -> str:
    """`key` with the rule file's OCR confusions rewritten in order ("rn" -> "m"): two readings of one word compare
    equal in this form."""
    for src, dst in confusions:
        key = key.replace(src, dst)
    return key


def _max_edits(length: int, comp: _Compiled) -> int:
    edits = 0
    for bound in comp.edit_bounds:
        if length >= bound[0]:
            edits = bound[1]
    return edits


def account_marker(token: str, glyphs: Container[str]) -> str:
    """What of `token`, printed after a name, may be the account menu's marker: up to the first underscore ("v__",
    "v_HealthHarbor": debris gluing it to the portal's name), without debris glued after it ("v=", "yv_—")."""
    marker = re.split(r"_+", token)[0]
    while marker and marker[-1] not in glyphs and not marker[-1].isalnum():
        marker = marker[:-1]
    return marker


def _without_caret(keys: Sequence[str], comp: _Compiled) -> set[str]:
    """`keys`, and each without one or two trailing letters that OCR reads for the account caret ("lyerv")."""
    return set(keys) | {k[:-n] for k in keys for n in (1, 2)
                        if len(k) > n + 2 and all(c in comp.caret_letters for c in k[-n:])}


def _word(doc_key: str, doc_raw: str, want_key: str, want_raw: str,
          comp: _Compiled) -> frozenset[MatchKind] | None:
    """How one printed word matches one intake word (no nicknames), or None."""
    if not doc_key:
        return None
    if doc_key == want_key:
        if doc_raw == want_raw:
            return _EXACT
        if doc_raw.casefold() == want_raw.casefold():
            return _ANY_CASE
        return _FOLDED
    if (doc_raw[:1].isupper() and len(want_key) >= 2 and doc_key.startswith(want_key)
            and 1 <= len(doc_key) - len(want_key) <= 2
            and all(c in comp.caret_letters for c in doc_key[len(want_key):])):
        return _CARET  # "Xuv" or "McKennavy" for "Xu ▾", "McKenna ▾": the account menu's caret glued to the name
    # OCR leniency only for words of `min_length`+ letters, and not for a word printed in lower case (prose) unless
    # OCR lost the intake word's fragile capital: "tukasz" or "stergaard" for "Łukasz", "Østergaard".
    if len(want_key) < comp.ocr_min_length:
        return None
    if doc_raw[:1].islower() and doc_raw[1:2].isupper() and len(doc_raw) > 3:
        # A stray lower-case glyph glued before a capitalised word ("iIkechukwu": an avatar's letter beside it).
        return _OCR if _word(doc_key[1:], doc_raw[1:], want_key, want_raw, comp) is not None else None
    if doc_raw[:1].islower():
        reads = comp.fragile_reads.get(want_key[:1], frozenset())
        # the account caret may be glued after it too ("lyerv" for "Iyer ▾")
        if any(b == r + want_key[1:] for r in reads for b in _without_caret((doc_key,), comp)):
            return _OCR
        return None
    letters = sum(ch.isalpha() for ch in want_key)
    bound = _max_edits(letters, comp)
    if letters < comp.ocr_min_length or abs(len(doc_key) - len(want_key)) > bound + 2:  # +2: "rn" → "m" twice
        return None
    a, b = ocr_form(doc_key, comp.confusions), ocr_form(want_key, comp.confusions)
    if a == b or Levenshtein.distance(a, b, score_cutoff=bound) <= bound:
        return _OCR
    return None


_EXACT = frozenset({MatchKind.EXACT})
_ANY_CASE = frozenset({MatchKind.ANY_CASE})
_FOLDED = frozenset({MatchKind.FOLDED})
_OCR = frozenset({MatchKind.OCR})
_CARET = frozenset({MatchKind.CARET})


# --------------------------------------------------------------------------------------------------------------
# Finding the name on a line
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Found:
    start: int  # token range on the line, [start, end)
    end: int
    kinds: frozenset[MatchKind]
    notes: tuple[str, ...] = ()  # extra reason phrases (no names)
    another_person: bool = False  # a surname printed with a different first, middle name or suffix


def _is_particle(tok: _Tok) -> bool:
    return tok.particle


def _is_suffix(tok: _Tok) -> bool:
    return tok.suffix


def _is_initial(tok: _Tok) -> bool:
    return len(tok.key) == 1 and tok.key.isalpha()


def misread_initial(word: str) -> bool:
    """A middle initial OCR misread into a glyph or two with its period or comma, between a given name and a surname:
    "Chiamaka |, Balogun", "Ikechukwu [. Balogun-Dubois", "Ikechukwu 1B. Balogun Dubois" (no lower-case letter, not
    a number)."""
    printed = word.strip()
    core = printed.rstrip(".,")
    return (1 <= len(core) <= 2 and len(printed) > len(core) and not core.isdigit() and not core.isalpha()
            and not any(c.islower() for c in core) and any(c.isupper() or c in "|[]!1" for c in core))


def _is_filler(tok: _Tok) -> bool:
    """A separator or a courtesy title between a label and a name ("Patient: - Ms. Maria Okafor")."""
    return not tok.key or is_title(tok.text)


def _name_like(tok: _Tok, comp: _Compiled) -> bool:
    """A capitalised word of letters that is no form word: may be an extra middle name or a surname part."""
    return (tok.text[:1].isupper() and ocr_form(tok.key, comp.confusions).replace("-", "").isalpha() and not tok.colon
            and tok.key not in comp.stop and tok.key not in _name_lexicon()[2]
            and tok.key not in comp.by_first and not is_title(tok.text)
            and credential_of(tok.text) is None and not _is_suffix(tok))


def _same(doc: _Tok, want_key: str, want_raw: str, comp: _Compiled) -> frozenset[MatchKind] | None:
    return _word(doc.key, doc.text, want_key, want_raw, comp)


def _given(tok: _Tok, intake: _Intake, comp: _Compiled) -> frozenset[MatchKind] | None:
    """How `tok` matches the intake given name (spelling, OCR or nickname), or None."""
    kinds = _same(tok, intake.given, intake.given_raw, comp)
    if kinds is not None:
        return kinds
    if _are_nicknames(tok.key, intake.given):
        return frozenset({MatchKind.NICKNAME})
    return None


def _surname_at(toks: Sequence[_Tok], i: int, want: Sequence[tuple[str, str]],
                comp: _Compiled) -> tuple[int, frozenset[MatchKind], int, int] | None:
    """The surname printed from token i on: (end, kinds, intake parts matched, printed parts unmatched) or None.

    Several printed words count when each matches a further intake part ("Garcia Lopez" for "Garcia-Lopez")."""
    used: set[int] = set()
    kinds: set[MatchKind] = set()
    extra = 0
    j = i
    while j < len(toks) and len(used) < len(want):
        tok = toks[j]
        if j > i and (not tok.key or _is_particle(tok)):
            break
        tok_used: set[int] = set()
        tok_kinds: set[MatchKind] = set()
        tok_extra = 0
        for part_key, part_raw in zip(tok.parts, tok.raw_parts, strict=True):
            for n, (w_key, w_raw) in enumerate(want):
                if n in used or n in tok_used:
                    continue
                k = _word(part_key, part_raw, w_key, w_raw, comp)
                if k is not None:
                    tok_used.add(n)
                    tok_kinds |= k
                    break
            else:
                tok_extra += 1
        if not tok_used:
            break
        used |= tok_used
        kinds |= tok_kinds
        extra += tok_extra
        j += 1
        if tok.comma or tok.colon:
            break
    if j == i:
        return None
    return j, frozenset(kinds), len(used), extra


def _middles(doc: Sequence[_Tok], intake: _Intake, comp: _Compiled) -> frozenset[MatchKind] | None:
    """How the printed middle names compare with the intake's: kinds, or None when they contradict it."""
    if not doc and not intake.middles:
        return frozenset()
    if not doc or not intake.middles:
        return frozenset({MatchKind.INITIALS})
    a, b = doc[0].key, intake.middles[0]
    if a == b:
        return frozenset()
    if len(a) == 1 or len(b) == 1:
        return frozenset({MatchKind.INITIALS}) if a[0] == b[0] else None
    if _word(a, doc[0].text, b, b, comp) is not None or _are_nicknames(a, b):
        return frozenset()
    return None


def _particle_kinds(doc: Sequence[_Tok], intake: _Intake) -> frozenset[MatchKind]:
    keys = tuple(t.key for t in doc)
    if keys != intake.particles:
        return frozenset({MatchKind.PARTICLES})
    raws = tuple(t.text for t in doc)
    if raws == intake.particles_raw:
        return frozenset()
    if tuple(r.casefold() for r in raws) == tuple(r.casefold() for r in intake.particles_raw):
        return frozenset({MatchKind.ANY_CASE})
    return frozenset({MatchKind.FOLDED})


def _suffix_kinds(doc: Sequence[_Tok], intake: _Intake) -> frozenset[MatchKind] | None:
    printed = doc[0].key if doc else ""
    if printed == intake.suffix:
        return frozenset()
    if printed and intake.suffix:
        return None  # "Jr" printed for an intake "Sr": another person
    return frozenset({MatchKind.SUFFIX_IGNORED})


def _find_on_line(toks: Sequence[_Tok], intake: _Intake, comp: _Compiled) -> list[_Found]:
    """Every printing of the intake name (full, or surname only) on one line, left to right."""
    family = list(zip(intake.family, intake.family_raw, strict=True))
    middle_as_surname = [(m, m) for m in intake.middle_surnames]
    found: list[_Found] = []
    wanted = frozenset(intake.family) | frozenset(intake.middle_surnames)
    # ... and the lower-case forms OCR makes of a surname opening with a fragile capital ("stergaard")
    wanted |= {r + w[1:] for w in wanted for r in comp.fragile_reads.get(w[:1], ())}
    i = 0
    while i < len(toks):
        tok = toks[i]
        # Cheap skip: OCR leniency never applies to a word printed in lower case (but for a lost fragile capital), so
        # such a word must match exactly.
        if not tok.key or tok.particle or (tok.text[:1].islower()
                                           and wanted.isdisjoint(_without_caret(tok.parts, comp))):
            i += 1
            continue
        via_middle = False
        run = None
        if middle_as_surname and _given_before(toks, i, intake, comp) is None:
            # "ZUNIGA GARCIA, XIMENA" for "Ximena Zúñiga García": the middle name is the first of two surnames
            # (printed surname first; "Ximena Zúñiga García" in order keeps its middle name)
            both = middle_as_surname[-1:] + family
            whole = _surname_at(toks, i, both, comp)
            if whole is not None and whole[2] == len(both) and whole[0] - i >= 2:
                run = (whole[0], whole[1], len(family), whole[3])
        if run is None:
            run = _surname_at(toks, i, family, comp)
        if run is None and middle_as_surname:
            run = _surname_at(toks, i, middle_as_surname, comp)
            via_middle = run is not None
        if run is None:
            i += 1
            continue
        end, sur_kinds, matched, extra = run
        want_total = len(middle_as_surname) if via_middle else len(family)
        if via_middle or matched < want_total or extra:
            sur_kinds |= {MatchKind.COMPOUND_SURNAME}
        elif end - i != intake.family_words:
            sur_kinds |= {MatchKind.COMPOUND_SURNAME}  # "Garcia Lopez" printed for "Garcia-Lopez" or back
        hit = _full_name(toks, i, end, sur_kinds, intake, comp, via_middle=via_middle)
        if hit is not None:
            found.append(hit)
            i = hit.end
            continue
        if not via_middle and toks[i].text[:1].isupper():
            found.append(_surname_only(toks, i, end, sur_kinds, intake, comp))
        i = end
    if not found:
        found.extend(_glued_names(toks, intake, comp))
    return found


GLUED_NAME = "given name and surname printed as one word"


def _glued_names(toks: Sequence[_Tok], intake: _Intake, comp: _Compiled) -> list[_Found]:
    """The intake's given name and surname printed as one word, the space between them lost ("MaiLev" for "Mai Le
    ▾", "ji-hojungy" for "Ji-ho Jung ▾"; the caret's letters may be glued after), in either order. OCR leniency:
    the reading keeps its doubt."""
    given = intake.given.replace("-", "")
    family = "".join(intake.family).replace("-", "")
    if not given or not family:
        return []
    out: list[_Found] = []
    for i, tok in enumerate(toks):
        key = tok.key.replace("-", "")
        if len(key) < 5:
            continue
        followed = i + 1 < len(toks) and _name_like(toks[i + 1], comp)  # a capitalised word: a surname or a brand
        for first, second in ((given, family), (family, given)):
            if not key.startswith(first + second):
                continue
            caret = key != first + second and first + second in _without_caret((key,), comp)
            # the join must show: the caret glued after it ("ji-hojungy", "MaiLev CareBridge"), or a capital where
            # the second name starts and no other name word after it ("MaiLe", but not "Maile Smith")
            if caret or (key == first + second and not followed and _capital_at(tok.text, len(first))):
                out.append(_Found(i, i + 1, _OCR, (GLUED_NAME,)))
                break
    return out


def _capital_at(text: str, letters: int) -> bool:
    """Whether the letter after the first `letters` letters of `text` (hyphens not counted) is a capital."""
    seen = 0
    for ch in text:
        if ch.isalpha():
            if seen == letters:
                return ch.isupper()
            seen += 1
    return False


# Words that follow a "SURNAME," cell in a form row ("ZUNIGA-MCCARTHY, Nov 25, 1943"): a date, not a first name.
_DATE_WORDS = frozenset({"jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june",
                         "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov",
                         "november", "dec", "december", "mon", "monday", "tue", "tuesday", "wed", "wednesday", "thu",
                         "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday"})


def _surname_only(toks: Sequence[_Tok], i: int, end: int, kinds: frozenset[MatchKind], intake: _Intake,
                  comp: _Compiled) -> _Found:
    start = i
    while start > 0 and _is_particle(toks[start - 1]):
        start -= 1
    notes: tuple[str, ...] = ()
    before = toks[start - 1] if start > 0 else None
    after = toks[end] if end < len(toks) else None
    if before is not None and _is_initial(before) and before.key == intake.given[0] and not before.comma:
        start, notes = start - 1, ("first name only as an initial",)
    elif (after is not None and _is_initial(after) and after.key == intake.given[0]
          and (toks[end - 1].comma or toks[end - 1].colon)):
        end, notes = end + 1, ("first name only as an initial",)
    elif ((before is not None and not before.comma and not _is_initial(before) and _name_like(before, comp)
           and before.key not in _DATE_WORDS)
          or (after is not None and toks[end - 1].comma and not _is_initial(after) and _name_like(after, comp)
              and after.key not in _DATE_WORDS and not (end + 1 < len(toks) and any(
                  ch.isdigit() for ch in toks[end + 1].raw)))):
        # "Lakshmi Krishnamurthy" or "KRISHNAMURTHY, LAKSHMI" for the intake "Arjun Krishnamurthy": a relative who
        # shares the surname, not the patient named by surname only
        return _Found(start, end, kinds | {MatchKind.SURNAME_ONLY}, ("printed with another first name",),
                      another_person=True)
    return _Found(start, end, kinds | {MatchKind.SURNAME_ONLY}, notes)


def _full_name(toks: Sequence[_Tok], i: int, end: int, sur_kinds: frozenset[MatchKind], intake: _Intake,
               comp: _Compiled, *, via_middle: bool) -> _Found | None:
    """The surname run [i, end) with a matching given name before it ("Maria A. Okafor") or after it ("OKAFOR,
    MARIA A", "OKAFOR MARIA"), or None."""
    start = i
    while start > 0 and _is_particle(toks[start - 1]):
        start -= 1
    particles = list(toks[start:i])
    # Suffix printed right after the surname ("DUBOIS JR, RENÉ", "Rene Dubois Jr.").
    k = end
    suffix: list[_Tok] = []
    if not (toks[end - 1].comma or toks[end - 1].colon) and k < len(toks) and _is_suffix(toks[k]):
        suffix.append(toks[k])
        k += 1

    forward = _given_before(toks, start, intake, comp)
    if forward is not None:
        g_at, g_kinds, mids = forward
        after = k
        if not suffix and after < len(toks) and _is_suffix(toks[after]):
            suffix.append(toks[after])
            after += 1
        # A surname matched through the intake's middle name ("Ana Garcia" for "Ana Garcia Lopez") must end the
        # name: "Maria Elena Rodriguez" is not "Maria Elena Okafor".
        if via_middle and after < len(toks) and _name_like(toks[after], comp) and not toks[end - 1].comma:
            return None
        return _assemble(g_at, after, g_kinds, sur_kinds, mids, particles, suffix, intake, comp, reordered=False)

    comma = bool(suffix and suffix[-1].comma) or toks[k - 1].comma
    q = k
    if q < len(toks) and toks[q].raw.strip() == ",":
        comma, q = True, q + 1
    if q >= len(toks) or toks[k - 1].colon:
        return None
    r_kinds = _given(toks[q], intake, comp)
    pre_mids: list[_Tok] = []
    if r_kinds is None and not comma:
        # A compound surname printed in full where the intake gives its first part ("ZÚÑIGA GARCÍA, XIMENA" for
        # "Ximena Zúñiga"): up to two more surname words, the last with the comma, then the given name.
        p = q
        while p < len(toks) and p - q < 2 and _name_like(toks[p], comp) and not toks[p].colon:
            p += 1
            if toks[p - 1].comma:
                break
        if p > q and toks[p - 1].comma and p < len(toks) and (g := _given(toks[p], intake, comp)) is not None:
            q, comma, r_kinds = p, True, g
            sur_kinds = sur_kinds | {MatchKind.COMPOUND_SURNAME}
    if r_kinds is None and not comma:
        # Family name first without a comma, the middle initial before the given name ("LIU R Zhiwei"), or a whole
        # middle name after a surname in capitals ("TRAN Van Minh": the Vietnamese order, family, middle, given).
        while q < len(toks) - 1 and len(pre_mids) < _MAX_MIDDLES and (
                _is_initial(toks[q]) or toks[q].key in intake.middles
                or (not pre_mids and toks[k - 1].text.isupper() and not toks[q].text.isupper()
                    and _name_like(toks[q], comp))):
            pre_mids.append(toks[q])
            q += 1
        r_kinds = _given(toks[q], intake, comp) if pre_mids else None
    if r_kinds is None:
        return None
    if not comma and not (toks[k - 1].text.isupper() or toks[q].text.isupper()):
        return None  # "Okafor Maria" without a comma only in a header printed in capitals
    r = q + 1
    r_mids: list[_Tok] = list(pre_mids)
    while (r < len(toks) and len(r_mids) < _MAX_MIDDLES and not toks[r - 1].comma and not toks[r - 1].colon
           and (_is_initial(toks[r]) or toks[r].key in intake.middles
                # "Østergaard, Håkon Søren DOB …": after "Last, First" one more given name the intake left out is
                # the middle name (as `_given_before` allows one in "First Middle Last"); never after a bare "LAST
                # FIRST", where the next capital word may be anything.
                or (comma and not r_mids and _name_like(toks[r], comp)
                    and toks[r].key not in intake.family and toks[r].key not in _DATE_WORDS and not intake.middles))):
        r_mids.append(toks[r])
        r += 1
    # Dutch and Flemish sorting puts the particles after the given name: "Broek, Pieter van den".
    while not particles and r < len(toks) and _is_particle(toks[r]) and not toks[r - 1].comma:
        particles.append(toks[r])
        r += 1
    if not suffix and r < len(toks) and _is_suffix(toks[r]) and not toks[r - 1].comma:
        suffix.append(toks[r])
        r += 1
    return _assemble(start, r, r_kinds, sur_kinds, r_mids, particles, suffix, intake, comp, reordered=True)


def _given_before(toks: Sequence[_Tok], start: int, intake: _Intake,
                  comp: _Compiled) -> tuple[int, frozenset[MatchKind], list[_Tok]] | None:
    """(index, kinds, middle tokens) of the given name printed before the surname at `start`, or None."""
    mids: list[_Tok] = []
    p = start - 1
    misread = False
    while p >= 0:
        tok = toks[p]
        if p == start - 1 and p > 0 and misread_initial(tok.raw):
            # read past it with OCR leniency (the reading keeps its doubt), as no middle name: the intake's middle
            # name, if any, is then missing
            misread = True
            p -= 1
            continue
        if tok.comma or tok.colon or not tok.key:
            return None
        kinds = _given(tok, intake, comp)
        if kinds is not None:
            return p, kinds | _OCR if misread else kinds, mids
        extra_names = sum(1 for m in mids if not _is_initial(m) and m.key not in intake.middles)
        if len(mids) >= _MAX_MIDDLES:
            return None
        if _is_initial(tok) or tok.key in intake.middles or (extra_names == 0 and _name_like(tok, comp)):
            mids.insert(0, tok)
            p -= 1
            continue
        return None
    return None


def _assemble(start: int, end: int, g_kinds: frozenset[MatchKind], sur_kinds: frozenset[MatchKind],
              mids: Sequence[_Tok], particles: Sequence[_Tok], suffix: Sequence[_Tok], intake: _Intake,
              comp: _Compiled, *, reordered: bool) -> _Found | None:
    m_kinds = _middles(mids, intake, comp)
    s_kinds = _suffix_kinds(suffix, intake)
    if m_kinds is None or s_kinds is None:
        note = "middle name differs" if m_kinds is None else "generational suffix differs"
        return _Found(start, end, frozenset({MatchKind.SURNAME_ONLY}), (note,), another_person=True)
    kinds = set(g_kinds | sur_kinds | m_kinds | s_kinds | _particle_kinds(particles, intake))
    if reordered:
        kinds.add(MatchKind.REORDERED)
    if len(kinds) > 1:
        kinds.discard(MatchKind.EXACT)
    return _Found(start, end, frozenset(kinds))


# --------------------------------------------------------------------------------------------------------------
# Where a name sits
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _LabelAt:
    start: int
    end: int
    cue: LabelCue | None  # None: a patient-context phrase (DOB, MRN)


@dataclass(frozen=True, slots=True)
class _Place:
    position: Position
    rule: str  # cue id or mark name
    phrase: str  # for the reason
    weight: float


def _labels(toks: Sequence[_Tok], comp: _Compiled) -> tuple[_LabelAt, ...]:
    """Label and patient-context phrases on a line, longest phrase first, left to right."""
    by_first = comp.by_first
    out: list[_LabelAt] = []
    i = 0
    while i < len(toks):
        step = 1
        for key, cue in by_first.get(toks[i].key, ()):
            n = len(key)
            if i + n > len(toks) or any(toks[i + m].key != key[m] for m in range(1, n)):
                continue
            colon = toks[i + n - 1].colon or (i + n < len(toks) and toks[i + n].raw.strip() in (":", ";"))
            if cue is not None and cue.colon == "required" and not colon:
                continue
            out.append(_LabelAt(i, i + n, cue))
            step = n
            break
        i += step
    return tuple(out)


def _heading(toks: Sequence[_Tok], comp: _Compiled) -> Heading | None:
    keys = tuple(t.key for t in toks if t.key)
    return comp.headings.get(keys) if keys else None


class _Context:
    """Lines of a document with their labels and headings, computed once per search."""

    def __init__(self, lines: list[_Line], rules: IntakeSearchRules) -> None:
        self.lines = lines
        self.rules = rules
        self.comp = rules.compiled
        self.labels = [_labels(line.toks, self.comp) for line in lines]
        self.headings = [_heading(line.toks, self.comp) for line in lines]

    def _line_in_page(self, li: int) -> int:
        """How many lines of its page come before line `li`."""
        n = 0
        while self._same_page(li, li - n - 1):
            n += 1
        return n

    def _same_page(self, a: int, b: int) -> bool:
        return 0 <= b < len(self.lines) and self.lines[a].page == self.lines[b].page

    def label_for(self, li: int, start: int) -> _LabelAt | None:
        """The label a name at token `start` of line `li` is printed under: right before it (only titles and
        separators between), or ending the previous line when the name opens its line."""
        toks = self.lines[li].toks
        for lab in reversed(self.labels[li]):
            if lab.end <= start:
                lead = self.comp.lead_words.get(lab.cue.id, frozenset()) if lab.cue is not None else frozenset()
                between = toks[lab.end:start]
                if lab.cue is not None and all(_is_filler(t) or (t.key in lead and not t.colon) for t in between):
                    return lab
                break
        if all(_is_filler(t) for t in toks[:start]) and self._same_page(li, li - 1) and self.labels[li - 1]:
            prev, last = self.lines[li - 1].toks, self.labels[li - 1][-1]
            if last.cue is not None and all(_is_filler(t) for t in prev[last.end:]):
                return last
        return None

    def heading_above(self, li: int) -> Heading | None:
        """The nearest heading above line `li` on its page whose reach (`max_lines`) covers it."""
        for d in range(1, 51):
            if not self._same_page(li, li - d):
                return None
            heading = self.headings[li - d]
            if heading is not None:
                return heading if d <= heading.max_lines else None
        return None

    def relationship_near(self, li: int, after: int) -> bool:
        """A "Relationship:" field other than self after token `after` on line `li`, or opening the next line."""
        spots = [(li, after)]
        if self._same_page(li, li + 1):
            spots.append((li + 1, 0))
        comp = self.comp
        for line_no, frm in spots:
            toks = self.lines[line_no].toks
            for n in range(frm, len(toks)):
                if toks[n].key not in comp.relationship_labels:
                    if line_no != li:
                        break  # on the next line only as its first word
                    continue
                rest = [t.key for t in toks[n + 1:] if t.key and t.key not in {"to", "patient", "pt"}]
                return bool(rest) and rest[0] not in comp.self_words
        return False

    def place(self, li: int, found: _Found) -> _Place:
        """Where the name [found.start, found.end) of line `li` sits (first rule that applies)."""
        rules, comp = self.rules, self.comp
        toks = self.lines[li].toks
        label = self.label_for(li, found.start)
        if (label is None and MatchKind.SURNAME_ONLY in found.kinds and found.start > 0
                and _name_like(toks[found.start - 1], comp)):
            label = self.label_for(li, found.start - 1)  # "Patient: Lu Wu" for "Li Wu": the surname sits there too
        if label is not None and label.cue is not None:
            return self._labelled(li, found, label, label.cue)
        nxt = next((t for t in toks[found.end:] if t.key), None)
        if (nxt is not None and nxt.key in comp.relationship and not nxt.colon) or self.relationship_near(
                li, found.end):
            return _Place(Position.CONTACT, "relation", "with a family relation", rules.relation_weight)
        before = next((t for t in reversed(toks[:found.start]) if t.key), None)
        if before is not None and before.key in _PHYSICIAN_TITLES and before is toks[found.start - 1]:
            return _Place(Position.PROVIDER, "physician_title", "after a physician title", rules.provider_mark_weight)
        if nxt is not None and credential_of(nxt.text) is not None and (nxt.text.isupper() or nxt.comma
                                                                         or toks[found.end - 1].comma):
            return _Place(Position.PROVIDER, "credential", "with a credential", rules.provider_mark_weight)
        glued = toks[found.end - 1].raw
        # "v_": the caret and debris; "v__Kinnect", "v_HealthHarbor": the caret glued by debris to the portal's name
        following = account_marker(toks[found.end].raw.strip(" _~"), comp.glyphs) if found.end < len(toks) else ""
        at_top = self._line_in_page(li) < rules.account_markers.max_line
        # "vy" for "▾": the caret read as two of the letters it is read as glued to a name ("McKennavy")
        # "y¥" or "v¥": the caret read as two glyphs
        caret = following in comp.glyphs or (0 < len(following) <= 2 and following[0] in comp.glyphs
                                             and all(c in comp.caret_letters or c in comp.glyphs
                                                     for c in following.lower()))
        # a form's column header above names the place first: the account header's glyph test also takes a name's
        # own y or v ("Krishnamurthy-Venkataraman" under "Patient name": fresh seeds 9900-10499, train_9920)
        heading = self.heading_above(li)
        header = self._header_row_above(li, found.start) if heading is None else None
        if header is not None:
            return header
        if at_top and (any(g in glued for g in comp.glyphs) or caret):
            return _Place(Position.PATIENT, "account_header", "in a portal account header",
                          rules.account_markers.weight)
        if heading is not None:
            return _Place(heading.position, heading.id, f"under a {heading.position.value} heading", heading.weight)
        if self._has_context(li) or (self._same_page(li, li + 1) and self._has_context(li + 1, alone=True)):
            return _Place(Position.PATIENT, "patient_context", "on a line with a date of birth or record number",
                          rules.patient_context.weight)
        return _Place(Position.UNLABELLED, "unlabelled", "without a label", rules.unlabelled_weight)

    def _header_row_above(self, li: int, start: int) -> _Place | None:
        """A form's column headers: the name opens its line and the line above starts with a patient label ("Patient
        name  Date of birth  MRN" over "VENKATARAMAN, SANJAY  March 18, 1958  77921126"), or holds a date-of-birth or
        record-number header without naming anyone under a label."""
        toks = self.lines[li].toks
        above = li - 1
        if above > 0 and self.lines[above].toks and all(_is_filler(t) for t in self.lines[above].toks):
            above -= 1  # a rule under the headers read as a line of debris ("—-": fresh seeds 9900-10499, train_10245)
        if not all(_is_filler(t) for t in toks[:start]) or not self._same_page(li, above) or not self.labels[above]:
            return None
        first = self.labels[above][0]
        # the label opens the header line, but for a scan's specks read as punctuation (". Patient name Date of birth
        # . MRN": fresh seeds 8700-9299, train_9188)
        opens = all(_is_filler(t) for t in self.lines[above].toks[:first.start])
        if opens and first.cue is not None and first.cue.position is Position.PATIENT:
            return _Place(Position.PATIENT, f"{first.cue.id}_header", "under a patient column header", first.cue.weight)
        if self._has_context(above, alone=True):
            return _Place(Position.PATIENT, "patient_context_header", "under a date-of-birth or record-number header",
                          self.rules.patient_context.weight)
        return None

    def _has_context(self, li: int, *, alone: bool = False) -> bool:
        """A DOB/MRN phrase on line `li`; with `alone`, only on a line that names nobody else under a label."""
        labs = self.labels[li]
        if alone and any(lab.cue is not None for lab in labs):
            return False
        return any(lab.cue is None for lab in labs)

    def _labelled(self, li: int, found: _Found, label: _LabelAt, cue: LabelCue) -> _Place:
        if not cue.inherit:
            return _Place(cue.position, cue.id, f"after a {cue.position.value} label", cue.weight)
        # A generic "Name:" field: whose name it is comes from the line, the heading above or a relationship.
        for earlier in self.labels[li]:
            if earlier.end <= label.start and earlier.cue is not None and earlier.cue.position is not Position.PATIENT:
                pos = earlier.cue.position
                return _Place(pos, earlier.cue.id, f"after a {pos.value} label", earlier.cue.weight)
        heading = self.heading_above(li)
        if heading is not None and heading.position is not Position.PATIENT:
            return _Place(heading.position, heading.id, f"in a name field under a {heading.position.value} heading",
                          heading.weight)
        if self.relationship_near(li, found.end):
            return _Place(Position.CONTACT, "relation", "in a name field with a relationship", cue.weight)
        return _Place(cue.position, cue.id, f"after a {cue.position.value} label", cue.weight)

    def patient_values(self) -> list[tuple[int, int, int, str]]:
        """(line, start, end, text) of every full name printed under a patient label (whoever it names)."""
        out: list[tuple[int, int, int, str]] = []
        for li, labs in enumerate(self.labels):
            for lab in labs:
                if lab.cue is None:
                    continue
                value = self._value_after(li, lab)
                if value is None:
                    continue
                v_li, v_start, toks = value
                if self._labelled(v_li, _Found(v_start, v_start + len(toks), frozenset()), lab,
                                  lab.cue).position is not Position.PATIENT:
                    continue
                for n in range(len(toks), 1, -1):
                    text = " ".join(t.raw for t in toks[:n]).strip(_EDGE)
                    if not _capitalised(toks[0].raw, particle_ok=True) or not _capitalised(toks[n - 1].raw):
                        continue  # "Patient denies any history of …": prose after a bare label, not a name
                    parsed = parse_person_name(text)
                    if parsed is not None and len(_key(parsed.given)) > 1:
                        out.append((v_li, v_start, v_start + n, text))
                        break
                else:
                    if _misread_name(toks):  # "Name: Gra¢a da Silva": someone's name, whatever OCR made of it
                        out.append((v_li, v_start, v_start + len(toks), " ".join(t.raw for t in toks)))
        return out

    def _value_after(self, li: int, lab: _LabelAt) -> tuple[int, int, list[_Tok]] | None:
        toks = self.lines[li].toks
        s = lab.end
        while s < len(toks) and _is_filler(toks[s]):
            s += 1
        if s >= len(toks):  # the label ends its line: the value opens the next one
            if not self._same_page(li, li + 1) or (self.labels[li + 1] and self.labels[li + 1][0].start == 0):
                return None
            li, toks, s = li + 1, self.lines[li + 1].toks, 0
        value: list[_Tok] = []
        comp = self.comp
        for tok in toks[s:s + _MAX_VALUE_TOKENS]:
            if tok.colon or not tok.key or tok.key in comp.stop or tok.key in comp.by_first or not any(
                    ch.isalpha() for ch in tok.key) or any(ch.isdigit() for ch in tok.key):
                break
            value.append(tok)
            if tok.raw.endswith((";", ".")) and not _is_initial(tok):
                break
        return (li, s, value) if len(value) >= 2 else None


# --------------------------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------------------------

def _misread_name(toks: Sequence[_Tok]) -> bool:
    """A patient field's value that reads as a person's name with OCR damage: capitalised words of three or more
    characters (particles aside; no initials), at least two of them, none of them a word that names no person."""
    _, _, not_names = _name_lexicon()
    words = [t for t in toks if not _is_particle(t)]
    return len(words) >= 2 and all(
        len(t.raw.strip(_EDGE)) >= 3 and t.raw.strip(_EDGE)[:1].isupper() and not _is_initial(t)
        and t.key not in not_names for t in words)


def _exact_only(comp: _Compiled) -> _Compiled:
    """`comp` without OCR leniency (confusions, edit distance, caret letters, lost capitals): for printed text."""
    return dataclasses.replace(comp, confusions=(), ocr_min_length=sys.maxsize, caret_letters=frozenset(),
                               fragile_reads={})


def search_intake_name(document: Document, intake_name: str,
                       rules: IntakeSearchRules | None = None) -> IntakeSearch:
    """Every printing of the intake person's name in `document`, where it sits, and the verdict.

    Pure: reads the words and lines only, no NLP, no logging. Raises ConfigError only when the bundled rule file
    (`pipeline/rules/intake_search.yaml`) is invalid and no `rules` are given.
    """
    rules = rules or default_intake_search_rules()
    intake = _intake(intake_name)
    if intake is None:
        return IntakeSearch(Verdict.NOT_FOUND, "The intake name is not a full name (a given name and a surname), "
                                               "so it cannot be searched for.", ())
    comp = rules.compiled
    # A text layer prints the characters themselves: no reading errors to forgive. "Huong Thi Dang" in a PDF's text
    # is not "Phuong Dang" within one edit (varied train_2798, made wrongly complete by the intake check's tolerance).
    exact = _exact_only(comp)
    ctx = _Context(_lines(document), rules)
    hits: list[IntakeHit] = []
    full_ranges: set[tuple[int, int, int]] = set()  # (line, start, end) of full-name hits
    for li, line in enumerate(ctx.lines):
        read = comp if document.pages[line.page - 1].source is Source.OCR else exact
        for found in _find_on_line(line.toks, intake, read):
            place = ctx.place(li, found)
            hits.append(_hit(document, line, found, place, rules))
            if MatchKind.SURNAME_ONLY not in found.kinds:
                full_ranges.add((li, found.start, found.end))
    other_pages: list[int] = []
    others: list[OtherPatient] = []
    for li, start, end, text in ctx.patient_values():
        if any(h_li == li and h_start < end and start < h_end for h_li, h_start, h_end in full_ranges):
            continue
        if match_intake(intake_name, text).result is CheckResult.PASS:
            continue
        other_pages.append(ctx.lines[li].page)
        toks = ctx.lines[li].toks[start:end]
        evidence = _evidence(document, toks, ctx.lines[li].page, rule="other_patient",
                             score=min(t.confidence for t in toks), adjustments=())
        others.append(OtherPatient(text.strip(_EDGE), evidence))
    verdict, reason = _verdict(hits, tuple(dict.fromkeys(other_pages)))
    return IntakeSearch(verdict, reason, tuple(hits), tuple(dict.fromkeys(other_pages)), tuple(others))


def _capitalised(raw: str, *, particle_ok: bool = False) -> bool:
    """A printed name's words start with a capital, apart from particles ("dos Santos, Leonor", "van Dijk")."""
    word = raw.strip(_EDGE)
    if particle_ok and fold(word) in default_name_rules().lexicon.particles:
        return True
    return bool(word) and word[0].isupper()


def _evidence(document: Document, toks: Sequence[_Tok], page: int, *, rule: str, score: float,
              adjustments: tuple[Adjustment, ...]) -> Evidence:
    """Evidence of printed words of one line. They are linearised as `linearize` joins the words of one line: the
    evidence (page, union box, snippet) is the same as from the whole document's text, without flattening every page
    for a few hits."""
    spans, pos = [], 0
    for t in toks:
        spans.append(TextSpan(pos, pos + len(t.raw), page, t.word))
        pos += len(t.raw) + 1
    linear = LinearText(" ".join(t.raw for t in toks), tuple(spans), document)
    return evidence_from_span(linear, 0, len(linear.text), finder=FINDER, rule=rule, score=score,
                              adjustments=adjustments)


def _hit(document: Document, line: _Line, found: _Found, place: _Place, rules: IntakeSearchRules) -> IntakeHit:
    toks = line.toks[found.start:found.end]
    kinds = found.kinds
    match = next(k for k in _KIND_ORDER if k in kinds)
    weights = rules.compiled.weights
    match_weight = min(weights[k] for k in kinds)
    after_place = match_weight * place.weight
    if MatchKind.OCR in kinds:
        confidence = min(t.confidence for t in toks)
        score = round(after_place * confidence, 4)
        read = Adjustment(f"lowest OCR word confidence (x{confidence:.2f})", round(score - after_place, 4))
    else:
        # Every name word reads as the intake spells it (up to case, accents and order): the patient's own typing
        # corroborates the reading, so tesseract's doubt about the glyphs does not lower the score. A reading that
        # needed OCR leniency keeps the doubt. A caret glued to the surname ("Tranvy" for "Tran ▾") is no leniency:
        # every letter of the name is as typed, and the word's low confidence is tesseract's doubt about the caret.
        score = round(after_place, 4)
        read = Adjustment("read as the intake spells it: OCR confidence not applied", 0.0)
    adjustments = (
        Adjustment(f"position: {place.phrase} (x{place.weight:g})", round(after_place - match_weight, 4)),
        read,
    )
    evidence = _evidence(document, toks, line.page, rule=f"{match.value}/{place.rule}", score=match_weight,
                         adjustments=adjustments)
    shown = kinds - {MatchKind.EXACT} if len(kinds) > 1 else kinds
    phrases = [_KIND_PHRASES[k] for k in _KIND_ORDER if k in shown] + list(found.notes)
    reason = f"{'; '.join(phrases)}; {place.phrase}"
    value = _strip_symbols(" ".join(t.raw for t in toks).strip(_EDGE)).strip(_EDGE)
    before = line.toks[found.start - 1] if found.start > 0 else None
    inside = (before is not None and not before.comma and _name_like(before, rules.compiled)
              and not is_avatar_initials(before.text, [t.text for t in toks]))
    return IntakeHit(value_as_printed=value, page=line.page, evidence=evidence, match=match, position=place.position,
                     reason=reason, score=score, kinds=kinds, another_person=found.another_person,
                     inside_longer_name=inside)


def _pages(hits: Sequence[IntakeHit]) -> str:
    pages = sorted({h.page for h in hits})
    return ("page " if len(pages) == 1 else "pages ") + ", ".join(str(p) for p in pages)


def _verdict(hits: Sequence[IntakeHit], other_pages: tuple[int, ...]) -> tuple[Verdict, str]:
    full = [h for h in hits if h.full_name]
    at_patient = [h for h in full if h.position is Position.PATIENT]
    if at_patient:
        reason = f"The intake name is printed in full where the document names its patient ({_pages(at_patient)})."
        if other_pages:
            reason += " A patient label elsewhere holds a different name."
        return Verdict.PATIENT_CONFIRMED, reason
    if other_pages:
        return Verdict.OTHER_PATIENT, (
            "A patient label holds a different full name, and the intake name is not printed where the document "
            "names its patient.")
    if full and all(h.position in (Position.CONTACT, Position.PROVIDER) for h in full):
        roles = sorted({h.position.value for h in full})
        return Verdict.NOT_THE_PATIENT, (
            f"The intake name is printed in full only as a {' and a '.join(roles)} ({_pages(full)}), never as the "
            "patient.")
    if full:
        return Verdict.UNLABELLED, (
            f"The intake name is printed in full ({_pages(full)}) but not where the document names its patient; a "
            "person must confirm whose name it is.")
    if any(not h.another_person for h in hits):
        return Verdict.SURNAME_ONLY, (
            f"Only the intake surname is printed ({_pages(hits)}), without the matching first name; that does not "
            "identify the patient.")
    if hits:
        return Verdict.NOT_FOUND, (
            f"The intake name is not printed; its surname is, only as part of another person's name ({_pages(hits)}).")
    return Verdict.NOT_FOUND, "The intake name is not printed in the document."
