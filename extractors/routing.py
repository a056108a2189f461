"""Bytes → `Document`: the one entry point of the readers. Decides, page by page, text layer or OCR, and says why."""

from __future__ import annotations

import dataclasses
import math

from extractors import ccda, imaging, pdf_text
from extractors.ocr import OcrEngine, TesseractEngine, read_image
from pipeline.errors import NoReadableText, OcrTimeout, TooMuchText, UnreadableFile
from pipeline.intake import Upload, sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import BBox, Document, MediaType, Page, Source, Word, page_chars


def read_document(data: bytes, upload: Upload, limits: Limits = DEFAULT_LIMITS, *,
                  engine: OcrEngine | None = None) -> Document:
    """Read an accepted upload into a `Document`: text layer where usable, OCR elsewhere.

    `engine` is the OCR seam (default: tesseract). Raises UnreadableFile, PdfEncrypted, TooManyPages, ImageTooLarge,
    TooManyFrames, NoReadableText, TooMuchText (more text than NLP may parse), OcrTimeout, OcrEngineError; for
    C-CDA / XDM uploads (coded, never OCR'd) see
    `extractors.ccda.read_structured`.
    """
    if sniff(data) is not upload.media_type:
        raise UnreadableFile(f"bytes do not match the accepted type {upload.media_type.value}")
    if upload.media_type.is_structured:
        return ccda.read_structured(data, upload, limits)
    ocr = engine if engine is not None else TesseractEngine()
    flags: tuple[str, ...] = ()
    if upload.media_type is MediaType.PDF:
        pages, active = _read_pdf(data, ocr, limits)
        flags = (pdf_text.ACTIVE_CONTENT,) if active else ()
    else:
        pages = _read_image(data, upload.media_type, ocr, limits)
    if pages and all(page.unread and not page.words for page in pages):
        raise OcrTimeout(f"{len(pages)} pages, every one timed out")  # nothing read: a failure, not a report
    if not any(page.words for page in pages):
        raise NoReadableText(f"{len(pages)} pages, 0 words")
    return Document(sha256=upload.sha256, media_type=upload.media_type, size_bytes=upload.size_bytes,
                    pages=tuple(pages), flags=flags)


def _read_pdf(data: bytes, engine: OcrEngine, limits: Limits) -> tuple[list[Page], bool]:
    """Pages of a PDF and whether it carries active content."""
    pdf_text.count_pages(data, limits)  # encryption and the page cap, before pdfminer parses anything
    pages: list[Page] = []
    chars = 0
    with pdf_text.TextLayerReader(data) as reader:
        for layer in reader.pages():
            if layer.verdict.usable:
                page = Page(number=layer.number, width=layer.width, height=layer.height, source=Source.TEXT_LAYER,
                            reason=layer.verdict.reason, words=layer.words)
                if scans := pdf_text.embedded_scans(layer):
                    page = _with_scans_read(page, scans, data, engine, limits)
                pages.append(page)
                chars = _counted(page, chars, limits)
                continue
            rendered = pdf_text.render_page(data, layer.number - 1, limits)
            head = (f"ocr: {layer.verdict.reason}", f"rendered at {rendered.dpi:.0f} dpi")
            try:
                result = read_image(rendered.image, rendered.dpi, rendered.dpi, engine, limits)
            except OcrTimeout as e:
                pages.append(_unread(layer.number, rendered.width_pt, rendered.height_pt, head, e, limits))
                continue
            reason = "; ".join((*head, *result.steps))
            pages.append(Page(number=layer.number, width=rendered.width_pt, height=rendered.height_pt,
                              source=Source.OCR, reason=reason, words=result.words))
            chars = _counted(pages[-1], chars, limits)
        active = reader.active_content
    return pages, active


# An OCR word is the text layer's own when this share of the smaller of the two boxes overlaps a text-layer word
# (the scan and the text layer print the same words at the same place: OCRmyPDF's --redo-ocr keeps one of them).
SAME_WORD_OVERLAP = 0.5


