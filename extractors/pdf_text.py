"""PDFs: page count and rendering with pypdfium2 (under one lock), text layer with pdfplumber, active-content triage.

pdfplumber's coordinates are already the project frame (points, top-left origin: x0, top, x1, bottom); we only
subtract the page box origin so that (0, 0) is the page's top-left corner even when its MediaBox does not start at 0.
Nothing in a PDF is ever executed: active content is only looked for and flagged.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSLiteral
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException
from PIL import Image

from pipeline.errors import PdfEncrypted, TooManyPages, UnreadableFile
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import BBox, Word

# pdfminer logs every token it parses at DEBUG — document text, i.e. PHI — so any DEBUG logging configuration
# (ours, Prefect's, a developer's) would copy patient data into logs. Cap it at WARNING where it is created.
# Regression: tests/test_phi.py (canary found in pdfminer.psparser DEBUG records).
for _logger_name in ("pdfminer", "pdfplumber"):
    logging.getLogger(_logger_name).setLevel(logging.WARNING)

# pypdfium2 is not thread-safe (pypdfium2#303, #479: crashes or silently wrong text under concurrency). Every pdfium
# call in this process goes through this lock, including closing documents.
PDFIUM_LOCK = threading.Lock()

ACTIVE_CONTENT = "active_content"


# --------------------------------------------------------------------------------------------------------------------
# pdfium: count and render
# --------------------------------------------------------------------------------------------------------------------

def _open_pdfium(data: bytes) -> pdfium.PdfDocument:
    """Open with pdfium (caller holds the lock). Raises PdfEncrypted, UnreadableFile."""
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise PdfEncrypted(f"pdfium error code {e.err_code}") from e
        raise UnreadableFile(f"pdfium error code {getattr(e, 'err_code', None)}") from e


def count_pages(data: bytes, limits: Limits = DEFAULT_LIMITS) -> int:
    """Number of pages, checked against max_pdf_pages before any page is parsed.

    Raises PdfEncrypted, UnreadableFile, TooManyPages.
    """
    with PDFIUM_LOCK:
        pdf = _open_pdfium(data)
        try:
            n = len(pdf)
        finally:
            pdf.close()
    if n <= 0:
        raise UnreadableFile("0 pages")
    if n > limits.max_pdf_pages:
        raise TooManyPages(f"{n} pages > {limits.max_pdf_pages}")
    return n


def render_scale(width_pt: float, height_pt: float, limits: Limits) -> float:
    """Pixels per point for rendering: render_dpi/72, lowered so the bitmap stays within max_pixels and max_side_px."""
    if width_pt <= 0 or height_pt <= 0:
        raise UnreadableFile(f"page size {width_pt:.0f}x{height_pt:.0f} pt")
    s = limits.render_dpi / 72.0
    # pdfium rounds each side up, hence the 0.999 margin and the -1 px below.
    s = min(s, 0.999 * math.sqrt(limits.max_pixels / (width_pt * height_pt)))
    s = min(s, (limits.max_side_px - 1) / max(width_pt, height_pt))
    return s


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A rendered page (grayscale) and its resolution; pixels map to points by 72 / dpi."""

    image: Image.Image
    dpi: float
    width_pt: float
    height_pt: float


def render_page(data: bytes, index: int, limits: Limits = DEFAULT_LIMITS) -> RenderedPage:
    """Render page `index` (0-based) to grayscale at render_dpi, capped by max_pixels. Raises UnreadableFile,
    PdfEncrypted."""
    with PDFIUM_LOCK:
        pdf = _open_pdfium(data)
        try:
            page = pdf[index]
            try:
                w, h = page.get_size()  # points, /Rotate applied like the render
                s = render_scale(w, h, limits)
                bitmap = page.render(scale=s, grayscale=True)
                try:
                    image = bitmap.to_pil().copy()  # copy: the bitmap's buffer is freed below
                finally:
                    bitmap.close()
            finally:
                page.close()
        except pdfium.PdfiumError as e:
            raise UnreadableFile(f"pdfium could not render page {index + 1}") from e
        finally:
            pdf.close()
    return RenderedPage(image=image, dpi=72.0 * s, width_pt=float(w), height_pt=float(h))


