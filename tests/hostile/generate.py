"""The hostile corpus (docs/THREAT-MODEL.md "Test plan"): crafted uploads built in memory from a few bytes of code, so
the repository holds the recipe, not megabytes of bombs. Deterministic: the same bytes on every run.

`python tests/hostile/generate.py OUTDIR` writes every case to OUTDIR (for inspection, or to seed a fuzzer); the
tests (tests/test_hostile.py) build them in memory.

Each case names the threat-model item it covers and what must happen: an error code (the upload is refused with that
code) or None (a clean read, from which the hostile payload is absent).
"""

from __future__ import annotations

import io
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

CANARY = "Zzcanary Qxj"  # a PHI-like name planted in payloads: it must never reach the Document
SCRIPT = "<script>alert(document.cookie)</script>"
SSN = "900-00-0000"
PAYLOAD = f"{SCRIPT} {CANARY} SSN {SSN} =HYPERLINK(\"http://x\")"


@dataclass(frozen=True)
class Case:
    """One hostile upload: its id, the name it claims, its bytes (built on demand), the threat-model item, the
    error code expected (None: a clean read), and the wall-clock bound in seconds."""

    id: str
    filename: str
    build: Callable[[], bytes]
    item: int
    code: str | None
    max_s: float = 20.0


# --- builders -----------------------------------------------------------------------------------------------------

def text_image(lines: tuple[str, ...] = ("Patient: Ana Ruiz", "Diagnosis: migraine G43.909"),
               size: tuple[int, int] = (900, 300)) -> Image.Image:
    """A small grayscale page of text (Pillow's bundled font)."""
    im = Image.new("L", size, 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=28)
    for i, line in enumerate(lines):
        draw.text((28, 28 + i * 45), line, fill=0, font=font)
    return im


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def jpeg_with_exif_payload() -> bytes:
    """A JPEG whose EXIF description, artist, copyright and GPS tags carry script and PHI-like text (item 17)."""
    exif = Image.Exif()
    exif[0x010E] = PAYLOAD  # ImageDescription
    exif[0x013B] = CANARY  # Artist
    exif[0x8298] = SCRIPT  # Copyright
    exif[0x8825] = {1: "N", 2: (40.0, 44.0, 55.0), 3: "W", 4: (73.0, 59.0, 11.0)}  # GPS IFD
    return _save(text_image(), "JPEG", exif=exif, quality=90)