def _with_scans_read(page: Page, scans: tuple[BBox, ...], data: bytes, engine: OcrEngine, limits: Limits) -> Page:
    """A text-layer page with the words of its large embedded images (`pdf_text.embedded_scans`) read by OCR and
    added after its own lines, each labelled `Source.OCR`; words the text layer already has at the same place are
    left out. An image whose OCR times out leaves the page marked unread (its text layer is kept), so a missing field
    sends the document to review (docs/POLICY.md "Status rule")."""
    rendered = pdf_text.render_page(data, page.number - 1, limits)
    scale = rendered.dpi / 72.0
    words = list(page.words)
    next_line = (max(w.line for w in words) + 1) if words else 0
    notes: list[str] = []
    unread: str | None = None
    for box in scans:
        crop = rendered.image.crop((int(box.x0 * scale), int(box.top * scale), math.ceil(box.x1 * scale),
                                    math.ceil(box.bottom * scale)))
        share = (box.x1 - box.x0) * (box.bottom - box.top) / (page.width * page.height)
        try:
            result = read_image(crop, rendered.dpi, rendered.dpi, engine, limits)
        except OcrTimeout as e:
            unread = e.code
            notes.append(f"embedded image ({share:.0%} of the page) not read: ocr timed out "
                         f"(> {limits.ocr_timeout_s:g} s)")
            continue
        dx, dy = int(box.x0 * scale) / scale, int(box.top * scale) / scale  # the crop's corner, in points
        added = 0
        first_line = next_line
        for w in result.words:
            placed = BBox(w.bbox.x0 + dx, w.bbox.top + dy, w.bbox.x1 + dx, w.bbox.bottom + dy)
            if any(_overlap(placed, own.bbox) >= SAME_WORD_OVERLAP for own in page.words):
                continue
            words.append(Word(w.text, placed, first_line + w.line, w.confidence, Source.OCR))
            next_line = max(next_line, first_line + w.line + 1)
            added += 1
        notes.append(f"ocr of an embedded image ({share:.0%} of the page): {added} words added"
                     + (f" ({len(result.words) - added} already in the text layer)" if added < len(result.words)
                        else ""))
    return dataclasses.replace(page, words=tuple(words), reason="; ".join((page.reason, *notes)), unread=unread)


def _overlap(a: BBox, b: BBox) -> float:
    """The area the two boxes share, as a share of the smaller box (0..1)."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.bottom, b.bottom) - max(a.top, b.top)
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a.x1 - a.x0) * (a.bottom - a.top), (b.x1 - b.x0) * (b.bottom - b.top))
    return w * h / smaller if smaller > 0 else 0.0


def _counted(page: Page, total: int, limits: Limits) -> int:
    """`total` characters of text so far plus `page`'s (~ the linearised text of pipeline.types: words and their
    separators). Raises TooMuchText when the page, or the pages so far, hold more than the caps: checked as each page
    is read, so a hostile file stops early and no NLP ever sees more than a bounded amount."""
    chars = page_chars(page)
    if chars > limits.max_page_chars:
        raise TooMuchText(f"page {page.number}: {chars} characters of text > {limits.max_page_chars}")
    if total + chars > limits.max_text_chars:
        raise TooMuchText(f"{total + chars} characters of text > {limits.max_text_chars}")
    return total + chars


def _read_image(data: bytes, media_type: MediaType, engine: OcrEngine, limits: Limits) -> list[Page]:
    """Pages of a raster upload: one per frame, all OCR'd."""
    pages: list[Page] = []
    chars = 0
    for number, frame in enumerate(imaging.iter_frames(data, media_type, limits), start=1):
        dpi_note = f"{frame.dpi_x:.0f} dpi" + (" (assumed)" if frame.dpi_assumed else "")
        try:
            result = read_image(frame.image, frame.dpi_x, frame.dpi_y, engine, limits)
        except OcrTimeout as e:
            width, height = frame.image.width * 72.0 / frame.dpi_x, frame.image.height * 72.0 / frame.dpi_y  # points
            pages.append(_unread(number, width, height, ("ocr: image", dpi_note), e, limits))
            continue
        reason = "; ".join(("ocr: image", dpi_note, *result.steps))
        pages.append(Page(number=number, width=result.width, height=result.height, source=Source.OCR,
                          reason=reason, words=result.words))
        chars = _counted(pages[-1], chars, limits)
    return pages


def _unread(number: int, width: float, height: float, head: tuple[str, ...], error: OcrTimeout,
            limits: Limits) -> Page:
    """A page whose OCR ran out of time: kept without words, its error code and the bound in its reason, so the
    other pages are still read and the report says which page was not (docs/POLICY.md "Status rule")."""
    return Page(number=number, width=width, height=height, source=Source.OCR,
                reason="; ".join((*head, f"not read: ocr timed out (> {limits.ocr_timeout_s:g} s)")), words=(),
                unread=error.code)
