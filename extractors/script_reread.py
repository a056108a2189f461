"""A second read of what may be names with tesseract's Latin-script model, for the letters English reads wrong.

Tesseract's English model has never seen most accented letters: it reads "Bjørnstad" as "Bjgrnstad", "Müller" as
"Miller", "Castañeda" as "Castaiieda", with high confidence, so nothing downstream can tell the word is misread and a
correctly found name is reported misspelt. The Latin-script model (tessdata_fast, bundled in models/tessdata/) reads
those letters but is no better elsewhere, so it re-reads only what may be a name (runs of two or more capitalised
words side by side on a line), cut out of the prepared page and stacked into one image: one extra engine call per
page. A word takes the Latin spelling only when the Latin read of the same place spells it with letters outside ASCII
and every difference from the English read falls on those letters (at most one edit in four letters): the re-read
fixes spellings, it never adds, drops or moves words (docs/ARCHITECTURE.md "Accented letters in names").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from PIL import Image
from rapidfuzz.distance import Levenshtein

from extractors.ocr_word import OcrWord
from pipeline.names import fold

MAX_LINES = 40  # runs per page: a dense page keeps the re-read bounded (the first runs in reading order)
PAD = 6  # pixels kept around a line's words when it is cut out
GAP = 12  # white pixels between two stacked lines

_CAPITALISED = re.compile(r"^\W*[A-ZÀ-ÖØ-Þ]\S+$")  # a capital first, then anything OCR made of the letters
# Letters the Latin model reads into noise on plain capitals: "Đ" is a "D" with a speck on a fax.
_LOOKALIKES = frozenset("ĐđÐð")
# A word's leading and trailing punctuation; "¢" is kept in the word: it is how English reads "ć" and "č" ("Simi¢")
_CORE = re.compile(r"^([^\w¢]*)(.*?)([^\w¢]*)$", re.S)


@dataclass(frozen=True, slots=True)
class Strip:
    """Where one run's cut-out sits in the stacked image: its words' indices and its band there."""

    words: tuple[int, ...]
    top: int  # in the stacked image
    bottom: int
    shift: int  # stacked y = page y + shift
    dx: int = 0  # stacked x = page x + dx


def _capitalised(text: str) -> bool:
    """A word that may be part of a name: a capital first, and mostly letters ("S@ndergaard," is one, "12:30" not)."""
    return bool(_CAPITALISED.match(text)) and sum(ch.isalpha() for ch in text) * 3 >= len(text) * 2


def name_runs(words: Sequence[OcrWord]) -> list[tuple[int, ...]]:
    """Indices of each run of two or more capitalised words side by side on a line (what may be a name), in
    reading order, at most MAX_LINES."""
    runs: list[tuple[int, ...]] = []
    current: list[int] = []
    for i, w in enumerate(words):
        prev = words[current[-1]] if current else None
        same_line = prev is not None and (prev.block, prev.par, prev.line) == (w.block, w.par, w.line)
        if _capitalised(w.text) and (same_line or not current):
            current.append(i)
            continue
        if len(current) >= 2:
            runs.append(tuple(current))
        current = [i] if _capitalised(w.text) else []
        if len(runs) == MAX_LINES:
            return runs
    if len(current) >= 2 and len(runs) < MAX_LINES:
        runs.append(tuple(current))
    return runs


def stack(image: Image.Image, words: Sequence[OcrWord],
          runs: Sequence[tuple[int, ...]]) -> tuple[Image.Image, list[Strip]]:
    """The runs cut out of `image` (only their words, with a margin) stacked top to bottom on white, left-aligned:
    tesseract's time grows with the text it reads, so the rest of each line is left out."""
    boxes = [(min(words[i].left for i in idx), min(words[i].top for i in idx),
              max(words[i].left + words[i].width for i in idx), max(words[i].top + words[i].height for i in idx))
             for idx in runs]
    canvas, placed = stack_crops(image, boxes)
    return canvas, [Strip(idx, top, bottom, shift, dx) for idx, (top, bottom, shift, dx) in zip(runs, placed,
                                                                                               strict=True)]


