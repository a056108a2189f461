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
from PIL import Image, ImageOps, UnidentifiedImageError

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
