"""The drafted message to a patient whose document is marked incomplete: what is missing and how to fix it, in plain
words, built from the report's reasons. The coordinator edits it before it is saved; nothing is sent from here.
"""

from __future__ import annotations

from typing import Final

from pipeline.report import Report
from pipeline.types import MediaType

_SCREENSHOT_TYPES: Final = {MediaType.PNG.value, MediaType.WEBP.value, MediaType.JPEG.value, MediaType.HEIF.value}

# (start of a report reason, the sentence for a document that is a PDF or scan, the sentence for a screenshot/photo).
# Reasons are the report's own (pipeline/evaluate.py); the first matching prefix wins.
_SENTENCES: Final[tuple[tuple[str, str, str], ...]] = (
    ("no patient name found",
     "We could not find your name on the document: please send a page that shows your full name.",
     "Your screenshot cut off your name: please include the top of the page, where your name is shown."),
    ("no treating physician found",
     "We could not find the name of the doctor treating you: please send a page that shows who treated you "
     "(usually at the top or at the signature).",
     "Your screenshot does not show the doctor's name: please include the part of the page that says who treated "
     "you (the visit details or the signature)."),
    ("no pain diagnosis: only mental-health",
     "The document lists no pain diagnosis: please send the visit note or problem list from your pain doctor "
     "that names the pain condition.", ""),
    ("pain is named only as a complaint",
     "The document mentions pain only as a reason for the visit, not as a diagnosis: please send the part that "
     "lists your diagnoses (for example \"Assessment\" or \"Problem list\").", ""),
    ("no affirmed pain diagnosis",
     "The document does not state a pain diagnosis as current (it is ruled out, resolved or about a family "
     "member): please send a document where your doctor lists your pain condition as a current diagnosis.", ""),
    ("no pain diagnosis found",
     "We could not find a pain diagnosis on the document: please send the part that lists your diagnoses "
     "(for example \"Assessment\" or \"Problem list\").",
     "Your screenshot does not show a pain diagnosis: please scroll to the list of diagnoses or problems and "
     "include it."),
    ("several different patient names",
     "The document shows more than one patient's name: please send a document that is only about you.", ""),
    ("the patient name on the document does not match",
     "The name on the document does not match the name you gave us: please check it is your own document, or "
     "tell us the name your doctor's office has on file.", ""),
    ("the only pain diagnosis is uncertain",
     "The document lists your pain condition only as possible or to be ruled out: please send a later note where "
     "your doctor confirms the diagnosis.", ""),
    ("patient name read with low confidence",
     "We could not read your name clearly: please send a sharper copy.",
     "We could not read your name clearly: please take the screenshot again without zooming out."),
    ("physician name read with low confidence",
     "We could not read the doctor's name clearly: please send a sharper copy.", ""),
    ("pain diagnosis read with low confidence",
     "We could not read the diagnosis clearly: please send a sharper copy.", ""),
    ("the PDF contains active content",
     "The PDF you sent contains scripts or attachments we cannot open safely: please print it to PDF again or "
     "send a photo of the page.", ""),
)

_FALLBACK: Final = ("We could not confirm everything we need from your document: please send a document that "
                    "shows your name, the name of your treating doctor and your pain diagnosis.")


def draft_patient_message(report: Report) -> str:
    """A plain-words message saying what is missing and how to fix it, one sentence per distinct problem."""
    screenshot = (report.upload.media_type or "") in _SCREENSHOT_TYPES
    sentences: list[str] = []
    for reason in report.reasons:
        for prefix, document_sentence, screenshot_sentence in _SENTENCES:
            if reason.startswith(prefix):
                sentence = screenshot_sentence if screenshot and screenshot_sentence else document_sentence
                if sentence not in sentences:
                    sentences.append(sentence)
                break
    body = " ".join(sentences) if sentences else _FALLBACK
    return f"Hello, thank you for your upload. {body} You can upload the new document the same way. Thank you."
