"""The diagnosis finder: every diagnosis mention, linked to ICD-10-CM, classified by policy, with its assertion.

Where mentions come from, strongest first:
  1. A printed code next to a lexicon term ("Fibromyalgia (M79.7)", "G90.512 CRPS I left arm"): the printed code wins
     (rule "printed_code"); a printed code with no term next to it is a mention of its own.
  2. A printed SNOMED CT id next to the concept's own display ("29857009 Chest pain", "Low back pain 279039007"),
     for a concept of rules/snomed_pain_map.yaml: the id must pass its Verhoeff check digit and the adjacent words
     must be the map's display for that id (rule "printed_snomed:<id>"); the map's ICD-10-CM code wins over the
     lexicon's. A printed ICD-10-CM code next to the words still wins over both. Precision first: an id whose
     neighbour is any other text is not used.
  3. A lexicon term or abbreviation found by medspaCy's TargetMatcher (rule "lexicon:<code>:<term|abbreviation>"),
     refined by a side/limb word for CRPS/causalgia ("CRPS left arm" → G90.512). A pseudo-target (label
     PSEUDO_TARGET, rules/context_rules.json: "bipolar cautery") displaces the term inside it and is never reported.
  4. A short form the document defines itself ("postherpetic neuralgia (PN)") for a lexicon term (rule
     "abbreviation:<code>").
  5. Linker fallback: in diagnosis-like sections only (diagnoses, problem list, assessment, PMH), list items that
     matched nothing above are linked by the char 3-gram linker (rule "linker:char3gram"); this is what survives OCR
     noise ("fibromyalgla"). Outside those sections free text is not linked: prose, vitals and instructions link to
     table rows far too easily.
  6. Statistical recall layer, last and only when needed: DISEASE entities of docverify's own NER model
     (extractors/ner_model.py, trained on BC5CDR; training/README.md) that overlap nothing above, are not made only
     of generic words ("Pain" in a letterhead) and link near-exactly (cosine >= min_link_score;
     rules/ner_recall.yaml) become mentions (rule "ner:<model>"). It finds diagnoses phrased in ways the lexicon
     does not list; the link, the assertion, the section and symptom rules and the policy apply to them exactly as
     to a lexicon term. The model finds the span; only the ICD-10-CM link decides the code and so the category.
     Cascade: the model runs only when layers 1-5 found no affirmed pain diagnosis in a diagnostic section (it
     could then add mentions but not change the verdict, and it costs more per page than the rest of the NLP stage;
     benchmarks/README.md), and it does not read the sections rules/ner_recall.yaml skips.

A pain symptom named in words (chapter R: chest, abdominal, pelvic pain, headache) is reported only in diagnostic or
complaint/history/exam sections (SYMPTOM_SECTIONS); in instructions and other sections it is a return precaution or
a finding, not a diagnosis.

Assertion (medspaCy ConText + sections). When several apply the first of this order wins:
    family > negated > historical > uncertain > hypothetical > affirmed
  Family first: whatever is said about a relative's condition never says anything about the patient. Negated before
  historical/uncertain: "no history of CRPS" and "denies possible migraine" are denials. Historical before uncertain:
  "possible migraines in adolescence, resolved" is in any case not current.
  "history of X" is NOT historical (docs/POLICY.md: an ongoing chronic condition in a current note); only resolved or
  explicitly past cues are (rules/context_rules.json). A Past Medical History section is likewise treated as a list
  of ongoing conditions: mentions there are affirmed unless a resolved/past cue applies. A Family History section
  implies family (rules/sections.yaml `implies`).

Confidence = link score × OCR word confidence (min over the mention's words) × section weight (rules/sections.yaml:
diagnosis, problem-list and assessment sections 1.0 > PMH 0.9 > HPI 0.8 > complaint/plan 0.75), minus a near-tie
penalty when the linker's runner-up is within `near_tie_margin` and of another category. Each factor is recorded as an
`Adjustment` on the evidence.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from pydantic import ValidationError
from spacy.tokens import Doc, Span

from extractors.ccda import SNOMED_MAP_PATH, SnomedMapFile, parse_snomed_map, snomed_id_is_valid
from extractors.icd_linker import Candidate, Linker, get_linker
from extractors.ner_model import EntityRecognizer, load_recall_rules
from extractors.nlp import (
    LABEL_CODE,
    LABEL_DIAGNOSIS,
    ParsedText,
    SectionsFile,
    load_context_rules,
    load_sections,
    section_of,
)
from extractors.people.cells import _Cells
from extractors.people.lines import _Line
from pipeline.codes import icd10_dotted
from pipeline.errors import ConfigError
from pipeline.names import default_name_rules, fold
from pipeline.policy import Lexicon, Policy, load_lexicon
from pipeline.rulefiles import load_yaml, read_rule_file
from pipeline.types import (
    COMPLAINT_SECTIONS,
    DIAGNOSTIC_SECTIONS,
    Adjustment,
    Assertion,
    DiagnosisMention,
    Evidence,
    SectionKind,
    evidence_from_span,
    ocr_confidence,
)

FINDER = "diagnosis"
# Assertion precedence, strongest first (see module docstring).
ASSERTION_PRECEDENCE: tuple[Assertion, ...] = (Assertion.FAMILY, Assertion.NEGATED, Assertion.HISTORICAL,
                                                Assertion.UNCERTAIN, Assertion.HYPOTHETICAL)
_CONTEXT_TO_ASSERTION = {
    "FAMILY": Assertion.FAMILY,
    "NEGATED_EXISTENCE": Assertion.NEGATED,
    "HISTORICAL": Assertion.HISTORICAL,
    "POSSIBLE_EXISTENCE": Assertion.UNCERTAIN,
    "HYPOTHETICAL": Assertion.HYPOTHETICAL,
}
CODE_ADJACENCY_TOKENS = 8  # a printed code this close to a term, same line, no other term between, belongs to it
NEAR_TIE_PENALTY = 0.1
# Where a symptom (an ICD-10-CM chapter R code: "chest pain" R07.9, "abdominal pain" R10.9, "headache" R51.9) named in
# words is a mention at all: a diagnosis or problem section, or a complaint/history/exam section (which
# pipeline/evaluate.py already treats as weaker evidence). Elsewhere (instructions, results, headers, no section) a
# symptom is a return precaution or a finding ("Call your physician if you notice: … Abdominal pain."), not a stated
# diagnosis, and it is not reported. Printed codes are exempt: a coded problem is a diagnosis wherever it is printed.
SYMPTOM_SECTIONS = DIAGNOSTIC_SECTIONS | COMPLAINT_SECTIONS
_CHUNK_SPLIT = re.compile(r"[,;•]|\s-\s")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)]|[a-z][.)])\s*")
_MIN_CHUNK_ALPHA = 4  # a chunk needs a word of at least this many letters to be linked


# A printed SNOMED CT id: 6-18 digits standing alone (not part of an OID "2.16.840…", a date or a phone number).
_SCTID = re.compile(r"(?<![\w.\-/:])[1-9][0-9]{5,17}(?![\w.\-/:])")
_SEPARATOR = r"[ \t]*[-:|–]?[ \t]*"  # between an id and its display: spaces, or one dash, colon or bar


@dataclass(frozen=True, slots=True)
class SnomedDisplay:
    """A mapped SNOMED CT concept as it may be printed: its display forms (regex, case-insensitive) and its code."""

    sctid: str
    icd10: str
    after: re.Pattern[str]  # the display right after the id: "29857009 Chest pain"
    before: re.Pattern[str]  # the display right before the id, alone on its line so far: "Chest pain 29857009"


def _display_forms(display: str) -> list[str]:
    """The display, and without a trailing parenthetical ("Pain of joint (arthralgia)" → "Pain of joint")."""
    forms = [display]
    bare = re.sub(r"\s*\([^()]*\)\s*$", "", display)
    if bare and bare != display:
        forms.append(bare)
    return sorted(forms, key=len, reverse=True)


def _words_regex(form: str) -> str:
    return r"\s+".join(re.escape(w) for w in form.split())


@functools.cache
def load_snomed_displays(path: Path = SNOMED_MAP_PATH) -> dict[str, SnomedDisplay]:
    """The SNOMED CT map (extractors.ccda's file and model) keyed by id, with display patterns.

    Raises ConfigError naming the file and the problem.
    """
    raw = read_rule_file(path, "map file")
    parse_snomed_map(raw, path)  # the same validation ccda applies (Verhoeff, ICD-10-CM codes, duplicates)
    try:
        model = SnomedMapFile.model_validate(load_yaml(raw))
    except (yaml.YAMLError, ValidationError) as e:  # unreachable after parse_snomed_map; kept for mypy and safety
        raise ConfigError(f"{path.name}: invalid map file ({type(e).__name__})") from e
    out: dict[str, SnomedDisplay] = {}
    for c in model.concepts:
        alts = "|".join(_words_regex(f) for f in _display_forms(c.display))
        out[c.snomed] = SnomedDisplay(
            c.snomed, c.icd10,
            after=re.compile(rf"{_SEPARATOR}(?:{alts})(?![\w])", re.IGNORECASE),
            # the whole line up to the id must be the display: in "Chest pain 22253000" the id (Pain) is not the
            # concept of the printed words, though they end with its display
            before=re.compile(rf"^[ \t]*(?:{alts}){_SEPARATOR}$", re.IGNORECASE))
    return out


@dataclass(frozen=True, slots=True)
class _Raw:
    """A mention before scoring."""

    start: int  # token indices into the doc
    end: int
    candidate: Candidate
    rule: str
    runner_up: Candidate | None = None


def _assertion(doc: Doc, text: str, span: Span, section: SectionKind | None, sections: SectionsFile,
               from_context: bool, cells: _Cells | None = None) -> Assertion:
    """The assertion of `span`; `text` is `doc.text`, built once per document by the caller (spaCy joins every
    token for each `Doc.text`: per mention, that made a long record's parse quadratic)."""
    found: set[Assertion] = set()
    implied = sections.implies.get(section) if section is not None else None
    if implied is not None:
        found.add(Assertion(implied))
    if from_context:
        flags = {Assertion.FAMILY: span._.is_family, Assertion.NEGATED: span._.is_negated,
                 Assertion.HISTORICAL: span._.is_historical, Assertion.UNCERTAIN: span._.is_uncertain,
                 Assertion.HYPOTHETICAL: span._.is_hypothetical}
        found |= {a for a, on in flags.items() if on}
    else:
        # Not a TargetMatcher span: ask each ConText modifier whether its scope covers the span.
        found |= _cues_covering(doc, span)
    if (wrapped := _wrapped_phrase(doc, text, span)) is not None:
        # The mention's own words go on past a line wrap ("Complex regional pain⏎syndrome I of left upper limb
        # (resolved)."): a cue whose scope reaches the words on the next line but not the first line (ConText counts
        # the line break as a token) still speaks of this mention.
        found |= _cues_covering(doc, wrapped)
    if Assertion.FAMILY not in found and _under_relative_label(doc, text, span):
        found.add(Assertion.FAMILY)
    status = _status_line_after(text, span)
    if status is None:
        status = _status_in_row(text, span, cells)
    if status is not None:
        found.add(status)
    elif section is SectionKind.PROBLEM_LIST and found <= {Assertion.AFFIRMED} and _status_unread(text, span):
        found.add(Assertion.UNCERTAIN)
    return next((a for a in ASSERTION_PRECEDENCE if a in found), Assertion.AFFIRMED)


_STATUS_HEADER = re.compile(r"(?:^|[\s|])status(?:$|[\s|:])", re.IGNORECASE)
_STATUS_HEADER_REACH = 8  # lines above a row searched for its table's header


def _status_unread(text: str, span: Span) -> bool:
    """Whether the diagnosis opens a row of a table with a "Status" column (its header within a few lines above)
    and no status at all was read after it on that row or on the line under it: the cell was lost, and the row may
    be resolved (load_context_rules().affirming_statuses and status_lines are the statuses)."""
    rules = load_context_rules()
    known = rules.affirming_statuses | frozenset(rules.status_lines)
    line_start = text.rfind("\n", 0, span.start_char) + 1
    line_end = text.find("\n", span.end_char)
    below_end = text.find("\n", line_end + 1) if line_end >= 0 else -1
    row = text[line_start:len(text) if line_end < 0 else line_end]
    if text[line_start:span.start_char].strip(" \t|•*-.0123456789"):
        return False  # not the row's first cell: a continuation line of a row above ("ICD-10-CM G58 Other …" under a
        # C-CDA problem whose status is on the row's first line) or prose
    below = text[line_end + 1:len(text) if below_end < 0 else below_end] if line_end >= 0 else ""
    after = text[span.end_char:len(text) if line_end < 0 else line_end]  # the row's cells after the diagnosis
    if len(below.split()) > 2:
        below = ""  # the next row or prose; a status read as a line of its own is one or two words
    words = {w.strip(_CELL_STRIP + "‘’`\x27\"").lower() for w in f"{after} {below}".split()}
    if words & known or _STATUS_HEADER.search(row):
        return False
    above = text[:line_start].split("\n")[-_STATUS_HEADER_REACH - 1:-1]
    return any(_STATUS_HEADER.search(line) for line in above)


def _cues_covering(doc: Doc, span: Span) -> set[Assertion]:
    """The assertions of the ConText modifiers whose scope covers `span`."""
    found: set[Assertion] = set()
    for mod in doc._.context_graph.modifiers:
        a = _CONTEXT_TO_ASSERTION.get(mod.category)
        if a is not None and mod.modifies(span):
            found.add(a)
    return found


_WRAP_MAX_TOKENS = 8  # the words of a wrapped phrase on the next line ("syndrome I of left upper limb")
_PHRASE_ENDS = frozenset("([,;.:-–—")


def _wrapped_phrase(doc: Doc, text: str, span: Span) -> Span | None:
    """`span` with the words that continue it on the next line, when it ends its line (a comma may follow it) and the
    phrase goes on there in lower case (`extractors.nlp.line_sentences` keeps such a wrap in one sentence, but not
    after a comma): up to a bracket or punctuation, at most `_WRAP_MAX_TOKENS` words. None when the span does not end
    a wrapped line."""
    line_end = text.find("\n", span.end_char)
    if line_end < 0 or text[span.end_char:line_end].strip(" \t,"):
        return None  # only a comma may stand between the mention and its line's end ("Radiculopathy,⏎lumbar …")
    end = span.end
    comma = False
    while end < len(doc) and (doc[end].is_space or doc[end].text == ","):
        comma = comma or doc[end].text == ","
        end += 1
    # after a comma at the line's end the sentence splitter starts a new sentence; the phrase still goes on
    if end >= len(doc) or (doc[end].is_sent_start and not comma) or not doc[end].text[:1].islower():
        return None
    stop = end
    while stop < len(doc) and stop - end < _WRAP_MAX_TOKENS:
        tok = doc[stop]
        if tok.is_space or tok.text in _PHRASE_ENDS:
            break
        stop += 1
    return doc[span.start:stop]


def _under_relative_label(doc: Doc, text: str, span: Span) -> bool:
    """True when `span` is in the sentence that opens its line and the line above ends with a relative's label: a
    FAMILY cue and a colon ("Family history: Mother: CRPS; Brother:⏎Chronic low back pain."). The label's value is
    the next line, but a line break ends a sentence (`extractors.nlp.line_sentences`), so ConText's scope stops
    before it."""
    line_start = text.rfind("\n", 0, span.start_char) + 1
    if line_start == 0 or span.sent.start_char > line_start:
        return False
    above = text[:line_start - 1].rstrip()
    if not above.endswith(":"):
        return False
    colon = len(above) - 1
    for mod in doc._.context_graph.modifiers:
        if mod.category != "FAMILY":
            continue
        cue = doc[mod.modifier_span[0]:mod.modifier_span[1]]
        # the cue ends the line above, right before its colon (a cue further down the page is no label of this line)
        if (cue.end_char <= colon and text[cue.end_char:colon].strip(" '") == ""
                and "\n" not in text[cue.start_char:colon]):
            return True
    return False


_LIST_ITEM_MAX_WORDS = 12  # "Migraine without aura, not intractable, without status migrainosus" is one item
# What may follow a diagnosis at the end of its line: the rest of its phrase in lower case, its code in brackets,
# punctuation ("polyneuropathy (E11.42)", "dystrophy of right lower limb").
# An ICD-10 code in brackets, as OCR may read it (its letter as a digit, "O" for "0"): "(E11.42)", "(690.521)".
_BRACKETED_CODE = r"\(\s*[A-Z0-9][0-9O]{1,2}(?:\.\s?\w{1,4})?\s*\)"
_ENDS_ITEM = re.compile(rf"(?:[ \t]+[a-z][\w'’\-]*){{0,6}}[\s.,;:)\]|]*(?:{_BRACKETED_CODE}[\s.,;:|]*)?")
# A line holding only a status in brackets, after the item's code or its title's own bracketed synonym (lower-case
# words) or both: "(resolved).", "(G90.521) (resolved).", "(postherpetic neuralgia) (resolved).".
_BRACKETED_SYNONYM = r"[(\[][a-z][a-z'’\- ]{0,60}[)\]]"
_BRACKETED_STATUS = re.compile(
    rf"\s*(?:(?:{_BRACKETED_CODE}|{_BRACKETED_SYNONYM})\s*){{0,2}}[(\[]\s*([A-Za-z]+)\s*[)\]][\s.,;:|]*$")
_CODE_LINE = re.compile(r"^[A-Z]\d{2}(?:\.\w{1,4})?$")


def _status_line_after(text: str, span: Span) -> Assertion | None:
    """The assertion a problem list's status column gives a diagnosis on a list item's line, when the status is read
    as one of the next two lines on its own ("Resolved", "(Inactive)"; an ICD-10 code line may come between), or gives
    the row's code printed on the line after the status. `text` is the document's text."""
    line_start = text.rfind("\n", 0, span.start_char) + 1
    line_end = text.find("\n", span.end_char)
    statuses = load_context_rules().status_lines
    if _CODE_LINE.match(text[line_start:len(text) if line_end < 0 else line_end].strip().upper()) and line_start:
        # the row's code on a line of its own, after its status ("Occipital neuralgia⏎Resolved⏎M54.81")
        above = text[text.rfind("\n", 0, line_start - 1) + 1:line_start - 1].strip(" .;:|()[]").lower()
        category = statuses.get(above)
        if category is not None:
            return _CONTEXT_TO_ASSERTION.get(category)
    own = text[line_start:len(text) if line_end < 0 else line_end].strip(" .;:|()[]").lower()
    code, _, rest = own.partition(" ")
    if _is_code_line(code) and (category := statuses.get(rest.strip(" .;:|()[]"))) is not None:
        return _CONTEXT_TO_ASSERTION.get(category)  # the code mention on its row's "M54.81 Inactive" line
    item = text[text.rfind("\n", 0, span.start_char) + 1:line_end] if line_end >= 0 else ""
    if line_end >= 0 and _ENDS_ITEM.fullmatch(text[span.end_char:line_end]):
        # The diagnosis ends its line (its code may follow) and the next line opens with its status in brackets,
        # after the code wrapped there or not: "… with diabetic polyneuropathy (E11.42)⏎(resolved)." and "… dystrophy
        # of right lower limb⏎(G90.521) (resolved)." in a letter's impression (prose as much as a list).
        nxt = text.find("\n", line_end + 1)
        below = _BRACKETED_STATUS.match(text[line_end + 1:len(text) if nxt < 0 else nxt])
        if below is not None and (category := statuses.get(below.group(1).lower())) is not None:
            return _CONTEXT_TO_ASSERTION.get(category)
    if line_end < 0 or len(item.split()) > _LIST_ITEM_MAX_WORDS:
        return None  # prose, not a list item
    pos = line_end + 1
    for _ in range(3):
        nxt = text.find("\n", pos)
        raw = text[pos:] if nxt < 0 else text[pos:nxt]
        line = raw.strip(" .;:|()[]").lower()
        category = statuses.get(line)
        if category is None:
            # the row's code and its status on one line ("G43.009 Resolved", OCR's "BO2.29 Resolved")
            code, _, rest = line.partition(" ")
            if _is_code_line(code):
                category = statuses.get(rest.strip(" .;:|()[]"))
        if category is not None:
            return _CONTEXT_TO_ASSERTION.get(category)
        # an ICD-10 code line, or the item's own words wrapped onto the next line in lower case ("Chronic migraine
        # without aura," over "intractable, without status migrainosus"), may come between the item and its status
        continued = raw.strip()[:1].islower() and len(raw.split()) <= _LIST_ITEM_MAX_WORDS
        if nxt < 0 or not (_is_code_line(line) or continued):
            return None
        pos = nxt + 1
    return None


# A status in brackets or after a dash at the end of a list item, glued or not: "polyneuropathy (type 2 DM).(Resolved)".
_TRAILING_STATUS = re.compile(r"[(\[\-–—]\s*([A-Za-z]+(?: [A-Za-z]+)?)\s*[)\]]?[\s.;]*$")
_CELL_STRIP = " .;:|()[]"


def _status_in_row(text: str, span: Span, cells: _Cells | None = None) -> Assertion | None:
    """The assertion a status printed on the diagnosis's own row gives it: a later cell of a table row read with its
    rules ("| Other postherpetic nervous system involvement | Resolved", the status even inside the span a linker
    matched) or, with `cells` (word boxes), standing apart in a later column without rules ("Migraine, unspecified
    …    Resolved" on a scan), a status closing the item in brackets or after a dash ("… (type 2 DM).(Resolved)"),
    or, for a cell's words wrapped onto the next line ("(postherpetic neuralgia) |"), the status of the row above."""
    statuses = load_context_rules().status_lines
    line_start = text.rfind("\n", 0, span.start_char) + 1
    line_end = text.find("\n", span.start_char)
    line = text[line_start:len(text) if line_end < 0 else line_end]
    if len(line.split()) > _LIST_ITEM_MAX_WORDS + 4:
        return None  # prose, not a row

    def row_status(row: str, from_pos: int) -> Assertion | None:
        cells = row[from_pos:].split("|")[1:]  # the cells after the one the diagnosis starts in
        for cell in cells:
            category = statuses.get(" ".join(cell.strip(_CELL_STRIP).lower().split()))
            if category is not None:
                return _CONTEXT_TO_ASSERTION.get(category)
        return None

    found = row_status(line, span.start_char - line_start)
    if found is not None:
        return found
    after = max(0, min(len(line), span.end_char - line_start))
    trailing = _TRAILING_STATUS.search(line, after)
    if (trailing is not None and ";" not in line[after:trailing.start()]  # the last item's status, not an earlier one's
            and (category := statuses.get(trailing.group(1).lower())) is not None):
        return _CONTEXT_TO_ASSERTION.get(category)
    if cells is not None:
        # fresh seeds 3600-4799, train_4155 (wrongly complete): a scanned table's status column, read without its
        # rules, stood apart on the row of a migraine "Resolved" years ago
        for cell in cells.of(_Line(line_start, line_start + len(line))):
            if cell.start >= span.end_char and (category := statuses.get(
                    " ".join(text[cell.start:cell.end].strip(_CELL_STRIP).lower().split()))) is not None:
                return _CONTEXT_TO_ASSERTION.get(category)
    opening = line.strip(" |")[:1]
    if line_start and "|" in line and (opening == "(" or opening.islower()):
        above_start = text.rfind("\n", 0, line_start - 1) + 1
        above = text[above_start:line_start - 1]
        if "|" in above:
            return row_status(above, 0) if above.lstrip().startswith("|") else row_status("|" + above, 0)
    return None


def _is_code_line(line: str) -> bool:
    """An ICD-10-CM code alone, as printed or as OCR reads it (O for 0 after the letter: "BO2.29")."""
    line = line.strip().upper()
    return bool(_CODE_LINE.match(line[:1] + line[1:].replace("O", "0")))


def _same_line(doc: Doc, a: int, b: int) -> bool:
    lo, hi = min(a, b), max(a, b)
    return "\n" not in doc[lo:hi].text


def _limb_code(doc: Doc, span: Span, lexicon: Lexicon, entry_index: int) -> str | None:
    """A more specific code when a side/limb word is on the mention's line within the lexicon's window."""
    entry = lexicon.entries[entry_index]
    if not entry.limb_codes:
        return None
    words = lexicon.model.limb_words
    window = lexicon.model.limb_window
    lo, hi = max(span.start - window, 0), min(span.end + window, len(doc))
    side: str | None = None
    limb: str | None = None
    for tok in doc[lo:hi]:
        if span.start <= tok.i < span.end or not _same_line(doc, tok.i, span.start):
            continue
        w = tok.lower_
        if w in words.side_limb:
            side, limb = (words.side_limb[w].split("_") + [""])[:2]
            break
        for name in ("right", "left", "bilateral"):
            if w in getattr(words, name) and side is None:
                side = name
        for name in ("upper", "lower"):
            if w in getattr(words, name) and limb is None:
                limb = name
    if limb is None:
        return None
    key = f"{side}_{limb}" if side else limb
    codes: dict[str, str] = {str(k): v for k, v in entry.limb_codes.items()}
    return codes.get(key) or codes.get(limb)


def _lexicon_mentions(parsed: ParsedText, linker: Linker, lexicon: Lexicon) -> tuple[list[_Raw], set[int]]:
    doc = parsed.doc
    spans = parsed.diagnosis_spans
    codes = [s for s in spans if s.label_ == LABEL_CODE]
    valid_codes = {s.start: linker.printed(s.text) for s in codes}
    used_codes: set[int] = set()
    out: list[_Raw] = []
    for s in spans:
        if s.label_ != LABEL_DIAGNOSIS:
            continue
        meta = s._.target_rule.metadata or {}
        code = str(meta["code"])
        if _is_parenthesised_short_form(doc, s, spans):
            continue  # "complex regional pain syndrome (CRPS)": one mention, the long form
        # 1. A printed code next to the term wins.
        best: Span | None = None
        for c in codes:
            gap = c.start - s.end if c.start >= s.end else s.start - c.end
            if not 0 <= gap <= CODE_ADJACENCY_TOKENS:
                continue  # checked first: the scan of `spans` below made long records quadratic
            lo, hi = (s.end, c.start) if c.start >= s.end else (c.end, s.start)
            between = any(o.label_ == LABEL_DIAGNOSIS and lo <= o.start < hi for o in spans)
            if 0 <= gap <= CODE_ADJACENCY_TOKENS and valid_codes.get(c.start) and _same_line(doc, s.start, c.start) \
                    and not between and c.start not in used_codes and (best is None or gap < abs(best.start - s.end)):
                best = c
        if best is not None:
            printed = valid_codes[best.start]
            assert printed is not None
            used_codes.add(best.start)
            out.append(_Raw(s.start, s.end, printed, "printed_code"))
            continue
        # 2. The lexicon's code, refined by side/limb.
        refined = _limb_code(doc, s, lexicon, int(meta["entry"]))
        cand = linker.printed(refined or code)
        assert cand is not None  # lexicon codes are validated on load
        rule = f"lexicon:{icd10_dotted(code)}:{meta.get('form', 'term')}" + (f">{refined}" if refined else "")
        out.append(_Raw(s.start, s.end, Candidate(cand.code, cand.description, 1.0, cand.category, "lexicon"), rule))
    for s in codes:
        printed = valid_codes.get(s.start)
        if printed is not None and s.start not in used_codes:
            out.append(_Raw(s.start, s.end, printed, "printed_code"))
    covered = {i for s in spans for i in range(s.start, s.end)}
    return out, covered


def _snomed_mentions(parsed: ParsedText, linker: Linker, displays: dict[str, SnomedDisplay]) -> list[_Raw]:
    """Printed SNOMED CT ids of mapped concepts whose display is printed right next to them, on the same line."""
    doc = parsed.doc
    text = doc.text
    out: list[_Raw] = []
    for m in _SCTID.finditer(text):
        concept = displays.get(m.group())
        if concept is None or not snomed_id_is_valid(m.group()):
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end < 0 else line_end
        after = concept.after.match(text, m.end(), line_end)
        if after is not None:
            a, b = after.end() - len(after.group().lstrip(" \t-:|–")), after.end()
        else:
            before = concept.before.search(text[line_start:m.start()])
            if before is None:
                continue
            body = before.group()
            a = line_start + len(body) - len(body.lstrip(" \t"))
            b = line_start + len(body.rstrip(" \t-:|–"))
        span = doc.char_span(a, b)  # strict: the display must be whole tokens
        cand = linker.printed(concept.icd10)
        if span is None or cand is None:
            continue
        out.append(_Raw(span.start, span.end, cand, f"printed_snomed:{concept.sctid}"))
    return out


def _merge_snomed(raws: list[_Raw], snomed: list[_Raw], covered: set[int]) -> list[_Raw]:
    """SNOMED-linked mentions replace the lexicon mentions they overlap; a printed ICD-10-CM code keeps precedence."""
    out = list(raws)
    for sn in snomed:
        overlapping = [r for r in out if r.start < sn.end and sn.start < r.end]
        if any(r.rule == "printed_code" for r in overlapping):
            continue  # "G89.3 Malignant bone pain 282743009": the printed ICD-10-CM code already says it
        out = [r for r in out if r not in overlapping]
        out.append(sn)
        covered.update(range(sn.start, sn.end))
    return out


def _is_parenthesised_short_form(doc: Doc, s: Span, spans: tuple[Span, ...]) -> bool:
    if s.start < 2 or s.end >= len(doc) or doc[s.start - 1].text != "(" or doc[s.end].text != ")":
        return False
    return any(o.end == s.start - 1 and o.label_ == LABEL_DIAGNOSIS for o in spans)


def _looks_abbreviated(text: str) -> bool:
    """A short form as documents define them: a capital or a digit after the first letter ("PHN", "CRPS-I", "Mig2")
    or a single short token in capitals; not a lower-case word ("resolved", "stable")."""
    return len(text) <= 12 and any(ch.isupper() or ch.isdigit() for ch in text[1:] or text)


def _abbreviation_mentions(parsed: ParsedText, raws: list[_Raw], covered: set[int]) -> list[_Raw]:
    """Short forms the document defines for a lexicon term, e.g. "postherpetic neuralgia (PN)" → later "PN"."""
    doc = parsed.doc
    by_start = {r.start: r for r in raws}
    out: list[_Raw] = []
    for short in getattr(doc._, "abbreviations", ()):
        long_form = short._.long_form
        if long_form is None or any(i in covered for i in range(short.start, short.end)):
            continue
        if not _looks_abbreviated(short.text):
            continue  # "Migraine (resolved)": a status in brackets, not a short form the document defines
        source = next((by_start[i] for i in range(long_form.start, long_form.end) if i in by_start), None)
        if source is None:
            continue
        c = source.candidate
        out.append(_Raw(short.start, short.end, c, f"abbreviation:{c.code}"))
        covered.update(range(short.start, short.end))
    return out


def _linker_mentions(parsed: ParsedText, linker: Linker, covered: set[int]) -> list[_Raw]:
    """Fallback: link uncovered list items of diagnosis-like sections (see module docstring). An item made only of
    generic words (a bare "chronic", a specialty "Pain Medicine"; rules/ner_recall.yaml) names no condition: skipped."""
    generic = load_recall_rules()
    doc = parsed.doc
    chunks: list[tuple[int, int]] = []
    for line_start, line_end in _lines(doc):
        if section_of(doc, line_start) not in DIAGNOSTIC_SECTIONS:
            continue
        line = doc[line_start:line_end]
        pieces: list[tuple[int, int]] = []
        cursor = line.start_char
        for m in _CHUNK_SPLIT.finditer(line.text + ","):
            pieces.append((cursor, line.start_char + m.start()))
            cursor = line.start_char + m.end()
        for a, b in pieces:
            span = doc.char_span(a, b, alignment_mode="contract")
            if span is None:
                continue
            toks = [t for t in span if not t.is_punct and not t.is_space and not t.like_num]
            # Drop section titles and already-found mentions from the chunk.
            toks = [t for t in toks if t.i not in covered and not _in_title(doc, t.i)]
            if not toks or len(toks) > 8 or not any(t.is_alpha and len(t) >= _MIN_CHUNK_ALPHA for t in toks):
                continue
            if any(t.i in covered for t in span):
                continue  # the chunk holds a mention already; the rest of it is qualifiers
            if generic.is_generic([t.text for t in toks]):
                continue
            chunks.append((toks[0].i, toks[-1].i + 1))
    if not chunks:
        return []
    texts = [_BULLET.sub("", doc[a:b].text) for a, b in chunks]
    out: list[_Raw] = []
    for (a, b), cands in zip(chunks, linker.link_many(texts, k=3), strict=True):
        if cands:
            out.append(_Raw(a, b, cands[0], "linker:char3gram", cands[1] if len(cands) > 1 else None))
            covered.update(range(a, b))  # so the recall layer does not report the same words again
    return out


def _ner_mentions(parsed: ParsedText, linker: Linker, covered: set[int],
                  recognizer: EntityRecognizer) -> list[_Raw]:
    """Recall layer: the model's DISEASE spans that overlap no mention found so far, name a condition (not only
    generic words, rules/ner_recall.yaml) and link near-exactly (see module docstring)."""
    rules = load_recall_rules()
    doc = parsed.doc
    spans: list[Span] = []
    for ent in recognizer.recognize(doc.text, labels=rules.labels, ranges=_read_ranges(doc, rules.skip_sections)):
        span = doc.char_span(ent.start, ent.end, alignment_mode="expand")
        if span is None:
            continue
        while len(span) and span[-1].is_space:  # "nausea\n": the model's tokens need not match ours
            span = span[:-1]
        if not len(span) or any(t.i in covered or _in_title(doc, t.i) for t in span):
            continue
        if rules.is_generic([t.text for t in span]):
            continue
        if not any(t.is_alpha and len(t) >= _MIN_CHUNK_ALPHA for t in span):
            continue
        spans.append(span)
    if not spans:
        return []
    out: list[_Raw] = []
    rule = f"ner:{recognizer.model.name}"
    for span, cands in zip(spans, linker.link_many([s.text for s in spans], k=3, min_score=rules.min_link_score),
                           strict=True):
        if cands:
            out.append(_Raw(span.start, span.end, cands[0], rule, cands[1] if len(cands) > 1 else None))
            covered.update(range(span.start, span.end))
    return out


def _read_ranges(doc: Doc, skip: frozenset[SectionKind]) -> list[tuple[int, int]]:
    """Character ranges of `doc` outside the sections in `skip` (titles included), merged, in order."""
    ranges: list[tuple[int, int]] = []
    sections = sorted(doc._.sections, key=lambda s: s.title_start)
    first = sections[0].title_start if sections else len(doc)
    if first > 0:
        ranges.append((0, doc[first - 1].idx + len(doc[first - 1].text_with_ws)))
    for sec in sections:
        kind = SectionKind(sec.category) if sec.category else None
        if kind in skip or sec.body_end <= sec.title_start:
            continue
        lo, hi = doc[sec.title_start].idx, doc[sec.body_end - 1].idx + len(doc[sec.body_end - 1].text_with_ws)
        if ranges and lo <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(hi, ranges[-1][1]))
        else:
            ranges.append((lo, hi))
    return ranges


def _in_title(doc: Doc, i: int) -> bool:
    return any(s.title_start <= i < s.title_end for s in doc._.sections)


def _lines(doc: Doc) -> list[tuple[int, int]]:
    """Token ranges of the doc's lines (newline tokens excluded)."""
    out: list[tuple[int, int]] = []
    start = 0
    for tok in doc:
        if "\n" in tok.text:
            if tok.i > start:
                out.append((start, tok.i))
            start = tok.i + 1
    if start < len(doc):
        out.append((start, len(doc)))
    return out


def _score(parsed: ParsedText, raw: _Raw, section: SectionKind | None, sections: SectionsFile,
           policy: Policy) -> tuple[float, tuple[Adjustment, ...]]:
    span = parsed.doc[raw.start:raw.end]
    score = raw.candidate.score
    adjustments: list[Adjustment] = []
    ocr = ocr_confidence(parsed.text, span.start_char, span.end_char)
    if ocr < 1.0:
        new = score * ocr
        adjustments.append(Adjustment(f"ocr word confidence {ocr:.2f}", round(new - score, 4)))
        score = new
    weight = sections.weight(section)
    if weight != 1.0:
        new = score * weight
        adjustments.append(Adjustment(f"section {section.value if section else 'none'} weight {weight:.2f}",
                                      round(new - score, 4)))
        score = new
    ru = raw.runner_up
    if ru is not None and ru.category != raw.candidate.category and \
            raw.candidate.score - ru.score < policy.thresholds.near_tie_margin:
        adjustments.append(Adjustment(f"near tie with {ru.code}", -NEAR_TIE_PENALTY))
        score -= NEAR_TIE_PENALTY
    return max(0.0, min(1.0, score)), tuple(adjustments)


def _is_unsectioned_symptom(raw: _Raw, section: SectionKind | None, policy: Policy) -> bool:
    """A pain symptom named in words outside the sections where a symptom is a mention (see SYMPTOM_SECTIONS)."""
    return (not raw.rule.startswith("printed") and raw.candidate.code.startswith("R")
            and policy.classify(raw.candidate.code).is_pain and section not in SYMPTOM_SECTIONS)


def find_diagnoses(parsed: ParsedText, policy: Policy, linker: Linker | None = None, lexicon: Lexicon | None = None,
                   sections: SectionsFile | None = None,
                   recognizer: EntityRecognizer | Callable[[], EntityRecognizer | None] | None = None,
                   ) -> tuple[DiagnosisMention, ...]:
    """Every diagnosis mention of the parsed document, in text order. Raises ConfigError on an invalid rule file.

    `recognizer`: the recall layer's NER model (`ner_model.get_recognizer(settings.ner_model_name)`), None for none,
    or a function that loads it, called only when the layer runs (the rules settled nothing)."""
    lex = lexicon or load_lexicon()
    lnk = linker or get_linker()
    secs = sections or load_sections()
    if lnk.policy is not policy:
        # categories must come from the policy we were given; the index (lexicon + table) does not depend on it
        lnk = lnk.with_policy(policy) if lex is lnk.lexicon else Linker(policy, lex, cache_dir=lnk.cache_dir)
    raws, covered = _lexicon_mentions(parsed, lnk, lex)
    raws = _merge_snomed(raws, _snomed_mentions(parsed, lnk, load_snomed_displays()), covered)
    raws += _abbreviation_mentions(parsed, raws, covered)
    raws += _linker_mentions(parsed, lnk, covered)
    found = _mentions(parsed, raws, policy, secs)
    if recognizer is not None and not _settled(found, policy):
        model = recognizer if isinstance(recognizer, EntityRecognizer) else recognizer()
        if model is not None:
            found += _mentions(parsed, _ner_mentions(parsed, lnk, covered, model), policy, secs)
    return tuple(m for _, m in sorted(found, key=lambda pair: pair[0]))


def _settled(found: list[tuple[tuple[int, int], DiagnosisMention]], policy: Policy) -> bool:
    """True when the rules already found an affirmed pain diagnosis in a diagnostic section: the recall layer could
    add mentions but not change the verdict, so it is not run (see module docstring, "cascade")."""
    return any(m.assertion is Assertion.AFFIRMED and m.category.is_pain and m.section in DIAGNOSTIC_SECTIONS
               for _, m in found)


_ORG_JOINERS = frozenset({"&", "and", "+", "/", "-"})


def _names_an_organisation(span: Span, reach: int = 3) -> bool:
    """True when the capitalised words of `span` open an organisation's name on their line: "Riverbend Headache
    Center", "Migraine Clinic", "Pain & Spine Institute" (the organisation words of rules/name_rules.yaml, within
    `reach` capitalised words or joiners after the span). A clinic's name under a letter's signature fell inside the
    Impression section and was read as an affirmed headache (docs/POLICY.md: a letterhead word is no diagnosis)."""
    if not span.text[:1].isupper():
        return False
    org_words = default_name_rules().lexicon.organization_words
    doc = span.doc
    for token in doc[span.end:min(len(doc), span.end + reach + 1)]:
        if "\n" in token.text or (token.i > span.end and "\n" in doc[token.i - 1].whitespace_):
            return False
        if token.text[:1].isupper() and fold(token.text) in org_words:
            return True
        if token.text not in _ORG_JOINERS and not token.text[:1].isupper():
            return False
    return False


def _mentions(parsed: ParsedText, raws: list[_Raw], policy: Policy,
              secs: SectionsFile) -> list[tuple[tuple[int, int], DiagnosisMention]]:
    """Scored mentions of `raws` (section, assertion, confidence, evidence), each with its token range."""
    doc = parsed.doc
    target_starts = {(s.start, s.end): s for s in parsed.diagnosis_spans}
    text = doc.text
    cells = _Cells(parsed.text)  # word boxes: a status column read without its rules (`_status_in_row`)
    out: list[tuple[tuple[int, int], DiagnosisMention]] = []
    for raw in sorted(raws, key=lambda r: (r.start, r.end)):
        target = target_starts.get((raw.start, raw.end))
        span = target if target is not None else Span(doc, raw.start, raw.end, label=LABEL_DIAGNOSIS)
        section = section_of(doc, raw.start)
        if _is_unsectioned_symptom(raw, section, policy) or _names_an_organisation(span):
            continue
        assertion = _assertion(doc, text, span, section, secs, from_context=target is not None, cells=cells)
        confidence, adjustments = _score(parsed, raw, section, secs, policy)
        evidence: Evidence = evidence_from_span(parsed.text, span.start_char, span.end_char, finder=FINDER,
                                                rule=raw.rule, score=raw.candidate.score, adjustments=adjustments)
        out.append(((raw.start, raw.end), DiagnosisMention(
            text=span.text, icd10=raw.candidate.code, description=raw.candidate.description,
            category=policy.classify(raw.candidate.code), assertion=assertion, section=section,
            confidence=round(confidence, 4), evidence=(evidence,), link_score=raw.candidate.score)))
    return _code_status_to_term(out, text, doc)


_TERM_TO_CODE_GAP = re.compile(r"[\s,(|]*(?:(?:[a-z][\w'’\-]*|[|I]|\([^()]{1,30}\))[\s,(|]+){0,8}")


def _code_status_to_term(found: list[tuple[tuple[int, int], DiagnosisMention]], text: str,
                         doc: Doc) -> list[tuple[tuple[int, int], DiagnosisMention]]:
    """`found` with each affirmed term taking the status of its own code printed after it in the same item, when the
    code is not affirmed. A term wrapped onto the next line leaves its code and status there ("Complex regional pain
    syndrome | of right upper⏎limb (G90.511) (resolved)."): the code, on the status's line, is read as resolved, the
    term on the line above was read as affirmed (fresh seeds 7500-8099, train_8079: wrongly complete). Between the
    two only the term's own lower-case words and short parenthesised qualifiers may stand (a wrap, a comma, OCR's
    "|", "(type 2⏎DM)"), on at most three lines; the code must be of the term's three-character category
    ("Painful diabetic polyneuropathy (type 2⏎DM)⏎E11.42 Resolved": fresh seeds 8700-9299, train_8872). Only a
    status that takes the diagnosis away is passed on: a code read as affirmed never makes a term affirmed."""
    codes = [(k, m) for k, m in found if _is_code_line(m.text)]
    if not codes:
        return found
    out = []
    for (start, end), m in found:
        if m.assertion is Assertion.AFFIRMED and m.icd10 and not _is_code_line(m.text):
            end_char = doc[end - 1].idx + len(doc[end - 1].text)
            for (c_start, _), c in codes:
                if c_start < end or not c.icd10 or c.icd10[:3] != m.icd10[:3]:
                    continue
                gap = text[end_char:doc[c_start].idx]
                if gap.count("\n") <= 2 and _TERM_TO_CODE_GAP.fullmatch(gap):
                    if c.assertion is not Assertion.AFFIRMED:
                        m = replace(m, assertion=c.assertion)
                    break
        out.append(((start, end), m))
    return out
