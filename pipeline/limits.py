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
    # Characters of text read from one document (words + separators) and from one page, checked as pages are read.
    # A long record is parsed in page windows of `window_chars` (extractors/windows.py: one window's parse is what
    # bounds memory, not the record), so the record cap only bounds the Document itself: ~3 M characters is a
    # 500-page chart export at ~6,000 characters a page. One page is a window of its own when it is longer than a
    # window, so the page cap (a dense letter page holds ~8,000) also keeps every parse far below spaCy's max_length
    # (1,000,000; 1.2 M characters in one parse took 20 s and 3.5 GB here).
    max_text_chars: int = 3_000_000
    max_page_chars: int = 200_000
    window_chars: int = 100_000
    # A request body must keep coming (docs/THREAT-MODEL.md hostile item 7): no gap longer than `body_idle_s` between
    # two chunks, and, once `body_grace_s` has passed, an average of `body_min_rate` bytes a second (32 kbit/s, far
    # below a phone on a weak signal). A 1 B/s sender is cut after the grace with 408, not left holding an upload slot.
    body_idle_s: float = 20.0
    body_grace_s: float = 10.0
    body_min_rate: int = 4096

DEFAULT_LIMITS = Limits()

# "No limit" for a row count that an API caps by default (store.list_uploads): every row. One value, so that a
# caller never invents its own (2**31 was written out in three places).
NO_LIMIT = 2**31