def png_with_text_payloads() -> bytes:
    """A PNG with tEXt, zTXt and iTXt chunks carrying script and PHI-like text (item 12, small)."""
    info = PngInfo()
    info.add_text("Comment", PAYLOAD)
    info.add_text("Description", PAYLOAD, zip=True)
    info.add_itxt("Author", CANARY, lang="en", tkey="Author", zip=True)
    return _save(text_image(), "PNG", pnginfo=info)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_with_ztxt_bomb(inflated_bytes: int = 64 * 1024**2) -> bytes:
    """A PNG with one zTXt chunk of ~64 KiB that inflates to 64 MiB (item 12; Pillow caps text chunks at 1 MiB)."""
    png = _save(text_image(), "PNG")
    compressor = zlib.compressobj(9)
    block = b"A" * (1024 * 1024)
    packed = b"".join(compressor.compress(block) for _ in range(inflated_bytes // len(block))) + compressor.flush()
    chunk = _png_chunk(b"zTXt", b"Comment\x00\x00" + packed)
    return png[:33] + chunk + png[33:]  # after the 8-byte signature and the 25-byte IHDR chunk


def png_pixel_flood() -> bytes:
    """A PNG header claiming 50,000 x 50,000 px with a tiny body (item 11)."""
    ihdr = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_idat_bomb() -> bytes:
    """A PNG within the pixel cap (6,000 x 6,000 = 36 MP) whose IDAT is a few KB of zlib that inflates to 36 MB —
    a decompression bomb that stays under the caps must still be read within the bounds."""
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * 6000
    body = b"".join(raw.compress(row) for _ in range(6000)) + raw.flush()
    ihdr = struct.pack(">IIBBBBB", 6000, 6000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # fixed: deterministic bytes
            zf.writestr(info, data)
    return buf.getvalue()


def jpeg_zip_polyglot() -> bytes:
    """A valid JPEG with a ZIP appended (a JPEG to image readers, an archive to unzip) holding HTML and a script
    (item 3): read as the JPEG it starts as; the archive is never opened."""
    jpeg = _save(text_image(), "JPEG", quality=90)
    return jpeg + _zip({"index.html": f"<html>{SCRIPT}</html>".encode(), "../../evil.sh": b"#!/bin/sh\nrm -rf ~\n"})


def jpeg_html_appended() -> bytes:
    """A JPEG with an HTML page appended after its end-of-image marker (item 3)."""
    return _save(text_image(), "JPEG", quality=90) + f"<html><body>{SCRIPT}{CANARY}</body></html>".encode()


def zip_then_jpeg() -> bytes:
    """An archive first (no XDM metadata, no C-CDA) with a JPEG appended (item 3): not an XDM package."""
    return _zip({"index.html": f"<html>{SCRIPT}</html>".encode()}) + _save(text_image(), "JPEG")


def html_named_png() -> bytes:
    return f"<html><body>{SCRIPT}</body></html>".encode()


def svg_named_png() -> bytes:
    return f"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'>{SCRIPT}</svg>".encode()


def elf_named_jpg() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


def php_named_png() -> bytes:
    return b"<?php system($_GET['c']); ?>\n"


def png_named_pdf() -> bytes:
    """PNG bytes under a .pdf name (item 2): read as the PNG the bytes are."""
    return _save(text_image(), "PNG")


# --- PDFs ---------------------------------------------------------------------------------------------------------

def pdf(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"", broken_xref: bool = False) -> bytes:
    """A PDF of `objects` (object n is objects[n-1], given without `n 0 obj`/`endobj`) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % (0 if broken_xref else off)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, trailer_extra, xref_at)
    return bytes(out)


def _stream(content: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(content), extra) + content + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_TEXT = b"BT /F1 12 Tf 72 720 Td (Patient: Ana Ruiz) Tj 0 -20 Td (Diagnosis: migraine G43.909) Tj ET"


def pdf_with_metadata_payload() -> bytes:
    """A one-page text PDF whose metadata carries a PHI-like name and an SSN (item 17 for PDFs): the Info
    dictionary's /Author, /Title, /Subject, /Keywords and /Creator; XMP of the document (FlateDecode: not in the raw
    bytes) and of the page; the page's /PieceInfo; an outline entry's title; a text annotation's author and
    contents. None of it is drawn on the page."""
    phi = f"{CANARY} SSN {SSN}".encode()
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>' + phi +
           b"</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>")
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R /Outlines 8 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Metadata 7 0 R "
        b"/PieceInfo << /Scanner << /Private (" + phi + b") /LastModified (D:20260101) >> >> /Annots [11 0 R] "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(_TEXT),
        _FONT,
        _stream(zlib.compress(xmp), b"/Type /Metadata /Subtype /XML /Filter /FlateDecode "),
        _stream(xmp, b"/Type /Metadata /Subtype /XML "),
        b"<< /Type /Outlines /First 9 0 R /Last 9 0 R /Count 1 >>",
        b"<< /Title (" + phi + b") /Parent 8 0 R /Dest [3 0 R /Fit] >>",
        b"<< /Author (" + phi + b") /Title (" + phi + b") /Subject (" + phi + b") /Keywords (" + phi +
        b") /Creator (" + phi + b") >>",
        b"<< /Type /Annot /Subtype /Text /Rect [500 700 520 720] /T (" + phi + b") /Contents (" + phi + b") >>",
    ], trailer_extra=b"/Info 10 0 R ")


def pdf_flate_bomb(inflated_bytes: int = 512 * 1024**2) -> bytes:
    """A page whose content stream is FlateDecode twice over: ~1 KB on disk, 512 MiB of spaces once inflated
    (item 22, a nested FlateDecode bomb)."""
    inner = zlib.compressobj(9)
    block = b" " * (4 * 1024**2)
    once = b"".join(inner.compress(block) for _ in range(inflated_bytes // len(block))) + inner.flush()
    twice = zlib.compress(once, 9)
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(twice, b"/Filter [/FlateDecode /FlateDecode] "),
        _FONT,
    ])


def pdf_deep_nesting(depth: int = 100_000) -> bytes:
    """A page whose content stream opens 100,000 nested arrays (item 23: recursion in the parsers)."""
    content = b"[" * depth + b"]" * depth + b"\n" + _TEXT
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(content),
        _FONT,
    ])


def pdf_deep_dictionary(depth: int = 50_000) -> bytes:
    """An object of 50,000 nested dictionaries referenced from the page (item 23)."""
    nested = b"<< /A " * depth + b"1" + b" >>" * depth
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Deep 6 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(_TEXT),
        _FONT,
        nested,
    ])


def pdf_circular_page_tree() -> bytes:
    """A page tree whose Pages node lists itself as a kid (item 23: an endless page tree)."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(_TEXT),
        _FONT,
    ])


