"""Long records read in page windows: the finders run over windows of whole pages, facts merged across windows.

A chart export of hundreds of pages holds millions of characters; one spaCy parse of it would exceed spaCy's
max_length and grow memory with the text (1.2 M characters took 3.5 GB). Instead the pages are cut into windows of
at most `window_chars` characters (whole pages, one page of overlap, so a fact that runs from one page onto the next
is whole in some window), each window is parsed and searched on its own, and only the mentions are kept: peak memory
is one window's parse, whatever the length of the record. The mentions of every window are then merged (the overlap
page's mentions once, a person named in several windows as one person with the evidence of each) and the patient and
physician are chosen once, over the whole record, as `find_all` does for a short one (docs/ARCHITECTURE.md
"Long records").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from extractors.finders import choose_findings, find_all, find_mentions
from extractors.people import SurnameOnly, surname_only_physician
from pipeline.limits import DEFAULT_LIMITS
from pipeline.names import default_name_rules
from pipeline.policy import Policy
from pipeline.types import DiagnosisMention, Document, Evidence, Findings, PersonMention, linearize, page_chars


def page_windows(document: Document, window_chars: int) -> list[range]:
    """Indexes of the pages of each window, in order: whole pages, at most `window_chars` characters each (a single
    page longer than that is a window of its own), each window starting on the last page of the one before."""
    sizes = [page_chars(p) for p in document.pages]
    windows: list[range] = []
    start = 0
    while start < len(sizes):
        end, total = start + 1, sizes[start]
        while end < len(sizes) and total + sizes[end] <= window_chars:
            total += sizes[end]
            end += 1
        windows.append(range(start, end))
        if end == len(sizes):
            break
        start = end - 1 if end - 1 > start else end  # one page of overlap, unless the window is that one page
    return windows


def window_document(document: Document, pages: range) -> Document:
    """`document` with the words of every page outside `pages` left out: page numbers, sizes and sources stay, so
    evidence found in the window points at the record's own pages."""
    kept = tuple(p if i in pages else dataclasses.replace(p, words=()) for i, p in enumerate(document.pages))
    return dataclasses.replace(document, pages=kept)


def find_in_windows(document: Document, policy: Policy, *, ner_model: str | None, intake_name: str | None = None,
                    window_chars: int = DEFAULT_LIMITS.window_chars) -> Findings:
    """`find_all` for a record of any length: one parse when it fits in one window, else one parse per window.

    Raises what `find_all` raises."""
    if document.structured is not None or sum(page_chars(p) for p in document.pages) <= window_chars:
        return find_all(document, policy, ner_model=ner_model, intake_name=intake_name)
    people: list[PersonMention] = []
    diagnoses: list[DiagnosisMention] = []
    windows = [window_document(document, pages) for pages in page_windows(document, window_chars)]
    for window in windows:
        found_people, found_diagnoses = find_mentions(linearize(window), policy, ner_model=ner_model)
        people.extend(found_people)
        diagnoses.extend(found_diagnoses)

    def surname_hint() -> SurnameOnly | None:
        rules = default_name_rules()
        return next((hit for w in windows if (hit := surname_only_physician(linearize(w), rules)) is not None), None)

    return choose_findings(document, merge_people(people), merge_diagnoses(diagnoses), intake_name=intake_name,
                           surname_hint=surname_hint)


def _key(evidence: Evidence) -> tuple[object, ...]:
    """Where a mention was seen: the same words found again in the next window give the same key."""
    return (evidence.page, evidence.bbox, evidence.snippet)


def merge_diagnoses(mentions: Iterable[DiagnosisMention]) -> tuple[DiagnosisMention, ...]:
    """Every diagnosis mention once: a mention on a page two windows share is kept from the first window."""
    seen: set[tuple[object, ...]] = set()
    out: list[DiagnosisMention] = []
    for m in mentions:
        keys = {_key(e) for e in m.evidence}
        if keys and keys <= seen:
            continue
        seen |= keys
        out.append(m)
    return tuple(out)


def merge_people(mentions: Sequence[PersonMention]) -> tuple[PersonMention, ...]:
    """One mention per person and role across windows: their evidence joined (each printing once), the highest
    confidence kept, in the order the people are first named."""
    merged: dict[tuple[str, str], PersonMention] = {}
    for m in mentions:
        key = (m.normalized, m.role.value)
        first = merged.get(key)
        if first is None:
            merged[key] = m
            continue
        known = {_key(e) for e in first.evidence}
        extra = tuple(e for e in m.evidence if _key(e) not in known)
        best = m if m.confidence > first.confidence else first
        merged[key] = dataclasses.replace(best, evidence=(*first.evidence, *extra),
                                          credentials=tuple(dict.fromkeys((*first.credentials, *m.credentials))))
    return tuple(merged.values())