def stack_crops(image: Image.Image,
                boxes: Sequence[tuple[int, int, int, int]]) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """The pixel boxes (left, top, right, bottom) of `image`, each with a PAD margin, stacked top to bottom on white,
    GAP apart and left-aligned, and for each where it landed: (top, bottom) in the stacked image and the shifts
    (stacked y = page y + shift, stacked x = page x + dx). Shared by the re-reads of name runs and of lost lines
    (extractors/uncovered.py)."""
    crops = [(max(0, left - PAD), max(0, top - PAD), min(image.width, right + PAD), min(image.height, bottom + PAD))
             for left, top, right, bottom in boxes]
    width = max((r - lft for lft, _, r, _ in crops), default=1) + 2 * GAP
    height = sum(b - t for _, t, _, b in crops) + GAP * (len(crops) + 1)
    canvas = Image.new(image.mode, (width, max(1, height)), 255 if image.mode in ("L", "1") else "white")
    placed, y = [], GAP
    for left, top, right, bottom in crops:
        canvas.paste(image.crop((left, top, right, bottom)), (GAP, y))
        placed.append((y, y + bottom - top, y - top, GAP - left))
        y += bottom - top + GAP
    return canvas, placed


def _split(text: str) -> tuple[str, str, str]:
    m = _CORE.match(text)
    assert m is not None  # the pattern matches any string
    return m.group(1), m.group(2), m.group(3)


# A Latin read this confident (tesseract's 0..100) is taken over an English read that garbled the word's accents
# ("Simi¢é", "Wrdébel", "Jovanovicé" for "Šimić", "Wróbel", "Jovanović"). Measured on 300 fresh train-seed images
# (seeds 8700-8999): every such Latin read at 82 or more was the printed spelling (21 words), every wrong one at 79
# or less (22 words).
CONFIDENT_LATIN = 85.0


# The English model's "g" for a "q" it does not expect (not before a "u": "Guogiang" for Guoqiang, "Tarig" for
# Tariq), which the Latin-script model reads as printed. Measured on 240 fresh train-seed faxes, photos, scans and
# cards (seeds 9900-10499): every name word the two reads spelled apart only by an English g for a Latin q was the
# Latin spelling (7 words, Latin confidence 62-91), and no other word showed that difference; the other way round
# (English q, Latin g: "Lindqvist" / "Lindgvist") English was right all 4 times.
Q_FOR_G_MIN_CONF = 60.0

# A Latin read this confident is taken over an English read of the same word that tesseract itself doubts (below
# UNSURE_ENGLISH), when the two differ in a few letters: "Zdfiga" (30) / "Zúñiga" (89), "SINGIL," (37) / "SINGH,"
# (87), "TRAN-KOWALCZYkK," (51) / "TRAN-KOWALCZYK," (91), "@YSTEIN" (56) / "ØYSTEIN" (91). Measured on 600 fresh
# train-seed documents (seeds 10500-11099): of the name words the two reads spelled apart, 10 such Latin reads were
# the printed name and none of the English reads they would have replaced was.
UNSURE_ENGLISH = 65.0


def better_spelling(english: str, latin: str, latin_conf: float | None = None,
                    english_conf: float | None = None) -> str | None:
    """`english` with its letters as the Latin read spells them, when that read only adds what ASCII lacks
    ("Miller" / "Müller" → "Müller"), or, when the Latin read is confident (`latin_conf` >= CONFIDENT_LATIN), where
    English garbled the word's accents into other accented letters, digits or a cent sign and the two reads differ
    in a few letters ("Wrdébel" / "Wróbel"), or where English doubts its own read (`english_conf` < UNSURE_ENGLISH)
    and the two differ in a few letters ("Zdfiga" / "Zúñiga"), or reads a q where English read its one g
    ("Guogiang" / "Guoqiang", `Q_FOR_G_MIN_CONF`); None when the Latin read should not be trusted for this word."""
    lead, core, tail = _split(english)
    _, l_core, _ = _split(latin)
    l_core = _eszett_for_b(l_core, core)
    if latin_conf is not None and latin_conf >= Q_FOR_G_MIN_CONF and _q_for_g(core, l_core):
        return f"{lead}{l_core}{tail}"
    if latin_conf is not None and latin_conf >= CONFIDENT_LATIN and english_conf is not None \
            and english_conf < UNSURE_ENGLISH:
        # English's odd marks may be misread letters ("@YSTEIN", "ZHIWE!"): only plain punctuation stays around
        p_lead, p_core, p_tail = _plain_split(english)
        if _few_letters_apart(p_core, l_core):
            return f"{p_lead}{l_core}{p_tail}"
    if (not core or not l_core or core == l_core or l_core.isascii()
            or not all(ch.isalpha() or ch in "-'’." for ch in l_core) or any(ch in _LOOKALIKES for ch in l_core)
            or l_core[0].isupper() != core[0].isupper()):
        return None  # only a Latin read of letters, none a lookalike of another letter, its capital where English's is
    confident = latin_conf is not None and latin_conf >= CONFIDENT_LATIN
    if _accents_added(core, l_core) or (confident and _garbled_accents(core, l_core)):
        return f"{lead}{l_core}{tail}"
    once = _letters_once(l_core, core)
    if once != l_core and _accents_added(core, once):
        return f"{lead}{once}{tail}"
    return None


