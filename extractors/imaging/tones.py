"""Tone statistics of 8-bit images shared by the preparation steps: the histogram and Otsu's threshold. A module of
its own, importing nothing of ours, so that `prepare` and `dark_regions` (which `prepare` imports) can both use it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image


def histogram(arr: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """The 256-bin histogram of an 8-bit array: Pillow's, which counts bytes (np.bincount first widens every pixel
    to a 64-bit index: 4x slower on a page)."""
    if arr.ndim != 2 or arr.dtype != np.uint8 or not arr.size:
        return np.bincount(arr.ravel(), minlength=256)
    return np.asarray(Image.fromarray(np.ascontiguousarray(arr), "L").histogram(), dtype=np.intp)


def otsu_threshold(gray: npt.NDArray[np.uint8], hist: npt.NDArray[np.intp] | None = None) -> int:
    """Otsu's global threshold of an 8-bit array: pixels <= it are ink (dark), the rest paper. `hist`: the array's
    `histogram`, when the caller has it already."""
    # A vectorised histogram, not scikit-image's threshold_otsu (same thresholds on 3,000 random images): scikit-image
    # would add four packages for this one function, and its tifffile wants numpy >= 2, which scispaCy 0.6.2 forbids.
    hist = (histogram(gray) if hist is None else hist).astype(np.float64)
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
