"""Ruling lines (the borders of form cells and table grids) erased before OCR.

Tesseract's page layout analysis treats a text line boxed in by ruling lines as part of a table or picture region and
often drops it whole: on the varied dev split's referral forms every labelled box came back with its small label but
without its value ("Treating physician" read, "Layla Al-Farsi, MD" not), which cost the physician, the patient and
the coded diagnosis at once. Erasing the lines first is the usual remedy (Leptonica's and OpenCV's "remove lines"
recipes): a morphological opening with a long thin structuring element keeps only runs of ink longer than any glyph
stroke, horizontal and vertical separately; of those, only thin ones are lines (a solid bar or a photo is thick and
is left alone); they (grown by one pixel for anti-aliased edges) are painted the paper's tone. Text crossed by a line
loses only the crossing pixels. Pixels do not move, so boxes need no mapping.

The openings by a segment are computed from run lengths (`_long_runs`), linear in the page's pixels whatever the
segment's length: a letter page costs tens of milliseconds, not the second of scipy's binary opening.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from extractors.imaging.prepare import ink_mask, median_tone

# A ruling line is a straight run of ink at least this many text-line heights long (and at least _MIN_RUN_PX): the
# longest glyph stroke (a capital's bar, an em dash, a tall "l") is about one line height.
RUN_PER_LINE_HEIGHT = 3.0
_MIN_RUN_PX = 40
# ... and at most this thick (a share of the line height, at least _MIN_THICK_PX): thicker runs are bars, blocks and
# pictures, whose ink is not a border.
THICK_PER_LINE_HEIGHT = 0.35
_MIN_THICK_PX = 4
_MIN_LINE_SHARE = 0.0005  # share of the page covered by ruling pixels before anything is erased

Mask = npt.NDArray[np.bool_]


def erase_ruling_lines(gray: Image.Image, line_height_px: float | None,
                       ink: Mask | None = None) -> tuple[Image.Image, int]:
    """`gray` with horizontal and vertical ruling lines painted over in the paper's tone, and how many were erased.

    Returns the input image itself and 0 when the page has (almost) no ruling, so a plain page reaches tesseract
    unchanged. `line_height_px`: the text line height (`estimate_line_height`), None when unknown. Lines are counted
    as bands of rows (columns): two cells' borders on one row are one line. `ink`: `ink_mask(gray)`, when the caller
    has it already (`estimate_line_height` needs the same mask).
    """
    height = line_height_px or 0.0
    run = max(_MIN_RUN_PX, round(RUN_PER_LINE_HEIGHT * height))
    thick = max(_MIN_THICK_PX, round(THICK_PER_LINE_HEIGHT * height))
    arr = np.asarray(gray)
    if ink is None:
        ink = ink_mask(gray)
    horizontal = _without_thick(_long_runs(ink, run), thick, down_columns=True)
    vertical = _without_thick(_long_runs(ink.T, run).T, thick, down_columns=False)
    lines = horizontal | vertical
    if np.count_nonzero(lines) / lines.size < _MIN_LINE_SHARE:  # = lines.mean(), without a float pass
        return gray, 0
    out = arr.copy()
    out[_grow(lines)] = np.uint8(median_tone(arr))
    return Image.fromarray(out, "L"), _bands(horizontal.any(axis=1)) + _bands(vertical.any(axis=0))


def _long_runs(mask: Mask, length: int) -> Mask:
    """Pixels of `mask` on a run of at least `length` consecutive set pixels along a row.

    Run-length encoding of the rows (padded so that no run wraps into the next row) instead of a morphological
    opening: linear in pixels. Run edges alternate start, end, start, ... in the flat padded array, so one pass finds
    both; only the kept runs (ruling lines: few pixels) are painted back, by their flat indices.
    """
    rows, cols = mask.shape
    padded = np.zeros((rows, cols + 2), dtype=bool)
    padded[:, 1:-1] = mask
    flat = padded.ravel()
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    keep = ends - starts >= length
    out = np.zeros(padded.size, dtype=bool)
    if keep.any():
        starts, lengths = starts[keep], (ends - starts)[keep]
        # flat index of every kept pixel: each run's start, plus 0..length-1 within it
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[np.repeat(starts, lengths) + offsets] = True
    return out.reshape(rows, cols + 2)[:, 1:-1]


def _without_thick(mask: Mask, thick: int, *, down_columns: bool) -> Mask:
    """`mask` (changed in place) without its pixels on runs of at least `thick` set pixels down the columns
    (`down_columns`) or along the rows: thick bars, not lines. Computed on the bounding box of the set pixels, the
    same runs (none crosses the box's edge) at a fraction of the cost: long runs are a few ruling lines."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not rows.size:
        return mask
    cols = np.flatnonzero(mask.any(axis=0))
    box = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]  # a view: the &= below writes through to `mask`
    box &= ~(_long_runs(box.T, thick).T if down_columns else _long_runs(box, thick))
    return mask


def _grow(mask: Mask) -> Mask:
    """`mask` dilated by one pixel in each direction (anti-aliased edges of a line), by shifted ORs."""
    wide = mask.copy()
    wide[:, 1:] |= mask[:, :-1]
    wide[:, :-1] |= mask[:, 1:]
    grown = wide.copy()
    grown[1:, :] |= wide[:-1, :]
    grown[:-1, :] |= wide[1:, :]
    return grown


def _bands(flags: npt.NDArray[np.bool_]) -> int:
    """Runs of True in a 1-D array."""
    return int(np.count_nonzero(np.diff(flags.astype(np.int8), prepend=0) == 1))