# A capital B between lower-case letters: the Latin model's reading of ß on its own ("WeiBmann" where English read
# "Weifmann": fresh seeds 11700-12299, train_11852, train_11880).
_B_INSIDE = re.compile(r"(?<=[a-zäöü])B(?=[a-zäöü])")


def _eszett_for_b(l_core: str, core: str) -> str:
    """The Latin read with a capital B between lower-case letters read as ß, where English read no b there."""
    return _B_INSIDE.sub(lambda b: b.group() if "b" in core[max(0, b.start() - 1):b.start() + 2].lower() else "ß",
                         l_core)


def _letters_once(l_core: str, core: str) -> str:
    """The Latin read with a letter outside ASCII it read twice or three times read once, where the English read
    `core` does not show that letter doubled: "Villaseñňñor" is "Villaseñor", "WeißBmann" (ß and its lookalike B)
    is "Weißmann" (fresh seeds 11700-12299: train_12082, train_12240; English read "Villasefhor", "Weifmann"); but
    "Léééé" stays, English having read "Lee"."""
    english = fold(core).lower()
    out: list[str] = []
    for ch in l_core:
        prev = out[-1] if out else ""
        if prev and not prev.isascii() and prev.isalpha() and fold(prev).lower() * 2 not in english and (
                (not ch.isascii() and fold(ch) == fold(prev)) or (prev == "ß" and ch == "B")):
            continue
        out.append(ch)
    return "".join(out)


_PLAIN = re.compile(r"^([(\"'“‘]*)(.*?)([,.;:)\"'”’]*)$", re.S)


def _plain_split(text: str) -> tuple[str, str, str]:
    m = _PLAIN.match(text)
    assert m is not None  # the pattern matches any string
    return m.group(1), m.group(2), m.group(3)


