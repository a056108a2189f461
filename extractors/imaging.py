"""Raster images: safe decoding of uploads into frames, and the small pure steps that prepare a frame for tesseract.

Every geometric step returns the new image together with an `Affine` that maps a point of the new image back to the
image it was made from, so OCR boxes can be carried back to the ORIGINAL pixels (and from there to points, in
`extractors.ocr.pixels_to_points`). Pixel coordinates are edge coordinates: (0, 0) is the top-left corner of the
top-left pixel, (w, h) the bottom-right corner of the image.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pillow_heif
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from pipeline.errors import ImageTooLarge, TooManyFrames, UnreadableFile
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import MediaType

pillow_heif.register_heif_opener()

# Pillow format ids we let `Image.open` try for each sniffed media type: a PNG upload is decoded as PNG and nothing
# else, so a crafted file can never reach a decoder we did not choose (e.g. the FITS gzip bomb, GHSA-whj4-6x5x-4v2j).
_FORMATS: dict[MediaType, list[str]] = {
    MediaType.PNG: ["PNG"],
    MediaType.JPEG: ["JPEG"],
    MediaType.TIFF: ["TIFF"],
    MediaType.WEBP: ["WEBP"],
    MediaType.HEIF: ["HEIF", "AVIF"],  # intake's HEIF brands include avif, which Pillow itself decodes
}

# Screenshots rarely carry a usable DPI; 96 dpi is the CSS/Windows reference pixel, so a 1920 px wide screenshot
# becomes a 20-inch (1440 pt) wide page. Only the scale of the coordinate frame depends on this guess.
SCREEN_DPI = 96.0
_SANE_DPI = (72.0, 1200.0)


@dataclass(frozen=True, slots=True)
class Affine:
    """x = a*u + b*v + c, y = d*u + e*v + f: maps a point (u, v) of a derived image to (x, y) in its source."""

    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    e: float = 1.0
    f: float = 0.0

    def apply(self, u: float, v: float) -> tuple[float, float]:
        """The source point of (u, v)."""
        return self.a * u + self.b * v + self.c, self.d * u + self.e * v + self.f

    def then(self, inner: Affine) -> Affine:
        """The map derived → source of `inner`'s image: first `inner` (newest step), then `self`."""
        return Affine(
            self.a * inner.a + self.b * inner.d, self.a * inner.b + self.b * inner.e,
            self.a * inner.c + self.b * inner.f + self.c,
            self.d * inner.a + self.e * inner.d, self.d * inner.b + self.e * inner.e,
            self.d * inner.c + self.e * inner.f + self.f,
        )

    def map_box(self, x0: float, top: float, x1: float, bottom: float) -> tuple[float, float, float, float]:
        """The axis-aligned box around the four mapped corners of a box."""
        pts = [self.apply(x, y) for x, y in ((x0, top), (x1, top), (x1, bottom), (x0, bottom))]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)


IDENTITY = Affine()


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded, upright (EXIF-transposed) frame of an image upload and its resolution in pixels per inch."""

    image: Image.Image
    dpi_x: float
    dpi_y: float
    dpi_assumed: bool  # True when the file had no plausible DPI and SCREEN_DPI was used


# --------------------------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------------------------

def sane_dpi(info: dict[Any, Any]) -> tuple[float, float, bool]:
    """(dpi_x, dpi_y, assumed): the file's DPI when plausible for a document (72..1200 on both axes), else 96."""
    dpi = info.get("dpi")
    try:
        x, y = float(dpi[0]), float(dpi[1])  # type: ignore[index]  # failures are caught below
    except (TypeError, ValueError, IndexError, KeyError):
        return SCREEN_DPI, SCREEN_DPI, True
    lo, hi = _SANE_DPI
    if lo <= x <= hi and lo <= y <= hi:
        return x, y, False
    return SCREEN_DPI, SCREEN_DPI, True


def check_size(width: int, height: int, limits: Limits) -> None:
    """Reject a frame by its header size, before any pixel is decoded. Raises ImageTooLarge."""
    if width <= 0 or height <= 0:
        raise UnreadableFile(f"frame size {width}x{height}")
    if width * height > limits.max_pixels or max(width, height) > limits.max_side_px:
        raise ImageTooLarge(f"{width}x{height} px > {limits.max_pixels} px or {limits.max_side_px} px/side")


