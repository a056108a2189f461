"""Rejected uploads: bytes made directly (truncated, disguised, encrypted, blank files)."""

from __future__ import annotations

import random

from PIL import Image

from .layouts import note_lines
from .paper import bare_pdf, new_pdf, page_images, pdf_bytes
from .people import CRPS_CASE
from .renderers import jpeg_bytes, png_bytes


def _valid_pdf(rng: random.Random) -> bytes:
    return pdf_bytes(note_lines(CRPS_CASE), "sans")


def truncated_pdf(rng: random.Random) -> bytes:
    """The first 1 KiB of a valid PDF: header present, no xref, no trailer."""
    return _valid_pdf(rng)[:1024]


def html_as_pdf(rng: random.Random) -> bytes:
    return (b"<!DOCTYPE html>\n<html><head><title>MyChart - Visit Summary</title></head>\n<body><h1>Session "
            b"expired</h1><p>Please log in again to download your After Visit Summary.</p></body></html>\n")


def encrypted_pdf(rng: random.Random) -> bytes:
    """A real visit note behind a user password (RC4, fpdf2's default; needs a password to open)."""
    pdf = new_pdf()
    # fixture passwords protect nothing: the point is only that the file needs one to open
    pdf.set_encryption(owner_password="clinic-owner-2026", user_password="DOB19790412")  # noqa: S106
    pdf.add_page()
    pdf.set_font("sans", "", 11)
    for ln in note_lines(CRPS_CASE):
        if ln.text and ln.style != "row":
            pdf.multi_cell(0, 15, ln.text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def blank_pdf(rng: random.Random) -> bytes:
    pdf = bare_pdf()
    pdf.add_page()
    return bytes(pdf.output())


def blank_png(rng: random.Random) -> bytes:
    return png_bytes(Image.new("RGB", (1170, 2532), (255, 255, 255)))


def truncated_jpeg(rng: random.Random) -> bytes:
    """The first 1 KiB of a scan JPEG: headers and tables, no image data to speak of."""
    (page, *_) = page_images(note_lines(CRPS_CASE), "sans", 150)
    return jpeg_bytes(page)[:1024]
