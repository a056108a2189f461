"""Form cells: a visual line split where its words stand far apart, so that a row of labels pairs with the row of
values printed under it by column.

Referral and intake forms print a row of labels ("Treating physician    Specialty") over a row of values ("Layla
Al-Farsi, MD    Rheumatology"); OCR and the text layer join each row into one line. Read as text, the value line
belongs to the first label only, and a second label on the row ("Referring provider    Primary care physician")
would take the first column's name. Word boxes say which value sits under which label.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from dataclasses import dataclass

from extractors.people.lines import _Line
from pipeline.types import LinearText

# Words further apart than this many word heights are in different cells: a space between words is about a quarter
# of the font size, a form's column gap several times the font size.
GAP_PER_WORD_HEIGHT = 1.5
_SLACK_PT = 12.0  # a value may start this far left of its label's column (about one word height)


@dataclass(frozen=True, slots=True)
class _Cell:
    start: int  # character range in the linear text
    end: int
    x0: float  # points
    x1: float


class _Cells:
    """The cells of any line of one linear text (built once per document)."""

    def __init__(self, linear: LinearText) -> None:
        self._spans = linear.spans
        self._starts = [s.start for s in linear.spans]
        self._pages = linear.document.pages

    def of(self, line: _Line) -> list[_Cell]:
        """The line's cells left to right; one cell when its words are evenly spaced, none when it has no words."""
        i = bisect_left(self._starts, line.start)
        words = []
        heights = []  # of the words with two letters or more: a table's rule read as "-_ ~ ~ 7" is a pixel high
        while i < len(self._spans) and self._spans[i].start < line.end:
            span = self._spans[i]
            read = self._pages[span.page - 1].words[span.word_index]
            words.append((span, read.bbox))
            if sum(c.isalpha() for c in read.text) >= 2:
                heights.append(read.bbox.bottom - read.bbox.top)
            i += 1
        if not words:
            return []
        gap = GAP_PER_WORD_HEIGHT * statistics.median(heights or [b.bottom - b.top for _, b in words])
        cells: list[_Cell] = []
        first, prev = words[0], words[0]
        for word in words[1:]:
            if word[1].x0 - prev[1].x1 > gap or word[1].x0 < prev[1].x0:
                cells.append(_Cell(first[0].start, prev[0].end, first[1].x0, prev[1].x1))
                first = word
            prev = word
        cells.append(_Cell(first[0].start, prev[0].end, first[1].x0, prev[1].x1))
        return cells


def _cell_at(cells: list[_Cell], pos: int) -> int | None:
    """Index of the cell holding character `pos`."""
    for k, cell in enumerate(cells):
        if cell.start <= pos < cell.end:
            return k
    return None


def _cell_below(labels: list[_Cell], k: int, values: list[_Cell]) -> _Cell | None:
    """The value cell printed under label cell `k`: the first that starts between this label's left edge and the
    next label's (_SLACK_PT to the left, for values set a little left of their label)."""
    left = labels[k].x0 - _SLACK_PT if k else float("-inf")
    right = labels[k + 1].x0 - _SLACK_PT if k + 1 < len(labels) else float("inf")
    for cell in values:
        if left <= cell.x0 < right:
            return cell
    return None
