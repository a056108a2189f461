"""The people finder's name, and the confidence adjustments and thresholds it applies to what it finds."""

from __future__ import annotations

FINDER = "people"

# Adjustments (deltas on the 0..1 confidence scale), each recorded on the evidence with its reason.
NO_CREDENTIAL_PENALTY = -0.2  # a treating-physician label on a name printed without credential or "Dr."
PATIENT_WITH_TITLE_PENALTY = -0.3  # a "patient" printed as "Dr. X, MD" is more likely a mislabelled provider
REPEAT_BONUS = 0.05  # per further mention of the same person in the same role
REPEAT_BONUS_CAP = 0.1
FALLBACK_TREATING_FACTOR = 0.7  # an unlabelled clinician chosen as treating keeps 70 % of its confidence
# A label printed without its colon at the start of a line ("Author Jane DOE, Authored On: …") is a weaker cue than
# "Author: Jane Doe": a table cell of a rendered header, but also the first word of a sentence.
BARE_LABEL_PENALTY = -0.1

NEAR_TIE_MARGIN = 0.05  # two different people whose confidences differ by less than this are a near-tie
# Two mentions are one person when each name part matches at this rapidfuzz ratio: 0.80 admits one misread letter in
# a surname of five or more ("Wróbel" read "Wrébel" on the signature line), which 0.85 split into two people.
SAME_PERSON_THRESHOLD = 0.80
