"""Tone and text size of a grayscale page before OCR: grayscale, dark mode, shading, contrast, ink, upscaling."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps
from scipy import ndimage

from extractors.imaging.dark_regions import DARK_REGION, erode
from extractors.imaging.tones import histogram, otsu_threshold


def to_grayscale(image: Image.Image) -> Image.Image:
    """An 8-bit grayscale ("L") copy; transparency is flattened onto white first (screenshots often have alpha)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        top = float(arr.max()) or 1.0
        return Image.fromarray((arr * (255.0 / top)).astype(np.uint8), "L")
    return image.convert("L")


def background_luminance(gray: Image.Image) -> float:
    """The median luminance (0..255) of a grayscale image: the background tone, as text covers well under half."""
    small = gray.copy()
    small.thumbnail((512, 512))
    return float(np.median(np.asarray(small)))


DARK_BACKGROUND = 110.0  # median luminance below this means light text on a dark background (dark mode)


def is_dark_mode(gray: Image.Image, threshold: float = DARK_BACKGROUND) -> bool:
    """True when the background is dark (tesseract's LSTM is trained on dark text on light paper)."""
    return background_luminance(gray) < threshold


def invert(gray: Image.Image) -> Image.Image:
    """The photographic negative of a grayscale image."""
    return ImageOps.invert(gray)

# Shaded fills: dark text on a mid-grey table cell or band ("Patient" in the grey label column of a rendered C-CDA
# header). Tesseract binarises with one global Otsu threshold and its page layout analysis then drops such cells
# whole, label and all, even when the text is crisp. The local background is estimated by a grey-level closing (max
# then min filter) of a copy reduced to ~_SHADE_CELL_PX cells: a window wider than any letter stroke sees the fill
# around the letters, not the letters. Where that background is a light-to-mid grey clearly darker than the paper,
# each pixel is divided by it, so the fill turns paper-white and the text keeps its contrast. Darker fills are the
# light-on-dark regions that `invert_dark_regions` handles; they are left alone.
_SHADE_CELL_PX = 4  # px of the page per cell of the reduced copy
_SHADE_WINDOW_PX = 36  # px: closing window, wider than the strokes of bold body text up to ~300 dpi
_SHADE_MIN_DELTA = 20.0  # a fill at least this much darker than the paper is shaded
_SHADE_MIN_SHARE = 0.005  # share of the page that must be shaded before anything is done
DARKEST_SHADE = float(DARK_REGION)  # fills darker than this are not shading but dark regions ...
# ... unless the text on them is darker still. By the time shading is flattened, light text on a dark fill has been
# inverted (`invert_dark_regions`); a fill down to _DIMMEST_FILL whose text is dark (`_dim_bands`) is shaded too: a
# photographed dark-mode portal's header is a band of 101 after the page's inversion, with the account name black
# on it (fresh varied seeds 11700-12299, train_12250). Scanner margins and desks (under 80) stay as they are.
_DIMMEST_FILL = 80.0
_TEXT_DELTA = 40.0
_DARK_TEXT_RATIO = 3.0


