"""A second read of a page's name lines with tesseract's Latin-script model, for the letters English reads wrong.

Tesseract's English model has never seen most accented letters: it reads "Bjørnstad" as "Bjgrnstad", "Müller" as
"Miller", "Castañeda" as "Castaiieda", with high confidence, so nothing downstream can tell the word is misread and a
correctly found name is reported misspelt. The Latin-script model (Debian's `tesseract-ocr-script-latn`) reads those
letters but is slower and no better elsewhere, so it re-reads only the lines that may hold a name (two or more
capitalised words side by side), cut out of the prepared page and stacked into one strip image: one extra engine call
per page. A word is replaced only when the Latin read of the same place spells it with a letter outside ASCII and
differs from the English read by at most one edit in four letters (accents folded): the re-read fixes spellings, it
never adds, drops or moves words (docs/ARCHITECTURE.md "Reading").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from PIL import Image
from rapidfuzz.distance import Levenshtein

from pipeline.names import fold

if TYPE_CHECKING:
    from extractors.ocr import OcrWord

MAX_LINES = 40  # per page: a dense page of tables keeps the re-read bounded (the first lines in reading order)
PAD = 6  # pixels kept around a line's words when it is cut out
GAP = 12  # white pixels between two stacked lines

_CAPITALISED = re.compile(r"^\W*[A-ZÀ-ÖØ-Þ]\S+$")  # a capital first, then anything OCR made of the letters
# Letters the Latin model reads into noise on plain capitals: "Đ" is a "D" with a speck on a fax.
_LOOKALIKES = frozenset("ĐđÐð")
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


@dataclass(frozen=True, slots=True)
class Strip:
    """Where one line's cut-out sits in the stacked image: its words' indices and its vertical band there."""

    words: tuple[int, ...]
    top: int  # in the stacked image
    bottom: int
    shift: int  # stacked y = page y + shift


def _capitalised(text: str) -> bool:
    """A word that may be part of a name: a capital first, and mostly letters ("S@ndergaard," is one, "12:30" not)."""
    return bool(_CAPITALISED.match(text)) and sum(ch.isalpha() for ch in text) * 3 >= len(text) * 2


def name_lines(words: Sequence[OcrWord]) -> list[tuple[int, ...]]:
    """Indices of the words of each line that may hold a name (two capitalised words side by side), in reading
    order, at most MAX_LINES."""
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, w in enumerate(words):
        lines.setdefault((w.block, w.par, w.line), []).append(i)
    chosen: list[tuple[int, ...]] = []
    for idx in lines.values():
        caps = [_capitalised(words[i].text) for i in idx]
        if any(a and b for a, b in zip(caps, caps[1:], strict=False)):
            chosen.append(tuple(idx))
            if len(chosen) == MAX_LINES:
                break
    return chosen


def stack(image: Image.Image, words: Sequence[OcrWord],
          lines: Sequence[tuple[int, ...]]) -> tuple[Image.Image, list[Strip]]:
    """The lines cut out of `image` (at their own x, so boxes keep their x) stacked top to bottom on white."""
    bands = []
    for idx in lines:
        top = max(0, min(words[i].top for i in idx) - PAD)
        bottom = min(image.height, max(words[i].top + words[i].height for i in idx) + PAD)
        bands.append((idx, top, bottom))
    height = sum(b - t for _, t, b in bands) + GAP * (len(bands) + 1)
    canvas = Image.new(image.mode, (image.width, max(1, height)), 255 if image.mode in ("L", "1") else "white")
    strips, y = [], GAP
    for idx, top, bottom in bands:
        canvas.paste(image.crop((0, top, image.width, bottom)), (0, y))
        strips.append(Strip(idx, y, y + bottom - top, y - top))
        y += bottom - top + GAP
    return canvas, strips


def _split(text: str) -> tuple[str, str, str]:
    m = _CORE.match(text)
    assert m is not None  # the pattern matches any string
    return m.group(1), m.group(2), m.group(3)


def better_spelling(english: str, latin: str) -> str | None:
    """`english` with its letters as the Latin read spells them, when that read only adds what ASCII lacks
    ("Miller" / "Müller" → "Müller"); None when the Latin read should not be trusted for this word."""
    lead, core, tail = _split(english)
    _, l_core, _ = _split(latin)
    if not core or not l_core or core == l_core or not core.isascii() or l_core.isascii():
        return None
    if not all(ch.isalpha() or ch in "-'’." for ch in l_core) or not len(core) - 2 <= len(l_core) <= len(core):
        return None  # English reads an accented letter as one or two others ("ñ" as "ii"), never as nothing
    if any(ch in _LOOKALIKES for ch in l_core):
        return None
    # every edit between the two reads must fall on a letter the Latin read spells outside ASCII
    latin_folded = "".join(fold(ch)[:1] or ch for ch in l_core)  # one character per character, for the alignment
    ops = Levenshtein.editops(latin_folded, core.casefold())
    if len(ops) > max(1, len(core) // 4) or not all(_on_accent(l_core, op.tag, op.src_pos) for op in ops):
        return None
    return f"{lead}{l_core}{tail}"


def _on_accent(latin: str, tag: str, pos: int) -> bool:
    """An edit at `pos` of the Latin read touches one of its letters outside ASCII (an insertion may sit right after
    it: "ñ" read as "ii" is a replacement and an insertion)."""
    near = (pos - 1, pos) if tag == "insert" else (pos,)
    return any(0 <= p < len(latin) and not latin[p].isascii() for p in near)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> float:
    inter = min(a1, b1) - max(a0, b0)
    return inter / max(1, min(a1 - a0, b1 - b0)) if inter > 0 else 0.0


def merge(words: Sequence[OcrWord], strips: Sequence[Strip], latin: Sequence[OcrWord]) -> list[OcrWord]:
    """`words` with the spellings the Latin read of the stacked strips improves (`better_spelling`); boxes,
    confidences and everything else as the English read gave them."""
    out = list(words)
    for strip in strips:
        inside = [w for w in latin if strip.top <= w.top + w.height / 2 <= strip.bottom]
        for i in strip.words:
            w = words[i]
            twins = [x for x in inside if _overlap(w.left, w.left + w.width, x.left, x.left + x.width) >= 0.6]
            if len(twins) != 1:
                continue
            spelled = better_spelling(w.text, twins[0].text)
            if spelled is not None:
                out[i] = replace(w, text=spelled)
    return out


def reread_names(image: Image.Image, words: list[OcrWord],
                 read: Callable[[Image.Image], Sequence[OcrWord]]) -> list[OcrWord]:
    """`words` (the English read of `image`) with the name lines' spellings from `read` (the Latin-script engine
    on the stacked lines); unchanged when no line may hold a name."""
    lines = name_lines(words)
    if not lines:
        return words
    canvas, strips = stack(image, words, lines)
    return merge(words, strips, read(canvas))
