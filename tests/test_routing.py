"""read_document end to end: every accepted format becomes a Document, page by page text layer or OCR, or a typed
error."""

from __future__ import annotations

import io
import struct
import zlib

import fakes
import pillow_heif
import pypdfium2 as pdfium
import pytest
from fakes import encode
from fpdf import FPDF
from PIL import Image

from extractors.ocr import OcrWord, Orientation
from extractors.routing import read_document
from pipeline.errors import (
    DocverifyError,
    ImageTooLarge,
    NoReadableText,
    OcrEngineError,
    OcrTimeout,
    PdfEncrypted,
    TooManyFrames,
    UnreadableFile,
)
from pipeline.intake import accept
from pipeline.limits import Limits
from pipeline.settings import Settings
from pipeline.types import Document, Source

pillow_heif.register_heif_opener()

LINES = ["Patient name: Jane Example", "Diagnosis: chronic migraine", "Physician: Robert Smith, MD"]
WORDS = {w.strip(",:") for line in LINES for w in line.split()}


def text_image(px: int = 30, size: tuple[int, int] = (800, 220), fg: int = 0, bg: int = 255) -> Image.Image:
    """A grayscale page with LINES drawn at `px` font size."""
    return fakes.text_image(LINES, px, size, fg, bg)






def text_pdf() -> bytes:
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    for i, line in enumerate(LINES):
        pdf.text(72, 100 + 30 * i, line)
    return bytes(pdf.output())


def image_only_pdf(source: bytes, dpi: int = 200) -> bytes:
    """The pages of `source` as pictures only (a scanned copy): rendered with pdfium, placed full-page by fpdf2."""
    pdf = FPDF(unit="pt", format="letter")
    doc = pdfium.PdfDocument(source)
    try:
        for i in range(len(doc)):
            img = doc[i].render(scale=dpi / 72, grayscale=True).to_pil()
            pdf.add_page()
            pdf.image(io.BytesIO(encode(img, "PNG")), x=0, y=0, w=pdf.w, h=pdf.h)
    finally:
        doc.close()
    return bytes(pdf.output())


def read(data: bytes, limits: Limits = Limits(), **kw: object) -> Document:
    return read_document(data, accept(data, "upload"), limits, **kw)  # type: ignore[arg-type]


def texts(doc: Document, page: int = 0) -> set[str]:
    return {w.text.strip(",:.") for w in doc.pages[page].words}


# ------------------------------------------------------------------------------------------------------------ PDFs

def test_when_pdf_has_a_text_layer_then_it_is_used_without_ocr() -> None:
    data = text_pdf()
    doc = read(data)
    page = doc.pages[0]
    assert (page.source, page.reason) == (Source.TEXT_LAYER, "text layer: 68 chars")
    assert texts(doc) >= WORDS
    assert (doc.sha256, doc.size_bytes, doc.flags) == (accept(data).sha256, len(data), ())


def test_when_pdf_is_image_only_then_page_is_ocrd_with_boxes_matching_the_text_layer() -> None:
    original = read(text_pdf()).pages[0]
    page = read(image_only_pdf(text_pdf())).pages[0]
    assert page.source is Source.OCR
    assert page.reason.startswith("ocr: no text layer; rendered at 300 dpi")
    assert {w.text.strip(",:") for w in page.words} >= WORDS
    assert (page.width, page.height) == (612, 792)
    for word in ("Diagnosis:", "Robert"):
        want = next(w.bbox for w in original.words if w.text == word)
        got = next(w.bbox for w in page.words if w.text == word)
        # Text layer boxes span the font's full height; OCR boxes hug the ink. Horizontally they agree closely.
        assert (got.x0, got.x1) == pytest.approx((want.x0, want.x1), abs=2.0)
        assert want.top - 1 <= got.top < got.bottom <= want.bottom + 1


def test_when_pdf_mixes_text_and_scanned_pages_then_each_page_is_decided_on_its_own() -> None:
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.text(72, 100, "Follow up visit for chronic migraine with aura")
    pdf.add_page()
    pdf.image(io.BytesIO(encode(text_image(px=40, size=(1100, 300)), "PNG")), x=0, y=0, w=pdf.w)
    doc = read(bytes(pdf.output()))
    assert [p.source for p in doc.pages] == [Source.TEXT_LAYER, Source.OCR]
    assert texts(doc, 1) >= WORDS


