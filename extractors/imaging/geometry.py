"""Affine maps from a derived image back to its source, and scaling: how OCR boxes return to the original pixels."""

from __future__ import annotations

from dataclasses import dataclass

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


def scale(image: Image.Image, factor: float) -> tuple[Image.Image, Affine]:
    """`image` resized by `factor` (Lanczos) and the map back to the source."""
    w, h = max(1, round(image.width * factor)), max(1, round(image.height * factor))
    out = image.resize((w, h), Image.Resampling.LANCZOS)
    return out, Affine(a=image.width / w, e=image.height / h)
