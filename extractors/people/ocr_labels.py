"""Field labels as OCR misspells them, repaired before the people finder matches its cues.

A fax's labels come through with one letter wrong ("Treating physikian", "Treating physiciay", "Primary care
physicion"): the cue does not match, and the name in the cell under it is never read as the treating physician (4 of
the fax misses on the fresh varied train seeds 2400-2999). A label is repaired only when all of these hold:

- its words were OCR'd (a text layer prints what it prints);
- it is one of the rule file's cue phrases of two or more words, so one misread word is checked against the words
  around it ("Provided by" is never made "Provider");
- the printed words, as one string with single spaces, differ from the phrase in exactly one letter, with the same
  length: a substitution, which is what OCR does to a letter. The text keeps its length, so every offset into it
  (word spans, evidence boxes) still holds.

A quote-like speck glued before a label's first word ("“Treating physician") is blanked (a space: the length holds).

A form's column label of one long word ("Specialty" read "Spectalty" beside "Treating physician") is repaired the same
way, so that the line is still read as a row of column headers with the name in the cell below.

Only the copy the cue matching reads is repaired; names, snippets and evidence come from the text as read.
"""

from __future__ import annotations

import functools

from extractors.people.matcher import _Matcher
from pipeline.types import LinearText, Source

_MAX_WORDS = 4
# Specks OCR glues before a label's first word, from a form's ruling or a scan's dirt ("“Treating physician": fresh
# seeds 9900-10499, train_10245): blanked in the copy when the words after them are a cue phrase.
_GLUED_QUOTES = "“”‘’\"'`"
# A single column label ("Specialty" read "Spectalty") is repaired only when this long: a short word one letter off
# is too often another word.
_MIN_COLUMN_WORD = 8


@functools.cache
def _by_shape(phrases: frozenset[str]) -> dict[tuple[int, int], tuple[str, ...]]:
    """Cue phrases of 2.._MAX_WORDS words keyed by (word count, length)."""
    table: dict[tuple[int, int], list[str]] = {}
    for p in phrases:
        words = p.split()
        if 2 <= len(words) <= _MAX_WORDS and p.isascii():
            table.setdefault((len(words), len(" ".join(words))), []).append(" ".join(words))
    return {k: tuple(v) for k, v in table.items()}


@functools.cache
def _columns_by_length(words: frozenset[str]) -> dict[int, tuple[str, ...]]:
    """The rule file's column labels of `_MIN_COLUMN_WORD`+ letters keyed by length ("specialty")."""
    table: dict[int, list[str]] = {}
    for w in words:
        if len(w) >= _MIN_COLUMN_WORD and w.isascii() and w.isalpha():
            table.setdefault(len(w), []).append(w)
    return {k: tuple(v) for k, v in table.items()}


def _lower(text: str) -> str:
    """`text` lower-cased letter by letter, keeping its length: "İ" (whose lower case is two characters) stays."""
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _repair_at(text: str, start: int, core: str, phrases: tuple[str, ...], out: list[str] | None) -> list[str] | None:
    """`out` (a copy of `text` as characters, made when first needed) with `core`, printed at `start`, spelled as the
    first of `phrases` it is one letter off (case kept); None when it is none of them."""
    lowered = _lower(core)
    for phrase in phrases:
        if lowered != phrase and _one_letter_off(lowered, phrase):
            out = out if out is not None else list(text)
            for j, (a, b) in enumerate(zip(lowered, phrase, strict=True)):
                if a != b:
                    out[start + j] = b.upper() if core[j].isupper() else b
            return out
    return None


def _one_letter_off(printed: str, phrase: str) -> bool:
    """Same length, exactly one position differs, and that position is a letter on both sides."""
    diffs = [i for i, (a, b) in enumerate(zip(printed, phrase, strict=True)) if a != b]
    return len(diffs) == 1 and printed[diffs[0]].isalpha() and phrase[diffs[0]].isalpha()


def repaired_labels(linear: LinearText, m: _Matcher) -> str:
    """`linear.text` with OCR'd cue phrases that are one letter off repaired in place (same length, case kept)."""
    text = linear.text
    pages = linear.document.pages
    if not any(p.source is Source.OCR for p in pages):
        return text
    table = _by_shape(frozenset(m.cue_by_phrase))
    columns = _columns_by_length(m.column_header_words)
    spans = linear.spans
    out: list[str] | None = None
    for i, first in enumerate(spans):
        if pages[first.page - 1].source is not Source.OCR:
            continue
        word = text[first.start:first.end]
        start = first.start + len(word) - len(word.lstrip(_GLUED_QUOTES))
        if not text[start:first.end][:1].isalpha():
            continue
        for k in range(2, _MAX_WORDS + 1):
            if i + k - 1 >= len(spans):
                break
            segment = text[start:spans[i + k - 1].end]
            if "\n" in segment:
                break
            core = segment.rstrip(":;,.")
            phrases = table.get((k, len(core)), ())
            if start > first.start and _lower(core) in phrases:
                out = out if out is not None else list(text)
                out[first.start:start] = " " * (start - first.start)  # the quote OCR glued to an exact label
                break
            repaired = _repair_at(text, start, core, phrases, out)
            if repaired is not None:
                out = repaired
                if start > first.start:
                    out[first.start:start] = " " * (start - first.start)
                break
        core = text[start:first.end].rstrip(":;,.")
        if len(core) >= _MIN_COLUMN_WORD:
            out = _repair_at(text, start, core, columns.get(len(core), ()), out) or out
    return "".join(out) if out is not None else text
