"""Bytes → `Document`: the one entry point of the readers. Decides, page by page, text layer or OCR, and says why."""

from __future__ import annotations

from extractors import ccda, imaging, pdf_text
from extractors.ocr import OcrEngine, TesseractEngine, read_image
from pipeline.errors import NoReadableText, OcrTimeout, TooMuchText, UnreadableFile
from pipeline.intake import Upload, sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import Document, MediaType, Page, Source


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
    if pages and all(page.unread for page in pages):
        raise OcrTimeout(f"{len(pages)} pages, every one timed out")  # nothing read: a failure, not a report
    if not any(page.words for page in pages):
        raise NoReadableText(f"{len(pages)} pages, 0 words")
    chars = sum(len(w.text) + 1 for page in pages for w in page.words)  # ~ the linearised text (pipeline.types)
    if chars > limits.max_text_chars:
        raise TooMuchText(f"{chars} characters of text > {limits.max_text_chars}")
    return Document(sha256=upload.sha256, media_type=upload.media_type, size_bytes=upload.size_bytes,
                    pages=tuple(pages), flags=flags)


def _read_pdf(data: bytes, engine: OcrEngine, limits: Limits) -> tuple[list[Page], bool]:
    """Pages of a PDF and whether it carries active content."""
    pdf_text.count_pages(data, limits)  # encryption and the page cap, before pdfminer parses anything
    pages: list[Page] = []
    with pdf_text.TextLayerReader(data) as reader:
        for layer in reader.pages():
            if layer.verdict.usable:
                pages.append(Page(number=layer.number, width=layer.width, height=layer.height,
                                  source=Source.TEXT_LAYER, reason=layer.verdict.reason, words=layer.words))
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
        active = reader.active_content
    return pages, active


def _read_image(data: bytes, media_type: MediaType, engine: OcrEngine, limits: Limits) -> list[Page]:
    """Pages of a raster upload: one per frame, all OCR'd."""
    pages: list[Page] = []
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
    return pages


def _unread(number: int, width: float, height: float, head: tuple[str, ...], error: OcrTimeout,
            limits: Limits) -> Page:
    """A page whose OCR ran out of time: kept without words, its error code and the bound in its reason, so the
    other pages are still read and the report says which page was not (docs/POLICY.md "Status rule")."""
    return Page(number=number, width=width, height=height, source=Source.OCR,
                reason="; ".join((*head, f"not read: ocr timed out (> {limits.ocr_timeout_s:g} s)")), words=(),
                unread=error.code)
