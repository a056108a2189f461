"""Page images for the review app: every page of a stored original as a PNG, with its size in points and pixels.

Rendering reuses the readers' own decoders (`extractors.pdf_text.render_page` for PDFs, `extractors.imaging` for
rasters), so a page is shown exactly as it was read, with the same caps — and in the same bounded reader child
(`flows.isolation.run_bounded`: memory cap, wall-clock kill, private temp folder, plain data back), never in the
API process: a decompression bomb or a huge embedded image costs the child its memory cap, not the review app its
memory (docs/THREAT-MODEL.md B5, B8). Evidence boxes in the report are in PDF
points from the top-left of the page (docs/CONVENTIONS.md "Data types"); `PageImage.scale_x`/`scale_y` are the points →
pixels factors of the page shown, used by the overlay.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from PIL import Image

from extractors import imaging, pdf_text
from flows.isolation import Bounds, run_bounded
from flows.review.pixels import encode_png
from pipeline.errors import DocverifyError, UnreadableFile
from pipeline.intake import sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import MediaType

VIEW_DPI: Final = 110
"""Resolution of the page images shown to coordinators (pixels per inch): readable, and small enough to load."""
MAX_VIEW_SIDE_PX: Final = 1800
CACHE_DOCUMENTS: Final = 8
"""Rendered documents kept in memory (by sha256) so the page and its images do not render twice."""
RENDER_BOUNDS: Final = Bounds(per_page_s=10.0, margin_s=20.0, cap_s=300.0, count_s=30.0)
"""Bounds of the reader child that renders for the review app: the readers' memory cap (1.5 GiB); rendering at
VIEW_DPI needs no OCR, so far less time per page than reading."""


@dataclass(frozen=True, slots=True)
class PageImage:
    """One page as shown: the PNG, its size in pixels and in points (1/72 inch)."""

    number: int  # 1-based, as in the report
    png: bytes
    width_px: int
    height_px: int
    width_pt: float
    height_pt: float

    @property
    def scale_x(self) -> float:
        """Pixels per point across (a raster's x and y resolutions may differ)."""
        return self.width_px / self.width_pt

    @property
    def scale_y(self) -> float:
        """Pixels per point down."""
        return self.height_px / self.height_pt


@dataclass(frozen=True, slots=True)
class RenderedPages:
    """What the rendering child sends back (as plain data, `flows.wire`)."""

    pages: tuple[PageImage, ...]


class Unrenderable(Exception):
    """The original is not a PDF or raster image (e.g. C-CDA XML), or could not be rendered. `code` is the error
    code of the failure (`resource_limit`, `processing_timeout`, `unreadable_file`, …), or `not_a_page_format`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_cache: OrderedDict[str, tuple[PageImage, ...] | str] = OrderedDict()  # pages, or the code of a failed render
_cache_lock = threading.Lock()
_rendering: dict[str, threading.Lock] = {}  # one render per document at a time: its other requests wait for it


def render_pages(data: bytes, sha256: str, limits: Limits = DEFAULT_LIMITS, *,
                 bounds: Bounds = RENDER_BOUNDS) -> tuple[PageImage, ...]:
    """Every page of an original as a PNG, rendered in a bounded reader child; cached by sha256, failures too (a
    hostile original costs one bounded render, not one per page request). Raises Unrenderable."""
    with _cache_lock:
        if sha256 in _cache:
            _cache.move_to_end(sha256)
            return _cached(_cache[sha256])
        lock = _rendering.setdefault(sha256, threading.Lock())
    with lock:
        with _cache_lock:
            if sha256 in _cache:  # rendered by the request this one waited for
                return _cached(_cache[sha256])
        result: tuple[PageImage, ...] | str
        try:
            result = _render_bounded(data, limits, bounds)
        except Unrenderable as e:
            result = e.code
        except BaseException:
            with _cache_lock:
                _rendering.pop(sha256, None)
            raise
        with _cache_lock:
            _cache[sha256] = result
            while len(_cache) > CACHE_DOCUMENTS:
                _cache.popitem(last=False)
            _rendering.pop(sha256, None)
    return _cached(result)


def _cached(entry: tuple[PageImage, ...] | str) -> tuple[PageImage, ...]:
    if isinstance(entry, str):
        raise Unrenderable(entry)
    return entry


def _render_bounded(data: bytes, limits: Limits, bounds: Bounds) -> tuple[PageImage, ...]:
    media_type = sniff(data)
    if media_type is None or media_type.is_structured:
        raise Unrenderable("not_a_page_format")
    try:
        return run_bounded(render_job, RenderedPages, data, media_type, limits, bounds=bounds).pages
    except DocverifyError as e:  # a reader error, the memory cap or the wall clock: the report can still be shown
        raise Unrenderable(e.code) from None


def render_job(data: bytes, limits: Limits) -> RenderedPages:
    """In the reader child: every page rendered and encoded (`flows.isolation.Job`)."""
    return RenderedPages(_render(data, limits))


def _render(data: bytes, limits: Limits) -> tuple[PageImage, ...]:
    """In the reader child: render every page. A decoder's own error reaches the parent as its code (the child's
    allow-list), a memory blow-up as `resource_limit`."""
    media_type = sniff(data)
    if media_type is MediaType.PDF:
        view = dataclasses.replace(limits, render_dpi=VIEW_DPI)
        count = pdf_text.count_pages(data, limits)
        pages = []
        for index in range(count):
            rendered = pdf_text.render_page(data, index, view)
            pages.append(_page(index + 1, rendered.image, rendered.width_pt, rendered.height_pt))
        return tuple(pages)
    if media_type is not None and not media_type.is_structured:
        pages = []
        for number, frame in enumerate(imaging.iter_frames(data, media_type, limits), start=1):
            # The same points frame as the OCR reader: pt = px * 72 / dpi (extractors/ocr.py pixels_to_points).
            width_pt = frame.image.width * 72.0 / frame.dpi_x
            height_pt = frame.image.height * 72.0 / frame.dpi_y
            pages.append(_page(number, frame.image, width_pt, height_pt))
        return tuple(pages)
    raise UnreadableFile("no page images for this type")


def _page(number: int, image: Image.Image, width_pt: float, height_pt: float) -> PageImage:
    """Downscale to the view size and encode as PNG."""
    image = image.convert("L") if image.mode not in ("L", "RGB") else image
    factor = min(1.0, MAX_VIEW_SIDE_PX / max(image.width, image.height),
                 VIEW_DPI / 72.0 * width_pt / image.width)
    if factor < 1.0:
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                             Image.Resampling.LANCZOS)
    # Pixels only: the upload's ICC profile, EXIF, XMP or text would otherwise ride along (flows/review/pixels.py).
    return PageImage(number=number, png=encode_png(image), width_px=image.width, height_px=image.height,
                     width_pt=width_pt, height_pt=height_pt)
