"""Phone photos of paper and of screens: the quadrilateral found and flattened before OCR, everything else untouched,
and word boxes carried back to the photo's pixels through the homography (extractors/imaging/perspective.py)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import fakes
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from extractors import imaging, ocr
from extractors.imaging import Affine, Homography
from extractors.ocr import TesseractEngine

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"
Point = tuple[float, float]
Photo = Callable[[], tuple[Image.Image, Homography]]

PAGE_LINES = ["Patient: Samuel Whitfield", "DOB: 03/14/1961", "Diagnosis: chronic migraine",
              "Physician: Robert Okafor, MD", "Follow up in six weeks", "Neuropathic pain, left foot",
              "Blood pressure reviewed today", "Continue current medication"]


def _page(size: tuple[int, int], fg: tuple[int, int, int], bg: tuple[int, int, int], px: int = 40) -> Image.Image:
    """A page (or screen) of PAGE_LINES in Pillow's bundled font."""
    im = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=px)
    for i, line in enumerate(PAGE_LINES):
        draw.text((px * 2, px * 2 + i * int(px * 2.2)), line, fill=fg, font=font)
    return im


def _photo(page: Image.Image, canvas: tuple[int, int], corners: list[Point], table: tuple[int, int, int],
           seed: int = 1) -> tuple[Image.Image, Homography]:
    """`page` photographed: warped so its corners land on `corners` of a `table`-coloured canvas, lit unevenly,
    blurred and noisy. Also returns the map page → photo (the forward map, to check boxes against)."""
    w, h = page.size
    page_corners = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    to_page = Homography.from_points(corners, page_corners)  # photo pixel → page pixel (PIL's direction)
    warped = page.transform(canvas, Image.Transform.PERSPECTIVE, to_page.coefficients(), Image.Resampling.BICUBIC)
    cover = Image.new("L", page.size, 255).transform(canvas, Image.Transform.PERSPECTIVE, to_page.coefficients(),
                                                     Image.Resampling.BILINEAR)
    photo = Image.new("RGB", canvas, table)
    photo.paste(warped, (0, 0), cover)
    a = np.asarray(photo, dtype=np.float32)
    yy, xx = np.mgrid[0:canvas[1], 0:canvas[0]].astype(np.float32)
    light = 1.0 + 0.25 * (xx / canvas[0] - 0.5) - 0.15 * (yy / canvas[1] - 0.5)
    rng = np.random.default_rng(seed)
    a = a * light[..., None] + rng.normal(0, 4, a.shape)
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    return out, Homography.from_points(page_corners, corners)


TABLE_CORNERS = [(150.0, 210.0), (1160.0, 120.0), (1230.0, 1480.0), (110.0, 1420.0)]
SCREEN_CORNERS = [(120.0, 160.0), (1380.0, 90.0), (1420.0, 940.0), (90.0, 1010.0)]


def _paper_photo() -> tuple[Image.Image, Homography]:
    """A white page tilted and keystoned on a dark wooden table."""
    return _photo(_page((1000, 1300), (25, 25, 25), (245, 243, 238)), (1350, 1600), TABLE_CORNERS, (70, 45, 30))


def _screen_photo() -> tuple[Image.Image, Homography]:
    """A dark-mode screen (light text on near-black, a black bezel) at an angle against a blue wall."""
    screen = _page((1200, 760), (225, 228, 232), (30, 31, 36), px=36)
    body = Image.new("RGB", (1280, 840), (12, 12, 14))
    body.paste(screen, (40, 40))
    return _photo(body, (1500, 1100), SCREEN_CORNERS, (60, 120, 170), seed=2)


def _light_screen_photo() -> tuple[Image.Image, Homography]:
    """A light portal screen in a thick black bezel at an angle against a brown desk."""
    screen = _page((1200, 760), (20, 20, 20), (238, 240, 236), px=36)
    ImageDraw.Draw(screen).rectangle((0, 0, 1199, 50), fill=(0, 100, 80))
    body = Image.new("RGB", (1300, 860), (14, 14, 16))
    body.paste(screen, (50, 50))
    return _photo(body, (1500, 1100), SCREEN_CORNERS, (110, 80, 55), seed=3)


