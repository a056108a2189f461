"""`LinearText.words_between` finds words by bisection (long records: no walk from the first word per finding)."""

from __future__ import annotations

import random

from pipeline.types import Document, LinearText, MediaType, Source, linearize, page_from_lines


def _walked(text: LinearText, start: int, end: int) -> list[tuple[int, str]]:
    """The words overlapping [start, end), by looking at every span (the definition)."""
    out = []
    for span in text.spans:
        if span.end > start and span.start < end:
            out.append((span.page, text.document.pages[span.page - 1].words[span.word_index].text))
    return out


def test_when_words_are_looked_up_by_range_then_they_are_exactly_the_overlapping_ones() -> None:
    rng = random.Random(7)
    pages = tuple(page_from_lines(n, [" ".join(rng.choice(["pain", "Dr.", "M79.7", "a", "Garcia-Lopez"])
                                                for _ in range(rng.randint(0, 9))) for _ in range(12)],
                                  source=Source.TEXT_LAYER, reason="test") for n in range(1, 4))
    text = linearize(Document("0" * 64, MediaType.PDF, 1, pages))
    ranges = [(rng.randint(0, len(text.text)), rng.randint(0, 40)) for _ in range(300)]
    for start, length in [*ranges, (0, 0), (0, len(text.text)), (len(text.text), 5)]:
        got = [(p, w.text) for p, w in text.words_between(start, start + length)]
        assert got == _walked(text, start, start + length)
