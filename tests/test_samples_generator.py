"""samples/generator: the split generator still writes the committed sample set (catalog and a few inputs)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from samples.generator import degrade
from samples.generator.cases import SAMPLES
from samples.generator.catalog import write_labels, write_manifest, write_readme
from samples.generator.cli import SEED
from samples.generator.paper import FONT_FILES, font_path
from samples.generator.renderers import render

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "samples"
BY_FILE = {s.file: s for s in SAMPLES}


@pytest.mark.parametrize(("name", "write"), [("labels.jsonl", write_labels), ("manifest.csv", write_manifest),
                                             ("README.md", write_readme)])
def test_when_the_catalog_is_written_then_it_matches_the_committed_file(name: str, write: object,
                                                                        tmp_path: Path) -> None:
    assert callable(write)
    write(tmp_path / name, SAMPLES)
    assert (tmp_path / name).read_bytes() == (SAMPLES_DIR / name).read_bytes()


@pytest.mark.parametrize("file", ["visit_note_crps.pdf", "jpeg_scan_chronic_pain.jpg", "fax_fibro_ptsd.tif",
                                  "mychart_phone_dark_fibro.png", "truncated.pdf"])
def test_when_a_sample_is_rendered_with_its_seed_then_the_bytes_equal_the_committed_input(file: str) -> None:
    data = render(BY_FILE[file], random.Random(f"{SEED}:{file}"))
    assert data == (SAMPLES_DIR / "inputs" / file).read_bytes()


def test_when_the_catalog_is_listed_then_every_input_file_has_exactly_one_sample() -> None:
    assert sorted(BY_FILE) == sorted(p.name for p in (SAMPLES_DIR / "inputs").iterdir())
    assert len(BY_FILE) == len(SAMPLES)


def test_when_perspective_coefficients_are_solved_then_they_map_each_output_corner_to_its_input_corner() -> None:
    dst = [(110.0, 120.0), (1850.0, 60.0), (1940.0, 2510.0), (70.0, 2460.0)]
    src = [(0.0, 0.0), (1700.0, 0.0), (1700.0, 2200.0), (0.0, 2200.0)]
    a, b, c, d, e, f, g, h = degrade.perspective_coeffs(dst, src)
    for (x, y), (u, v) in zip(dst, src, strict=True):
        w = g * x + h * y + 1
        assert (a * x + b * y + c) / w == pytest.approx(u, abs=1e-6)
        assert (d * x + e * y + f) / w == pytest.approx(v, abs=1e-6)


def test_when_a_page_is_faxed_then_it_becomes_one_bit_of_the_same_size_with_specks() -> None:
    page = Image.new("L", (1700, 2200), 255)
    faxed = degrade.fax(page, random.Random(1), 0.0)
    assert faxed.mode == "1"
    assert faxed.size == page.size
    assert 0 < int((np.asarray(faxed) == 0).sum()) < 1000  # a few dozen specks on a blank page


def test_when_a_page_is_photographed_then_the_photo_is_a_seeded_rgb_image_of_the_desk_size() -> None:
    page = Image.new("L", (170, 220), 255)
    a = degrade.photo(page, random.Random(2), 1.0)
    assert (a.mode, a.size) == ("RGB", (2000, 2600))
    assert a.tobytes() == degrade.photo(page, random.Random(2), 1.0).tobytes()


def test_when_fonts_are_looked_up_then_each_is_found_in_a_font_directory() -> None:
    for name in FONT_FILES.values():
        path = Path(font_path(name))
        assert path.name == name
        assert path.is_file()
