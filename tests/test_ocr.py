"""OCR: tesseract output parsing, boxes back to points, preparation with real tesseract, and the engine seam."""

from __future__ import annotations

import math
import os
import subprocess
import time
from typing import Any

import numpy as np
import pytesseract
import pytest
from fakes import text_image as lines_image
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from extractors import ocr
from extractors.imaging import IDENTITY, Affine
from extractors.ocr import OcrWord, Orientation, TesseractEngine
from pipeline.errors import OcrEngineError, OcrTimeout
from pipeline.limits import Limits
from pipeline.types import BBox, Word

LINES = ["Patient name: Jane Example", "Diagnosis: chronic migraine", "Physician: Robert Smith, MD",
         "Follow up in six weeks", "Neuropathic pain, left foot"]
WORDS = {w.strip(",:") for line in LINES for w in line.split()}


def text_image(px: int = 30, size: tuple[int, int] = (900, 330), fg: int = 0,
               bg: int = 255) -> tuple[Image.Image, dict[str, tuple[float, float, float, float]]]:
    """Grayscale page with LINES at `px`, and the drawn pixel box of the first word of each line (key: no colon)."""
    im = Image.new("L", size, bg)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=px)
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for i, line in enumerate(LINES):
        xy = (px, px + i * int(px * 1.6))
        draw.text(xy, line, fill=fg, font=font)
        first = line.split()[0]
        x0, top, x1, bottom = draw.textbbox(xy, first, font=font)  # the word as printed, colon included
        boxes[first.strip(":")] = (float(x0), float(top), float(x1), float(bottom))
    return im, boxes


def read_texts(words: tuple[Word, ...]) -> set[str]:
    return {w.text.strip(",:.") for w in words}


def box_of(words: tuple[Word, ...], text: str) -> BBox:
    return next(w.bbox for w in words if w.text.strip(",:") == text)


def tesseract_children() -> list[str]:
    """tesseract processes that are children of this test process (other sessions may run their own)."""
    out = subprocess.run(["pgrep", "-P", str(os.getpid()), "-x", "tesseract"], capture_output=True, text=True)
    return out.stdout.split()


# ------------------------------------------------------------------------------------------------- pure conversions

def test_when_tesseract_returns_blanks_and_negative_conf_then_only_real_words_are_kept() -> None:
    data: dict[str, list[Any]] = {"text": ["", "Hello", "  ", "world", "x"], "conf": [-1, 91.5, 50, "88", -1],
            "left": [0, 10, 0, 60, 0], "top": [0, 5, 0, 5, 0], "width": [0, 40, 0, 45, 0],
            "height": [0, 12, 0, 12, 0], "block_num": [1] * 5, "par_num": [1] * 5, "line_num": [1] * 5}
    words = ocr.words_from_tesseract(data)
    assert [(w.text, w.conf, w.left) for w in words] == [("Hello", 91.5, 10), ("world", 88.0, 60)]


@pytest.mark.parametrize(("box", "dpi", "expected"), [
    ((0, 0, 300, 150), (300, 300), (0, 0, 72, 36)),  # 300 px at 300 dpi = 1 in = 72 pt
    ((96, 48, 192, 96), (96, 96), (72, 36, 144, 72)),  # screenshot at the assumed 96 dpi
    ((10, 20, 5, 10), (72, 72), (5, 10, 10, 20)),  # corners given in any order
    ((0, 0, 200, 100), (200, 100), (0, 0, 72, 72)),  # non-square pixels
])
def test_when_pixel_box_converted_then_points_are_px_times_72_over_dpi(
        box: tuple[float, float, float, float], dpi: tuple[float, float],
        expected: tuple[float, float, float, float]) -> None:
    assert ocr.pixels_to_points(*box, *dpi) == BBox(*expected)


