"""Drawing: one canvas interface over PIL and fpdf2, a small flow-layout engine for paper, degradations, writers."""

from __future__ import annotations

import datetime as dt
import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# --- fonts -----------------------------------------------------------------------------------------------------------

FONT_FILES = {
    ("sans", False): "DejaVuSans.ttf", ("sans", True): "DejaVuSans-Bold.ttf",
    ("serif", False): "DejaVuSerif.ttf", ("serif", True): "DejaVuSerif-Bold.ttf",
    ("cond", False): "DejaVuSansCondensed.ttf", ("cond", True): "DejaVuSansCondensed-Bold.ttf",
    ("mono", False): "DejaVuSansMono.ttf", ("mono", True): "DejaVuSansMono-Bold.ttf",
}
FONT_ROOTS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts", "/Library/Fonts",
              "/opt/homebrew/share/fonts")


@lru_cache(maxsize=1)
def font_dir() -> Path:
    """The directory holding the DejaVu TTFs, found in the standard font locations."""
    for root in FONT_ROOTS:
        base = Path(root).expanduser()
        if not base.is_dir():
            continue
        hit = next(iter(sorted(base.rglob("DejaVuSans.ttf"))), None)
        if hit is not None and all((hit.parent / f).is_file() for f in FONT_FILES.values()):
            return hit.parent
    raise FileNotFoundError("DejaVu fonts not found in the standard font directories: "
                            "apt-get install fonts-dejavu-core (and fonts-dejavu-extra for Condensed/Serif bold)")


@lru_cache(maxsize=512)
def pil_font(family: str, bold: bool, px: int) -> ImageFont.FreeTypeFont:
    """A cached PIL font at a pixel size."""
    return ImageFont.truetype(str(font_dir() / FONT_FILES[(family, bold)]), px)


Color = tuple[int, int, int]


class Canvas(Protocol):
    """Drawing in points, top-left origin; text positioned by its baseline."""

    w: float
    h: float

    def new_page(self) -> None: ...
    def text(self, x: float, y: float, s: str, size: float, bold: bool = False, color: Color = (0, 0, 0),
             family: str = "sans") -> None: ...
    def width(self, s: str, size: float, bold: bool = False, family: str = "sans") -> float: ...
    def line(self, x1: float, y1: float, x2: float, y2: float, lw: float = 0.7, color: Color = (0, 0, 0)) -> None: ...
    def rect(self, x: float, y: float, w: float, h: float, fill: Color | None = None, outline: Color | None = None,
             lw: float = 0.7, radius: float = 0) -> None: ...
    def ellipse(self, x: float, y: float, w: float, h: float, fill: Color) -> None: ...


class ImageCanvas:
    """PIL pages: `scale` pixels per point (dpi/72 for paper, device scale for screens)."""

    def __init__(self, w: float, h: float, scale: float, bg: Color = (255, 255, 255)) -> None:
        self.w, self.h, self.scale, self.bg = w, h, scale, bg
        self.pages: list[Image.Image] = []
        self.new_page()

    def new_page(self) -> None:
        """Start a blank page."""
        self.img = Image.new("RGB", (round(self.w * self.scale), round(self.h * self.scale)), self.bg)
        self.draw = ImageDraw.Draw(self.img)
        self.pages.append(self.img)

    def _f(self, size: float, bold: bool, family: str) -> ImageFont.FreeTypeFont:
        return pil_font(family, bold, max(6, round(size * self.scale)))

    def text(self, x: float, y: float, s: str, size: float, bold: bool = False, color: Color = (0, 0, 0),
             family: str = "sans") -> None:
        """Draw text with its baseline at y."""
        self.draw.text((x * self.scale, y * self.scale), s, font=self._f(size, bold, family), fill=color, anchor="ls")

    def width(self, s: str, size: float, bold: bool = False, family: str = "sans") -> float:
        """Advance width in points."""
        return float(self._f(size, bold, family).getlength(s)) / self.scale

    def line(self, x1: float, y1: float, x2: float, y2: float, lw: float = 0.7, color: Color = (0, 0, 0)) -> None:
        """A straight line."""
        k = self.scale
        self.draw.line((x1 * k, y1 * k, x2 * k, y2 * k), fill=color, width=max(1, round(lw * k)))

    def rect(self, x: float, y: float, w: float, h: float, fill: Color | None = None, outline: Color | None = None,
             lw: float = 0.7, radius: float = 0) -> None:
        """A (rounded) rectangle."""
        k = self.scale
        box = (x * k, y * k, (x + w) * k, (y + h) * k)
        width = max(1, round(lw * k)) if outline else 0
        if radius:
            self.draw.rounded_rectangle(box, radius=radius * k, fill=fill, outline=outline, width=width)
        else:
            self.draw.rectangle(box, fill=fill, outline=outline, width=width)

    def ellipse(self, x: float, y: float, w: float, h: float, fill: Color) -> None:
        """A filled ellipse."""
        k = self.scale
        self.draw.ellipse((x * k, y * k, (x + w) * k, (y + h) * k), fill=fill)