def _few_letters_apart(core: str, l_core: str) -> bool:
    """Whether the Latin read `l_core` is a name word (letters, hyphens, apostrophes; no lookalike; the capital where
    English has its first letter's) at most a third of its letters (at least 2) from the English read `core`."""
    first = next((ch for ch in core if ch.isalpha()), "")
    if (len(l_core) < 2 or not first or not all(ch.isalpha() or ch in "-'’" for ch in l_core)
            or any(ch in _LOOKALIKES for ch in l_core) or l_core[0].isupper() != first.isupper()):
        return False
    distance = Levenshtein.distance(fold(core).lower(), fold(l_core).lower())
    return 0 < distance <= max(2, len(l_core) // 3)


def _q_for_g(core: str, l_core: str) -> bool:
    """Whether the two reads are the same letters but for one place where English has "g" and Latin "q"."""
    if len(core) != len(l_core) or not l_core.isalpha():
        return False
    diffs = [(e, lat) for e, lat in zip(core, l_core, strict=True) if e != lat]
    return diffs == [("g", "q")]


def _garbled_accents(core: str, l_core: str) -> bool:
    """Whether the English read `core` shows it saw accents or marks it could not read (a letter outside ASCII, a
    digit, a cent sign) and differs from the Latin read `l_core` in its letters, not only in accents, by at most a
    third of them."""
    if not any(not ch.isascii() or ch.isdigit() for ch in core) or fold(core) == fold(l_core):
        return False  # "Müller" / "Müllér": English read the letters; only where the accent sits is in question
    return Levenshtein.distance(fold(core), fold(l_core)) <= max(2, len(core) // 3)


def _accents_added(core: str, l_core: str) -> bool:
    """Whether `l_core` is `core` with letters outside ASCII where English read others (the rules below)."""
    if not len(core) - 2 <= len(l_core) <= len(core):
        return False  # English reads an accented letter as one or two others ("ñ" as "ii"), never as nothing
    if l_core.isupper() != core.isupper():
        return False  # the re-read spells letters, it does not change their case ("Inés" is not made "inês")
    if any(not ch.isascii() and ch.isalpha() for ch in core) and not _same_accent_places(core, l_core):
        return False
    # every edit between the two reads must fall on a letter the Latin read spells outside ASCII; a letter English
    # read as two ("ñ" as "fh") costs one edit more
    latin_folded = "".join(fold(ch)[:1] or ch for ch in l_core)  # one character per character, for the alignment
    english_folded = "".join(fold(ch)[:1] or ch for ch in core)  # an accent English read right is no edit
    ops = Levenshtein.editops(latin_folded, english_folded)
    budget = max(1, len(core) // 4) + len(core) - len(l_core)
    return len(ops) <= budget and all(_on_accent(l_core, op.tag, op.src_pos) for op in ops)


def _same_accent_places(english: str, latin: str) -> bool:
    """An English read that has accented letters sees accents, but may take one for another ("López" read
    "Lépez", "Schröder" read "Schréder"): the Latin read is trusted only where it puts its accented letters
    exactly where English put its own, in words of the same length ("Müller" is not made "Müllér"), or where English
    read no letter at all ("Jérôme" read "Jér6me")."""
    return len(english) == len(latin) and all(
        not e.isalpha() or e.isascii() == lat.isascii() for e, lat in zip(english, latin, strict=True))


def _on_accent(latin: str, tag: str, pos: int) -> bool:
    """An edit at `pos` of the Latin read touches one of its letters outside ASCII (an insertion may sit right after
    it: "ñ" read as "ii" is a replacement and an insertion)."""
    near = (pos - 1, pos) if tag == "insert" else (pos,)
    return any(0 <= p < len(latin) and not latin[p].isascii() for p in near)


def _overlap(a0: int, a1: int, b0: int, b1: int) -> float:
    inter = min(a1, b1) - max(a0, b0)
    return inter / max(1, min(a1 - a0, b1 - b0)) if inter > 0 else 0.0


def merge(words: Sequence[OcrWord], strips: Sequence[Strip], latin: Sequence[OcrWord]) -> list[OcrWord]:
    """`words` with the spellings the Latin read of the stacked strips improves (`better_spelling`), each with the
    Latin read's confidence: the English model's confidence in a word whose letters it does not know says nothing
    ("Assunção" read "Assungao" at 27 %, a correctly found physician sent to review for it). Boxes and everything else
    as the English read gave them."""
    out = list(words)
    for strip in strips:
        inside = [w for w in latin if strip.top <= w.top + w.height / 2 <= strip.bottom]
        for i in strip.words:
            w = words[i]
            left = w.left + strip.dx
            twins = [x for x in inside if _overlap(left, left + w.width, x.left, x.left + x.width) >= 0.6]
            if len(twins) != 1:
                continue
            spelled = better_spelling(w.text, twins[0].text, twins[0].conf, w.conf)
            if spelled is not None:
                out[i] = replace(w, text=spelled, conf=twins[0].conf)
    return out


def reread_names(image: Image.Image, words: list[OcrWord],
                 read: Callable[[Image.Image], Sequence[OcrWord]]) -> list[OcrWord]:
    """`words` (the English read of `image`) with the name lines' spellings from `read` (the Latin-script engine
    on the stacked lines); unchanged when no line may hold a name."""
    runs = name_runs(words)
    if not runs:
        return words
    canvas, strips = stack(image, words, runs)
    return merge(words, strips, read(canvas))