def pdf_circular_xobject() -> bytes:
    """A form XObject that draws itself (item 23: circular XObjects)."""
    form = _stream(b"/X1 Do", b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                            b"/Resources << /XObject << /X1 6 0 R >> >> ")
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> /XObject << /X1 6 0 R >> >> >>",
        _stream(_TEXT + b"\n/X1 Do"),
        _FONT,
        form,
    ])


def pdf_circular_prev() -> bytes:
    """A trailer whose /Prev points back at its own xref section (item 23: a circular xref chain)."""
    body = pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(_TEXT),
        _FONT,
    ])
    xref_at = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    return body.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % xref_at)


def pdf_header_and_eof_only() -> bytes:
    """OCRmyPDF's invalid.pdf, rebuilt: a header and an end-of-file marker, nothing between (item 19)."""
    return b"%PDF-1.4\n%%EOF\n"


def pdf_no_contents() -> bytes:
    """A page without a content stream (item 19, like OCRmyPDF's no_contents.pdf): no text to read."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])


def pdf_negative_zero_and_broken_xref() -> bytes:
    """A MediaBox of negative zeros and an xref table of zero offsets (item 19, like OCRmyPDF's negzero.pdf)."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [-0 -0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(_TEXT),
        _FONT,
    ], broken_xref=True)


def pdf_huge_page() -> bytes:
    """A 14,400 x 14,400 pt page (200 inches; the PDF maximum) with a text layer (item 21): rendering is capped,
    the text layer is read."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        _stream(b"BT /F1 12 Tf 72 14000 Td (Patient: Ana Ruiz) Tj 0 -20 Td (Diagnosis: migraine G43.909) Tj ET"),
        _FONT,
    ])


def pdf_huge_image_page() -> bytes:
    """A page that is one 30,000 x 30,000 px image, a few KB on disk (item 21: a JBIG2-style huge scan):
    the image is drawn at the render cap, never decoded at full size."""
    inner = zlib.compressobj(9)
    row = b"\xff" * 30_000
    pixels = b"".join(inner.compress(row) for _ in range(30_000)) + inner.flush()
    image = _stream(pixels, b"/Type /XObject /Subtype /Image /Width 30000 /Height 30000 /ColorSpace /DeviceGray "
                            b"/BitsPerComponent 8 /Filter /FlateDecode ")
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
        _stream(b"q 612 0 0 792 0 0 cm /Im1 Do Q"),
        image,
    ])


def pdf_many_text_pages(pages: int = 60) -> bytes:
    """A born-digital PDF of `pages` text pages of 40 lines (item 27: memory must plateau, not grow with the page
    count; tests/test_hostile.py compares 60 pages with 6)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _FONT]
    kids = []
    for i in range(pages):
        page_no, content_no = len(objects) + 1, len(objects) + 2
        kids.append(b"%d 0 R" % page_no)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % content_no)
        lines = b" ".join(b"0 -14 Td (Line %d of page %d: chronic migraine follow-up, no change.) Tj" % (j, i + 1)
                          for j in range(40))
        objects.append(_stream(b"BT /F1 10 Tf 72 760 Td (Patient: Ana Ruiz) Tj " + lines + b" ET"))
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % pages
    return pdf(objects)


