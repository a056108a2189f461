"""Safe decoding of raster uploads into upright frames, each frame's size checked from its header before decoding."""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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
class Frame:
    """One decoded, upright (EXIF-transposed) frame of an image upload and its resolution in pixels per inch."""

    image: Image.Image
    dpi_x: float
    dpi_y: float
    dpi_assumed: bool  # True when the file had no plausible DPI and SCREEN_DPI was used


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
    # MemoryError is not translated: in the reader child it is the memory cap (resource_limit), not a broken file.
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error) as e:
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