def test_when_words_come_from_two_blocks_then_lines_are_numbered_top_to_bottom_and_words_left_to_right() -> None:
    raw = [OcrWord("right", 500, 100, 50, 10, 90, block=2, par=1, line=1),
           OcrWord("second", 10, 130, 60, 10, 90, block=1, par=1, line=2),
           OcrWord("b", 80, 100, 20, 10, 80, block=1, par=1, line=1),
           OcrWord("a", 10, 101, 20, 10, 70, block=1, par=1, line=1)]
    words = ocr.to_page_words(raw, IDENTITY, 72, 72, 1000, 1000)
    assert [(w.text, w.line) for w in words] == [("a", 0), ("b", 0), ("right", 1), ("second", 2)]
    assert words[0].confidence == pytest.approx(0.70)


def test_when_image_was_upscaled_then_boxes_map_back_to_original_pixels_then_points() -> None:
    raw = [OcrWord("w", 200, 100, 100, 50, 95)]
    words = ocr.to_page_words(raw, Affine(a=0.5, e=0.5), 144, 144, 1000, 1000)  # prepared = original x2
    assert words[0].bbox == BBox(50, 25, 75, 37.5)


def test_when_box_maps_outside_the_page_then_it_is_clipped() -> None:
    raw = [OcrWord("w", -10, -10, 50, 30, 95)]
    assert ocr.to_page_words(raw, IDENTITY, 72, 72, 30, 30)[0].bbox == BBox(0, 0, 30, 20)


# ------------------------------------------------------------------------------------------- real tesseract, per case

def test_when_clean_page_read_then_words_and_boxes_match_the_drawing() -> None:
    im, drawn = text_image()
    result = ocr.read_image(im, 72, 72, TesseractEngine())  # 72 dpi: points == pixels
    assert read_texts(result.words) >= WORDS
    got = box_of(result.words, "Diagnosis")
    x0, top, x1, bottom = drawn["Diagnosis"]
    assert (got.x0, got.top, got.x1, got.bottom) == pytest.approx((x0, top, x1, bottom), abs=4)
    assert [w.line for w in result.words] == sorted(w.line for w in result.words)
    assert (result.width, result.height) == (900, 330)


def test_when_dark_mode_screenshot_read_then_it_is_inverted_and_read() -> None:
    im, _ = text_image(fg=235, bg=28)
    result = ocr.read_image(im, 96, 96, TesseractEngine())
    assert "inverted dark mode" in result.steps
    assert read_texts(result.words) >= WORDS


def test_when_scan_is_rotated_90_then_osd_turns_it_and_boxes_stay_on_the_original() -> None:
    im, drawn = text_image(px=36, size=(1100, 420))
    rotated = im.rotate(90, expand=True)  # counter-clockwise: text reads bottom to top
    result = ocr.read_image(rotated, 72, 72, TesseractEngine())
    assert any(s.startswith("rotated 90°") for s in result.steps)
    assert read_texts(result.words) >= WORDS
    x0, top, x1, bottom = drawn["Physician"]
    expected = (top, im.width - x1, bottom, im.width - x0)  # (x, y) → (y, w - x) under a 90° ccw turn
    got = box_of(result.words, "Physician")
    assert (got.x0, got.top, got.x1, got.bottom) == pytest.approx(expected, abs=5)


