"""Input caps (docs/THREAT-MODEL.md, "Input caps"). One frozen value, injected where limits are enforced."""

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
    # Characters of text read from one document (words + separators), checked before NLP. spaCy refuses more than
    # its max_length (1,000,000) and the parse grows with it: 1.2 M characters took 20 s and 3.5 GB here.
    max_text_chars: int = 1_000_000


DEFAULT_LIMITS = Limits()

# "No limit" for a row count that an API caps by default (store.list_uploads): every row. One value, so that a
# caller never invents its own (2**31 was written out in three places).
NO_LIMIT = 2**31