def flatten_shading(gray: Image.Image) -> tuple[Image.Image, float]:
    """`gray` with shaded (mid-grey) fills turned to the paper's tone and the share (0..1) of the page that was shaded.

    Returns the input image itself and 0.0 when under _SHADE_MIN_SHARE of the page is shaded (most pages), so a
    plain page reaches tesseract unchanged. The shaded mask is eroded by one cell: the one-cell rim that reduction
    leaves around a dark bar or a scanner's black margin is not a fill. Pixels do not move, so boxes need no mapping.
    """
    f = max(1, round(_SHADE_CELL_PX * max(gray.width, gray.height) / 2200))  # ~4 px cells on a 200-dpi letter page
    small = gray.reduce(f) if f > 1 else gray
    k = max(3, round(_SHADE_WINDOW_PX / f) | 1)  # odd window, in cells
    # scipy's separable max/min filters, edges replicated ("nearest"): the same pixels as Pillow's MaxFilter and
    # MinFilter (which pad by replicating the edge too) at a twentieth of the cost (benchmarks/README.md
    # "bench_prepare.py"; tests/test_imaging_equivalence.py).
    reduced = np.asarray(small)
    closed = ndimage.minimum_filter(ndimage.maximum_filter(reduced, size=k, mode="nearest"), size=k,
                                    mode="nearest").astype(np.float32)
    paper = float(np.median(closed))
    cells = erode((closed < paper - _SHADE_MIN_DELTA) & ((closed >= DARKEST_SHADE) | _dim_bands(reduced, closed)))
    share = float(cells.mean())
    if share < _SHADE_MIN_SHARE:
        return gray, 0.0
    gain_cells = np.where(cells, paper / np.maximum(closed, 1.0), 1.0).astype(np.float32)
    # Each cell's gain covers its own f x f pixels (nearest): the fill's edge is a cell edge already.
    gain = np.asarray(Image.fromarray(gain_cells, "F").resize(gray.size, Image.Resampling.NEAREST), dtype=np.float32)
    # Only the shaded pixels change (a gain of exactly 1.0 gives each pixel back): the float product, clipped and
    # truncated as before, is taken on them alone.
    arr = np.asarray(gray)
    out = arr.copy()
    shaded = gain != 1.0
    out[shaded] = np.clip(arr[shaded].astype(np.float32) * gain[shaded], 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L"), share


def _dim_bands(reduced: npt.NDArray[np.uint8], closed: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Cells of dim fills (_DIMMEST_FILL..DARKEST_SHADE) whose text is dark: in each connected area (its holes
    included: light letters leave holes in the dim cells), pixels _TEXT_DELTA darker than the area's median tone
    must outnumber those as much lighter by _DARK_TEXT_RATIO (an avatar disc beside the name is light, but smaller
    than the name's strokes)."""
    dim = (closed >= _DIMMEST_FILL) & (closed < DARKEST_SHADE)
    if not dim.any():
        return dim
    area = ndimage.binary_fill_holes(dim)
    labels, n = ndimage.label(area)
    index = np.arange(1, n + 1)
    fill = ndimage.median(reduced, labels, index)
    tone = np.concatenate(([0.0], np.asarray(fill, dtype=np.float32)))[labels]
    inside = erode(area)
    light_n = ndimage.sum_labels(inside & (reduced > tone + _TEXT_DELTA), labels, index)
    dark_n = ndimage.sum_labels(inside & (reduced < tone - _TEXT_DELTA), labels, index)
    keep = np.concatenate(([False], (dark_n > 0) & (dark_n >= _DARK_TEXT_RATIO * light_n)))
    out: npt.NDArray[np.bool_] = dim & keep[labels]
    return out


def stretch_contrast(gray: Image.Image, min_spread: int = 150) -> Image.Image | None:
    """A contrast-stretched copy when the 1st..99th percentile spread is below `min_spread` (dim photos), else None."""
    counts = np.cumsum(histogram(np.asarray(gray)))
    lo, hi = percentile_of_counts(counts, 1.0), percentile_of_counts(counts, 99.0)
    if hi - lo >= min_spread or hi - lo < 8:  # fine already, or a blank page: nothing to stretch
        return None
    return ImageOps.autocontrast(gray, cutoff=1)


def percentile_of_counts(counts: npt.NDArray[np.intp], q: float) -> float:
    """`np.percentile(arr, q)` (linear method) of the 8-bit array whose cumulative histogram is `counts`.

    The two order statistics around the virtual index are looked up in the cumulative histogram instead of
    partitioning the page's pixels, and interpolated with numpy's own formula (its `_lerp`), so the value is the same
    to the last bit (tests/test_imaging_equivalence.py)."""
    n = int(counts[-1])
    if n == 0:
        return float("nan")
    virtual = np.float64(q) / np.float64(100) * np.float64(n - 1)
    below = np.floor(virtual)
    gamma = virtual - below
    i = int(below)
    a = np.uint8(np.searchsorted(counts, i, side="right"))  # the value at sorted index i
    b = np.uint8(np.searchsorted(counts, min(i + 1, n - 1), side="right"))
    diff = np.subtract(b, a)
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


def median_tone(arr: npt.NDArray[np.uint8], hist: npt.NDArray[np.intp] | None = None) -> float:
    """`np.median` of an 8-bit array from its histogram: the same value, without sorting a page's pixels. `hist`: the
    array's `histogram`, when the caller has it already."""
    counts = np.cumsum(histogram(arr) if hist is None else hist)
    n = int(counts[-1])
    if n == 0:
        return float("nan")
    lo = int(np.searchsorted(counts, (n - 1) // 2, side="right"))  # the value at sorted index (n-1)//2
    hi = int(np.searchsorted(counts, n // 2, side="right"))  # ... and at n//2 (the same one when n is odd)
    return (lo + hi) / 2


def ink_mask(gray: Image.Image) -> npt.NDArray[np.bool_]:
    """Boolean array, True where a pixel is ink (darker than Otsu's threshold and clearly darker than the paper)."""
    arr = np.asarray(gray)
    if not arr.size:
        return np.zeros(arr.shape, dtype=bool)
    hist = histogram(arr)
    t = otsu_threshold(arr, hist)
    paper = median_tone(arr, hist)
    # (arr <= t) & (arr < paper - 30) in one comparison: for integer tones, v < x  ⇔  v <= ceil(x) - 1.
    return arr <= min(t, math.ceil(paper - 30) - 1)


def ink_share(gray: Image.Image) -> float:
    """Share (0..1) of ink pixels, measured on a copy downscaled to at most 1000 px per side."""
    small = gray.copy()
    small.thumbnail((1000, 1000))
    return float(ink_mask(small).mean())

def estimate_line_height(gray: Image.Image, ink: npt.NDArray[np.bool_] | None = None) -> float | None:
    """Median height in px of the bands of consecutive rows that contain ink (≈ one text line each), or None.

    Cheaper than a first tesseract pass: one threshold and one row sum. Works on an upright, deskewed image; bands
    shorter than 4 px (rules, noise) and taller than a fifth of the image (photos, big logos) are ignored. `ink`:
    `ink_mask(gray)`, when the caller has it already.
    """
    mask = ink_mask(gray) if ink is None else ink
    rows = mask.sum(axis=1) >= max(2, int(mask.shape[1] * 0.002))
    bands, _ = ndimage.label(rows)  # each run of inked rows is one band, numbered top to bottom
    heights = [h for h in np.bincount(bands)[1:].tolist() if 4 <= h <= mask.shape[0] // 5]
    if len(heights) < 2:
        return None
    return float(np.median(heights))


CAP_HEIGHT_TARGET_PX = 30.0  # tesseract reads best with capitals ~30 px tall (10 pt at 300 dpi)
CAP_PER_LINE = 0.7  # a line band (ascender to descender) is ~1.0 em; capitals are ~0.7 em
MAX_UPSCALE = 4.0
MIN_UPSCALE = 1.25  # below this the gain does not pay for the bigger image


def upscale_factor(line_height_px: float | None, width: int, height: int, max_pixels: int) -> float:
    """How much to enlarge so capitals reach ~30 px (1.0 = leave as is), capped at 4x and by `max_pixels`."""
    if not line_height_px:
        return 1.0
    want = CAP_HEIGHT_TARGET_PX / (CAP_PER_LINE * line_height_px)
    cap = math.sqrt(max_pixels / float(width * height))
    factor = min(want, MAX_UPSCALE, cap)
    return round(factor, 2) if factor >= MIN_UPSCALE else 1.0