def test_when_pdf_has_a_user_password_then_pdf_encrypted() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(20, 20, "Patient Jane Example")
    pdf.set_encryption(owner_password="o", user_password="u")
    with pytest.raises(PdfEncrypted):
        read(bytes(pdf.output()))


def test_when_pdf_runs_javascript_on_open_then_document_is_flagged() -> None:
    data = text_pdf().replace(b"/Type /Catalog", b"/Type /Catalog /AA << >>", 1)
    assert read(data).flags == ("active_content",)


# ---------------------------------------------------------------------------------------------------------- images

@pytest.mark.parametrize(("fmt", "kw"), [("PNG", {}), ("JPEG", {"quality": 92}), ("WEBP", {"quality": 95}),
                                         ("HEIF", {"quality": 95})])
def test_when_picture_of_accepted_format_then_it_is_ocrd(fmt: str, kw: dict[str, object]) -> None:
    doc = read(encode(text_image().convert("RGB"), fmt, **kw))
    assert [p.source for p in doc.pages] == [Source.OCR]
    assert texts(doc) >= WORDS


def test_when_screenshot_is_dark_mode_png_then_it_is_inverted_and_read() -> None:
    doc = read(encode(text_image(fg=225, bg=24).convert("RGB"), "PNG"))
    assert "inverted dark mode" in doc.pages[0].reason
    assert "96 dpi (assumed)" in doc.pages[0].reason
    assert texts(doc) >= WORDS
    assert doc.pages[0].width == pytest.approx(800 * 72 / 96)


def test_when_tiff_fax_has_three_frames_then_three_pages() -> None:
    frames = [text_image(size=(800, 220)) for _ in range(3)]
    doc = read(encode(frames[0], "TIFF", save_all=True, append_images=frames[1:], dpi=(200, 200)))
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert all(texts(doc, i) >= WORDS for i in range(3))
    assert doc.pages[0].width == pytest.approx(800 * 72 / 200)


def test_when_picture_is_blank_then_no_readable_text() -> None:
    with pytest.raises(NoReadableText):
        read(encode(Image.new("RGB", (600, 400), "white"), "PNG"))


def _flood_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 625_100, 9))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize(("data", "error"), [
    (encode(text_image(), "PNG")[:400], UnreadableFile),
    (encode(text_image(), "JPEG")[:600], UnreadableFile),
    (_flood_png(), ImageTooLarge),
    (encode(Image.new("L", (8, 8)), "TIFF", save_all=True, append_images=[Image.new("L", (8, 8))] * 59),
     TooManyFrames),
])
def test_when_picture_is_hostile_then_typed_rejection(data: bytes, error: type[DocverifyError]) -> None:
    with pytest.raises(error):
        read(data)


def test_when_upload_type_does_not_match_the_bytes_then_unreadable_file() -> None:
    png = encode(text_image(), "PNG")
    with pytest.raises(UnreadableFile):
        read_document(png, accept(text_pdf()))


# --------------------------------------------------------------------------------------------------- engine seam

class CrashingEngine:
    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        raise MemoryError

    def orientation(self, image: Image.Image, timeout: float) -> Orientation | None:
        return None


class TimingOutEngine(CrashingEngine):
    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        raise OcrTimeout(f"fake > {timeout} s")


class FixedEngine(CrashingEngine):
    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        return [OcrWord("Hello", 10, 10, 50, 20, 87.0)]


@pytest.mark.parametrize(("engine", "error"), [(CrashingEngine(), OcrEngineError), (TimingOutEngine(), OcrTimeout)])
def test_when_injected_engine_fails_then_read_document_raises_typed_error(engine: object,
                                                                          error: type[DocverifyError]) -> None:
    with pytest.raises(error):
        read(encode(text_image(), "PNG"), engine=engine)