PDF_DATE = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.UTC)  # fixed so reruns are byte-identical


class PdfCanvas:
    """fpdf2 pages with a real text layer, in points."""

    def __init__(self, w: float = 612, h: float = 792) -> None:
        self.w, self.h = w, h
        self.pdf = FPDF(unit="pt", format=(w, h))
        self.pdf.set_creation_date(PDF_DATE)
        self.pdf.set_auto_page_break(False)
        self.pdf.set_producer("varied-generator")
        for (family, bold), name in FONT_FILES.items():
            self.pdf.add_font(family, "B" if bold else "", str(font_dir() / name))
        self.new_page()

    def new_page(self) -> None:
        """Start a page."""
        self.pdf.add_page()

    def text(self, x: float, y: float, s: str, size: float, bold: bool = False, color: Color = (0, 0, 0),
             family: str = "sans") -> None:
        """Text with its baseline at y."""
        self.pdf.set_font(family, "B" if bold else "", size)
        self.pdf.set_text_color(*color)
        self.pdf.text(x, y, s)

    def width(self, s: str, size: float, bold: bool = False, family: str = "sans") -> float:
        """Advance width in points."""
        self.pdf.set_font(family, "B" if bold else "", size)
        return float(self.pdf.get_string_width(s))

    def line(self, x1: float, y1: float, x2: float, y2: float, lw: float = 0.7, color: Color = (0, 0, 0)) -> None:
        """A straight line."""
        self.pdf.set_draw_color(*color)
        self.pdf.set_line_width(lw)
        self.pdf.line(x1, y1, x2, y2)

    def rect(self, x: float, y: float, w: float, h: float, fill: Color | None = None, outline: Color | None = None,
             lw: float = 0.7, radius: float = 0) -> None:
        """A (rounded) rectangle."""
        style = ("F" if fill else "") + ("D" if outline else "")
        if not style:
            return
        if fill:
            self.pdf.set_fill_color(*fill)
        if outline:
            self.pdf.set_draw_color(*outline)
            self.pdf.set_line_width(lw)
        self.pdf.rect(x, y, w, h, style=style, round_corners=bool(radius), corner_radius=radius)

    def ellipse(self, x: float, y: float, w: float, h: float, fill: Color) -> None:
        """A filled ellipse."""
        self.pdf.set_fill_color(*fill)
        self.pdf.ellipse(x, y, w, h, style="F")

    def output(self) -> bytes:
        """The PDF bytes."""
        return bytes(self.pdf.output())


def wrap(c: Canvas, text: str, size: float, width: float, bold: bool = False, family: str = "sans") -> list[str]:
    """Greedy word wrap to a width in points."""
    lines: list[str] = []
    for para in text.split("\n"):
        cur = ""
        for word in para.split(" "):
            trial = f"{cur} {word}" if cur else word
            if cur and c.width(trial, size, bold, family) > width:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        lines.append(cur)
    return lines