def test_when_scan_is_skewed_2_degrees_then_it_is_deskewed_and_boxes_stay_on_the_original() -> None:
    im, drawn = text_image(px=30)
    skewed = im.rotate(2.0, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    result = ocr.read_image(skewed, 72, 72, TesseractEngine())
    assert "deskewed -2.0°" in result.steps
    assert read_texts(result.words) >= WORDS
    got = box_of(result.words, "Patient")
    # Centre of the drawn box, carried through Pillow's rotation (about the centre, canvas expanded).
    x0, top, x1, bottom = drawn["Patient"]
    cx, cy = (x0 + x1) / 2 - im.width / 2, (top + bottom) / 2 - im.height / 2
    a = math.radians(2.0)
    ex = cx * math.cos(a) + cy * math.sin(a) + skewed.width / 2
    ey = -cx * math.sin(a) + cy * math.cos(a) + skewed.height / 2
    assert ((got.x0 + got.x1) / 2, (got.top + got.bottom) / 2) == pytest.approx((ex, ey), abs=4)


def test_when_screenshot_text_is_12px_then_it_is_upscaled_and_read_with_original_boxes() -> None:
    im, drawn = text_image(px=12, size=(360, 140))
    result = ocr.read_image(im, 96, 96, TesseractEngine())
    assert any(s.startswith("upscaled x") for s in result.steps)
    assert read_texts(result.words) >= WORDS
    got = box_of(result.words, "Follow")
    x0, top, x1, bottom = (v * 72 / 96 for v in drawn["Follow"])
    assert (got.x0, got.top, got.x1, got.bottom) == pytest.approx((x0, top, x1, bottom), abs=2)


def portal_page(band: bool = True, border: bool = False) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """RGB portal screenshot: LINES on a light page, under a blue header band with an avatar disc and the patient's
    name in white (with `band=False`: in dark text on the page), optionally in a black scanner margin; the name's box.

    Without local inversion tesseract reads this band's "9:41" and "MyChart" at best, never the name.
    """
    im = Image.new("RGB", (1000, 720), (244, 244, 246))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=30)
    margin = 70 if border else 0
    if band:  # the phone-portal header that lost 5 of 6 sample names: blue bar, white text, white avatar disc
        draw.rectangle((0, 0, 999, 159), fill=(0, 94, 160))
        draw.ellipse((30 + margin, 85, 90 + margin, 145), fill=(255, 255, 255))
        draw.text((42 + margin, 100), "SW", fill=(0, 94, 160), font=ImageFont.load_default(size=24))
    if border:
        draw.rectangle((0, 0, 999, 719), outline=(0, 0, 0), width=margin - 10)
    ink = (255, 255, 255) if band else (20, 20, 20)
    draw.text((40 + margin, 20 + margin // 2), "MyChart", fill=ink, font=font)
    xy = (110 + margin, 95)
    draw.text(xy, "Samuel Whitfield", fill=ink, font=font)
    name_box = draw.textbbox((xy[0] + draw.textlength("Samuel ", font=font), xy[1]), "Whitfield", font=font)
    for i, line in enumerate(LINES):
        draw.text((40 + margin, 200 + i * 48), line, fill=(20, 20, 20), font=font)
    return im, tuple(float(v) for v in name_box)  # type: ignore[return-value]


@pytest.mark.parametrize(("band", "border", "step"), [
    (True, False, "inverted 1 dark region"),  # white name on a blue header: inverted in place, then read
    (False, False, None),  # an ordinary light page: nothing to invert
    (False, True, None),  # a scan's black margin holds no light text: not a region
])
def test_when_page_has_a_dark_header_band_then_it_is_inverted_and_the_name_read_with_original_boxes(
        band: bool, border: bool, step: str | None) -> None:
    im, (x0, top, x1, bottom) = portal_page(band=band, border=border)
    result = ocr.read_image(im, 96, 96, TesseractEngine())
    inverted = [s for s in result.steps if s.startswith("inverted")]
    assert inverted == ([step] if step else [])
    assert read_texts(result.words) >= WORDS | {"Samuel", "Whitfield"}
    got = box_of(result.words, "Whitfield")
    ex0, etop, ex1, ebottom = (v * 72 / 96 for v in (x0, top, x1, bottom))  # inversion moves no pixel: drawn box, pt
    assert (got.x0, got.x1) == pytest.approx((ex0, ex1), abs=3)
    # Vertically tesseract may stretch the word to its line (the avatar disc shares it): the glyphs must lie inside.
    assert got.top - 3 <= etop and ebottom <= got.bottom + 3 and got.bottom - got.top < 3 * (ebottom - etop)


# --------------------------------------------------------------------------------------------- failures and the seam

class RaisingEngine:
    """An engine with a bug: raises something that is not ours."""

    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        raise RuntimeError("segfault-ish")

    def orientation(self, image: Image.Image, timeout: float) -> Orientation | None:
        return None


class HangingEngine:
    """An engine whose child process never finishes; it honours `timeout` the way subprocess does."""

    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        subprocess.run(["sleep", "30"], timeout=timeout, check=True)
        return []

    def orientation(self, image: Image.Image, timeout: float) -> Orientation | None:
        return None


class BrokenOsdEngine(HangingEngine):
    """OSD fails hard (engine missing): that must not be swallowed. Its read finds nothing, so OSD is asked."""

    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        return []

    def orientation(self, image: Image.Image, timeout: float) -> Orientation | None:
        raise OcrEngineError("tesseract binary not found")


@pytest.mark.parametrize(("engine", "error"), [
    (RaisingEngine(), OcrEngineError),
    (HangingEngine(), OcrTimeout),
    (BrokenOsdEngine(), OcrEngineError),
])
def test_when_injected_engine_fails_or_hangs_then_typed_ocr_error(engine: ocr.OcrEngine,
                                                                 error: type[Exception]) -> None:
    im, _ = text_image()
    start = time.monotonic()
    with pytest.raises(error):
        ocr.read_image(im, 72, 72, engine, Limits(ocr_timeout_s=0.5))
    assert time.monotonic() - start < 5


def test_when_tesseract_exceeds_its_timeout_then_ocr_timeout_and_no_tesseract_left() -> None:
    im, _ = text_image(size=(1800, 1400))
    with pytest.raises(OcrTimeout) as caught:
        TesseractEngine().read(im, timeout=0.001)
    assert "Patient" not in str(caught.value)  # sizes only, never text
    assert tesseract_children() == []


def test_when_tesseract_binary_is_missing_then_ocr_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # tesseract_cmd is pytesseract's documented configuration knob, not an internal.
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    im, _ = text_image()
    with pytest.raises(OcrEngineError):
        TesseractEngine().read(im, timeout=5)


def test_when_page_is_too_sparse_for_osd_then_orientation_is_none() -> None:
    im = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(im).text((10, 10), "Hi", fill=0, font=ImageFont.load_default(size=20))
    assert TesseractEngine().orientation(im, timeout=10) is None


def test_when_an_engine_is_built_then_tesseract_runs_single_threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    TesseractEngine()
    assert os.environ.get("OMP_THREAD_LIMIT") == "1"


# --- Shaded table cells (rendered C-CDA headers: grey label column) -----------------------------------------------

def _shaded_header(fill: int = 210) -> Image.Image:
    """A scanned two-column header table: labels in a grey column, values in a lighter one, blur and noise."""
    im = Image.new("L", (1400, 420), 252)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=26)
    draw.rectangle((60, 60, 1340, 360), outline=40, width=3)
    rows = [("Patient", "Legal: Eve BETTERHALF"), ("Guardian", "Boris BETTERHALF - Power of Attorney"),
            ("Author", "Henry SEVEN, Authored On: July 30, 2013")]
    for i, (label, value) in enumerate(rows):
        top = 66 + i * 96
        draw.rectangle((66, top, 330, top + 90), fill=fill)
        draw.rectangle((336, top, 1334, top + 90), fill=238)
        draw.text((80, top + 12), label, fill=30, font=font)
        draw.text((350, top + 12), value, fill=30, font=font)
    rng = np.random.default_rng(1)
    noisy = np.asarray(im.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32) + rng.normal(0, 8, (420, 1400))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "L")


