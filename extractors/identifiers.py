"""Patient identifiers printed on a document: dates of birth and medical record numbers.

A case ties an upload whose name cannot be compared with the intake name to an upload that shows it by the same
name and the same date of birth or MRN (docs/POLICY.md "Cases"). Only labelled values count ("DOB: 03/14/1962",
"MRN 00482913"): a bare date or number is never taken for an identifier.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.types import Document, IdentifierKind, PatientIdentifier

_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"))}
_DATE = (r"(?P<num>\d{1,2}[/.-]\d{1,2}[/.-]\d{4})|(?P<iso>\d{4}-\d{2}-\d{2})"
         r"|(?P<words>(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4})")
_DOB = re.compile(r"\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|born)\s*[:#]?\s*(?:" + _DATE + ")",
                  re.IGNORECASE)
_MRN = re.compile(r"\b(?:mrn|mr\s*#|mr\s+no\.?|medical\s+record\s+(?:number|no\.?|#)|patient\s+id)\s*[:#]?\s*"
                  r"(?P<mrn>[A-Z0-9][A-Z0-9-]{2,19})\b", re.IGNORECASE)

_LABEL_ONLY = re.compile(r"\s*(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|mrn"
                         r"|medical\s+record\s+(?:number|no\.?|#)|patient\s+id)\s*[:#]?\s*", re.IGNORECASE)


def find_identifiers(document: Document) -> tuple[PatientIdentifier, ...]:
    """Every labelled date of birth and MRN on the document's pages, each once, in reading order."""
    found: list[PatientIdentifier] = []
    for page in document.pages:
        lines: dict[int, list[str]] = {}
        for w in page.words:
            lines.setdefault(w.line, []).append(w.text)
        texts = [" ".join(words) for _, words in sorted(lines.items())]
        for i, text in enumerate(texts):
            if _LABEL_ONLY.fullmatch(text) and i + 1 < len(texts):
                text = f"{text} {texts[i + 1]}"  # a form or portal card: the label above its value
            for m in _DOB.finditer(text):
                value = _iso_date(m)
                if value:
                    found.append(PatientIdentifier(IdentifierKind.DATE_OF_BIRTH, value, page.number))
            for m in _MRN.finditer(text):
                value = re.sub(r"[^A-Z0-9]", "", m.group("mrn").upper())
                if any(c.isdigit() for c in value):
                    found.append(PatientIdentifier(IdentifierKind.MRN, value, page.number))
    seen: set[tuple[IdentifierKind, str]] = set()
    out = []
    for x in found:
        if (x.kind, x.value) not in seen:
            seen.add((x.kind, x.value))
            out.append(x)
    return tuple(out)


def _iso_date(m: re.Match[str]) -> str | None:
    """The matched date as YYYY-MM-DD (month first for numeric US dates), or None when it is not a date."""
    try:
        if m.group("iso"):
            y, mo, d = (int(x) for x in m.group("iso").split("-"))
        elif m.group("num"):
            mo, d, y = (int(x) for x in re.split(r"[/.-]", m.group("num")))
        else:
            parts = re.split(r"[\s,.]+", m.group("words").lower())
            parts = [p for p in parts if p]
            mo, d, y = _MONTHS[parts[0][:3]], int(parts[1]), int(parts[2])
        return date(y, mo, d).isoformat()
    except (ValueError, KeyError, IndexError):
        return None
