"""PDF text layer: usability rule, line grouping, boxes where fpdf2 put them, page caps, encryption, active content."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fpdf import FPDF

from extractors import pdf_text
from extractors.pdf_text import TextLayerReader, judge_text_layer
from pipeline.errors import PdfEncrypted, TooManyPages, UnreadableFile
from pipeline.limits import Limits
from pipeline.types import BBox

BODY = "Patient Jane Example was seen for chronic migraine and fibromyalgia by Dr. Robert Smith."


def text_pdf(pages: int = 1, encrypt: bool = False) -> bytes:
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=12)
    for _ in range(pages):
        pdf.add_page()
        pdf.text(72, 100, "Patient: Jane Example")
        pdf.text(72, 130, BODY)
    if encrypt:
        pdf.set_encryption(owner_password="o", user_password="u")
    return bytes(pdf.output())


def raw_pdf(catalog_extra: str = "", page_extra: str = "", extra_objects: tuple[str, ...] = ()) -> bytes:
    """A minimal hand-made PDF (one page of Helvetica text) with extra catalog/page entries and objects 5, 6..."""
    content = b"BT /F1 12 Tf 72 700 Td (Patient Jane Example, chronic migraine) Tj ET"
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        f"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> {page_extra} >>",
        f"<< /Length {len(content)} >>\nstream\n{content.decode()}\nendstream",
        *extra_objects,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def layer_pages(data: bytes) -> tuple[list[pdf_text.TextLayerPage], bool]:
    with TextLayerReader(data) as reader:
        pages = list(reader.pages())
        return pages, reader.active_content


# ---------------------------------------------------------------------------------------------- usability rule

@pytest.mark.parametrize(("texts", "cover", "usable", "reason"), [
    (BODY.split(), 0.0, True, "text layer: 73 chars"),
    ([], 0.0, False, "no text layer"),
    (["Page", "1/3"], 0.0, False, "text layer too short: 6 chars"),
    (["(cid:12)(cid:7)(cid:3)"] * 10 + ["ok"], 0.0, False, "text layer garbled: 94% (cid) glyphs"),
    (["\ue001\ue002\ue003abc"] * 10, 0.0, False, "text layer garbled: 50% unmapped glyphs"),
    (["\ufffd"] + BODY.split(), 0.0, True, "text layer: 73 chars"),  # one stray glyph is fine
    (["From:", "Clinic", "Fax", "555-123-4567", "Page", "1"], 0.95, False,
     "text layer sparse over page image: 28 chars, image covers 95%"),
    (BODY.split() * 4, 0.95, True, "text layer: 292 chars"),  # OCR'd PDF: invisible text over the scan
])
def test_when_text_layer_judged_then_rule_and_reason_follow(texts: list[str], cover: float, usable: bool,
                                                            reason: str) -> None:
    verdict = judge_text_layer(texts, cover)
    assert (verdict.usable, verdict.reason) == (usable, reason)


def test_when_words_jitter_vertically_then_they_share_a_line_ordered_left_to_right() -> None:
    raw = [{"text": "world", "x0": 60, "x1": 90, "top": 101.5, "bottom": 111.5},
           {"text": "next", "x0": 10, "x1": 40, "top": 120, "bottom": 130},
           {"text": "Hello", "x0": 10, "x1": 50, "top": 100, "bottom": 110},
           {"text": " ", "x0": 55, "x1": 58, "top": 100, "bottom": 110}]
    words = pdf_text.group_lines(raw)
    assert [(w.text, w.line) for w in words] == [("Hello", 0), ("world", 0), ("next", 1)]
    assert words[0].bbox == BBox(10, 100, 50, 110)


def test_when_page_box_does_not_start_at_zero_then_words_are_shifted_to_the_page_origin() -> None:
    raw = [{"text": "x", "x0": 110, "x1": 120, "top": 60, "bottom": 70}]
    assert pdf_text.group_lines(raw, 100, 50)[0].bbox == BBox(10, 10, 20, 20)


# ---------------------------------------------------------------------------------------------- text-layer PDFs

def test_when_pdf_has_text_layer_then_words_sit_where_fpdf2_put_them() -> None:
    pages, active = layer_pages(text_pdf())
    page = pages[0]
    assert page.verdict.usable and (page.width, page.height) == (612, 792)
    first = page.words[0]
    assert (first.text, first.line, first.confidence) == ("Patient:", 0, 1.0)
    assert first.bbox.x0 == pytest.approx(72, abs=0.5)
    assert first.bbox.top < 100 < first.bbox.bottom  # baseline at y=100 pt from the top
    assert first.bbox.bottom - first.bbox.top == pytest.approx(12, abs=2)
    assert [w.text for w in page.words if w.line == 1][:3] == ["Patient", "Jane", "Example"]
    assert not active


def test_when_pdf_has_three_pages_then_count_is_three_and_each_page_read() -> None:
    data = text_pdf(pages=3)
    assert pdf_text.count_pages(data) == 3
    assert [p.number for p in layer_pages(data)[0]] == [1, 2, 3]


def test_when_pdf_has_more_pages_than_allowed_then_too_many_pages() -> None:
    with pytest.raises(TooManyPages):
        pdf_text.count_pages(text_pdf(pages=4), Limits(max_pdf_pages=3))


@pytest.mark.parametrize("reader", ["pdfium", "pdfplumber"])
def test_when_pdf_has_a_user_password_then_pdf_encrypted_from_both_parsers(reader: str) -> None:
    data = text_pdf(encrypt=True)
    with pytest.raises(PdfEncrypted):
        if reader == "pdfium":
            pdf_text.count_pages(data)
        else:
            layer_pages(data)


@pytest.mark.parametrize("data", [b"%PDF-1.4\n%%EOF\n", b"%PDF-1.7\n" + b"\x00garbage" * 50,
                                  text_pdf()[:300]])
def test_when_pdf_is_broken_or_truncated_then_unreadable_file(data: bytes) -> None:
    with pytest.raises(UnreadableFile):
        pdf_text.count_pages(data)


# ------------------------------------------------------------------------------------------------------ rendering

@pytest.mark.parametrize(("size_pt", "limits", "scale"), [
    ((612, 792), Limits(), 300 / 72),  # letter at 300 dpi: 8.4 MP, under the cap
    ((2448, 3168), Limits(), 0.999 * (40_000_000 / (2448 * 3168)) ** 0.5),  # 34×44 in poster: capped by pixels
    ((14_400, 200), Limits(), 9_999 / 14_400),  # 200 in wide strip: capped by side
])
def test_when_render_scale_computed_then_it_respects_dpi_and_caps(size_pt: tuple[float, float], limits: Limits,
                                                                   scale: float) -> None:
    s = pdf_text.render_scale(*size_pt, limits)
    assert s == pytest.approx(scale)
    w, h = size_pt[0] * s + 1, size_pt[1] * s + 1
    assert w * h <= limits.max_pixels and max(w, h) <= limits.max_side_px


def test_when_page_is_rendered_then_image_fits_the_cap_and_dpi_is_reported() -> None:
    rendered = pdf_text.render_page(text_pdf(), 0, Limits(max_pixels=2_000_000))
    assert rendered.image.width * rendered.image.height <= 2_000_000
    assert rendered.image.mode == "L"
    assert rendered.image.width == pytest.approx(612 * rendered.dpi / 72, abs=1)
    assert (rendered.width_pt, rendered.height_pt) == (612, 792)


# ------------------------------------------------------------------------------------------------- active content

@pytest.mark.parametrize(("data", "active"), [
    (raw_pdf(), False),
    (raw_pdf("/OpenAction [3 0 R /FitH null]"), False),  # a view destination, written by most generators
    (raw_pdf("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), True),
    (raw_pdf("/OpenAction << /S /Launch /F (calc.exe) >>"), True),
    (raw_pdf(page_extra="/AA << /O 5 0 R >>", extra_objects=("<< /S /JavaScript /JS (1) >>",)), True),
    (raw_pdf("/Names << /J#61vaScript 5 0 R >>", extra_objects=("<< /Names [] >>",)), True),  # hex-escaped name
    (raw_pdf("/AcroForm << /Fields [] /XFA 5 0 R >>", extra_objects=("<< >>",)), True),
])
def test_when_pdf_carries_active_content_then_it_is_flagged_and_not_run(data: bytes, active: bool) -> None:
    pages, flagged = layer_pages(data)
    assert flagged is active
    assert pages[0].verdict.usable  # the page is still read normally


def test_when_pdf_embeds_a_file_then_active_content_flagged() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(20, 20, BODY)
    pdf.embed_file(bytes=b"MZ not really", basename="payload.exe")
    assert layer_pages(bytes(pdf.output()))[1] is True


def test_when_pdf_is_a_page_count_bomb_then_too_many_pages_before_parsing() -> None:
    pdf = FPDF()
    for _ in range(501):
        pdf.add_page()
    data = bytes(pdf.output())
    start = time.monotonic()
    with pytest.raises(TooManyPages):
        pdf_text.count_pages(data)
    assert time.monotonic() - start < 2.0


def test_when_pages_render_from_eight_threads_then_every_bitmap_matches_the_serial_one() -> None:
    data, limits = text_pdf(), Limits(render_dpi=72)
    serial = pdf_text.render_page(data, 0, limits).image.tobytes()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: pdf_text.render_page(data, 0, limits).image.tobytes(), range(16)))
    assert all(r == serial for r in results)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_when_pages_are_copied_without_metadata_then_they_read_and_render_the_same(rotation: int) -> None:
    # flows/review/pixels.py: a PDF leaves the review app as its pages only. The copy must read as the upload did
    # (words, positions, page sizes) whatever its /Rotate and however its boxes are offset, and render the same.
    from hostile.generate import _FONT, _TEXT, _stream, pdf

    from extractors.routing import read_document
    from pipeline.intake import accept

    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [10 20 622 812] /CropBox [30 40 600 800] /Rotate %d "
            b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>" % rotation)
    data = pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>", page,
                _stream(_TEXT), _FONT, page], trailer_extra=b"/Info << /Author (Zzcanary Qxj) >> ")
    copy = pdf_text.pages_only(data)
    assert b"Zzcanary" not in copy and b"Zzcanary" in data
    original = read_document(data, accept(data, "x.pdf"))
    assert read_document(copy, accept(copy, "x.pdf")).pages == original.pages
    assert len(original.pages) == 2 and len(original.pages[0].words) == 6  # the probe: the text layer was read
    for index in range(2):
        a, b = pdf_text.render_page(data, index), pdf_text.render_page(copy, index)
        assert (a.width_pt, a.height_pt) == (b.width_pt, b.height_pt)
        assert a.image.tobytes() == b.image.tobytes()


_SAMPLE_PDFS = sorted((Path(__file__).resolve().parents[1] / "samples" / "inputs").glob("*.pdf"))
_UNREADABLE_SAMPLES = {"empty.pdf", "encrypted.pdf", "html_disguised.pdf", "truncated.pdf"}  # refused on purpose


@pytest.mark.parametrize("sample", [p for p in _SAMPLE_PDFS if p.name not in _UNREADABLE_SAMPLES],
                         ids=lambda p: p.name)
def test_when_a_bundled_pdf_is_copied_as_its_pages_then_its_text_layer_and_bitmaps_are_unchanged(sample: Path) -> None:
    # What `review-labels` exports must read as the upload did, or `docverify eval` would score another document.
    data = sample.read_bytes()
    copy = pdf_text.pages_only(data)

    def layer(pdf: bytes) -> list[tuple[object, ...]]:
        with TextLayerReader(pdf) as reader:
            return [(p.number, p.width, p.height, p.words, p.verdict) for p in reader.pages()]

    assert layer(copy) == layer(data)
    for index in range(pdf_text.count_pages(data)):
        assert pdf_text.render_page(copy, index).image.tobytes() == pdf_text.render_page(data, index).image.tobytes()
