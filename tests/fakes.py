"""Small builders of domain values for tests (shared; append new helpers, do not rewrite others')."""

from __future__ import annotations

from pipeline.types import BBox, Document, LinearText, MediaType, Page, Source, Word, linearize


def linear_text_from_lines(lines: list[str], confidence: float = 1.0,
                           source: Source = Source.TEXT_LAYER) -> LinearText:
    """LinearText built through `linearize`: words split on whitespace, one visual line per item, "\\f" starts a
    new page. A line without words vanishes, as it does in real documents."""
    pages: list[list[list[str]]] = [[]]
    for line in lines:
        if line == "\f":
            pages.append([])
        else:
            pages[-1].append(line.split())
    built: list[Page] = []
    for p_no, page_lines in enumerate(pages, start=1):
        words: list[Word] = []
        for l_no, line_words in enumerate(page_lines):
            x = 36.0
            top = 36.0 + 14.0 * l_no
            for w in line_words:
                width = 6.0 * len(w)
                words.append(Word(w, BBox(x, top, x + width, top + 12.0), l_no, confidence))
                x += width + 4.0
        built.append(Page(number=p_no, width=612.0, height=792.0, source=source, reason="test", words=tuple(words)))
    doc = Document(sha256="0" * 64, media_type=MediaType.PDF, size_bytes=1, pages=tuple(built))
    return linearize(doc)
