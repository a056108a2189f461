"""Long records read in page windows (extractors/windows.py): facts found on any page, once, with their pages."""

from __future__ import annotations

import pytest
from fpdf import FPDF

from extractors.finders import find_all
from extractors.windows import find_in_windows, page_windows
from flows.verify import check_bytes
from pipeline.evaluate import Intake
from pipeline.limits import Limits
from pipeline.policy import load_policy
from pipeline.settings import Settings
from pipeline.types import Document, MediaType, Payer, Source, Status, page_chars, page_from_lines

FILLER = [f"Vital signs were recorded at visit {i}; blood pressure and pulse were within normal limits." for i in
          range(12)]


def record(pages: dict[int, list[str]], count: int) -> Document:
    """A text record of `count` pages of filler, the lines of `pages` (by page number) printed at their top."""
    out = tuple(page_from_lines(n, [*pages.get(n, []), *FILLER], source=Source.TEXT_LAYER, reason="test")
                for n in range(1, count + 1))
    return Document("0" * 64, MediaType.PDF, 1, out)


def window_for(document: Document, pages: int) -> int:
    """A window size that holds `pages` pages of `document` (its pages are about equally long)."""
    return pages * max(page_chars(p) for p in document.pages) + 1


def test_when_pages_are_cut_into_windows_then_each_window_starts_on_the_last_page_of_the_one_before() -> None:
    doc = record({}, 10)
    windows = page_windows(doc, window_for(doc, 4))
    assert [list(w) for w in windows] == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]


def test_when_one_page_is_longer_than_a_window_then_it_is_a_window_of_its_own() -> None:
    doc = record({2: ["word " * 400]}, 4)
    windows = page_windows(doc, window_for(record({}, 1), 2))
    assert [list(w) for w in windows] == [[0], [1], [2, 3]]  # no overlap with a one-page window: no page is skipped


def test_when_a_record_is_longer_than_a_window_then_facts_on_a_late_page_are_found_with_their_page() -> None:
    doc = record({1: ["Patient: Jane Example"],
                  14: ["Attending physician: Robert Smith, MD", "Assessment: Complex regional pain syndrome"]}, 15)
    window = window_for(doc, 4)
    assert len(page_windows(doc, window)) >= 4
    findings = find_in_windows(doc, load_policy(), ner_model=None, window_chars=window)
    assert findings.patient.person is not None and findings.patient.person.normalized == "Jane Example"
    assert findings.physician.person is not None and findings.physician.person.normalized == "Robert Smith"
    assert [e.page for e in findings.physician.person.evidence] == [14]
    crps = [d for d in findings.diagnoses if d.category.value == "crps"]
    assert [e.page for d in crps for e in d.evidence] == [14]
    whole = find_all(doc, load_policy(), ner_model=None)  # the same answer as one parse of the whole record
    assert whole.patient.person is not None and whole.physician.person is not None
    assert (whole.patient.person.normalized, whole.physician.person.normalized) == ("Jane Example", "Robert Smith")


@pytest.mark.parametrize("window_pages", [3, 4], ids=["fact-on-the-shared-page", "fact-inside-one-window"])
def test_when_a_fact_sits_on_the_page_two_windows_share_then_it_is_found_once(window_pages: int) -> None:
    # With windows of 3 pages, page 3 is the last page of window 1 and the first of window 2: read twice.
    doc = record({3: ["Patient: Jane Example", "Physician: Robert Smith, MD", "Assessment: Fibromyalgia"]}, 8)
    findings = find_in_windows(doc, load_policy(), ner_model=None, window_chars=window_for(doc, window_pages))
    assert [p.normalized for p in findings.people].count("Jane Example") == 1
    jane = next(p for p in findings.people if p.normalized == "Jane Example")
    assert [e.page for e in jane.evidence] == [3]
    assert [d.text.lower() for d in findings.diagnoses if d.category.value == "fibromyalgia"] == ["fibromyalgia"]


def test_when_a_person_is_named_in_two_windows_then_they_are_one_person_with_both_pages() -> None:
    doc = record({1: ["Physician: Robert Smith, MD"], 9: ["Physician: Robert Smith, MD"]}, 9)
    findings = find_in_windows(doc, load_policy(), ner_model=None, window_chars=window_for(doc, 3))
    smiths = [p for p in findings.people if p.normalized == "Robert Smith"]
    assert len(smiths) == 1 and [e.page for e in smiths[0].evidence] == [1, 9]


def long_export(pages: int) -> bytes:
    """A text-layer chart export: the patient on page 1, the physician and the diagnosis on the last page."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_font("Helvetica", size=10)
    for n in range(1, pages + 1):
        pdf.add_page()
        lines = {1: ["Patient: Jane Example"],
                 pages: ["Attending physician: Robert Smith, MD", "Assessment: Fibromyalgia"]}.get(n, [])
        for i, line in enumerate([*lines, *FILLER]):
            pdf.text(54, 72 + 14 * i, line)
    return bytes(pdf.output())


def test_when_an_export_is_longer_than_the_text_cap_of_one_parse_then_it_reports_instead_of_being_rejected() -> None:
    # regression: a record over 1,000,000 characters was rejected whole (too_much_text); here the window is lowered
    # so that twelve pages need four parses.
    data = long_export(12)
    limits = Limits(window_chars=4_000)
    report = check_bytes(data, "export.pdf", Intake("Jane Example", Payer.COMMERCIAL), Settings(), limits=limits)
    assert report.error is None and report.status is Status.COMPLETE, report.reasons
    assert report.fields.physician_name.value == "Robert Smith"
    assert {e.page for e in report.fields.pain_diagnosis.evidence} == {12}
    assert len(report.pages) == 12 and all(p.source is Source.TEXT_LAYER for p in report.pages)
