"""evaluation/degrade.py: the one scan degrader (samples generator and corpus evaluation presets)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import FrozenInstanceError, replace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from evaluation.degrade import CORPUS_SCAN, SAMPLE_SCAN, ScanDegradation, degrade, paper_noise


def _page(mode: str = "L") -> Image.Image:
    """A font-free synthetic page (bars and a diagonal), so the pixels do not depend on installed fonts."""
    img = Image.new("L", (400, 300), 255)
    d = ImageDraw.Draw(img)
    for i in range(12):
        d.rectangle((30, 20 + 22 * i, 30 + 25 * (i + 3), 32 + 22 * i), fill=0)
    d.line((20, 10, 380, 290), fill=60, width=3)
    return img.convert(mode)


def _digest(img: Image.Image) -> str:
    return hashlib.sha256(img.tobytes()).hexdigest()


@pytest.mark.parametrize("params", [SAMPLE_SCAN, CORPUS_SCAN], ids=["samples", "corpus"])
def test_when_the_same_seed_is_given_then_the_degraded_image_is_identical(params: ScanDegradation) -> None:
    assert degrade(_page(), params, 7).tobytes() == degrade(_page(), params, 7).tobytes()
    a = degrade(_page(), params, random.Random("s"))
    assert a.tobytes() == degrade(_page(), params, random.Random("s")).tobytes()


@pytest.mark.parametrize("params", [SAMPLE_SCAN, CORPUS_SCAN], ids=["samples", "corpus"])
def test_when_another_seed_is_given_then_the_pixels_differ(params: ScanDegradation) -> None:
    assert degrade(_page(), params, 7).tobytes() != degrade(_page(), params, 8).tobytes()


@pytest.mark.parametrize("params", [SAMPLE_SCAN, CORPUS_SCAN], ids=["samples", "corpus"])
def test_when_a_page_is_degraded_then_pixels_change_and_size_and_greyscale_are_kept(params: ScanDegradation) -> None:
    page = _page("RGB")
    out = degrade(page, params, 3)
    assert out.size == page.size
    assert out.mode == "L"
    changed = np.asarray(out) != np.asarray(page.convert("L"))
    assert changed.mean() > 0.5  # noise touches most pixels, not a handful


def test_when_a_page_is_degraded_then_the_input_image_is_left_untouched() -> None:
    page = _page()
    before = page.tobytes()
    degrade(page, CORPUS_SCAN, 1)
    degrade(page, SAMPLE_SCAN, random.Random(1))
    assert page.tobytes() == before


def test_when_the_corpus_preset_is_used_then_the_pixels_match_the_corpus_evaluations_historical_degrader() -> None:
    # digest of evaluation/corpus.py's degrade_page(_page(), 7) before the degrader was shared
    assert _digest(degrade(_page(), CORPUS_SCAN, 7)) == (
        "4f6f597264767d374b712309c67a55a8c7e9cd57a7f0d9f1fa883f7d4487d275")


def test_when_the_samples_preset_is_used_then_the_pixels_match_the_generators_historical_degrader() -> None:
    # digest of samples/generate.py's degrade_scan(_page(), random.Random("golden"), 1.2) before the split
    out = degrade(_page(), replace(SAMPLE_SCAN, rotation=1.2), random.Random("golden"))
    assert _digest(out) == "c5fe91f317016683a83fb62c15af1ae806b1641aeb1c964eecbb4b05a6b21b56"


def test_when_the_rotation_is_a_number_then_no_random_draw_is_spent_on_it() -> None:
    rng = random.Random(5)
    degrade(_page(), ScanDegradation(rotation=2.0, blur=0.7), rng)  # no noise: nothing to draw
    assert rng.random() == random.Random(5).random()


def test_when_the_rotation_is_a_range_then_the_drawn_angle_stays_within_it() -> None:
    page = Image.new("L", (200, 200), 0)  # black page: the uncovered corners show the fill colour
    straight = degrade(page, ScanDegradation(rotation=0.0, fill=255), 1)
    tilted = degrade(page, ScanDegradation(rotation=(0.5, 1.5), fill=255), 1)
    assert np.asarray(straight).max() == 0  # nothing uncovered without rotation
    uncovered = int((np.asarray(tilted) > 128).sum())
    # a 0.5..1.5 degree turn of a 200 px square uncovers roughly 4 * 0.5 * 100^2 * tan(angle) ~ 175..525 px
    assert 100 < uncovered < 700


def test_when_paper_noise_is_drawn_then_its_values_stay_between_the_floor_and_white() -> None:
    layer = np.asarray(paper_noise(random.Random(0), (300, 200), 215))
    assert layer.shape == (200, 300)
    assert layer.min() >= 215 and layer.max() <= 255
    assert layer.min() < 220 and layer.max() > 250  # the whole range is used


def test_when_sensor_noise_is_drawn_from_a_python_random_then_it_is_reproducible() -> None:
    params = ScanDegradation(sensor_noise_sigma=8.0)
    a, b = degrade(_page(), params, random.Random(4)), degrade(_page(), params, random.Random(4))
    assert a.tobytes() == b.tobytes() != _page().tobytes()


def test_when_a_jpeg_quality_is_set_then_the_image_carries_jpeg_artifacts() -> None:
    clean = degrade(_page(), ScanDegradation(), 0)
    assert clean.tobytes() == _page().tobytes()  # every step off: the page comes back as it was
    compressed = degrade(_page(), ScanDegradation(jpeg_quality=30), 0)
    assert compressed.tobytes() != clean.tobytes()


def test_when_a_preset_is_changed_in_place_then_it_refuses() -> None:
    with pytest.raises(FrozenInstanceError):
        CORPUS_SCAN.blur = 2.0  # type: ignore[misc]