@contextmanager
def _decoding(media_type: MediaType, limits: Limits) -> Iterator[None]:
    """Pillow's bomb warning as an error, and Pillow's decode errors translated into ours."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageTooLarge(f"pillow bomb guard, limit {limits.max_pixels} px") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as e:
        raise UnreadableFile(f"{media_type.value} decode failed: {type(e).__name__}") from e


def _count_frames(im: Image.Image, media_type: MediaType, limits: Limits) -> int:
    """Frames to read, each frame's size checked from its header only. Raises TooManyFrames, ImageTooLarge."""
    count = 0
    while True:
        check_size(im.width, im.height, limits)
        count += 1
        if media_type is not MediaType.TIFF:  # only TIFF frames are pages; APNG/WEBP/HEIF: the first image
            return count
        try:  # walk the IFD chain one frame at a time (n_frames would walk all of it up front)
            im.seek(count)
        except EOFError:
            return count
        if count >= limits.max_tiff_frames:
            raise TooManyFrames(f"more than {limits.max_tiff_frames} frames")


def iter_frames(data: bytes, media_type: MediaType, limits: Limits = DEFAULT_LIMITS) -> Iterator[Frame]:
    """Decode the frames of an image upload one at a time, after counting them and checking every frame's size.

    Only one decoded frame is alive at a time (a 50-frame fax at 40 MP a frame would not fit in memory at once).
    Raises UnreadableFile (corrupt, truncated, not the sniffed format), ImageTooLarge, TooManyFrames.
    """
    formats = _FORMATS.get(media_type)
    if formats is None:
        raise UnreadableFile(f"not an image type: {media_type.value}")
    # Pillow's own bomb guard, tied to our cap (warning above it, error above twice it). Process-global, but every
    # caller uses the same limits. LOAD_TRUNCATED_IMAGES stays at its default (False): truncated files are errors.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    with _decoding(media_type, limits):
        im = Image.open(io.BytesIO(data), formats=formats)  # lazy: reads the header only
    try:
        with _decoding(media_type, limits):
            count = _count_frames(im, media_type, limits)
        for index in range(count):
            with _decoding(media_type, limits):
                im.seek(index)
                im.load()  # decodes this frame; truncation and corruption surface here
                frame = Frame(ImageOps.exif_transpose(im), *sane_dpi(dict(im.info)))  # a new, upright image
            yield frame
    finally:
        im.close()


def open_frames(data: bytes, media_type: MediaType, limits: Limits = DEFAULT_LIMITS) -> list[Frame]:
    """All frames of an image upload (see `iter_frames`). Raises UnreadableFile, ImageTooLarge, TooManyFrames."""
    return list(iter_frames(data, media_type, limits))


# --------------------------------------------------------------------------------------------------------------------
# Tone
# --------------------------------------------------------------------------------------------------------------------

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


# Local polarity: light text on the dark bars, buttons and headers of an otherwise light page. Measured on a copy
# reduced by an integer factor so that its long side is ~600 px (one cell ≈ 4 px of a phone screenshot). A cell's
# background is dark when most cells of the ~28 px window around it are dark: a majority vote, which is the median
# thresholded (median < t  ⇔  more than half the values < t) at the cost of one box blur. Text strokes are thinner
# than half the window, so the vote reads the tone around the letters, not the letters.
_POLARITY_SIDE = 600
_BG_WINDOW_PX = 28
DARK_REGION = 128  # luminance below which a cell counts as dark
_MIN_REGION_PX = 32  # px: thinner than this holds no padded line of text (and is more likely a bold stroke)
_LIGHT_DELTA = 70  # a "light" pixel is this much brighter than its region's fill
_MIN_LIGHT_SHARE = 0.002  # light pixels in a region's interior: at least a few letters ...
_MAX_LIGHT_SHARE = 0.25  # ... and well under half (bold dark letters on paper leave 0.29-0.45 between strokes)
_MIN_FLAT_SHARE = 0.75  # interior pixels within ±30 of the fill: a flat UI fill (bars: 0.98), not letters or a photo
_MIN_HOLE_FILL = 0.2  # share of fill-toned pixels that marks a hole in the fill mask as text on the fill
_MAX_REGIONS = 64
_MAX_SAMPLED = 20_000  # cells of a region measured at full resolution; beyond, every other pixel
_MAX_RUNS = 6_000  # runs of dark cells beyond which a mask is texture, not layout (a phone UI has < 1,000)