# --- paper flow layout -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class T:
    """A paragraph."""

    text: str
    size: float = 0  # relative to the style's base size
    bold: bool = False
    align: str = "L"
    color: Color | None = None
    gap: float = 4
    family: str | None = None
    indent: float = 0


@dataclass(frozen=True)
class KV:
    """Label: value pairs in columns."""

    pairs: tuple[tuple[str, str], ...]
    cols: int = 2
    gap: float = 6


@dataclass(frozen=True)
class Table:
    """A grid table with a header row; widths are fractions of the text width."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]
    size: float = -0.5
    gap: float = 8


@dataclass(frozen=True)
class Boxes:
    """Form fields: a labelled box per cell, `cols` per row."""

    cells: tuple[tuple[str, str], ...]
    cols: int = 2
    gap: float = 8


@dataclass(frozen=True)
class Bar:
    """A section heading on a shaded band."""

    text: str


@dataclass(frozen=True)
class Rule:
    """A horizontal line."""

    weight: float = 0.8


@dataclass(frozen=True)
class Space:
    """Vertical space in points."""

    h: float


@dataclass(frozen=True)
class Checks:
    """A row of checkboxes."""

    label: str
    options: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class PageBreak:
    """Start a new page."""


Block = T | KV | Table | Boxes | Bar | Rule | Space | Checks | PageBreak


@dataclass(frozen=True)
class Style:
    """How a paper document looks."""

    family: str = "sans"
    base: float = 10
    margin: float = 54
    accent: Color = (30, 60, 110)
    shade: Color = (225, 230, 238)
    leading: float = 1.32
    footer: str = ""


@dataclass
class Flow:
    """Lays blocks out top to bottom, breaking pages when needed."""

    c: Canvas
    st: Style
    y: float = 0
    page: int = 1
    texts: list[str] = field(default_factory=list)  # every string drawn, for tests and the catalog

    def __post_init__(self) -> None:
        self.y = self.st.margin

    @property
    def x0(self) -> float:
        return self.st.margin

    @property
    def tw(self) -> float:
        return self.c.w - 2 * self.st.margin

    def _footer(self) -> None:
        if self.st.footer:
            s = f"{self.st.footer}    Page {self.page}"
            self.put(self.x0, self.c.h - self.st.margin / 2, s, self.st.base - 2, color=(90, 90, 90))

    def put(self, x: float, y: float, s: str, size: float, bold: bool = False, color: Color = (0, 0, 0),
            family: str | None = None) -> None:
        """Draw and remember one string."""
        self.c.text(x, y, s, size, bold, color, family or self.st.family)
        self.texts.append(s)

    def need(self, h: float) -> None:
        """Break the page unless h points still fit."""
        if self.y + h > self.c.h - self.st.margin:
            self.new_page()

    def new_page(self) -> None:
        """Footer, then a fresh page."""
        self._footer()
        self.c.new_page()
        self.page += 1
        self.y = self.st.margin

    def run(self, blocks: list[Block]) -> None:
        """Lay out all blocks."""
        for b in blocks:
            self.block(b)
        self._footer()

    def block(self, b: Block) -> None:
        """Lay out one block."""
        st, fam = self.st, self.st.family
        if isinstance(b, T):
            size = st.base + b.size
            lh = size * st.leading
            fam_b = b.family or fam
            for line in wrap(self.c, b.text, size, self.tw - b.indent, b.bold, fam_b):
                self.need(lh)
                w = self.c.width(line, size, b.bold, fam_b)
                x = {"L": self.x0 + b.indent, "C": self.x0 + (self.tw - w) / 2, "R": self.x0 + self.tw - w}[b.align]
                self.y += lh
                self.put(x, self.y - lh * 0.25, line, size, b.bold, b.color or (0, 0, 0), fam_b)
            self.y += b.gap
        elif isinstance(b, KV):
            size = st.base
            lh = size * st.leading
            colw = self.tw / b.cols
            rows = [b.pairs[i:i + b.cols] for i in range(0, len(b.pairs), b.cols)]
            for row in rows:
                self.need(lh)
                self.y += lh
                for j, (k, v) in enumerate(row):
                    x = self.x0 + j * colw
                    label = f"{k}:" if k else ""
                    self.put(x, self.y - lh * 0.25, label, size, True)
                    lw = self.c.width(label + " ", size, True, fam) if label else 0
                    vlines = wrap(self.c, v, size, colw - lw - 6)
                    self.put(x + lw, self.y - lh * 0.25, vlines[0], size)
                    for extra in vlines[1:]:
                        self.y += lh
                        self.put(x + lw, self.y - lh * 0.25, extra, size)
            self.y += b.gap
        elif isinstance(b, Table):
            self._table(b)
        elif isinstance(b, Boxes):
            size = st.base
            colw = self.tw / b.cols
            for i in range(0, len(b.cells), b.cols):
                row = b.cells[i:i + b.cols]
                values = [wrap(self.c, v, size, colw - 10) for _, v in row]
                bh = size * (2.0 + 1.3 * max(len(v) for v in values))
                self.need(bh)
                for j, ((k, _), lines) in enumerate(zip(row, values, strict=True)):
                    x = self.x0 + j * colw
                    self.c.rect(x, self.y, colw, bh, outline=(0, 0, 0), lw=0.6)
                    self.put(x + 3, self.y + size * 0.95, k, size - 2.5, True, (60, 60, 60))
                    for n, line in enumerate(lines):
                        self.put(x + 6, self.y + size * (2.55 + 1.3 * n), line, size)
                self.y += bh
            self.y += b.gap
        elif isinstance(b, Bar):
            size = st.base + 1
            self.need(size * 2.6)
            self.c.rect(self.x0, self.y, self.tw, size * 1.7, fill=st.shade)
            self.put(self.x0 + 4, self.y + size * 1.25, b.text, size, True, st.accent)
            self.y += size * 1.7 + 5
        elif isinstance(b, Rule):
            self.y += 3
            self.c.line(self.x0, self.y, self.x0 + self.tw, self.y, b.weight, (80, 80, 80))
            self.y += 9
        elif isinstance(b, Space):
            self.y += b.h
        elif isinstance(b, Checks):
            size = st.base
            self.need(size * 2)
            self.y += size * 1.4
            x = self.x0
            self.put(x, self.y, b.label, size, True)
            x += self.c.width(b.label + "  ", size, True, fam)
            for opt, on in b.options:
                self.c.rect(x, self.y - size * 0.8, size * 0.85, size * 0.85, outline=(0, 0, 0), lw=0.6)
                if on:
                    self.put(x + size * 0.08, self.y - size * 0.05, "X", size * 0.85, True)
                x += size * 1.3
                self.put(x, self.y, opt, size)
                x += self.c.width(opt + "   ", size, False, fam)
            self.y += size * 0.8
        elif isinstance(b, PageBreak):
            self.new_page()

    def _table(self, b: Table) -> None:
        size = self.st.base + b.size
        lh = size * 1.28
        widths = [w * self.tw for w in b.widths]
        fam = self.st.family

        def row(cells: tuple[str, ...], header: bool) -> None:
            wrapped = [wrap(self.c, s, size, w - 6, header, fam) for s, w in zip(cells, widths, strict=True)]
            h = max(len(w) for w in wrapped) * lh + 5
            self.need(h)
            x = self.x0
            if header:
                self.c.rect(x, self.y, self.tw, h, fill=self.st.shade)
            for lines, w in zip(wrapped, widths, strict=True):
                self.c.rect(x, self.y, w, h, outline=(110, 110, 110), lw=0.5)
                for k, line in enumerate(lines):
                    self.put(x + 3, self.y + 3 + (k + 0.8) * lh, line, size, header)
                x += w
            self.y += h

        row(b.header, True)
        for r in b.rows:
            row(r, False)
        self.y += b.gap


def flow_pdf(blocks: list[Block], st: Style) -> tuple[bytes, list[str]]:
    """A text-layer PDF of the blocks, and the strings drawn."""
    c = PdfCanvas()
    f = Flow(c, st)
    f.run(blocks)
    return c.output(), f.texts


def flow_images(blocks: list[Block], st: Style, dpi: int, height: float = 792) -> tuple[list[Image.Image], list[str]]:
    """Page images of the blocks at a dpi (letter, or legal with height 1008), and the strings drawn."""
    c = ImageCanvas(612, height, dpi / 72)
    f = Flow(c, st)
    f.run(blocks)
    return c.pages, f.texts


# --- degradations ----------------------------------------------------------------------------------------------------


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.randrange(2**32))


def scan_effect(img: Image.Image, rng: random.Random, gray: bool = True) -> Image.Image:
    """A flatbed scan: slight rotation, paper tone, noise, softness, a lid shadow now and then."""
    g = _np_rng(rng)
    img = img.convert("L") if gray else img.convert("RGB")
    fill = 255 if gray else (255, 255, 255)
    img = img.rotate(rng.uniform(-2.0, 2.0), resample=Image.Resampling.BICUBIC, fillcolor=fill)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    a = np.asarray(img).astype(np.float32)
    tone = rng.uniform(0.93, 0.99)
    a = a * tone + g.normal(0, rng.uniform(2, 7), a.shape)
    if rng.random() < 0.35:  # shadow along one edge where the lid did not close
        dist = np.linspace(0.0, 1.0, a.shape[1])
        if rng.random() < 0.5:
            dist = dist[::-1]
        shade = 1 - rng.uniform(0.25, 0.5) * np.exp(-dist / rng.uniform(0.01, 0.03))
        a = a * (shade[None, :, None] if a.ndim == 3 else shade[None, :])
    for _ in range(rng.randint(5, 40)):  # dust specks
        y, x = g.integers(0, a.shape[0]), g.integers(0, a.shape[1])
        a[max(0, y - 1):y + 2, max(0, x - 1):x + 2] = rng.uniform(30, 120)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def fax_pages(pages: list[Image.Image], rng: random.Random, header: str, fine: bool) -> list[Image.Image]:
    """Rendered 200 dpi pages to 1-bit fax pages (200x200 fine or 200x100 standard) with a header line."""
    g = _np_rng(rng)
    out = []
    for i, page in enumerate(pages):
        page = page.convert("L")
        d = ImageDraw.Draw(page)
        d.text((40, 28), header.format(page=i + 1, pages=len(pages)), font=pil_font("mono", False, 24), fill=0)
        page = page.rotate(rng.uniform(-0.8, 0.8), resample=Image.Resampling.BILINEAR, fillcolor=255)
        a = np.asarray(page).astype(np.float32) + g.normal(0, 18, (page.height, page.width))
        bw = Image.fromarray(np.where(a > rng.uniform(135, 175), 255, 0).astype(np.uint8))
        if not fine:
            bw = bw.resize((bw.width, bw.height // 2), Image.Resampling.BOX)
        bw = bw.point(lambda v: 255 if v > 127 else 0).convert("1")
        out.append(bw)
    return out


def _perspective_coeffs(dst: Sequence[tuple[float, float]], src: Sequence[tuple[float, float]]) -> list[float]:
    """Coefficients mapping output points dst to input points src (PIL's PERSPECTIVE transform)."""
    rows = []
    rhs = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    sol = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return [float(v) for v in sol]


def moire(img: Image.Image, rng: random.Random) -> Image.Image:
    """Interference bands from photographing a pixel grid."""
    a = np.asarray(img.convert("RGB")).astype(np.float32)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, math.pi)
    freq = rng.uniform(0.02, 0.06)
    wave = np.sin((xx * math.cos(ang) + yy * math.sin(ang)) * freq * 2 * math.pi + rng.uniform(0, 6.28))
    a = a * (1 - rng.uniform(0.03, 0.08) * (wave[..., None] + 1) / 2)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def photo_effect(img: Image.Image, rng: random.Random, screen: bool) -> Image.Image:
    """A phone photo of a screen or of paper: bezel/desk, perspective, uneven light, blur, sensor noise."""
    g = _np_rng(rng)
    img = img.convert("RGB")
    long_side = rng.randint(2000, 2600)
    if screen:
        img = moire(img, rng)
        pad = int(min(img.size) * 0.05)
        body = Image.new("RGB", (img.width + 2 * pad, img.height + 2 * pad), (18, 18, 20))
        body.paste(img, (pad, pad))
        img = body
        bg: Color = (rng.randint(60, 120), rng.randint(50, 100), rng.randint(40, 80))
    else:
        bg = (rng.randint(90, 170), rng.randint(80, 150), rng.randint(60, 130))
    scale = long_side / (max(img.size) * 1.12)
    img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    W, H = round(img.width * 1.12), round(img.height * 1.12)
    canvas = Image.new("RGB", (W, H), bg)
    ox, oy = (W - img.width) // 2, (H - img.height) // 2
    canvas.paste(img, (ox, oy))
    # Perspective: the document's corners land on a jittered quadrilateral.
    j = rng.uniform(0.015, 0.04)
    src = [(ox, oy), (ox + img.width, oy), (ox + img.width, oy + img.height), (ox, oy + img.height)]
    dst = [(x + rng.uniform(-j, j) * W, y + rng.uniform(-j, j) * H) for x, y in src]
    coeffs = _perspective_coeffs(dst, src)
    canvas = canvas.transform((W, H), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=bg)
    canvas = canvas.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BICUBIC, fillcolor=bg)
    a = np.asarray(canvas).astype(np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (xx / W - 0.5) * math.cos(ang) + (yy / H - 0.5) * math.sin(ang)
    light = 1 + rng.uniform(0.15, 0.35) * grad
    cx, cy = rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.7) * H
    vign = 1 - 0.25 * (((xx - cx) / W) ** 2 + ((yy - cy) / H) ** 2)
    tint = np.array([rng.uniform(0.95, 1.05), 1.0, rng.uniform(0.88, 1.0)], dtype=np.float32)
    a = a * (light * vign)[..., None] * tint * rng.uniform(0.85, 1.0)
    a += g.normal(0, rng.uniform(2, 6), a.shape)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.4)))


