"""Images that leave the store through the review app carry their pixels only.

An uploaded photo or scan may carry EXIF (GPS position, the phone's make and model, the owner's name), XMP, IPTC, an
ICC profile, PNG text chunks, TIFF tags (ImageDescription, Artist, Software) and HEIF metadata (docs/THREAT-MODEL.md
"Assets"). Pillow copies much of it from image to image (`info`, `tag_v2`) and writes some of it back when saving
(the ICC profile into PNG; XMP, IPTC and the profile into TIFF). So every image the review app serves or exports is
rebuilt from its decoded pixels into a new image that has nothing else, then encoded losslessly: PNG for one frame,
TIFF (deflate; CCITT G4 for bilevel frames) for a multi-frame fax. The resolution is kept when the file had a
plausible one: the reader's page size in points depends on it.

A PDF leaves as its pages only (`extractors.pdf_text.pages_only`): a new document whose pages draw the original's
pages, without its Info dictionary (/Author, /Title, /Subject), XMP, outlines, annotations, attachments or scripts.

Decoding happens in the bounded reader child (`flows.isolation.run_bounded`), never in the exporting process.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from PIL import Image, TiffImagePlugin

from extractors import imaging, pdf_text
from flows.isolation import Bounds, run_bounded
from pipeline.errors import UnsupportedType
from pipeline.intake import sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import MediaType

_KEPT_MODES: Final = ("1", "L", "RGB", "RGBA")


def pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding `image`'s pixels and nothing else (empty `info`, no EXIF, profile or tags). Palette,
    CMYK, 16-bit and other modes become L, RGB or RGBA first."""
    if image.mode not in _KEPT_MODES:
        if image.mode in ("P", "PA", "LA") or image.mode.startswith("RGB"):
            alpha = "A" in image.getbands() or "transparency" in image.info
            image = image.convert("RGBA" if alpha else "RGB")
        elif len(image.getbands()) == 1:
            image = image.convert("L")
        else:
            image = image.convert("RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def encode_png(image: Image.Image, dpi: tuple[float, float] | None = None) -> bytes:
    """`image`'s pixels as a PNG with no metadata chunk (only pHYs, when `dpi` is given)."""
    out = io.BytesIO()
    extra = {"dpi": dpi} if dpi is not None else {}
    pixels_only(image).save(out, format="PNG", optimize=True, **extra)
    return out.getvalue()


def _encode_tiff(frames: Iterable[tuple[Image.Image, tuple[float, float] | None]]) -> bytes:
    """The frames as one multi-page TIFF, written one frame at a time (a fax may have 50 large frames)."""
    out = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(out, new=True) as tiff:
        for image, dpi in frames:
            clean = pixels_only(image)
            extra = {"dpi": dpi} if dpi is not None else {}
            clean.save(tiff, format="TIFF", compression="group4" if clean.mode == "1" else "tiff_deflate", **extra)
            tiff.newFrame()
    return out.getvalue()


EXPORT_BOUNDS: Final = Bounds(per_page_s=10.0, margin_s=20.0, cap_s=300.0, count_s=30.0)
"""Bounds of the reader child that scrubs an original for export: the readers' memory cap, no OCR."""


@dataclass(frozen=True, slots=True)
class Scrubbed:
    """An original as it may leave the store (sent back by the child as plain data, `flows.wire`)."""

    data: bytes
    media_type: MediaType


def scrub_job(data: bytes, limits: Limits) -> Scrubbed:
    """In the reader child: a PDF as its pages only, a raster image as its upright pixels (TIFF stays TIFF, every
    frame; PNG, JPEG, WEBP and HEIF become PNG of the one image the reader reads). Decodes under the readers' caps.
    Raises the readers' RejectedUpload errors (UnreadableFile, ImageTooLarge, TooManyFrames, PdfEncrypted, …)."""
    media_type = sniff(data)
    if media_type is MediaType.PDF:
        return Scrubbed(pdf_text.pages_only(data, limits), MediaType.PDF)
    if media_type is None or media_type.is_structured:
        raise UnsupportedType("not a page format")
    frames = ((f.image, None if f.dpi_assumed else (f.dpi_x, f.dpi_y))
              for f in imaging.iter_frames(data, media_type, limits))
    if media_type is MediaType.TIFF:
        return Scrubbed(_encode_tiff(frames), MediaType.TIFF)
    ((image, dpi),) = frames  # one image: iter_frames yields the first image only for these types
    return Scrubbed(encode_png(image, dpi), MediaType.PNG)


def scrubbed_original(data: bytes, limits: Limits = DEFAULT_LIMITS, *,
                      bounds: Bounds = EXPORT_BOUNDS) -> tuple[bytes, MediaType | None]:
    """An original as it may leave the store, and its media type: a PDF or raster image scrubbed in a bounded reader
    child (`scrub_job`); anything else (C-CDA, XDM: their content is the document) unchanged. Raises the
    DocverifyError of the child (the readers' RejectedUpload errors, ResourceLimit, ProcessingTimeout,
    ReaderCrashed) when it cannot be scrubbed."""
    media_type = sniff(data)
    if media_type is None or media_type.is_structured:
        return data, media_type
    scrubbed = run_bounded(scrub_job, Scrubbed, data, media_type, limits, bounds=bounds)
    return scrubbed.data, scrubbed.media_type
