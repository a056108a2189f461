"""One renderer per sample kind: paper pages or screens, degraded, encoded as PDF, JPEG, TIFF G4, HEIC, PNG, WEBP."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image

from . import degrade
from .layouts import paper_lines, portal_screen
from .model import Sample
from .paper import new_pdf, page_images, pdf_bytes
from .screens import DARK, LIGHT, desktop_image, phone_image

FAX_HEADER = "MAR-02-2026 09:14  FROM: (262) 555-0143  TO: (503) 555-0149   P. {page}/{total}"


def jpeg_bytes(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def render_text_pdf(s: Sample, rng: random.Random) -> bytes:
    return pdf_bytes(paper_lines(s), s.font)


def render_scanned_pdf(s: Sample, rng: random.Random) -> bytes:
    """Image-only PDF: each page a degraded 200 dpi JPEG filling a letter page, no text layer."""
    pdf = new_pdf()
    for i, page in enumerate(page_images(paper_lines(s), s.font, 200)):
        pdf.add_page()
        angle = s.angle * (1 if i % 2 == 0 else -0.6)
        pdf.image(io.BytesIO(jpeg_bytes(degrade.scan(page, rng, angle), 80)), x=0, y=0, w=pdf.w, h=pdf.h)
    return bytes(pdf.output())


def render_jpeg_scan(s: Sample, rng: random.Random) -> bytes:
    (page, *_) = page_images(paper_lines(s), s.font, 200)
    return jpeg_bytes(degrade.scan(page, rng, s.angle))


def render_tiff_fax(s: Sample, rng: random.Random) -> bytes:
    """Multi-page 1-bit CCITT G4 TIFF at 200 dpi with a fax header line and a few specks."""
    pages = page_images(paper_lines(s), s.font, 200, fax_header=FAX_HEADER)
    frames = [degrade.fax(page, rng, s.angle) for page in pages]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", compression="group4", dpi=(200, 200), save_all=True, append_images=frames[1:])
    return buf.getvalue()


def render_heic_photo(s: Sample, rng: random.Random) -> bytes:
    """A phone photo of the first printed page, saved as HEIC."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    (page, *_) = page_images(paper_lines(s), s.font, 200)
    buf = io.BytesIO()
    degrade.photo(page, rng, s.angle).save(buf, format="HEIF", quality=82)
    return buf.getvalue()


def render_phone(s: Sample, rng: random.Random) -> bytes:
    return png_bytes(phone_image(portal_screen(s.cases[0]), LIGHT))


def render_phone_dark(s: Sample, rng: random.Random) -> bytes:
    return png_bytes(phone_image(portal_screen(s.cases[0]), DARK))


def render_webp(s: Sample, rng: random.Random) -> bytes:
    buf = io.BytesIO()
    phone_image(portal_screen(s.cases[0]), LIGHT).save(buf, "WEBP", quality=88, method=4)
    return buf.getvalue()


def render_desktop(s: Sample, rng: random.Random) -> bytes:
    img = desktop_image(portal_screen(s.cases[0], app="MyHealth Portal"), s.ui_px)
    return jpeg_bytes(img, 90) if s.file.endswith(".jpg") else png_bytes(img)


RENDERERS: dict[str, Callable[[Sample, random.Random], bytes]] = {
    "text_pdf": render_text_pdf, "scanned_pdf": render_scanned_pdf, "jpeg_scan": render_jpeg_scan,
    "tiff_fax": render_tiff_fax, "heic_photo": render_heic_photo, "screenshot_phone": render_phone,
    "screenshot_phone_dark": render_phone_dark, "screenshot_desktop": render_desktop, "webp": render_webp,
}


def render(s: Sample, rng: random.Random) -> bytes:
    """The upload's bytes: made directly for rejected uploads (`Sample.raw`), else by its kind's renderer."""
    return s.raw(rng) if s.raw is not None else RENDERERS[s.kind](s, rng)
