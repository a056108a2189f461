"""Reading one visual line: line spans, the cues, role words, relations, trailing labels and sections on it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, auto

from extractors.people.matcher import _Matcher
from pipeline.names import Cue, NameRules, RoleWord, Section, TrailingCue, fold, is_title, parse_person_name

# Bullets, rules, and the punctuation OCR makes of an avatar ("_ Dr. Thanh Vu").
_BULLET = re.compile(r"^[\s\-–—•·*>|_~.,;:‘’'\"]*")


@dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int

    def text(self, full: str) -> str:
        return full[self.start:self.end]


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for part in text.split("\n"):
        out.append(_Line(pos, pos + len(part)))
        pos += len(part) + 1
    return out


def _rest_after(text: str, pos: int, line: _Line) -> str:
    """What follows a name on its line (a role word, a relation, a phone number)."""
    return text[pos:line.end]


@dataclass(frozen=True, slots=True)
class _Printed[R: (RoleWord, TrailingCue)]:
    """A role word or trailing cue found next to a name, and its phrase as printed."""

    rule: R
    phrase: str


def _line_role_word(rest: str, m: _Matcher) -> _Printed[RoleWord] | None:
    """The role word printed after a name on its line ("— PCP", "Pain Medicine - Attending") and its phrase."""
    hit = m.role_word_re.match(rest)
    rw = m.role_word_by_phrase.get(fold(hit.group("phrase"))) if hit else None
    return _Printed(rw, " ".join(hit.group("phrase").split())) if rw is not None and hit is not None else None


def _relation_after(rest: str, m: _Matcher) -> str | None:
    hit = m.relation_re.match(rest)
    return fold(hit.group("rel")) if hit else None


def _section_of(line_text: str, m: _Matcher) -> Section | None:
    return m.section_by_phrase.get(fold(line_text.strip().rstrip(":").strip()))


def _is_role_only(line_text: str, m: _Matcher) -> _Printed[RoleWord] | None:
    """The role word of a line holding only a role ("PCP", "Pain Medicine - Attending") and its printed phrase."""
    hit = m.role_line_re.match(line_text)
    rw = m.role_word_by_phrase.get(fold(hit.group("phrase"))) if hit else None
    return _Printed(rw, hit.group("phrase")) if rw is not None and hit is not None else None


def _trailing_cue(rest: str, m: _Matcher) -> _Printed[TrailingCue] | None:
    """The field label right after a name ("DOB:", "Date of Birth", "MRN") and its printed phrase."""
    hit = m.trailing_re.match(rest) if m.trailing_re is not None else None
    if hit is None:
        return None
    return _Printed(m.trailing_by_phrase[fold(hit.group("phrase"))], hit.group("phrase"))


class _Placement(Enum):
    """Where a cue sits on its line, which decides what its name must look like."""

    LINE_START = auto()  # at the start (after bullets), or anywhere for a cue that is not `line_start`
    AFTER_HEADER = auto()  # mid-line right after a portal header word ("… Portal Welcome, Ruth Abernathy")
    MID_LINE = auto()  # mid-line otherwise: its name must be followed by "| Log out" or end the line


@dataclass(frozen=True, slots=True)
class _CueHit:
    """A cue that fired on a line: the match, the cue, where it sits, and whether it was printed without its colon."""

    match: re.Match[str]
    cue: Cue
    placement: _Placement
    bare: bool


# What tesseract makes of a fax's grey specks and screened borders: "ee", "eee" (fresh seeds 8100-8699, train_8572:
# "Treating physician ee Specialty ee" over the physician's row, and no treating physician was found), and two
# lower-case letters ("“Treating physician ne Specialty": fresh seeds 9900-10499, train_10245).
_SPECKS = re.compile(r"e{2,4}|[a-z]{2}")


def _only_debris(s: str) -> bool:
    """True when `s` holds nothing but OCR debris of a form's borders: single characters and punctuation ("i", "|"),
    and tesseract's "ee" or two lower-case letters for grey specks."""
    return all(len(t) == 1 or not any(ch.isalnum() for ch in t) or _SPECKS.fullmatch(t) for t in s.split())


