"""Tiny builders of domain values and test images (fixture catalogue: see also samples/README.md)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from PIL import Image, ImageDraw, ImageFont

from pipeline.report import Report
from pipeline.types import (
    Assertion,
    BBox,
    Category,
    DiagnosisMention,
    Document,
    Evidence,
    LinearText,
    MediaType,
    Page,
    PersonMention,
    Role,
    SectionKind,
    Source,
    Word,
    linearize,
    page_from_lines,
)
from storage.store import ReportRecord, Store, UploadState

PAGE_BREAK = "\f"  # a line holding only this starts a new page


def linear_text_from_lines(lines: list[str], confidence: float = 1.0,
                           source: Source = Source.TEXT_LAYER) -> LinearText:
    """LinearText of `lines` (one visual line each; a "\\f" line starts a new page), words split on whitespace,
    every word with `confidence`."""
    pages: list[list[str]] = [[]]
    for line in lines:
        if line == PAGE_BREAK:
            pages.append([])
        else:
            pages[-1].append(line)
    out = tuple(page_from_lines(n, page_lines, source=source, reason="test", confidence=confidence)
                for n, page_lines in enumerate(pages, start=1))
    return linearize(Document("0" * 64, MediaType.PDF, 1, out))


def linear_text_from_rows(rows: list[list[tuple[float, str]]], source: Source = Source.TEXT_LAYER) -> LinearText:
    """LinearText of one page laid out as a form: each row a list of (x in points, cell text); words 10 pt high,
    6 pt per character, 3 pt apart, so cells at different x stand apart as columns do."""
    words: list[Word] = []
    for line_no, row in enumerate(rows):
        y = 14.0 * line_no
        for x, cell in row:
            for w in cell.split():
                words.append(Word(w, BBox(x, y, x + 6.0 * len(w), y + 10.0), line_no, 1.0))
                x += 6.0 * len(w) + 3.0
    page = Page(1, 612.0, 792.0, source, "test", tuple(words))
    return linearize(Document("0" * 64, MediaType.PDF, 1, (page,)))


def linear_text(text: str, confidence: float = 1.0, source: Source = Source.TEXT_LAYER) -> LinearText:
    """Like `linear_text_from_lines`, with lines split on "\\n"."""
    return linear_text_from_lines(text.split("\n"), confidence, source)


def evidence(snippet: str = "x", page: int = 1) -> Evidence:
    """One text-layer evidence item with a unit box."""
    return Evidence(finder="test", rule="test", page=page, bbox=BBox(0, 0, 1, 1), snippet=snippet,
                    source=Source.TEXT_LAYER, original_score=1.0)


def person(name: str, role: Role, confidence: float = 0.95) -> PersonMention:
    """A person mention as a finder would report it."""
    return PersonMention(value=name, normalized=name, role=role, confidence=confidence, evidence=(evidence(name),),
                         reason="test")


def dx(text: str, code: str, category: Category, assertion: Assertion = Assertion.AFFIRMED,
       section: SectionKind | None = SectionKind.ASSESSMENT, confidence: float = 0.95) -> DiagnosisMention:
    """A diagnosis mention as the diagnosis finder would report it."""
    return DiagnosisMention(text=text, icd10=code, description=text, category=category, assertion=assertion,
                            section=section, confidence=confidence, evidence=(evidence(text),))


def document(flags: tuple[str, ...] = ()) -> Document:
    """A one-page text-layer document with one word."""
    page = Page(1, 612.0, 792.0, Source.TEXT_LAYER, "test", (Word("x", BBox(0, 0, 1, 1), 0, 1.0),))
    return Document("0" * 64, MediaType.PDF, 100, (page,), flags)


def text_image(lines: Sequence[str], px: int = 30, size: tuple[int, int] = (900, 400), fg: int = 0,
               bg: int = 255) -> Image.Image:
    """A grayscale page with `lines` drawn at `px` font size (Pillow's bundled font), 1.6 line spacing."""
    im = Image.new("L", size, bg)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=px)
    for i, line in enumerate(lines):
        draw.text((px, px + i * int(px * 1.6)), line, fill=fg, font=font)
    return im


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    """`im` saved in format `fmt` as bytes."""
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def save_as_a_run(store: Store, upload_id: str, report: Report, pipeline_version: str = "test") -> ReportRecord:
    """Save `report` as a worker run would: claim the upload (requeued first when it is done; as it is when already
    claimed), then write under the claim's fence (storage/store.py fenced writes)."""
    record = store.get(upload_id)
    if record is not None and record.state is UploadState.PROCESSING:
        return store.save_report(upload_id, report, pipeline_version, fence=record.fence)  # already claimed
    if record is not None and record.state is UploadState.DONE:
        store.requeue(upload_id, "reprocess", expected=UploadState.DONE)
    claimed = store.claim(upload_id, "test")
    assert claimed is not None, "the upload could not be claimed"
    return store.save_report(upload_id, report, pipeline_version, fence=claimed.fence)


class SettableClock:
    """A UTC clock for a store that stands still until moved (sessions expire and one-time codes step by it)."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)
