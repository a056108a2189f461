"""Maps from a derived image back to its source (affine, and projective for flattened photos), and scaling: how OCR
boxes return to the original pixels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True, slots=True)
class Affine:
    """x = a*u + b*v + c, y = d*u + e*v + f: maps a point (u, v) of a derived image to (x, y) in its source."""

    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    e: float = 1.0
    f: float = 0.0

    def apply(self, u: float, v: float) -> tuple[float, float]:
        """The source point of (u, v)."""
        return self.a * u + self.b * v + self.c, self.d * u + self.e * v + self.f

    def then(self, inner: Affine) -> Affine:
        """The map derived → source of `inner`'s image: first `inner` (newest step), then `self`."""
        return Affine(
            self.a * inner.a + self.b * inner.d, self.a * inner.b + self.b * inner.e,
            self.a * inner.c + self.b * inner.f + self.c,
            self.d * inner.a + self.e * inner.d, self.d * inner.b + self.e * inner.e,
            self.d * inner.c + self.e * inner.f + self.f,
        )

    def map_box(self, x0: float, top: float, x1: float, bottom: float) -> tuple[float, float, float, float]:
        """The axis-aligned box around the four mapped corners of a box."""
        pts = [self.apply(x, y) for x, y in ((x0, top), (x1, top), (x1, bottom), (x0, bottom))]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)


IDENTITY = Affine()


@dataclass(frozen=True, slots=True)
class Homography:
    """x = (h0*u + h1*v + h2) / w, y = (h3*u + h4*v + h5) / w, w = h6*u + h7*v + h8: maps a point (u, v) of a
    flattened image to (x, y) in the photo it was warped from. Not affine, so a box maps to a quadrilateral; `map_box`
    takes the axis-aligned box around its four corners."""

    h: tuple[float, float, float, float, float, float, float, float, float]

    @classmethod
    def from_points(cls, derived: Sequence[tuple[float, float]], source: Sequence[tuple[float, float]]) -> Homography:
        """The map sending each of four `derived` points to its `source` point."""
        rows, rhs = [], []
        for (u, v), (x, y) in zip(derived, source, strict=True):
            rows.append([u, v, 1.0, 0.0, 0.0, 0.0, -x * u, -x * v])
            rows.append([0.0, 0.0, 0.0, u, v, 1.0, -y * u, -y * v])
            rhs += [x, y]
        sol = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
        c = [float(v) for v in sol]
        return cls((c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], 1.0))

    def coefficients(self) -> tuple[float, float, float, float, float, float, float, float]:
        """PIL's PERSPECTIVE transform data (output → input, normalised so h8 = 1)."""
        h = self.h
        return (h[0] / h[8], h[1] / h[8], h[2] / h[8], h[3] / h[8], h[4] / h[8], h[5] / h[8], h[6] / h[8],
                h[7] / h[8])

    def apply(self, u: float, v: float) -> tuple[float, float]:
        """The source point of (u, v)."""
        h = self.h
        w = h[6] * u + h[7] * v + h[8]
        return (h[0] * u + h[1] * v + h[2]) / w, (h[3] * u + h[4] * v + h[5]) / w

    def then(self, inner: Affine | Homography) -> Homography:
        """The map derived → source of `inner`'s image: first `inner` (newest step), then `self`."""
        m = np.array(self.h, dtype=np.float64).reshape(3, 3)
        if isinstance(inner, Affine):
            n = np.array([[inner.a, inner.b, inner.c], [inner.d, inner.e, inner.f], [0.0, 0.0, 1.0]])
        else:
            n = np.array(inner.h, dtype=np.float64).reshape(3, 3)
        p = (m @ n).ravel()
        return Homography((float(p[0]), float(p[1]), float(p[2]), float(p[3]), float(p[4]), float(p[5]),
                           float(p[6]), float(p[7]), float(p[8])))

    def map_box(self, x0: float, top: float, x1: float, bottom: float) -> tuple[float, float, float, float]:
        """The axis-aligned box around the four mapped corners of a box."""
        pts = [self.apply(x, y) for x, y in ((x0, top), (x1, top), (x1, bottom), (x0, bottom))]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return min(xs), min(ys), max(xs), max(ys)


PointMap = Affine | Homography  # what carries a prepared image's boxes back to the original pixels


def scale(image: Image.Image, factor: float) -> tuple[Image.Image, Affine]:
    """`image` resized by `factor` (Lanczos) and the map back to the source."""
    w, h = max(1, round(image.width * factor)), max(1, round(image.height * factor))
    out = image.resize((w, h), Image.Resampling.LANCZOS)
    return out, Affine(a=image.width / w, e=image.height / h)
