"""Find every person a document names and the role each one plays; choose the patient and the treating physician.

Layout rules come first (the linear text keeps visual lines: words of a line joined by spaces, lines by "\\n"):
key-value labels on the same or the next line, lead phrases ("Electronically signed by"), section headings
("Emergency Contact", "Care Team", "MyChart") and care-team role words ("Jane Doe, MD — PCP"). spaCy PERSON
entities are a low-confidence fallback, kept only when a "Dr." title or a credential sits next to them. Every
mention carries Presidio-style evidence: the rule that fired, its base weight and each adjustment with its reason.

Confidence = cue weight × minimum OCR confidence of the cue and name words + adjustments, clamped to 0..1. The
weights live in `pipeline/rules/name_rules.yaml` (the cues' own, and `weights` for the other rules); the adjustments
are the constants below.
"""

from extractors.people.choose import choose_patient, choose_treating_physician
from extractors.people.find import find_people
from extractors.people.surname_only import SurnameOnly, surname_only_physician
from extractors.people.weights import (
    BARE_LABEL_PENALTY,
    FALLBACK_TREATING_FACTOR,
    FINDER,
    NEAR_TIE_MARGIN,
    NO_CREDENTIAL_PENALTY,
    PATIENT_WITH_TITLE_PENALTY,
    REPEAT_BONUS,
    REPEAT_BONUS_CAP,
    SAME_PERSON_THRESHOLD,
)

__all__ = [
    "BARE_LABEL_PENALTY",
    "FALLBACK_TREATING_FACTOR",
    "FINDER",
    "NEAR_TIE_MARGIN",
    "NO_CREDENTIAL_PENALTY",
    "PATIENT_WITH_TITLE_PENALTY",
    "REPEAT_BONUS",
    "REPEAT_BONUS_CAP",
    "SAME_PERSON_THRESHOLD",
    "SurnameOnly",
    "choose_patient",
    "choose_treating_physician",
    "find_people",
    "surname_only_physician",
]
