"""A second read of text lines the page's layout analysis left without words.

Tesseract's automatic page segmentation (--psm 3) sometimes drops a whole line it took for part of a picture: a
provider card's "Ngoc Vu, MD" beside an initials avatar in a circle, a portal's header band under glare. The line's
ink is on the prepared page, crisp, but no word covers it, and the name it held is lost. After the page read, ink
that no word box covers is grouped into character-sized marks side by side on a line; each such line is cut out and
the lines are stacked into one image that tesseract reads as a uniform block (--psm 6): one extra engine call on a
page that has such lines, none on the others. Only confident words of letters or digits are added, in their own lines
(docs/ARCHITECTURE.md "Lines the layout analysis dropped").
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from PIL import Image
from scipy import ndimage

from extractors.imaging import ink_mask
from extractors.ocr_word import OcrWord
from extractors.script_reread import stack_crops

MIN_WORD_CONF = 60.0  # tesseract's 0..100: a word of the second read below it is noise from a picture's edge
MAX_LINES = 20  # per page, the largest first: the second read stays bounded on a busy page
MAX_MARKS = 20_000  # more uncovered marks than this is a photo's texture, not lines of text
MAX_LETTER_MARKS = 3_000  # of them the size of letters: some 40 lost lines of 70 letters, far more than a page drops
_INITIAL = re.compile(r"^[A-Z][.,]?$")  # a middle initial ("Darnell S. Booker"): the one word of one letter kept
BLOCK_BASE = 100_000  # layout ids of the added words' lines, apart from the page read's own blocks


@dataclass(frozen=True, slots=True)
class _Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


def _text_height(words: Sequence[OcrWord]) -> float | None:
    """The median height of the page's confidently read words of two letters or more; None without any."""
    heights = [w.height for w in words if w.conf >= MIN_WORD_CONF and sum(ch.isalpha() for ch in w.text) >= 2]
    return float(statistics.median(heights)) if heights else None


def _uncovered_marks(image: Image.Image, words: Sequence[OcrWord], text_height: float) -> list[_Box] | None:
    """Boxes of the ink marks no word box covers that are the size of letters; None for a texture of marks."""
    ink = ink_mask(image)
    pad = max(2, int(text_height / 3))
    for w in words:
        ink[max(0, w.top - pad):w.top + w.height + pad, max(0, w.left - pad):w.left + w.width + pad] = False
    labels, count = ndimage.label(ink)
    if count > MAX_MARKS:
        return None
    marks = []
    for box in ndimage.find_objects(labels):
        if box is None:
            continue
        rows, cols = box
        h, w = rows.stop - rows.start, cols.stop - cols.start
        if 0.4 * text_height <= h <= 3.0 * text_height and w <= 3 * h:
            marks.append(_Box(cols.start, rows.start, cols.stop, rows.stop))
    return marks if len(marks) <= MAX_LETTER_MARKS else None


def uncovered_lines(image: Image.Image, words: Sequence[OcrWord]) -> list[_Box]:
    """Lines of letter-sized ink marks that no word of the page read covers: at least three marks side by side, at
    least twice as wide as tall, at most MAX_LINES (the widest), top to bottom."""
    text_height = _text_height(words)
    if text_height is None:
        return []
    marks = _uncovered_marks(image, words, text_height)
    if not marks:
        return []
    lines: list[tuple[_Box, int]] = []  # (box, marks in it)
    band = max(1, int(text_height))
    by_band: dict[int, list[int]] = {}  # band of rows -> the lines that reach into it: each mark looks at its own
    for mark in sorted(marks, key=lambda b: b.left):
        near = sorted({i for b in range(mark.top // band, mark.bottom // band + 1) for i in by_band.get(b, ())})
        for i in near:
            line, n = lines[i]
            overlap = min(line.bottom, mark.bottom) - max(line.top, mark.top)
            gap = mark.left - line.right
            if overlap >= 0.5 * min(line.height, mark.height) and gap <= max(line.height, mark.height):
                grown = _Box(line.left, min(line.top, mark.top), max(line.right, mark.right),
                             max(line.bottom, mark.bottom))
                lines[i] = (grown, n + 1)
                break
        else:
            i, grown = len(lines), mark
            lines.append((mark, 1))
        for b in range(grown.top // band, grown.bottom // band + 1):
            if i not in by_band.setdefault(b, []):
                by_band[b].append(i)
    kept = [line for line, n in lines if n >= 3 and line.width >= 2 * line.height
            and line.height <= 3.0 * text_height]
    kept = sorted(kept, key=lambda b: b.width, reverse=True)[:MAX_LINES]
    return sorted(kept, key=lambda b: (b.top, b.left))


def reread_uncovered(image: Image.Image, words: list[OcrWord],
                     read: Callable[[Image.Image], Sequence[OcrWord]]) -> list[OcrWord]:
    """`words` (the page read of `image`) and the confident words `read` finds in the lines no word covers; `words`
    unchanged when there are none."""
    lines = uncovered_lines(image, words)
    if not lines:
        return words
    canvas, placed = stack_crops(image, [(b.left, b.top, b.right, b.bottom) for b in lines])
    by_line: dict[int, list[OcrWord]] = {}
    for w in read(canvas):
        middle = w.top + w.height / 2
        k = next((k for k, (top, bottom, _, _) in enumerate(placed) if top <= middle <= bottom), None)
        if k is None or w.conf < MIN_WORD_CONF:
            continue
        if sum(ch.isalnum() for ch in w.text) < 2 and not _INITIAL.match(w.text):
            continue
        _, _, shift, dx = placed[k]
        by_line.setdefault(k, []).append(
            replace(w, left=w.left - dx, top=w.top - shift, block=BLOCK_BASE + k, par=1, line=1))
    # A line of one word names no one, and a sidebar's "Medications" among the page's lines would read as a section
    # heading over the content beside it (fresh seeds 11100-11699, train_11153): only lines of two words or more.
    added = [w for line in by_line.values() if len(line) >= 2 for w in line]
    return words + added if added else words