def _inverse(m: tuple[float, float, float, float, float, float]) -> tuple[float, float, float, float, float, float]:
    a, b, c, d, e, f = m
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return ia, ib, ic, id_, -(e * ia + f * ic), -(e * ib + f * id_)


def _page_matrix(rotation: int, box: tuple[float, float, float, float]) -> tuple[float, float, float, float, float,
                                                                                 float]:
    """The matrix pdfium gives a page captured as a form XObject (CPDF_Page's page matrix: the crop box moved to the
    origin and the page's /Rotate applied)."""
    left, bottom, right, top = box
    matrices = {0: (1.0, 0.0, 0.0, 1.0, -left, -bottom), 90: (0.0, -1.0, 1.0, 0.0, -bottom, right),
                180: (-1.0, 0.0, 0.0, -1.0, right, top), 270: (0.0, 1.0, -1.0, 0.0, top, -left)}
    if rotation not in matrices:
        raise UnreadableFile(f"page rotation {rotation}")
    return matrices[rotation]


def pages_only(data: bytes, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A new PDF holding `data`'s pages and nothing else: each page's content and resources drawn as a form XObject
    on a new page with the same media box, crop box and /Rotate, so text, positions and pixels read as before.

    Left behind with the old catalog and page dictionaries: the Info dictionary (/Author, /Title, /Subject, …), XMP
    metadata of the document and of its pages, /PieceInfo, outlines, annotations and form fields, attachments,
    JavaScript and other actions, structure tags. Kept: what the page draws, including metadata streams of the
    images and fonts it draws (docs/THREAT-MODEL.md "Holes closed"). The new document's Info names pdfium and the
    time of the copy only. Raises PdfEncrypted, UnreadableFile, TooManyPages.
    """
    count_pages(data, limits)
    with PDFIUM_LOCK:
        src = _open_pdfium(data)
        new = pdfium.PdfDocument.new()
        try:
            for index in range(len(src)):
                page = src[index]
                try:
                    mediabox, cropbox, rotation = page.get_mediabox(), page.get_cropbox(), page.get_rotation()
                    matrix = _page_matrix(rotation, page.get_bbox())
                finally:
                    page.close()
                form = src.page_as_xobject(index, new)
                target = new.new_page(mediabox[2] - mediabox[0], mediabox[3] - mediabox[1])
                target.set_mediabox(*mediabox)
                target.set_cropbox(*cropbox)
                target.set_rotation(rotation)
                drawn = form.as_pageobject()
                drawn.set_matrix(pdfium.PdfMatrix(*_inverse(matrix)))  # undo the capture's matrix: same coordinates
                target.insert_obj(drawn)
                target.gen_content()
                target.close()
                form.close()
            out = io.BytesIO()
            new.save(out)
        except pdfium.PdfiumError as e:
            raise UnreadableFile("pdfium could not copy the pages") from e
        finally:
            new.close()
            src.close()
    return out.getvalue()


# --------------------------------------------------------------------------------------------------------------------
# Text layer
# --------------------------------------------------------------------------------------------------------------------

MIN_ALNUM = 20  # fewer letters/digits than this on a page: treat as no text layer (stamps, page numbers)
MAX_GARBLED_SHARE = 0.10  # more (cid:…)/U+FFFD/private-use/control glyphs than this: the font has no usable mapping
SPARSE_OVER_IMAGE_ALNUM = 200  # a page mostly covered by an image with fewer chars than this is a scan + a stamp
IMAGE_COVER_SHARE = 0.5

_CID = re.compile(r"\(cid:\d+\)")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a page's text layer is used, and why (goes into Page.reason)."""

    usable: bool
    reason: str


def judge_text_layer(texts: list[str], image_cover: float = 0.0) -> Verdict:
    """Decide whether a page's text layer is usable.

    Rule: usable iff it has ≥ MIN_ALNUM alphanumeric characters, ≤ MAX_GARBLED_SHARE of its glyphs are garbled
    ((cid:N) placeholders, U+FFFD, private-use or control characters: what fonts without a Unicode map produce), and
    it is not a few words over a page-sized image (a scan with a digital fax header or page stamp: OCR the scan).
    """
    joined = " ".join(texts)
    cids = len(_CID.findall(joined))
    rest = _CID.sub("", joined)
    glyphs = [ch for ch in rest if not ch.isspace()]
    bad = sum(1 for ch in glyphs if ch == "\ufffd" or unicodedata.category(ch) in ("Co", "Cc", "Cf", "Cn", "Cs"))
    alnum = sum(1 for ch in glyphs if ch.isalnum())
    total = len(glyphs) + cids
    if total == 0:
        return Verdict(False, "no text layer")
    garbled = (cids + bad) / total
    if garbled > MAX_GARBLED_SHARE:
        kind = "(cid)" if cids >= bad else "unmapped"
        return Verdict(False, f"text layer garbled: {garbled:.0%} {kind} glyphs")
    if alnum < MIN_ALNUM:
        return Verdict(False, f"text layer too short: {alnum} chars")
    if image_cover >= IMAGE_COVER_SHARE and alnum < SPARSE_OVER_IMAGE_ALNUM:
        return Verdict(False, f"text layer sparse over page image: {alnum} chars, image covers {image_cover:.0%}")
    return Verdict(True, f"text layer: {alnum} chars")


def group_lines(raw: list[dict[str, Any]], origin_x: float = 0.0, origin_top: float = 0.0) -> tuple[Word, ...]:
    """pdfplumber words → `Word`s grouped into visual lines, lines top→bottom, words left→right.

    A word joins the current line when its `top` lies within half the page's median word height of the line's first
    word (the usual baseline jitter of mixed fonts is well below that; the next line is a full line-height away).
    """
    items = [w for w in raw if str(w.get("text", "")).strip()]
    if not items:
        return ()
    heights = sorted(float(w["bottom"]) - float(w["top"]) for w in items)
    tol = max(1.0, 0.5 * heights[len(heights) // 2])
    items.sort(key=lambda w: (float(w["top"]), float(w["x0"])))
    lines: list[list[dict[str, Any]]] = []
    for w in items:
        if lines and float(w["top"]) - float(lines[-1][0]["top"]) <= tol:
            lines[-1].append(w)
        else:
            lines.append([w])
    out: list[Word] = []
    for index, line in enumerate(lines):
        for w in sorted(line, key=lambda w: float(w["x0"])):
            box = BBox(float(w["x0"]) - origin_x, float(w["top"]) - origin_top, float(w["x1"]) - origin_x,
                       float(w["bottom"]) - origin_top)
            out.append(Word(text=str(w["text"]), bbox=box, line=index, confidence=1.0))
    return tuple(out)


def _image_cover(page: Any) -> float:
    """Share of the page area covered by its largest image (0..1)."""
    area = float(page.width) * float(page.height)
    if area <= 0:
        return 0.0
    best = 0.0
    for im in page.images:
        w = max(0.0, min(float(im["x1"]), float(page.bbox[2])) - max(float(im["x0"]), float(page.bbox[0])))
        h = max(0.0, min(float(im["bottom"]), float(page.bbox[3])) - max(float(im["top"]), float(page.bbox[1])))
        best = max(best, w * h / area)
    return min(best, 1.0)


def _image_boxes(page: Any, origin_x: float, origin_top: float) -> tuple[BBox, ...]:
    """The boxes of the page's images, clipped to the page, in the project frame; empty ones left out."""
    x0, top, x1, bottom = (float(v) for v in page.bbox)
    out: list[BBox] = []
    for im in page.images:
        box = BBox(max(float(im["x0"]), x0) - origin_x, max(float(im["top"]), top) - origin_top,
                   min(float(im["x1"]), x1) - origin_x, min(float(im["bottom"]), bottom) - origin_top)
        if box.x1 > box.x0 and box.bottom > box.top:
            out.append(box)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TextLayerPage:
    """What the text layer of one page holds, and whether to use it."""

    number: int  # 1-based
    width: float  # points
    height: float  # points
    words: tuple[Word, ...]
    verdict: Verdict
    images: tuple[BBox, ...] = ()  # where the page draws images (points, top-left origin, clipped to the page)


# A picture this big on a page whose text layer is used is read by OCR too (a scanned letter pasted into a generated
# export): at least this share of the page, and holding fewer text-layer words than `TRANSCRIBED_WORDS_PER_SQIN` per
# square inch (a searchable scan's invisible OCR layer covers its image with words: already transcribed).
EMBEDDED_SCAN_SHARE = 0.2
TRANSCRIBED_WORDS_PER_SQIN = 2.0


def embedded_scans(layer: TextLayerPage) -> tuple[BBox, ...]:
    """The image regions of a usable text-layer page to OCR: large (`EMBEDDED_SCAN_SHARE` of the page or more) and
    not already transcribed by the text layer (few of its words inside), largest first."""
    area = layer.width * layer.height
    if area <= 0:
        return ()
    out: list[BBox] = []
    for box in sorted(layer.images, key=_area, reverse=True):
        if _area(box) < EMBEDDED_SCAN_SHARE * area or any(_inside(box, b) for b in out):
            continue
        inside = sum(1 for w in layer.words if _inside(w.bbox, box))
        if inside < TRANSCRIBED_WORDS_PER_SQIN * _area(box) / (72.0 * 72.0):
            out.append(box)
    return tuple(out)


def _area(box: BBox) -> float:
    return max(0.0, box.x1 - box.x0) * max(0.0, box.bottom - box.top)


def _inside(inner: BBox, outer: BBox) -> bool:
    """True when the centre of `inner` lies in `outer`."""
    cx, cy = (inner.x0 + inner.x1) / 2, (inner.top + inner.bottom) / 2
    return outer.x0 <= cx <= outer.x1 and outer.top <= cy <= outer.bottom


# What pdfminer/pdfplumber raise on malformed input, translated at this boundary. Found by fuzzing
# (tests/hostile/regressions/): LookupError (IndexError on a MediaBox of three numbers) and pdfplumber's own
# MalformedPDFException (a MediaBox holding a name); ZeroDivisionError and OverflowError (degenerate matrices).
_PARSER_ERRORS = (RecursionError, ValueError, TypeError, LookupError, AttributeError, AssertionError,
                  ZeroDivisionError, OverflowError, MalformedPDFException)


@dataclass
class TextLayerReader:
    """Iterates the text layer page by page (each pdfplumber page closed after use) and collects active-content hits.

    Use as a context manager; `pages()` raises PdfEncrypted, UnreadableFile.
    """

    data: bytes
    active_content: bool = False

    def __post_init__(self) -> None:
        self._pdf: Any = None

    def __enter__(self) -> TextLayerReader:
        try:
            self._pdf = pdfplumber.open(io.BytesIO(self.data))
        except PdfminerException as e:
            raise _translate_pdfminer(e) from e
        except _PARSER_ERRORS as e:
            raise UnreadableFile(f"pdfminer open failed: {type(e).__name__}") from e
        self.active_content = _raw_active_content(self.data) or _catalog_active_content(self._pdf.doc)
        return self

    def __exit__(self, *_: object) -> None:
        if self._pdf is not None:
            # pdfplumber's close() walks the page tree again: on a broken tree it raises the parse error once more,
            # which replaced the translated error on its way out (found by fuzzing:
            # tests/hostile/regressions/pdf-broken-parent-ref.pdf). The document is dropped either way.
            with contextlib.suppress(Exception):
                self._pdf.close()

    def pages(self) -> Iterator[TextLayerPage]:
        """Each page's words and verdict, in order."""
        try:
            pages = self._pdf.pages
        except PdfminerException as e:
            raise _translate_pdfminer(e) from e
        except _PARSER_ERRORS as e:
            raise UnreadableFile(f"pdfminer page tree failed: {type(e).__name__}") from e
        for page in pages:
            try:
                if _page_active_content(page.page_obj.attrs):
                    self.active_content = True
                # keep_blank_chars=False, use_text_flow=False, no extra_attrs: plain visual words.
                raw = page.extract_words(keep_blank_chars=False, use_text_flow=False)
                cover = _image_cover(page)
                x0, top = float(page.bbox[0]), float(page.bbox[1])
                words = group_lines(raw, x0, top)
                verdict = judge_text_layer([str(w["text"]) for w in raw], cover)
                result = TextLayerPage(page.page_number, float(page.width), float(page.height), words, verdict,
                                       _image_boxes(page, x0, top))
            except PdfminerException as e:
                raise _translate_pdfminer(e) from e
            except _PARSER_ERRORS as e:
                # A page pdfminer cannot parse may still render: let routing OCR it.
                result = TextLayerPage(page.page_number, float(page.width), float(page.height), (),
                                       Verdict(False, f"text layer unreadable ({type(e).__name__})"))
            finally:
                page.close()  # drop the page's layout cache: memory stays flat over long documents
            yield result


def _translate_pdfminer(e: PdfminerException) -> PdfEncrypted | UnreadableFile:
    """pdfplumber wraps pdfminer's errors: PDFPasswordIncorrect and other encryption errors mean a locked file."""
    inner = e.args[0] if e.args else None
    if isinstance(inner, PDFEncryptionError) or isinstance(e.__cause__, PDFEncryptionError):
        return PdfEncrypted(f"pdfminer {type(inner).__name__}")
    return UnreadableFile(f"pdfminer {type(inner).__name__}")


# --------------------------------------------------------------------------------------------------------------------
# Active content (PDFiD's keywords), looked for and never acted on
# --------------------------------------------------------------------------------------------------------------------

# /OpenAction is left out of the raw scan: nearly every generator writes "/OpenAction [page /FitH null]" (a view
# destination, harmless); the catalog check below flags it only when it is an action dictionary.
_ACTIVE_NAMES = (b"JavaScript", b"JS", b"AA", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"XFA", b"RichMedia")
_NAME = re.compile(rb"/([^\s()<>\[\]{}/%]+)")
_RISKY_ACTIONS = {"JavaScript", "Launch", "ImportData", "SubmitForm", "Rendition", "RichMediaExecute", "GoToE"}
_RISKY_ANNOTS = {"RichMedia", "FileAttachment", "Screen", "Movie", "Sound", "3D"}


def _decode_name(raw: bytes) -> bytes:
    """A PDF name with its #xx escapes decoded (/J#61vaScript is /JavaScript)."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def _raw_active_content(data: bytes) -> bool:
    """True when an active-content key appears anywhere in the file's uncompressed bytes (PDFiD style)."""
    for m in _NAME.finditer(data):
        name = m.group(1)
        if b"#" in name:
            name = _decode_name(name)
        if name in _ACTIVE_NAMES:
            return True
    return False


def _name(obj: Any) -> str:
    """The name string of a PSLiteral (or '' for anything else)."""
    obj = resolve1(obj)
    return str(obj.name) if isinstance(obj, PSLiteral) else ""


def _is_risky_action(action: Any) -> bool:
    """True for an action dictionary (or chain) that runs code, launches, submits or embeds."""
    action = resolve1(action)
    if not isinstance(action, dict):
        return False  # a destination array: just a view setting
    return _name(action.get("S")) in _RISKY_ACTIONS or "JS" in action


def _catalog_active_content(doc: Any) -> bool:
    """Structured check of the catalog (finds keys hidden in compressed object streams). Best effort, never raises."""
    try:
        catalog = resolve1(doc.catalog)
        if not isinstance(catalog, dict):
            return False
        if "AA" in catalog or _is_risky_action(catalog.get("OpenAction")):
            return True
        names = resolve1(catalog.get("Names"))
        if isinstance(names, dict) and ("JavaScript" in names or "EmbeddedFiles" in names):
            return True
        form = resolve1(catalog.get("AcroForm"))
        return isinstance(form, dict) and "XFA" in form
    except Exception:  # a broken catalog is the parser's problem, not a reason to flag or to fail here
        return False


def _page_active_content(attrs: dict[str, Any]) -> bool:
    """Structured check of one page: additional actions, and annotations that run, launch or embed."""
    try:
        if "AA" in attrs:
            return True
        annots = resolve1(attrs.get("Annots"))
        for ref in annots if isinstance(annots, list) else []:
            annot = resolve1(ref)
            if not isinstance(annot, dict):
                continue
            if _name(annot.get("Subtype")) in _RISKY_ANNOTS or "AA" in annot or _is_risky_action(annot.get("A")):
                return True
    except Exception:  # best effort, as above
        return False
    return False