class SecondPageTimesOutEngine(FixedEngine):
    """Reads every page but the second, whose OCR times out."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        self.reads += 1
        if self.reads == 2:
            raise OcrTimeout(f"fake > {timeout} s")
        return super().read(image, timeout)


def _three_frame_tiff() -> bytes:
    buf = io.BytesIO()
    frames = [text_image() for _ in range(3)]
    frames[0].save(buf, "TIFF", dpi=(200, 200), save_all=True, append_images=frames[1:])
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["pdf", "tiff"])
def test_when_one_page_times_out_then_it_is_kept_unread_with_its_reason_and_the_others_are_read(kind: str) -> None:
    data = image_only_pdf(_three_page_pdf()) if kind == "pdf" else _three_frame_tiff()
    doc = read(data, engine=SecondPageTimesOutEngine())
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert [p.unread for p in doc.pages] == [None, "ocr_timeout", None]
    assert doc.pages[1].words == () and "not read: ocr timed out" in doc.pages[1].reason
    assert all(texts(doc, i) == {"Hello"} for i in (0, 2))
    assert doc.pages[1].width > 0 and doc.pages[1].height > 0  # the page keeps its size in points


def _three_page_pdf() -> bytes:
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=14)
    for i in range(3):
        pdf.add_page()
        pdf.text(72, 72, f"Page {i + 1}: Patient: Jane Doe")
    return bytes(pdf.output())


def test_when_every_page_times_out_then_the_read_fails_with_ocr_timeout() -> None:
    with pytest.raises(OcrTimeout):
        read(_three_frame_tiff(), engine=TimingOutEngine())


def test_when_injected_engine_reads_then_its_words_become_the_page() -> None:
    doc = read(image_only_pdf(text_pdf(), dpi=72), engine=FixedEngine())
    word = doc.pages[0].words[0]
    assert (word.text, word.confidence, word.line) == ("Hello", 0.87, 0)
    assert word.bbox.x0 == pytest.approx(10 * 72 / 300)  # rendered at 300 dpi: px × 72/300


def test_when_text_exceeds_the_character_cap_then_too_much_text_before_any_nlp() -> None:
    # regression: a text-layer PDF over spaCy's 1,000,000-character max_length crashed the parse (ValueError E088)
    from pipeline.errors import TooMuchText

    with pytest.raises(TooMuchText) as info:
        read(text_pdf(), Limits(max_text_chars=40))
    assert info.value.code == "too_much_text" and "characters" in str(info.value)
    assert read(text_pdf(), Limits(max_text_chars=10_000)).pages  # under the cap: read as usual


def test_when_text_exceeds_the_character_cap_then_check_gives_a_rejected_report() -> None:
    from flows.verify import check_bytes
    from pipeline.evaluate import Intake
    from pipeline.types import Payer

    report = check_bytes(text_pdf(), "long.pdf", Intake(None, Payer.UNKNOWN), Settings(),
                         limits=Limits(max_text_chars=40))
    assert report.status.value == "rejected" and report.error is not None and report.error.code == "too_much_text"


def test_when_a_page_holds_more_text_than_the_page_cap_then_too_much_text_names_the_page() -> None:
    from pipeline.errors import TooMuchText

    with pytest.raises(TooMuchText) as info:
        read(text_pdf(), Limits(max_page_chars=40))
    assert "page 1" in str(info.value)


# ------------------------------------------------------------------------------------ embedded scans (text layer)

TEXT_LINES = ["Visit summary for the clinic visit of March 3", "Attending physician: Robert Smith, MD",
              "Assessment: chronic migraine without aura"]
SCAN_LINES = ["Patient name: Jane Example", "Date of birth: 04/05/1971"]
SCAN_PX, SCAN_SCALE, SCAN_X, SCAN_Y = 30, 2 / 3, 36.0, 300.0  # font px; points per pixel; where the image sits


def pdf_with_scan(transcribed: bool = False) -> bytes:
    """A text-layer page carrying a pasted scan (840x300 px, 23% of the page) of SCAN_LINES. `transcribed`: the scan's
    words are also in the text layer, invisible, at the place the scan shows them (a searchable scan)."""
    from fpdf.enums import TextMode
    from PIL import ImageFont

    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for i, line in enumerate(TEXT_LINES):
        pdf.text(72, 100 + 20 * i, line)
    image = fakes.text_image(SCAN_LINES, SCAN_PX, (840, 300))
    pdf.image(io.BytesIO(encode(image, "PNG")), x=SCAN_X, y=SCAN_Y, w=840 * SCAN_SCALE, h=300 * SCAN_SCALE)
    if transcribed:
        font = ImageFont.load_default(size=SCAN_PX)
        pdf.text_mode = TextMode.INVISIBLE
        pdf.set_font("Helvetica", size=SCAN_PX * SCAN_SCALE)
        for i, line in enumerate(SCAN_LINES):
            end = 0
            for word in line.split():
                start = line.index(word, end)
                end = start + len(word)
                x = SCAN_X + (SCAN_PX + font.getlength(line[:start])) * SCAN_SCALE
                baseline = SCAN_Y + (SCAN_PX + i * int(SCAN_PX * 1.6) + 0.8 * SCAN_PX) * SCAN_SCALE
                pdf.text(x, baseline, word)
    return bytes(pdf.output())


def test_when_a_text_layer_page_carries_a_large_scan_then_the_scan_is_read_and_its_words_labelled_ocr() -> None:
    page = read(pdf_with_scan()).pages[0]
    assert page.source is Source.TEXT_LAYER and page.unread is None
    assert "ocr of an embedded image (23% of the page)" in page.reason
    scanned = [w for w in page.words if w.source is Source.OCR]
    assert {"Jane", "Example"} <= {w.text for w in scanned}
    assert all(w.bbox.top >= SCAN_Y - 1 and w.bbox.x0 >= SCAN_X - 1 for w in scanned)  # where the scan sits
    assert {"Robert", "Smith,"} <= {w.text for w in page.words if w.source is None}  # the text layer is kept


def test_when_a_scan_repeats_the_text_layer_then_no_word_is_added_twice() -> None:
    page = read(pdf_with_scan(transcribed=True)).pages[0]
    assert "0 words added (8 already in the text layer)" in page.reason  # read by OCR, every word already there
    texts_read = [w.text for w in page.words]
    assert texts_read.count("Jane") == 1 and texts_read.count("Example") == 1
    assert all(w.source is None for w in page.words)


def test_when_a_scan_on_a_text_layer_page_names_the_patient_then_the_report_finds_them_with_ocr_evidence() -> None:
    from flows.verify import check_bytes
    from pipeline.evaluate import Intake
    from pipeline.types import Payer

    report = check_bytes(pdf_with_scan(), "letter.pdf", Intake(None, Payer.UNKNOWN), Settings())
    assert report.fields.patient_name.value == "Jane Example"
    assert [e.source for e in report.fields.patient_name.evidence] == [Source.OCR]
    assert [e.source for e in report.fields.physician_name.evidence] == [Source.TEXT_LAYER]


def test_when_the_ocr_of_a_scan_on_a_text_layer_page_times_out_then_its_text_layer_is_kept_and_it_is_unread() -> None:
    doc = read(pdf_with_scan(), engine=TimingOutEngine())
    page = doc.pages[0]
    assert page.unread == "ocr_timeout" and "embedded image (23% of the page) not read: ocr timed out" in page.reason
    assert {"Robert", "Smith,"} <= {w.text for w in page.words}


def _text_scan_text_pdf() -> bytes:
    """Page 1: the patient (text layer); page 2: a scan of the physician's line; page 3: the diagnosis (text)."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=14)
    pdf.add_page()
    pdf.text(72, 72, "Patient name: Jane Example, seen in the pain clinic")
    pdf.add_page()
    scan = fakes.text_image(["Attending physician: Robert Smith, MD"], 30, (900, 200))
    pdf.image(io.BytesIO(encode(scan, "PNG")), x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.add_page()
    pdf.text(72, 72, "Assessment: chronic migraine without aura, stable")
    return bytes(pdf.output())


def test_when_the_page_naming_the_physician_times_out_then_the_report_names_that_page_and_needs_review() -> None:
    from extractors.windows import find_in_windows
    from pipeline.evaluate import Intake, evaluate
    from pipeline.policy import load_policy
    from pipeline.types import Payer, Status

    doc = read(_text_scan_text_pdf(), engine=TimingOutEngine())
    assert [(p.number, p.source, p.unread) for p in doc.pages] == [
        (1, Source.TEXT_LAYER, None), (2, Source.OCR, "ocr_timeout"), (3, Source.TEXT_LAYER, None)]
    policy = load_policy()
    report = evaluate(doc, find_in_windows(doc, policy, ner_model=None), Intake(None, Payer.UNKNOWN), policy, {})
    assert report.status is Status.NEEDS_REVIEW
    assert report.fields.patient_name.value == "Jane Example" and report.fields.physician_name.value is None
    assert any("page 2 (ocr_timeout) could not be read; what is missing may be on it" in r for r in report.reasons)
    assert [(p.page, p.unread) for p in report.pages] == [(1, None), (2, "ocr_timeout"), (3, None)]
