"""Input caps (HOSTILE-INPUTS.md, "Input caps"). One frozen value, injected where limits are enforced."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps enforced before and during decoding."""

    max_bytes: int = 20 * 1024 * 1024
    max_pdf_pages: int = 500
    max_pixels: int = 40_000_000  # per image, frame or rendered page
    max_side_px: int = 10_000
    max_tiff_frames: int = 50
    ocr_timeout_s: float = 60.0  # per page
    render_dpi: int = 300


DEFAULT_LIMITS = Limits()
