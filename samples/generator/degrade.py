"""Scan, fax and phone-photo effects on page images (the scan is `evaluation.degrade` with its SAMPLE_SCAN preset)."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
from PIL import Image, ImageChops, ImageFilter, ImageOps

from evaluation.degrade import SAMPLE_SCAN, degrade, paper_noise


def scan(page: Image.Image, rng: random.Random, angle: float) -> Image.Image:
    """A flatbed scan: slight rotation, paper noise, a little blur, a grey edge where the platen shows."""
    return degrade(page, replace(SAMPLE_SCAN, rotation=angle), rng)


def fax(page: Image.Image, rng: random.Random, angle: float) -> Image.Image:
    """A received fax page: rotated, a few black specks, thresholded to 1 bit without dithering."""
    page = page.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    a = Image.frombytes("L", page.size, rng.randbytes(page.size[0] * page.size[1]))
    b = Image.frombytes("L", page.size, rng.randbytes(page.size[0] * page.size[1]))
    # a speck where both draws are 255: p = 1/65536, ~60 specks on a 1700x2200 page
    specks = ImageChops.darker(a, b).point(lambda v: 0 if v == 255 else 255)
    page = ImageChops.darker(page, specks)
    return page.point(lambda v: 255 if v > 150 else 0).convert("1", dither=Image.Dither.NONE)


def perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points `dst` to input points `src`."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    coeffs: list[float] = np.linalg.solve(np.array(a, dtype=float), np.array(b, dtype=float)).tolist()
    return coeffs


def photo(page: Image.Image, rng: random.Random, angle: float) -> Image.Image:
    """A phone photo of a printed page (RGB): on a desk, perspective-skewed, rotated, unevenly lit, slightly soft."""
    paper = ImageOps.colorize(page, black=(28, 28, 32), white=(246, 242, 233))
    pw, ph = paper.size
    cw, ch = 2000, 2600
    canvas = Image.new("RGB", (cw, ch), (96, 78, 62))  # a wooden desk
    canvas = ImageChops.multiply(canvas, paper_noise(rng, (cw, ch), 200).convert("RGB"))
    j = [rng.uniform(-40, 40) for _ in range(8)]
    quad = [(110 + j[0], 120 + j[1]), (cw - 150 + j[2], 60 + j[3]), (cw - 60 + j[4], ch - 90 + j[5]),
            (70 + j[6], ch - 140 + j[7])]  # where the page's corners land in the photo (TL, TR, BR, BL)
    coeffs = perspective_coeffs(quad, [(0, 0), (pw, 0), (pw, ph), (0, ph)])
    warped = paper.transform((cw, ch), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    mask = Image.new("L", paper.size, 255).transform((cw, ch), Image.Transform.PERSPECTIVE, coeffs,
                                                     Image.Resampling.BILINEAR)
    canvas.paste(warped, (0, 0), mask)
    canvas = canvas.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(80, 66, 52))
    # uneven lighting: a radial falloff centred off the page's middle (a desk lamp to the upper left)
    light = Image.radial_gradient("L").resize((cw * 2, ch * 2)).crop((cw // 2 + 300, ch // 2 + 350,
                                                                       cw // 2 + 300 + cw, ch // 2 + 350 + ch))
    light = ImageOps.invert(light).point(lambda v: 150 + v * 105 // 255)
    canvas = ImageChops.multiply(canvas, Image.merge("RGB", (light, light, light)))
    return canvas.filter(ImageFilter.GaussianBlur(0.8))
