"""Page images for the review app: every page of a stored original as a PNG, with its size in points and pixels.

Rendering reuses the readers' own decoders (`extractors.pdf_text.render_page` for PDFs, `extractors.imaging` for
rasters), so a page is shown exactly as it was read, with the same caps. Evidence boxes in the report are in PDF
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
from flows.review.pixels import encode_png
from pipeline.intake import sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import MediaType

VIEW_DPI: Final = 110
"""Resolution of the page images shown to coordinators (pixels per inch): readable, and small enough to load."""
MAX_VIEW_SIDE_PX: Final = 1800
CACHE_DOCUMENTS: Final = 8
"""Rendered documents kept in memory (by sha256) so the page and its images do not render twice."""


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


class Unrenderable(Exception):
    """The original is not a PDF or raster image (e.g. C-CDA XML), or could not be rendered."""


_cache: OrderedDict[str, tuple[PageImage, ...]] = OrderedDict()
_cache_lock = threading.Lock()


def render_pages(data: bytes, sha256: str, limits: Limits = DEFAULT_LIMITS) -> tuple[PageImage, ...]:
    """Every page of an original as a PNG (cached by sha256). Raises Unrenderable."""
    with _cache_lock:
        if sha256 in _cache:
            _cache.move_to_end(sha256)
            return _cache[sha256]
    pages = _render(data, limits)
    with _cache_lock:
        _cache[sha256] = pages
        while len(_cache) > CACHE_DOCUMENTS:
            _cache.popitem(last=False)
    return pages


def _render(data: bytes, limits: Limits) -> tuple[PageImage, ...]:
    media_type = sniff(data)
    try:
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
    except Exception as e:  # a reader error: the page cannot be shown, the report still can
        raise Unrenderable(type(e).__name__) from e
    raise Unrenderable("no page images for this type")


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