def test_regression_screen_bezel_was_inverted_with_the_page_as_one_dark_region() -> None:
    # The bezel left round a flattened light screen is one dark frame round the page; inverting it as a dark region
    # turned the whole page light-on-dark and tesseract read nothing (a dev photo of a screen came back unreadable).
    image, _ = _light_screen_photo()
    flat, back, _ = imaging.flatten_perspective(image)
    assert back is not None
    grey = np.asarray(flat.convert("L"), dtype=np.float32)
    for edge in (grey[:4, :], grey[-4:, :], grey[:, :4], grey[:, -4:]):
        assert float((edge < 60).mean()) < 0.5  # no bezel left along any edge
    text = " ".join(w.text for w in ocr.read_image(image, 72, 72, TesseractEngine()).words)
    assert "Whitfield" in text and "migraine" in text


@pytest.mark.parametrize(("photo", "corners"), [(_paper_photo, TABLE_CORNERS), (_screen_photo, SCREEN_CORNERS)])
def test_when_page_or_screen_is_photographed_at_an_angle_then_its_corners_are_found(photo: Photo,
                                                                                    corners: list[Point]) -> None:
    image, _ = photo()
    found = imaging.find_quadrilateral(image)
    assert found is not None
    for (x, y), (tx, ty) in zip(found, corners, strict=True):
        assert math.hypot(x - tx, y - ty) < 8.0  # px, on a 1350-1600 px photo


@pytest.mark.parametrize("photo", [_paper_photo, _screen_photo])
def test_when_photo_is_flattened_then_the_page_is_upright_and_read(photo: Photo) -> None:
    image, _ = photo()
    result = ocr.read_image(image, 72, 72, TesseractEngine())
    assert result.steps[0].startswith("flattened photo perspective")
    text = " ".join(w.text for w in result.words)
    for expected in ("Samuel", "Whitfield", "migraine", "Okafor", "Neuropathic"):
        assert expected in text


def test_when_photo_is_flattened_then_a_word_box_maps_back_onto_where_it_was_drawn() -> None:
    image, page_to_photo = _paper_photo()
    # Where "Whitfield" was drawn on the page, carried into the photo by the same warp.
    font = ImageFont.load_default(size=40)
    x0 = 80 + ImageDraw.Draw(Image.new("L", (1, 1))).textlength("Patient: Samuel ", font=font)
    ink = Image.new("L", (1000, 1300), 0)
    ImageDraw.Draw(ink).text((x0, 80), "Whitfield", fill=255, font=font)
    left, top, right, bottom = ink.getbbox() or (0, 0, 0, 0)
    expected = page_to_photo.map_box(left, top, right, bottom)
    result = ocr.read_image(image, 72, 72, TesseractEngine())  # 72 dpi: points == pixels
    [word] = [w for w in result.words if w.text == "Whitfield"]
    got = (word.bbox.x0, word.bbox.top, word.bbox.x1, word.bbox.bottom)
    assert all(abs(g - e) < 6.0 for g, e in zip(got, expected, strict=True)), (got, expected)


def _screenshot_with_card() -> Image.Image:
    """A light portal screenshot with a large dark card in the middle: a solid quadrilateral, but pixel-aligned."""
    im = Image.new("RGB", (1400, 1000), (240, 242, 245))
    draw = ImageDraw.Draw(im)
    draw.rectangle((200, 180, 1200, 820), fill=(28, 30, 36))
    font = ImageFont.load_default(size=32)
    for i, line in enumerate(PAGE_LINES):
        draw.text((260, 230 + i * 60), line, fill=(230, 230, 230), font=font)
    return im


def _portal_desktop_screenshot() -> Image.Image:
    """A light portal screenshot: a blue top bar, a white sidebar and a grey content area with white cards, so the
    image's border is three different surfaces and the bar plus content make a wide solid region."""
    im = Image.new("RGB", (1920, 1080), (242, 243, 246))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, 1919, 60), fill=(0, 90, 160))
    draw.rectangle((0, 61, 280, 1079), fill=(255, 255, 255))
    font = ImageFont.load_default(size=24)
    for i, (x, y) in enumerate(((320, 150), (1110, 150), (320, 420))):
        draw.rectangle((x, y, x + 760, y + 220), fill=(255, 255, 255), outline=(225, 228, 232))
        draw.text((x + 20, y + 20), PAGE_LINES[i], fill=(30, 30, 30), font=font)
    draw.text((30, 18), "MyHealth Portal", fill=(255, 255, 255), font=font)
    return im


