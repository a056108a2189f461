"""The faster image preparation prepares every page exactly as the previous code did.

The previous implementations of the steps that were rewritten for speed (benchmarks/README.md "bench_prepare.py") are
kept here as references: Pillow's MaxFilter/MinFilter closing in `flatten_shading`, `np.percentile` in
`stretch_contrast`, Otsu and the median from `np.bincount` with two comparisons in `ink_mask`, the cumulative-sum
`_long_runs` and `erase_ruling_lines` (thickness runs over the whole page), the float product over the whole page
in `flatten_shading`, float row sums in the skew search, and one ink mask per step in `_finished`. Generated pages
that go through every step (shaded cells, ruling lines, skew, dim contrast, dark bars) are prepared with the
references swapped in and without them: the pixels, size, steps and map back must be equal.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from extractors import imaging, ocr
from extractors.imaging import IDENTITY, deskew, prepare, ruling, tones
from extractors.imaging.dark_regions import erode
from pipeline.limits import DEFAULT_LIMITS
from pipeline.types import MediaType

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"

# ------------------------------------------------------------------------------------ the previous implementations


def old_otsu_threshold(gray: npt.NDArray[np.uint8]) -> int:
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 127
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    w1 = total - w0
    mean_all = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 / total - m0) ** 2 / (w0 * w1 / total)
    between = np.nan_to_num(between, nan=0.0, posinf=0.0)
    return int(np.argmax(between))


def old_median_tone(arr: npt.NDArray[np.uint8]) -> float:
    counts = np.cumsum(np.bincount(arr.ravel(), minlength=256))
    n = int(counts[-1])
    if n == 0:
        return float("nan")
    lo = int(np.searchsorted(counts, (n - 1) // 2, side="right"))
    hi = int(np.searchsorted(counts, n // 2, side="right"))
    return (lo + hi) / 2


def old_ink_mask(gray: Image.Image) -> npt.NDArray[np.bool_]:
    arr = np.asarray(gray)
    t = old_otsu_threshold(arr)
    paper = old_median_tone(arr)
    return (arr <= t) & (arr < paper - 30)


def old_flatten_shading(gray: Image.Image) -> tuple[Image.Image, float]:
    f = max(1, round(prepare._SHADE_CELL_PX * max(gray.width, gray.height) / 2200))
    small = gray.reduce(f) if f > 1 else gray
    k = max(3, round(prepare._SHADE_WINDOW_PX / f) | 1)
    closed = np.asarray(small.filter(ImageFilter.MaxFilter(k)).filter(ImageFilter.MinFilter(k)), dtype=np.float32)
    paper = float(np.median(closed))
    # The dim bands of dark text (a later change of what is shaded, not of how) are chosen as the module does.
    dim = prepare._dim_bands(np.asarray(small), closed)
    cells = erode((closed < paper - prepare._SHADE_MIN_DELTA) & ((closed >= prepare.DARKEST_SHADE) | dim))
    share = float(cells.mean())
    if share < prepare._SHADE_MIN_SHARE:
        return gray, 0.0
    gain_cells = np.where(cells, paper / np.maximum(closed, 1.0), 1.0).astype(np.float32)
    gain = np.asarray(Image.fromarray(gain_cells, "F").resize(gray.size, Image.Resampling.NEAREST), dtype=np.float32)
    arr = np.asarray(gray, dtype=np.float32)
    return Image.fromarray(np.clip(arr * gain, 0, 255).astype(np.uint8), "L"), share


def old_stretch_contrast(gray: Image.Image, min_spread: int = 150) -> Image.Image | None:
    lo, hi = np.percentile(np.asarray(gray), [1, 99])
    if hi - lo >= min_spread or hi - lo < 8:
        return None
    return ImageOps.autocontrast(gray, cutoff=1)


def old_long_runs(mask: npt.NDArray[np.bool_], length: int) -> npt.NDArray[np.bool_]:
    rows, cols = mask.shape
    padded = np.zeros((rows, cols + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded.ravel())
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    keep = ends - starts >= length
    marks = np.zeros(padded.size + 1, dtype=np.int8)
    marks[starts[keep]] = 1
    marks[ends[keep]] = -1
    kept = np.cumsum(marks[:-1], dtype=np.int8).astype(bool).reshape(rows, cols + 2)
    return kept[:, 1:-1]


def old_erase_ruling_lines(gray: Image.Image, line_height_px: float | None) -> tuple[Image.Image, int]:
    height = line_height_px or 0.0
    run = max(ruling._MIN_RUN_PX, round(ruling.RUN_PER_LINE_HEIGHT * height))
    thick = max(ruling._MIN_THICK_PX, round(ruling.THICK_PER_LINE_HEIGHT * height))
    arr = np.asarray(gray)
    ink = old_ink_mask(gray)
    horizontal = old_long_runs(ink, run)
    horizontal &= ~old_long_runs(horizontal.T, thick).T
    vertical = old_long_runs(ink.T, run).T
    vertical &= ~old_long_runs(vertical, thick)
    lines = horizontal | vertical
    if lines.mean() < ruling._MIN_LINE_SHARE:
        return gray, 0
    out = arr.copy()
    out[ruling._grow(lines)] = np.uint8(old_median_tone(arr))
    return Image.fromarray(out, "L"), ruling._bands(horizontal.any(axis=1)) + ruling._bands(vertical.any(axis=0))


def old_profile_score(mask_img: Image.Image, degrees: float) -> float:
    rotated = mask_img.rotate(degrees, resample=Image.Resampling.NEAREST, expand=True, fillcolor=0)
    rows = np.asarray(rotated, dtype=np.float64).sum(axis=1)
    return float(np.sum(np.diff(rows) ** 2))


def old_finished(gray: Image.Image, steps: tuple[str, ...]) -> ocr.Prepared:
    """`ocr._finished` as it was: each step computed its own ink mask."""
    out = list(steps)
    to_original = IDENTITY
    angle = imaging.estimate_skew(gray)
    if angle:
        gray, back = imaging.rotate_small(gray, angle)
        to_original = to_original.then(back)
        out.append(f"deskewed {angle:.1f}°")
    line_height = imaging.estimate_line_height(gray)
    gray, ruled = imaging.erase_ruling_lines(gray, line_height)
    if ruled:
        out.append(f"erased {ruled} ruling line{'s' if ruled > 1 else ''}")
        line_height = imaging.estimate_line_height(gray)
    factor = imaging.upscale_factor(line_height, gray.width, gray.height, DEFAULT_LIMITS.max_pixels)
    if factor > 1.0:
        gray, back = imaging.scale(gray, factor)
        to_original = to_original.then(back)
        out.append(f"upscaled x{factor:.1f}")
    return ocr.Prepared(gray, to_original, tuple(out))


def previous_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """The previous implementations in place of the current ones, wherever the preparation looks them up."""
    for module in (imaging, prepare, ruling, deskew):
        monkeypatch.setattr(module, "ink_mask", old_ink_mask, raising=False)
    monkeypatch.setattr(imaging, "flatten_shading", old_flatten_shading)
    monkeypatch.setattr(imaging, "stretch_contrast", old_stretch_contrast)
    monkeypatch.setattr(imaging, "erase_ruling_lines", old_erase_ruling_lines)
    monkeypatch.setattr(deskew, "_profile_score", old_profile_score)
    monkeypatch.setattr(ocr, "_finished", lambda gray, _to, steps, _limits: old_finished(gray, steps))


# ---------------------------------------------------------------------------------------------- generated pages

WORDS = ("Patient", "Jane", "Example", "chronic", "migraine", "G43.709", "Physician", "Robert", "Smith", "MD",
         "follow", "up", "weeks", "neuropathic", "pain", "left", "foot", "Date", "of", "birth", "03/14/1968")


def generated_page(seed: int) -> Image.Image:
    """A grey page of text lines with, by seed, a ruled table, shaded cells, a dark bar with light text, a skew,
    low contrast and noise: every step of the preparation has something to do on some seed."""
    rng = random.Random(seed)
    w, h = rng.choice(((1000, 1300), (850, 1100), (1200, 900)))
    page = Image.new("L", (w, h), 245)
    draw = ImageDraw.Draw(page)
    px = rng.choice((14, 18, 24))
    font = ImageFont.load_default(size=px)
    y = 40
    if seed % 3 == 0:  # a dark header bar holding light text
        draw.rectangle((0, 0, w, 70), fill=40)
        draw.text((30, 20), "MyChart  Visit summary", fill=235, font=font)
        y = 100
    if seed % 2 == 0:  # a ruled table with a shaded label column
        top, rows, cw = y, 5, w // 3
        for r in range(rows):
            draw.rectangle((40, top + r * 3 * px, 40 + cw, top + (r + 1) * 3 * px), fill=190)
        for r in range(rows + 1):
            draw.line((40, top + r * 3 * px, w - 40, top + r * 3 * px), fill=20, width=2)
        for x in (40, 40 + cw, w - 40):
            draw.line((x, top, x, top + rows * 3 * px), fill=20, width=2)
        for r in range(rows):
            draw.text((50, top + r * 3 * px + px // 2), rng.choice(WORDS), fill=10, font=font)
            draw.text((50 + cw, top + r * 3 * px + px // 2), " ".join(rng.choices(WORDS, k=3)), fill=10, font=font)
        y = top + rows * 3 * px + 2 * px
    while y < h - 2 * px:
        draw.text((40, y), " ".join(rng.choices(WORDS, k=rng.randint(3, 9))), fill=15, font=font)
        y += int(px * 1.6)
    if seed % 4 == 1:  # skewed by more than the deskew's minimum
        page = page.rotate(rng.choice((-3.2, -1.4, 0.9, 2.6)), resample=Image.Resampling.BILINEAR, expand=True,
                           fillcolor=245)
    arr = np.asarray(page, dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0, rng.choice((2.0, 6.0)), arr.shape)
    if seed % 5 == 2:  # a dim photo: the tones squeezed into 90..170
        arr = 90 + arr * (80 / 255)
    return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8), "L")


SEEDS = range(8)


def _prepared(image: Image.Image) -> ocr.Prepared:
    gray, steps = ocr._cleaned(image)
    return ocr._finished(gray, IDENTITY, steps, DEFAULT_LIMITS)


def _key(prepared: ocr.Prepared) -> tuple[object, ...]:
    return prepared.image.size, prepared.steps, prepared.to_original, prepared.image.tobytes()


# ------------------------------------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def current() -> dict[int, tuple[object, ...]]:
    return {seed: _key(_prepared(generated_page(seed))) for seed in SEEDS}


def test_generated_pages_go_through_every_preparation_step(current: dict[int, tuple[object, ...]]) -> None:
    steps = " | ".join(step for key in current.values() for step in key[1])  # type: ignore[attr-defined]
    for step in ("flattened shading", "erased", "deskewed", "contrast stretched", "inverted", "upscaled"):
        assert step in steps


def test_prepared_pages_are_identical_to_the_previous_code(current: dict[int, tuple[object, ...]],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    previous_code(monkeypatch)
    for seed in SEEDS:
        assert _key(_prepared(generated_page(seed))) == current[seed], f"seed {seed}"


@pytest.mark.parametrize(("name", "media_type"), [
    ("jpeg_scan_migraine.jpg", MediaType.JPEG),  # a skewed phone-scanned page
    ("mychart_phone_dark_fibro.png", MediaType.PNG),  # dark mode, bars
    ("fax_referral_neuropathy.tif", MediaType.TIFF),  # a fax: ruled form
])
def test_bundled_scans_are_prepared_identically_to_the_previous_code(name: str, media_type: MediaType,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [frame.image for frame in imaging.iter_frames((SAMPLES / name).read_bytes(), media_type)]
    now = [_key(_prepared(frame)) for frame in frames]
    previous_code(monkeypatch)
    assert [_key(_prepared(frame)) for frame in frames] == now


@pytest.mark.parametrize("seed", SEEDS)
def test_each_rewritten_step_equals_its_previous_implementation(seed: int) -> None:
    page = generated_page(seed)
    arr = np.asarray(page)
    assert np.array_equal(imaging.ink_mask(page), old_ink_mask(page))
    assert imaging.otsu_threshold(arr) == old_otsu_threshold(arr)
    new_flat, old_flat = imaging.flatten_shading(page), old_flatten_shading(page)
    assert new_flat[1] == old_flat[1] and new_flat[0].tobytes() == old_flat[0].tobytes()
    new_stretch, old_stretch = imaging.stretch_contrast(page), old_stretch_contrast(page)
    assert (new_stretch is None) == (old_stretch is None)
    ink = old_ink_mask(page)
    for length in (4, 40, 97):
        assert np.array_equal(ruling._long_runs(ink, length), old_long_runs(ink, length))
        assert np.array_equal(ruling._long_runs(ink.T, length), old_long_runs(ink.T, length))
    for line_height in (None, 12.0, 30.0):
        new_erased = imaging.erase_ruling_lines(page, line_height)
        old_erased = old_erase_ruling_lines(page, line_height)
        assert new_erased[1] == old_erased[1] and new_erased[0].tobytes() == old_erased[0].tobytes()
    mask_img = Image.fromarray((ink * 255).astype(np.uint8), "L")
    for degrees in (-5.0, -0.3, 0.0, 2.5):
        assert deskew._profile_score(mask_img, degrees) == old_profile_score(mask_img, degrees)


def test_percentiles_from_the_histogram_equal_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    arrays = [rng.integers(0, 256, size, dtype=np.uint8) for size in (1, 2, 3, 7, 100, 101, 4097, 250_000)]
    arrays += [np.full(50, 200, dtype=np.uint8), np.array([0, 255], dtype=np.uint8),
               rng.integers(120, 130, 9999, dtype=np.uint8)]
    for arr in arrays:
        counts = np.cumsum(np.bincount(arr, minlength=256))
        for q in (0.0, 1.0, 25.0, 50.0, 99.0, 100.0):
            assert prepare.percentile_of_counts(counts, q) == float(np.percentile(arr, q)), (arr.size, q)


def test_ink_mask_one_comparison_equals_both_bounds_on_every_paper_tone() -> None:
    # Every paper tone, including the .5 medians of an even pixel count, and papers darker than 30.
    rng = np.random.default_rng(3)
    for paper in range(256):
        arr = np.clip(rng.normal(paper, 40, (31, 32)), 0, 255).astype(np.uint8)
        arr[0, :16] = paper
        image = Image.fromarray(arr, "L")
        assert np.array_equal(imaging.ink_mask(image), old_ink_mask(image)), paper
    assert not imaging.ink_mask(Image.new("L", (0, 0))).size
    for arr in (rng.integers(0, 256, (40, 50), dtype=np.uint8), rng.integers(0, 256, 999, dtype=np.uint8),
                np.asfortranarray(rng.integers(0, 256, (33, 21), dtype=np.uint8))):
        assert np.array_equal(tones.histogram(arr), np.bincount(arr.ravel(), minlength=256))
    assert math.isnan(prepare.median_tone(np.zeros(0, dtype=np.uint8)))