# --- writers ---------------------------------------------------------------------------------------------------------


def image_bytes(img: Image.Image, fmt: str, rng: random.Random) -> bytes:
    """Encode one image without metadata (PNG, JPEG or WEBP)."""
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, "PNG")
    elif fmt == "jpg":
        img.convert("RGB" if img.mode != "L" else "L").save(buf, "JPEG", quality=rng.randint(72, 92))
    elif fmt == "webp":
        img.convert("RGB").save(buf, "WEBP", quality=rng.randint(75, 92), method=4)
    else:
        raise ValueError(fmt)
    return buf.getvalue()


def tiff_bytes(pages: list[Image.Image], fine: bool) -> bytes:
    """A multi-page CCITT G4 TIFF at fax resolution."""
    buf = io.BytesIO()
    dpi = (200, 200) if fine else (200, 100)
    pages[0].save(buf, "TIFF", compression="group4", dpi=dpi, save_all=True, append_images=pages[1:])
    return buf.getvalue()


def image_pdf_bytes(pages: list[Image.Image], dpi: int, rng: random.Random) -> bytes:
    """A PDF whose pages are images only (no text layer), JPEG-compressed as scanner software does."""
    pdf = FPDF(unit="pt")
    pdf.set_creation_date(PDF_DATE)
    pdf.set_producer("varied-generator scan")
    pdf.set_image_filter("DCTDecode")
    for img in pages:
        w, h = img.width * 72 / dpi, img.height * 72 / dpi
        pdf.add_page(format=(w, h))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(70, 88))
        buf.seek(0)
        pdf.image(buf, x=0, y=0, w=w, h=h)
    return bytes(pdf.output())
