"""Make a clean page image look scanned: the one scan degrader, with a frozen parameter preset per caller.

`degrade(page, params, rng)` is pure: the same image, parameters and random state give the same pixels. Steps, in
order: greyscale, rotation, paper noise (multiplicative) and/or sensor noise (additive Gaussian), Gaussian blur,
optional JPEG round trip. A parameter given as a number is used as is and draws nothing; a `(low, high)` range is
drawn from `rng` (for the rotation, the magnitude and then the sign), so a preset decides which draws happen.

Presets (each reproduces its caller's historical output byte for byte):

- `SAMPLE_SCAN` — `samples/generate.py`'s flatbed scans (the caller sets the rotation per page with
  `dataclasses.replace(SAMPLE_SCAN, rotation=angle)` and draws from the sample's `random.Random`);
- `CORPUS_SCAN` — the rendered-corpus evaluation's `--degrade` mode (a per-page integer seed: numpy's
  `default_rng(seed)`).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageFilter

type Rng = random.Random | np.random.Generator
type Amount = float | tuple[float, float]  # a fixed value, or a (low, high) range drawn uniformly


@dataclass(frozen=True, slots=True)
class ScanDegradation:
    """How a page is made to look scanned. Noise kinds may be combined; None switches a step off."""

    rotation: Amount = 0.0  # degrees; a number is a signed angle, a range is a magnitude (the sign is drawn)
    fill: int = 255  # grey level of the corners the rotation uncovers (235: the scanner's platen shows)
    paper_noise_floor: int | None = None  # multiplicative uniform noise with values in [floor, 255]
    sensor_noise_sigma: float | None = None  # additive Gaussian noise, in 0..255 grey levels
    blur: Amount = 0.0  # Gaussian blur radius in pixels; 0 skips the blur
    jpeg_quality: int | None = None  # JPEG-compress and decode again at this quality


SAMPLE_SCAN = ScanDegradation(fill=235, paper_noise_floor=215, blur=0.7)
CORPUS_SCAN = ScanDegradation(rotation=(0.5, 1.5), sensor_noise_sigma=8.0, blur=(0.5, 1.0), jpeg_quality=60)


def as_rng(seed: int | Rng) -> Rng:
    """An integer seeds numpy's `default_rng`; a `random.Random` or numpy `Generator` is used (and advanced) as is."""
    return np.random.default_rng(seed) if isinstance(seed, int) else seed


def _uniform(rng: Rng, low: float, high: float) -> float:
    return rng.uniform(low, high) if isinstance(rng, random.Random) else float(rng.uniform(low, high))


def _amount(rng: Rng, amount: Amount) -> float:
    return float(amount) if isinstance(amount, int | float) else _uniform(rng, *amount)


def _angle(rng: Rng, rotation: Amount) -> float:
    if isinstance(rotation, int | float):
        return float(rotation)
    magnitude = _uniform(rng, *rotation)
    return magnitude * (1 if rng.random() < 0.5 else -1)


def _random_bytes(rng: Rng, n: int) -> bytes:
    return rng.randbytes(n) if isinstance(rng, random.Random) else rng.bytes(n)


def paper_noise(rng: Rng, size: tuple[int, int], floor: int) -> Image.Image:
    """A greyscale noise layer with values in [floor, 255] (multiply an image by it), drawn from `rng`."""
    raw = Image.frombytes("L", size, _random_bytes(rng, size[0] * size[1]))
    return raw.point(lambda v: floor + v * (255 - floor) // 255)


def sensor_noise(img: Image.Image, rng: Rng, sigma: float) -> Image.Image:
    """`img` (mode L) plus Gaussian noise of standard deviation `sigma`, clipped to 0..255."""
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng.getrandbits(128))
    pixels = np.asarray(img, dtype=np.float32) + gen.normal(0.0, sigma, (img.height, img.width))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg_round_trip(img: Image.Image, quality: int) -> Image.Image:
    """`img` as it reads back after saving it as a JPEG at `quality` (mode L)."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as jpeg:
        return jpeg.convert("L")


def degrade(page: Image.Image, params: ScanDegradation, rng: int | Rng) -> Image.Image:
    """A greyscale copy of `page` that looks scanned per `params`; `rng` (a seed or a random state) supplies every
    random draw, so the same inputs give the same pixels. The size is kept (rotation does not expand)."""
    rng = as_rng(rng)
    angle = _angle(rng, params.rotation)
    img = page.convert("L").rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=params.fill)
    if params.paper_noise_floor is not None:
        img = ImageChops.multiply(img, paper_noise(rng, img.size, params.paper_noise_floor))
    if params.sensor_noise_sigma is not None:
        img = sensor_noise(img, rng, params.sensor_noise_sigma)
    radius = _amount(rng, params.blur)
    if radius > 0:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    if params.jpeg_quality is not None:
        img = jpeg_round_trip(img, params.jpeg_quality)
    return img