def _cue_hits(line_text: str, rules: NameRules, m: _Matcher,
              label_cells: frozenset[tuple[int, int]] = frozenset(), *, alone_is_label: bool = False) -> list[_CueHit]:
    """The cues on a line that may announce a name (colon, line position and blocking words checked).

    `label_cells`: (start, end) offsets in the line of the cells of a row of form labels; a cue phrase that fills
    one of them is a label even without its colon ("Treating physician" over the cell holding the name).
    `alone_is_label`: so is a cue phrase alone on its line (outside a section, whose role lines are read apart).
    """
    lex = rules.lexicon
    hits: list[_CueHit] = []
    for hit in m.cue_re.finditer(line_text):
        cue = m.cue_by_phrase.get(fold(hit.group("phrase")))
        if cue is None:
            continue
        colon = hit.group("colon")
        before = line_text[:hit.start()]
        prev_words = before.split()
        if hit.group("qual") is not None and not cue.qualified:
            continue  # "Provider Legal:" on a cue that takes no name-use word
        bare = False
        if cue.colon == "required" and colon not in (":", ";"):
            phrase_end = hit.start() + len(hit.group("phrase"))
            # the phrase fills its cell, but for OCR debris of the cell's border ("Treating physician i", "… |")
            # (a cell may open with the blank left where a speck glued to the label was: `ocr_labels`)
            fills_cell = any(start <= hit.start() and not line_text[start:hit.start()].strip() and end >= phrase_end
                             and _only_debris(line_text[phrase_end:end]) for start, end in label_cells)
            fills_cell = fills_cell or (alone_is_label and not _BULLET.sub("", before).strip(" |‘'\"")
                                        and hit.group("qual") is None and _only_debris(line_text[phrase_end:]))
            if not fills_cell and not (cue.bare_at_line_start and hit.group("qual") is None
                                       and not _BULLET.sub("", before).strip()):
                continue
            bare = True
        placement = _Placement.LINE_START
        if cue.line_start and _BULLET.sub("", before).strip():
            # Not at the line start: allowed right after a portal header word ("… Portal Welcome, Ruth Abernathy",
            # an OCR-glued header band), or when the name is followed by "| Log out" (checked by the caller).
            after_header = fold(prev_words[-1].strip(",.;:|")) in m.mid_line_after.get(cue.id, frozenset())
            if not after_header and cue.id not in m.mid_line_followed_by:
                continue
            placement = _Placement.AFTER_HEADER if after_header else _Placement.MID_LINE
        if prev_words and fold(prev_words[-1].strip(",.;:")) in lex.blocking_qualifiers:
            continue  # "Ordering Provider:", "Contact Name:" — a different field
        hits.append(_CueHit(hit, cue, placement, bare))
    return hits



def _wrapped(text: str, value_start: int, span: tuple[int, int] | None, line: _Line, rules: NameRules) -> bool:
    """True when a label's value is cut by the line end: only a title or a partial name (one word) fills the rest
    of the line ("Performer: Dr", "Performer: Albert")."""
    rest = text[value_start:line.end].strip(" ,")
    if not rest:
        return False
    if span is None:
        return all(is_title(t, rules) for t in rest.split())
    return not text[span[1]:line.end].strip(" ,") and parse_person_name(text[span[0]:span[1]], rules) is None


def _starts_with_label(line_text: str, m: _Matcher) -> bool:
    """True when a line opens with a field label ("Performer: …", "Author Jane DOE"): it is a field of its own, not
    the value of the label before it."""
    hit = m.cue_re.match(_BULLET.sub("", line_text))
    if hit is None:
        return False
    cue = m.cue_by_phrase.get(fold(hit.group("phrase")))
    return cue is not None and (hit.group("colon") in (":", ";") or cue.bare_at_line_start)


def _titled_or_credentialed(raw: str, rules: NameRules) -> bool:
    name = parse_person_name(raw, rules)
    return name is None or bool(name.titles) or bool(name.credentials)


def _cues_on(line_text: str, m: _Matcher) -> list[Cue]:
    """Cues printed as labels (with a colon) on a line; used to refuse a next line that is itself a field."""
    out: list[Cue] = []
    for hit in m.cue_re.finditer(line_text):
        cue = m.cue_by_phrase.get(fold(hit.group("phrase")))
        if cue is not None and hit.group("colon") in (":", ";"):
            out.append(cue)
    return out


def _ends_section(line_text: str, m: _Matcher) -> bool:
    """A line ending with ":" (a heading we do not know) or holding a label of another field closes a section."""
    if line_text.rstrip().endswith(":") and not _cues_on(line_text, m):
        return True
    return any(not c.inherit_section for c in _cues_on(line_text, m))