def _scan() -> Image.Image:
    """A 200-dpi grey scan: white page, slight skew, a boxed table, sensor noise, the scanner lid's white all round."""
    page = _page((1700, 2200), (20, 20, 20), (250, 250, 250)).convert("L")
    ImageDraw.Draw(page).rectangle((120, 900, 1580, 1700), outline=0, width=4)
    page = page.rotate(0.8, resample=Image.Resampling.BILINEAR, fillcolor=250)
    a = np.asarray(page, dtype=np.float32) + np.random.default_rng(3).normal(0, 5, (2200, 1700))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _rendered_page_with_panel() -> Image.Image:
    """A rendered PDF page: text above and below a large grey panel, tilted a little as a scan of it would be."""
    page = _page((1700, 2200), (0, 0, 0), (255, 255, 255))
    ImageDraw.Draw(page).rectangle((200, 800, 1500, 1700), fill=(200, 200, 200))
    ImageDraw.Draw(page).text((260, 1750), "Signed electronically by Robert Okafor, MD", fill=0,
                              font=ImageFont.load_default(size=40))
    return page.rotate(1.5, resample=Image.Resampling.BILINEAR, fillcolor=(255, 255, 255))


@pytest.mark.parametrize("make", [
    _screenshot_with_card,
    _portal_desktop_screenshot,
    _scan,
    _rendered_page_with_panel,
    lambda: fakes.text_image(PAGE_LINES, 30, (1200, 900)).convert("RGB"),
    lambda: Image.new("1", (1700, 2200), 1),  # a fax page
])
def test_when_image_is_a_screenshot_scan_or_rendered_page_then_it_is_left_untouched(
        make: Callable[[], Image.Image]) -> None:
    image = make()
    out, back, step = imaging.flatten_perspective(image)
    assert out is image and back is None and step is None


@pytest.mark.parametrize("name", ["portal_desktop_migraine.png", "portal_desktop_uncertain.png"])
def test_regression_portal_desktop_sample_screenshot_was_taken_for_a_photo_of_a_screen(name: str) -> None:
    # Its blue top bar and grey content area made a solid quadrilateral whose sides ran along the frame.
    with Image.open(SAMPLES / name) as im:
        image = im.convert("RGB")
    _, back, step = imaging.flatten_perspective(image)
    assert back is None and step is None


def test_when_homography_is_built_from_four_points_then_it_maps_each_to_its_source() -> None:
    derived = [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)]
    source = [(10.0, 20.0), (130.0, 5.0), (140.0, 90.0), (0.0, 70.0)]
    h = Homography.from_points(derived, source)
    for d, s in zip(derived, source, strict=True):
        assert h.apply(*d) == pytest.approx(s, abs=1e-6)


def test_when_homography_is_followed_by_an_affine_then_the_affine_applies_first() -> None:
    h = Homography.from_points([(0, 0), (10, 0), (10, 10), (0, 10)], [(1, 2), (12, 1), (13, 14), (0, 11)])
    inner = Affine(a=0.5, b=0.1, c=3.0, d=-0.1, e=0.5, f=4.0)
    composed = h.then(inner)
    for u, v in ((0.0, 0.0), (7.0, 3.0), (20.0, 11.0)):
        assert composed.apply(u, v) == pytest.approx(h.apply(*inner.apply(u, v)), abs=1e-9)


def test_when_a_box_is_mapped_through_a_homography_then_the_result_bounds_its_four_mapped_corners() -> None:
    h = Homography.from_points([(0, 0), (10, 0), (10, 10), (0, 10)], [(0, 0), (12, 1), (11, 13), (-1, 10)])
    corners = [h.apply(x, y) for x, y in ((2, 3), (6, 3), (6, 5), (2, 5))]
    assert h.map_box(2, 3, 6, 5) == pytest.approx((min(c[0] for c in corners), min(c[1] for c in corners),
                                                   max(c[0] for c in corners), max(c[1] for c in corners)))