def test_when_a_header_label_sits_in_a_shaded_table_cell_then_tesseract_reads_the_label() -> None:
    result = ocr.read_image(_shaded_header(), 200, 200, TesseractEngine())
    texts = [w.text for w in result.words]
    assert any(s.startswith("flattened shading") for s in result.steps)
    assert texts[:3] == ["Patient", "Legal:", "Eve"]
    assert "Guardian" in texts and "Author" in texts


# --- Orientation found cheaply: OSD only when the read does not look upright ---------------------------------------

class CountingEngine:
    """Tesseract, counting how often OSD and reading are asked (the OcrEngine seam)."""

    def __init__(self) -> None:
        self.inner = TesseractEngine()
        self.osd = 0
        self.reads = 0

    def read(self, image: Image.Image, timeout: float) -> list[OcrWord]:
        self.reads += 1
        return self.inner.read(image, timeout)

    def orientation(self, image: Image.Image, timeout: float) -> Orientation | None:
        self.osd += 1
        return self.inner.orientation(image, timeout)


def _dense_page() -> Image.Image:
    """A page of 16 lines of plain prose (~130 words) at 28 px: enough for both a confident read and OSD."""
    im = Image.new("L", (1500, 1000), 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=28)
    line = "The patient reports chronic pain in the lower back since the accident last spring"
    for i in range(16):
        draw.text((40, 40 + i * 56), line, fill=0, font=font)
    return im


