"""Paper pages from layout lines: fonts, born-digital PDFs (fpdf2) and greyscale page images (Pillow)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from .layouts import ROW_WIDTHS, Line

PDF_DATE = datetime(2026, 1, 1, tzinfo=UTC)
LETTER_IN = (8.5, 11.0)  # page size in inches, used by every paper renderer

FONT_FILES = {
    ("sans", False): "DejaVuSans.ttf", ("sans", True): "DejaVuSans-Bold.ttf",
    ("serif", False): "DejaVuSerif.ttf", ("serif", True): "DejaVuSerif-Bold.ttf",
    ("mono", False): "DejaVuSansMono.ttf", ("mono", True): "DejaVuSansMono-Bold.ttf",
}
# point sizes of paper line styles; the body never goes below 10 pt so scans stay OCR-able
PT = {"title": 16, "heading": 12.5, "bold": 11, "body": 11, "small": 10, "faxhead": 10, "row": 10.5}
BOLD_STYLES = {"title", "heading", "bold"}


@cache
def font_path(file_name: str) -> str:
    """Where a font file is installed: Pillow's search of the standard font directories (on Linux the XDG data dirs'
    `fonts/`, e.g. /usr/share/fonts/truetype/dejavu/; on macOS and Windows their system font folders). Raises
    OSError when the font is not installed."""
    path = ImageFont.truetype(file_name, 10).path
    return path if isinstance(path, str) else file_name


def font(family: str, bold: bool, px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(FONT_FILES[family, bold]), max(1, round(px)))


def bare_pdf() -> FPDF:
    """An fpdf2 document in points on US letter with the fixed creation date (no fonts embedded)."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_creation_date(PDF_DATE)
    return pdf


def new_pdf() -> FPDF:
    """`bare_pdf` with margins and the DejaVu families registered (fpdf2 embeds every registered font)."""
    pdf = bare_pdf()
    pdf.set_auto_page_break(True, margin=54)
    pdf.set_margins(54, 54, 54)
    for (fam, bold), fname in FONT_FILES.items():
        pdf.add_font(fam, "B" if bold else "", font_path(fname))
    return pdf


def pdf_bytes(lines: list[Line], family: str) -> bytes:
    """A born-digital PDF with a text layer (fpdf2, DejaVu so accents survive)."""
    pdf = new_pdf()
    pdf.add_page()
    for ln in lines:
        if ln.style == "pagebreak":
            pdf.add_page()
            continue
        if ln.style == "rule":
            pdf.set_draw_color(120, 120, 120)
            pdf.line(pdf.l_margin, pdf.get_y() + 3, pdf.w - pdf.r_margin, pdf.get_y() + 3)
            pdf.ln(9)
            continue
        size = PT[ln.style]
        pdf.set_font(family, "B" if ln.style in BOLD_STYLES else "", size)
        if ln.style == "heading":
            pdf.ln(5)
        if ln.style == "row":
            width = pdf.w - pdf.l_margin - pdf.r_margin
            bold = ln.cells[0] == "Problem"
            pdf.set_font(family, "B" if bold else "", size)
            for cell, frac in zip(ln.cells, ROW_WIDTHS, strict=True):
                pdf.cell(width * frac, size * 1.6, cell, border="B" if bold else 0)
            pdf.ln(size * 1.6)
            continue
        pdf.multi_cell(0, size * 1.35, ln.text or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def wrap(text: str, f: ImageFont.FreeTypeFont, width: float) -> list[str]:
    words, out, cur = text.split(), [], ""
    for w in words:
        trial = f"{cur} {w}".strip()
        if cur and f.getlength(trial) > width:
            out.append(cur)
            cur = w
        else:
            cur = trial
    return out + [cur] if cur or not out else out


def page_images(lines: list[Line], family: str, dpi: int, fax_header: str | None = None) -> list[Image.Image]:
    """Paper lines drawn on white US-letter pages (grayscale) at `dpi`, paginating as needed."""
    w, h = int(LETTER_IN[0] * dpi), int(LETTER_IN[1] * dpi)
    margin = int(0.75 * dpi)
    px = dpi / 72  # pixels per point
    pages: list[Image.Image] = []

    def start() -> tuple[Image.Image, ImageDraw.ImageDraw, float]:
        img = Image.new("L", (w, h), 255)
        pages.append(img)
        return img, ImageDraw.Draw(img), margin

    img, d, y = start()
    for ln in lines:
        if ln.style == "pagebreak":
            img, d, y = start()
            continue
        if ln.style == "rule":
            d.line((margin, y + 4 * px, w - margin, y + 4 * px), fill=90, width=max(1, int(px)))
            y += 10 * px
            continue
        size = PT[ln.style]
        f = font(family, ln.style in BOLD_STYLES or (ln.style == "row" and ln.cells[0] == "Problem"), size * px)
        lh = size * 1.4 * px
        if ln.style == "heading":
            y += 5 * px
        if ln.style == "row":
            rows = [ln.cells]
        else:
            rows = [(t,) for t in wrap(ln.text, f, w - 2 * margin)] if ln.text else [("",)]
        for row in rows:
            if y + lh > h - margin:
                img, d, y = start()
            x: float = margin
            for cell, frac in zip(row, ROW_WIDTHS if ln.style == "row" else (1.0,), strict=False):
                d.text((x, y), cell, font=f, fill=0)
                x += frac * (w - 2 * margin)
            y += lh
    if fax_header:  # drawn last: "P. 1/2" needs the page count; it sits in the top margin, above the content
        for i, pg in enumerate(pages, 1):
            text = fax_header.format(page=i, total=len(pages))
            ImageDraw.Draw(pg).text((margin // 2, int(0.2 * dpi)), text, font=font("mono", False, PT["faxhead"] * px),
                                    fill=0)
    return pages
