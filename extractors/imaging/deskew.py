"""Orientation and skew: quarter turns, small rotations with their exact maps back, and the projection-profile skew
search."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from extractors.imaging.geometry import IDENTITY, Affine
from extractors.imaging.prepare import ink_mask


def rotate_quadrant(image: Image.Image, clockwise: int) -> tuple[Image.Image, Affine]:
    """`image` turned clockwise by 0, 90, 180 or 270 degrees (lossless) and the map back to the source."""
    w, h = image.size
    turns = (clockwise // 90) % 4
    if turns == 0:
        return image, IDENTITY
    if turns == 1:  # new (u, v) in an h×w image; source x = v, y = h - u
        return image.transpose(Image.Transpose.ROTATE_270), Affine(a=0, b=1, c=0, d=-1, e=0, f=h)
    if turns == 2:
        return image.transpose(Image.Transpose.ROTATE_180), Affine(a=-1, b=0, c=w, d=0, e=-1, f=h)
    return image.transpose(Image.Transpose.ROTATE_90), Affine(a=0, b=-1, c=w, d=1, e=0, f=0)


def rotate_small(image: Image.Image, degrees: float, fill: int = 255) -> tuple[Image.Image, Affine]:
    """`image` rotated counter-clockwise by `degrees` about its centre, canvas expanded, and the map back.

    Same geometry as `Image.rotate(degrees, expand=True)`, but we build the output→source matrix ourselves so we
    know it exactly.
    """
    w, h = image.size
    rad = math.radians(degrees)
    cos, sin = math.cos(rad), math.sin(rad)
    # Forward map (source → output, before recentring) of the corners gives the expanded canvas.
    xs = [cos * (x - w / 2) + sin * (y - h / 2) for x, y in ((0, 0), (w, 0), (w, h), (0, h))]
    ys = [-sin * (x - w / 2) + cos * (y - h / 2) for x, y in ((0, 0), (w, 0), (w, h), (0, h))]
    # Canvas size rounded the way Pillow's rotate(expand=True) rounds it (absolute corner coordinates).
    nw = max(1, math.ceil(max(xs) + w / 2) - math.floor(min(xs) + w / 2))
    nh = max(1, math.ceil(max(ys) + h / 2) - math.floor(min(ys) + h / 2))
    # Inverse (output → source): x = cos*(u - nw/2) - sin*(v - nh/2) + w/2, y = sin*(u - nw/2) + cos*(v - nh/2) + h/2
    back = Affine(a=cos, b=-sin, c=w / 2 - cos * nw / 2 + sin * nh / 2,
                  d=sin, e=cos, f=h / 2 - sin * nw / 2 - cos * nh / 2)
    out = image.transform((nw, nh), Image.Transform.AFFINE, (back.a, back.b, back.c, back.d, back.e, back.f),
                          resample=Image.Resampling.BILINEAR, fillcolor=fill)
    return out, back


MAX_SKEW = 5.0  # degrees searched either way
MIN_SKEW = 0.3  # below this, rotating costs more (resampling blur) than it gains
_SKEW_WIDTH = 1000  # px: the binarised copy the search runs on


def _profile_score(mask_img: Image.Image, degrees: float) -> float:
    """Sharpness of the row profile of a binary image rotated by `degrees`: sum of squared row-to-row changes."""
    rotated = mask_img.rotate(degrees, resample=Image.Resampling.NEAREST, expand=True, fillcolor=0)
    # Row sums in integers, then as floats: the same exact values as summing a float copy, without making one.
    rows = np.asarray(rotated).sum(axis=1, dtype=np.int64).astype(np.float64)
    return float(np.sum(np.diff(rows) ** 2))


def estimate_skew(gray: Image.Image) -> float:
    """The counter-clockwise rotation in degrees (within ±5) that makes text lines horizontal, or 0.0.

    Projection-profile search on a binarised copy ≤1000 px wide: rows of a straight page alternate sharply between
    ink and paper, so the angle that maximises the row-to-row variation wins. Coarse 0.5° steps, then 0.1° steps.
    """
    small = gray.copy()
    if small.width > _SKEW_WIDTH:
        small = small.resize((_SKEW_WIDTH, max(1, round(small.height * _SKEW_WIDTH / small.width))),
                             Image.Resampling.BOX)
    mask = ink_mask(small)
    if mask.mean() < 0.002:  # blank: nothing to align
        return 0.0
    mask_img = Image.fromarray((mask * 255).astype(np.uint8), "L")
    scores = {a: _profile_score(mask_img, a) for a in np.arange(-MAX_SKEW, MAX_SKEW + 0.01, 0.5).round(2).tolist()}
    best = max(scores, key=lambda a: scores[a])
    for a in np.arange(best - 0.4, best + 0.41, 0.1).round(2).tolist():
        if -MAX_SKEW <= a <= MAX_SKEW and a not in scores:
            scores[a] = _profile_score(mask_img, a)
    best = max(scores, key=lambda a: scores[a])
    base = scores.get(0.0) or _profile_score(mask_img, 0.0)
    # Demand a clear win over "no rotation": flat profiles (photos, tables of dots) give noisy maxima.
    if abs(best) < MIN_SKEW or scores[best] < base * 1.1:
        return 0.0
    return float(best)