@dataclass(frozen=True, slots=True)
class DarkRegion:
    """A light-on-dark region: pixel box (edge coordinates), fill and text tones, share of text pixels inside."""

    x0: int
    top: int
    x1: int
    bottom: int
    fill: float
    text: float  # median tone of the light pixels
    light_share: float


@dataclass(frozen=True, slots=True)
class _Component:
    """A 4-connected component of a cell mask: its runs (row, start, end) and cell bounding box."""

    runs: tuple[tuple[int, int, int], ...]
    x0: int
    top: int
    x1: int
    bottom: int


def _components(mask: npt.NDArray[np.bool_]) -> list[_Component] | None:
    """4-connected components of a boolean cell mask, found by row runs and union-find; None over _MAX_RUNS runs.

    Runs, not cells, keep this cheap in Python: a UI mask has a few runs per row.
    """
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    rows, cols = np.nonzero(np.diff(padded, axis=1))  # run starts and ends alternate along each row
    if len(rows) > 2 * _MAX_RUNS:  # a texture (photo, halftone), not a layout: not worth a Python loop
        return None
    starts = list(zip(rows[0::2].tolist(), cols[0::2].tolist(), cols[1::2].tolist(), strict=True))
    parent = list(range(len(starts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Runs are sorted by row, then column: walk each row against the row above with two pointers.
    above: list[int] = []
    current: list[int] = []
    row = -1
    for i, (y, x0, x1) in enumerate(starts):
        if y != row:
            above, current, row = (current if y == row + 1 else []), [], y
            k = 0
        while k < len(above) and starts[above[k]][2] <= x0:  # runs above that end before this one starts
            k += 1
        j = k
        while j < len(above) and starts[above[j]][1] < x1:  # columns overlap: same component
            a, b = find(i), find(above[j])
            if a != b:
                parent[max(a, b)] = min(a, b)
            j += 1
        current.append(i)
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for i, run in enumerate(starts):
        groups.setdefault(find(i), []).append(run)
    return [_Component(tuple(runs), min(r[1] for r in runs), min(r[0] for r in runs), max(r[2] for r in runs),
                       max(r[0] for r in runs) + 1) for runs in groups.values()]


def _dark_votes(gray: Image.Image) -> tuple[npt.NDArray[np.float32], int]:
    """(share of dark cells in each cell's window, 0..1, and the reduction factor f: one cell = f × f px)."""
    f = max(1, round(max(gray.width, gray.height) / _POLARITY_SIDE))
    small = gray.reduce(f) if f > 1 else gray
    dark = small.point(lambda v: 255 if v < DARK_REGION else 0)
    radius = max(1, round(_BG_WINDOW_PX / f / 2 - 0.5))  # window of 2r+1 cells ≈ _BG_WINDOW_PX, whatever f is
    votes = dark.filter(ImageFilter.BoxBlur(radius))
    return np.asarray(votes, dtype=np.float32) / 255.0, f


def _cell_pixels(tile: npt.NDArray[np.uint8], cells: npt.NDArray[np.bool_], f: int) -> npt.NDArray[np.uint8]:
    """The pixels (flat) of the chosen cells of `tile`, whose cell (i, j) is tile[i*f:(i+1)*f, j*f:(j+1)*f].

    Partial cells at the image's edge are left out. Over _MAX_SAMPLED cells, every other pixel of each cell on both
    axes: plenty for shares and medians, and a quarter of the work on a page-sized component.
    """
    ch, cw = min(cells.shape[0], tile.shape[0] // f), min(cells.shape[1], tile.shape[1] // f)
    blocks = tile[:ch * f, :cw * f].reshape(ch, f, cw, f).swapaxes(1, 2)  # (ch, cw, f, f), a view
    chosen: npt.NDArray[np.uint8] = blocks[cells[:ch, :cw]]
    if len(chosen) > _MAX_SAMPLED:
        chosen = chosen[:, ::2, ::2]
    return chosen.reshape(-1)


def _erode(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Cells whose whole 3×3 neighbourhood is in `mask` (outside the array counts as in)."""
    p = np.pad(mask, 1, constant_values=True)
    h, w = mask.shape
    out = mask.copy()
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            out &= p[dy:dy + h, dx:dx + w]
    return out


def _cells_of(comp: _Component) -> npt.NDArray[np.bool_]:
    """The cells of a component, as a mask over its bounding box."""
    cells = np.zeros((comp.bottom - comp.top, comp.x1 - comp.x0), dtype=bool)
    for y, x0, x1 in comp.runs:
        cells[y - comp.top, x0 - comp.x0:x1 - comp.x0] = True
    return cells


def _with_text_holes(cells: npt.NDArray[np.bool_], tile: npt.NDArray[np.uint8], fill: float,
                     f: int) -> npt.NDArray[np.bool_]:
    """`cells` plus the holes in them that are text on the fill, not light shapes or the page around the region.

    Dense light lettering (a bold name in a header) out-votes the fill in its cells and leaves a hole in the mask;
    such a hole still shows the fill between its letters (or is smaller than a letter: a counter), while an avatar
    disc or the page around a rounded button is bigger and barely holds a fill-toned pixel.
    """
    out = cells.copy()
    for hole in _components(~cells) or ():
        mask = _cells_of(hole)
        rows, cols = slice(hole.top, hole.bottom), slice(hole.x0, hole.x1)
        if max(mask.shape) * f >= _MIN_REGION_PX:  # smaller holes (counters, dots) are always text
            values = _cell_pixels(tile[hole.top * f:hole.bottom * f, hole.x0 * f:hole.x1 * f], mask, f)
            if not values.size or np.mean(np.abs(values.astype(np.int16) - round(fill)) <= 30) < _MIN_HOLE_FILL:
                continue
        out[rows, cols] |= mask
    return out


@dataclass(frozen=True, slots=True)
class _Located:
    """A region and its fill as a cell mask over its box (cells of the reduced copy, `f` px a side)."""

    region: DarkRegion
    cells: npt.NDArray[np.bool_]
    f: int


def _locate(gray: Image.Image) -> list[_Located]:
    """The light-on-dark regions of `gray` with their fill masks (see `find_dark_regions`)."""
    votes, f = _dark_votes(gray)
    dark = votes > 0.5
    if not dark.any() or dark.all():
        return []
    arr = np.asarray(gray)
    h, w = arr.shape
    interior = _erode(dark)  # cells whose 3×3 neighbourhood is dark: their pixels are clear of the region's edge
    found: list[_Located] = []
    for comp in _components(dark) or ():
        if min(comp.bottom - comp.top, comp.x1 - comp.x0) * f < _MIN_REGION_PX:
            continue
        cells = _cells_of(comp)
        inner = cells & interior[comp.top:comp.bottom, comp.x0:comp.x1]
        tile = arr[comp.top * f:comp.bottom * f, comp.x0 * f:comp.x1 * f]
        values = _cell_pixels(tile, inner, f)
        if values.size < _MIN_REGION_PX ** 2:
            continue
        fill = float(np.median(values))
        is_light = values > fill + _LIGHT_DELTA
        light = float(np.mean(is_light))
        darker = float(np.mean(values < fill - _LIGHT_DELTA))
        flat = float(np.mean(np.abs(values.astype(np.int16) - round(fill)) <= 30))
        if _MIN_LIGHT_SHARE <= light <= _MAX_LIGHT_SHARE and darker < light / 2 and flat >= _MIN_FLAT_SHARE:
            region = DarkRegion(comp.x0 * f, comp.top * f, min(comp.x1 * f, w), min(comp.bottom * f, h), fill,
                                float(np.median(values[is_light])), light)
            found.append(_Located(region, _with_text_holes(cells, tile, fill, f), f))
            if len(found) >= _MAX_REGIONS:
                break
    return found


def find_dark_regions(gray: Image.Image) -> tuple[DarkRegion, ...]:
    """Regions of a light grayscale page whose local background is a dark, flat fill holding light text.

    A region must be at least _MIN_REGION_PX thick, mostly flat fill, and inside it (one cell in from its edge, out
    of reach of antialiasing and of the page around it) a small share of pixels must be much lighter than the fill
    and few much darker. A scanner's black margin or a dark desk around a photographed page holds no light pixels,
    and the dark blobs that bold letters on paper leave are thin and far from flat: neither is a region.
    """
    return tuple(located.region for located in _locate(gray))


def invert_dark_regions(gray: Image.Image) -> tuple[Image.Image, tuple[DarkRegion, ...]]:
    """`gray` with every light-on-dark region (`find_dark_regions`) inverted, so all text is dark on light.

    The inversion is also a stretch, fill → white and text tone → black: a plain negative leaves the fill mid-grey
    (a 74 blue bar becomes 181), and tesseract's global Otsu threshold then turns the whole bar, text and all, into
    one black block on a 240 page. Pixels do not move, so boxes need no mapping.

    Only a region's fill and the text on it are inverted: the page around a rounded button and a light shape inside
    a bar (an avatar disc) keep their tone. The fill's cell mask is upsampled bilinearly; where it is neither 0 nor 1
    (within a cell of the mask's edge) a pixel is on the fill when its own tone is the fill's, which puts the cut on
    the true edge to the pixel. Returns the input image itself when there is nothing to invert.
    """
    found = _locate(gray)
    if not found:
        return gray, ()
    out = np.asarray(gray).copy()
    h, w = out.shape
    for located in found:
        r, f = located.region, located.f
        # One more cell on every side (inside the image): the fill's true edge may lie in the first cell outside.
        pad_t, pad_l = min(1, r.top // f), min(1, r.x0 // f)
        pad_b, pad_r = int(r.bottom + f <= h), int(r.x1 + f <= w)
        cells = np.pad(located.cells.astype(np.float32), ((pad_t, pad_b), (pad_l, pad_r)))
        top, x0 = r.top - pad_t * f, r.x0 - pad_l * f
        bottom, x1 = min(top + cells.shape[0] * f, h), min(x0 + cells.shape[1] * f, w)
        # Cell centres sit at (i + 0.5) * f px; resize(box=...) maps pixel centres to cell coordinates the same way.
        weight = np.asarray(Image.fromarray(cells).resize((x1 - x0, bottom - top), Image.Resampling.BILINEAR,
                                                          box=(0, 0, (x1 - x0) / f, (bottom - top) / f)))
        tile = out[top:bottom, x0:x1]
        edge = (weight > 0.01) & (weight < 0.99)
        flip = np.where(edge, np.abs(tile.astype(np.int16) - round(r.fill)) <= 30, weight >= 0.99)
        span = max(r.text - r.fill, 1.0)
        tile[flip] = np.clip((r.text - tile[flip]) * (255.0 / span), 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L"), tuple(located.region for located in found)


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
DARKEST_SHADE = float(DARK_REGION)  # fills darker than this are not shading but dark regions


def flatten_shading(gray: Image.Image) -> tuple[Image.Image, float]:
    """`gray` with shaded (mid-grey) fills turned to the paper's tone and the share (0..1) of the page that was shaded.

    Returns the input image itself and 0.0 when under _SHADE_MIN_SHARE of the page is shaded (most pages), so a
    plain page reaches tesseract unchanged. The shaded mask is eroded by one cell: the one-cell rim that reduction
    leaves around a dark bar or a scanner's black margin is not a fill. Pixels do not move, so boxes need no mapping.
    """
    f = max(1, round(_SHADE_CELL_PX * max(gray.width, gray.height) / 2200))  # ~4 px cells on a 200-dpi letter page
    small = gray.reduce(f) if f > 1 else gray
    k = max(3, round(_SHADE_WINDOW_PX / f) | 1)  # odd window, in cells
    closed = np.asarray(small.filter(ImageFilter.MaxFilter(k)).filter(ImageFilter.MinFilter(k)), dtype=np.float32)
    paper = float(np.median(closed))
    cells = _erode((closed < paper - _SHADE_MIN_DELTA) & (closed >= DARKEST_SHADE))
    share = float(cells.mean())
    if share < _SHADE_MIN_SHARE:
        return gray, 0.0
    gain_cells = np.where(cells, paper / np.maximum(closed, 1.0), 1.0).astype(np.float32)
    # Each cell's gain covers its own f x f pixels (nearest): the fill's edge is a cell edge already.
    gain = np.asarray(Image.fromarray(gain_cells, "F").resize(gray.size, Image.Resampling.NEAREST), dtype=np.float32)
    arr = np.asarray(gray, dtype=np.float32)
    return Image.fromarray(np.clip(arr * gain, 0, 255).astype(np.uint8), "L"), share


def stretch_contrast(gray: Image.Image, min_spread: int = 150) -> Image.Image | None:
    """A contrast-stretched copy when the 1st..99th percentile spread is below `min_spread` (dim photos), else None."""
    arr = np.asarray(gray)
    lo, hi = np.percentile(arr, [1, 99])
    if hi - lo >= min_spread or hi - lo < 8:  # fine already, or a blank page: nothing to stretch
        return None
    return ImageOps.autocontrast(gray, cutoff=1)


def otsu_threshold(gray: npt.NDArray[np.uint8]) -> int:
    """Otsu's global threshold of an 8-bit array: pixels <= it are ink (dark), the rest paper."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 127
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    w1 = total - w0
    mean_all = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 / total - m0) ** 2 / (w0 * w1 / total)
    between = np.nan_to_num(between, nan=0.0, posinf=0.0)
    return int(np.argmax(between))


def ink_mask(gray: Image.Image) -> npt.NDArray[np.bool_]:
    """Boolean array, True where a pixel is ink (darker than Otsu's threshold and clearly darker than the paper)."""
    arr = np.asarray(gray)
    t = otsu_threshold(arr)
    paper = float(np.median(arr))
    return (arr <= t) & (arr < paper - 30)


def ink_share(gray: Image.Image) -> float:
    """Share (0..1) of ink pixels, measured on a copy downscaled to at most 1000 px per side."""
    small = gray.copy()
    small.thumbnail((1000, 1000))
    return float(ink_mask(small).mean())


# --------------------------------------------------------------------------------------------------------------------
# Text size
# --------------------------------------------------------------------------------------------------------------------

def estimate_line_height(gray: Image.Image) -> float | None:
    """Median height in px of the bands of consecutive rows that contain ink (≈ one text line each), or None.

    Cheaper than a first tesseract pass: one threshold and one row sum. Works on an upright, deskewed image; bands
    shorter than 4 px (rules, noise) and taller than a fifth of the image (photos, big logos) are ignored.
    """
    mask = ink_mask(gray)
    rows = mask.sum(axis=1) >= max(2, int(mask.shape[1] * 0.002))
    heights: list[int] = []
    run = 0
    for has_ink in rows.tolist() + [False]:
        if has_ink:
            run += 1
        elif run:
            heights.append(run)
            run = 0
    heights = [h for h in heights if 4 <= h <= mask.shape[0] // 5]
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


def scale(image: Image.Image, factor: float) -> tuple[Image.Image, Affine]:
    """`image` resized by `factor` (Lanczos) and the map back to the source."""
    w, h = max(1, round(image.width * factor)), max(1, round(image.height * factor))
    out = image.resize((w, h), Image.Resampling.LANCZOS)
    return out, Affine(a=image.width / w, e=image.height / h)


# --------------------------------------------------------------------------------------------------------------------
# Orientation and skew
# --------------------------------------------------------------------------------------------------------------------

def rotate_quadrant(image: Image.Image, clockwise: int) -> tuple[Image.Image, Affine]:
    """`image` turned clockwise by 0, 90, 180 or 270 degrees (lossless) and the map back to the source."""
    w, h = image.size
    turns = (clockwise // 90) % 4
    if turns == 0:
        return image, IDENTITY
    if turns == 1:  # new (u, v) in an h×w image; source x = v, y = h - u
        return image.transpose(Image.Transpose.ROTATE_270), Affine(a=0, b=1, c=0, d=-1, e=0, f=h)
    if turns == 2:
        return image.transpose(Image.Transpose.ROTATE_180), Affine(a=-1, b=0, c=w, d=0, e=-1, f=h)
    return image.transpose(Image.Transpose.ROTATE_90), Affine(a=0, b=-1, c=w, d=1, e=0, f=0)


def rotate_small(image: Image.Image, degrees: float, fill: int = 255) -> tuple[Image.Image, Affine]:
    """`image` rotated counter-clockwise by `degrees` about its centre, canvas expanded, and the map back.

    Same geometry as `Image.rotate(degrees, expand=True)`, but we build the output→source matrix ourselves so we
    know it exactly.
    """
    w, h = image.size
    rad = math.radians(degrees)
    cos, sin = math.cos(rad), math.sin(rad)
    # Forward map (source → output, before recentring) of the corners gives the expanded canvas.
    xs = [cos * (x - w / 2) + sin * (y - h / 2) for x, y in ((0, 0), (w, 0), (w, h), (0, h))]
    ys = [-sin * (x - w / 2) + cos * (y - h / 2) for x, y in ((0, 0), (w, 0), (w, h), (0, h))]
    # Canvas size rounded the way Pillow's rotate(expand=True) rounds it (absolute corner coordinates).
    nw = max(1, math.ceil(max(xs) + w / 2) - math.floor(min(xs) + w / 2))
    nh = max(1, math.ceil(max(ys) + h / 2) - math.floor(min(ys) + h / 2))
    # Inverse (output → source): x = cos*(u - nw/2) - sin*(v - nh/2) + w/2, y = sin*(u - nw/2) + cos*(v - nh/2) + h/2
    back = Affine(a=cos, b=-sin, c=w / 2 - cos * nw / 2 + sin * nh / 2,
                  d=sin, e=cos, f=h / 2 - sin * nw / 2 - cos * nh / 2)
    out = image.transform((nw, nh), Image.Transform.AFFINE, (back.a, back.b, back.c, back.d, back.e, back.f),
                          resample=Image.Resampling.BILINEAR, fillcolor=fill)
    return out, back


MAX_SKEW = 5.0  # degrees searched either way
MIN_SKEW = 0.3  # below this, rotating costs more (resampling blur) than it gains
_SKEW_WIDTH = 1000  # px: the binarised copy the search runs on


def _profile_score(mask_img: Image.Image, degrees: float) -> float:
    """Sharpness of the row profile of a binary image rotated by `degrees`: sum of squared row-to-row changes."""
    rotated = mask_img.rotate(degrees, resample=Image.Resampling.NEAREST, expand=True, fillcolor=0)
    rows = np.asarray(rotated, dtype=np.float64).sum(axis=1)
    return float(np.sum(np.diff(rows) ** 2))


def estimate_skew(gray: Image.Image) -> float:
    """The counter-clockwise rotation in degrees (within ±5) that makes text lines horizontal, or 0.0.

    Projection-profile search on a binarised copy ≤1000 px wide: rows of a straight page alternate sharply between
    ink and paper, so the angle that maximises the row-to-row variation wins. Coarse 0.5° steps, then 0.1° steps.
    """
    small = gray.copy()
    if small.width > _SKEW_WIDTH:
        small = small.resize((_SKEW_WIDTH, max(1, round(small.height * _SKEW_WIDTH / small.width))),
                             Image.Resampling.BOX)
    mask = ink_mask(small)
    if mask.mean() < 0.002:  # blank: nothing to align
        return 0.0
    mask_img = Image.fromarray((mask * 255).astype(np.uint8), "L")
    scores = {a: _profile_score(mask_img, a) for a in np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5).round(2).tolist()}
    best = max(scores, key=lambda a: scores[a])
    for a in np.arange(best - 0.4, best + 0.41, 0.1).round(2).tolist():
        if -MAX_SKEW <= a <= MAX_SKEW and a not in scores:
            scores[a] = _profile_score(mask_img, a)
    best = max(scores, key=lambda a: scores[a])
    base = scores.get(0.0) or _profile_score(mask_img, 0.0)
    # Demand a clear win over "no rotation": flat profiles (photos, tables of dots) give noisy maxima.
    if abs(best) < MIN_SKEW or scores[best] < base * 1.1:
        return 0.0
    return float(best)