def pdf_searchable_scan(pages: int = 500) -> bytes:
    """A scanned document of `pages` pages as a scanner or OCRmyPDF writes it (item 27 for scans; the page cap is
    500): each page one 4 x 4 in 1-bit image of its own (600 x 600 px, a few hundred bytes) under an invisible text
    layer (render mode 3) of 40 words, so the reader keeps the layer and runs no OCR. tests/test_hostile.py compares
    the reader's peak memory for 500 pages with that for 50."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", _FONT]  # the font is object 3
    kids = []
    bar = b"\x00" * 75  # one black 1-bit row of 600 px
    blank = b"\xff" * 75
    for i in range(pages):
        page_no, content_no, image_no = len(objects) + 1, len(objects) + 2, len(objects) + 3
        kids.append(b"%d 0 R" % page_no)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 288] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 %d 0 R >> /XObject << /Scan %d 0 R >> >> >>"
                       % (content_no, 3, image_no))
        words = b" ".join(b"Tj 0 -6 Td (Line%03d page%03d chronic migraine followup) " % (j, i + 1)
                          for j in range(8))
        objects.append(_stream(b"q 288 0 0 288 0 0 cm /Scan Do Q BT 3 Tr /F1 5 Tf 10 270 Td (Patient: Ana Ruiz) "
                               + words + b"Tj ET"))
        rows = (bar if (r // 8 + i) % 5 == 0 else blank for r in range(600))
        objects.append(_stream(zlib.compress(b"".join(rows), 9),
                               b"/Type /XObject /Subtype /Image /Width 600 /Height 600 /ColorSpace /DeviceGray "
                               b"/BitsPerComponent 1 /Filter /FlateDecode "))
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % pages
    return pdf(objects)


def tiff_many_frames(frames: int = 24) -> bytes:
    """A many-page fax-like TIFF of blank pages at 100 dpi (item 13, the many-page scan: frames are decoded and read
    one at a time, so memory does not grow with the frame count; tests/test_hostile.py compares 24 frames with 3)."""
    page = Image.new("1", (850, 1100), 1)
    buf = io.BytesIO()
    page.save(buf, format="TIFF", save_all=True, append_images=[page] * (frames - 1), compression="group4",
              dpi=(100, 100))
    return buf.getvalue()


def tiff_frame_over_cap() -> bytes:
    """A one-frame TIFF whose frame is 20,000 x 20,000 px (item 13, a few KB with group4 compression)."""
    buf = io.BytesIO()
    Image.new("1", (20_000, 20_000), 1).save(buf, format="TIFF", compression="group4")
    return buf.getvalue()


CASES: tuple[Case, ...] = (
    Case("exif-script-and-phi", "scan.jpg", jpeg_with_exif_payload, 17, None, 60.0),
    Case("png-text-chunks-script-and-phi", "portal.png", png_with_text_payloads, 12, None, 60.0),
    Case("png-ztxt-64mib-bomb", "portal.png", png_with_ztxt_bomb, 12, "unreadable_file", 10.0),
    Case("png-pixel-flood", "x.png", png_pixel_flood, 11, "image_too_large", 5.0),
    Case("png-idat-bomb-under-caps", "x.png", png_idat_bomb, 11, "no_readable_text", 90.0),
    Case("jpeg-zip-polyglot", "photo.jpg", jpeg_zip_polyglot, 3, None, 60.0),
    Case("jpeg-html-appended", "photo.jpg", jpeg_html_appended, 3, None, 60.0),
    Case("zip-then-jpeg", "photo.jpg", zip_then_jpeg, 3, "unsupported_type", 5.0),
    Case("html-named-png", "x.png", html_named_png, 2, "unsupported_type", 2.0),
    Case("svg-named-png", "x.png", svg_named_png, 2, "unsupported_type", 2.0),
    Case("elf-named-jpg", "x.jpg", elf_named_jpg, 2, "unsupported_type", 2.0),
    Case("php-named-png", "x.png", php_named_png, 2, "unsupported_type", 2.0),
    Case("png-named-pdf", "record.pdf", png_named_pdf, 2, None, 60.0),
    Case("pdf-metadata-script-and-phi", "record.pdf", pdf_with_metadata_payload, 17, None, 60.0),
    Case("pdf-nested-flate-bomb", "x.pdf", pdf_flate_bomb, 22, "resource_limit", 120.0),
    Case("pdf-100k-nested-arrays", "x.pdf", pdf_deep_nesting, 23, None, 60.0),
    Case("pdf-50k-nested-dictionaries", "x.pdf", pdf_deep_dictionary, 23, None, 60.0),
    Case("pdf-circular-page-tree", "x.pdf", pdf_circular_page_tree, 23, None, 60.0),
    Case("pdf-circular-xobject", "x.pdf", pdf_circular_xobject, 23, None, 60.0),
    Case("pdf-circular-prev", "x.pdf", pdf_circular_prev, 23, "unreadable_file", 30.0),
    Case("pdf-header-and-eof-only", "x.pdf", pdf_header_and_eof_only, 19, "unreadable_file", 5.0),
    Case("pdf-no-contents", "x.pdf", pdf_no_contents, 19, "no_readable_text", 60.0),
    Case("pdf-negzero-broken-xref", "x.pdf", pdf_negative_zero_and_broken_xref, 19, "no_readable_text", 30.0),
    Case("pdf-huge-page", "x.pdf", pdf_huge_page, 21, None, 60.0),
    Case("pdf-huge-image-page", "x.pdf", pdf_huge_image_page, 21, "no_readable_text", 120.0),
    Case("pdf-60-text-pages", "x.pdf", pdf_many_text_pages, 27, None, 120.0),
    Case("tiff-24-blank-frames", "fax.tif", tiff_many_frames, 13, "no_readable_text", 180.0),
    Case("tiff-20k-frame", "fax.tif", tiff_frame_over_cap, 13, "image_too_large", 5.0),
)


def main(out: Path) -> None:
    """Write every case to `out` as `<id>.<ext of its claimed name>`."""
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        (out / f"{case.id}{Path(case.filename).suffix}").write_bytes(case.build())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