@pytest.mark.parametrize(("turn", "osd_asked", "reads"), [(0, 0, 1), (180, 1, 2)], ids=["upright", "upside-down"])
def test_when_a_page_reads_upright_then_osd_is_not_asked_and_a_turned_page_is_still_turned_back(
        turn: int, osd_asked: int, reads: int) -> None:
    engine = CountingEngine()
    result = ocr.read_image(_dense_page().rotate(turn, expand=True), 200, 200, engine)
    assert (engine.osd, engine.reads) == (osd_asked, reads)
    assert {"patient", "chronic", "accident"} <= {w.text.lower() for w in result.words}
    assert any(s.startswith("rotated 180") for s in result.steps) == (turn == 180)


def test_regression_a_fax_in_normal_mode_is_read_at_square_pixels_and_its_boxes_map_back() -> None:
    # Faxes at 200 x 100 dpi were read as stored, every glyph half as tall as wide: "Name: Nasser, Mariam" came out as
    # "Marries: Maewoser, Mae rier" and no patient was found on most fax pages.
    page = lines_image(["Name: Nasser, Mariam DOB: 08/03/1993", "Attending: Tyrone Booker, MD",
                       "Negative for fibromyalgia."], px=28, size=(1100, 200))
    fax = page.resize((page.width, page.height // 2)).convert("1")  # normal mode: half the rows
    result = ocr.read_image(fax, 200, 100, TesseractEngine(script=None))
    words = [w.text.strip(",.") for w in result.words]
    assert {"Nasser", "Mariam", "Booker", "fibromyalgia"} <= set(words)
    assert any("square pixels" in step for step in result.steps)
    width, height = 1100 * 72 / 200, 100 * 72 / 100  # the page in points, from the fax's own resolution
    assert all(0 <= w.bbox.x0 < w.bbox.x1 <= width + 1 and 0 <= w.bbox.top < w.bbox.bottom <= height + 1
               for w in result.words)
    name = next(w for w in result.words if w.text.startswith("Nasser"))
    assert name.bbox.bottom < height / 3  # the first line stays on top: the stretch is undone in the boxes


def test_when_pixels_are_square_then_the_page_is_not_resampled() -> None:
    image = Image.new("L", (400, 200), 255)
    same, back, step = ocr._square_pixels(image, 300, 300, Limits())
    assert same is image and back == IDENTITY and step is None


# Regression (fresh varied seeds 9900-10499, train_10230, an ED discharge photo): OCR glued the label to its value
# with a speck of debris, "Name:.Winslow,", and no finder saw a patient label.
@pytest.mark.parametrize(("text", "parts"), [
    ("Name:.Winslow,", ["Name:", "Winslow,"]),
    ("Patient:Inês", ["Patient:", "Inês"]),
    ("10:15", ["10:15"]),  # a time
    ("https://portal", ["https://portal"]),  # an address: a slash is no speck
    ("Name:", ["Name:"]),  # a label alone
    ("Winslow,", ["Winslow,"]),
])
def test_when_ocr_glues_a_label_to_its_value_then_they_are_two_words_inside_the_box(text: str,
                                                                                      parts: list[str]) -> None:
    word = OcrWord(text=text, left=100, top=20, width=140, height=12, conf=88.0, block=1, par=1, line=3)
    split = ocr.split_glued_label(word)
    assert [w.text for w in split] == parts
    assert all(w.left >= 100 and w.left + w.width <= 240 and (w.top, w.height, w.line) == (20, 12, 3) for w in split)
    assert all(a.left + a.width <= b.left for a, b in zip(split, split[1:], strict=False))
