"""Runs every finder over one shared parse of a document; the one interface the NLP finders share."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol

from extractors.ccda import apply_policy
from extractors.diagnosis import find_diagnoses
from extractors.ner_model import get_recognizer
from extractors.nlp import ParsedText, get_pipeline
from extractors.people import choose_patient, choose_treating_physician, find_people
from pipeline.policy import Policy
from pipeline.types import Choice, DiagnosisMention, Document, Findings, PersonMention, linearize


class Finder[M: (PersonMention, DiagnosisMention)](Protocol):
    """A finder: every mention of one kind in one parsed document, in text order."""

    def __call__(self, parsed: ParsedText, /) -> tuple[M, ...]:
        """The mentions found in `parsed`; raises ConfigError when the finder's rule files are invalid."""
        ...


class Chooser(Protocol):
    """A choice among the people found: who holds one role, why, and whether the choice is doubtful."""

    def __call__(self, people: Sequence[PersonMention], /) -> Choice:
        """The chosen person (or None) with the reason."""
        ...


def find_all(document: Document, policy: Policy, *, ner_model: str | None) -> Findings:
    """Parse the document once and find the people (with the chosen patient and physician) and diagnoses.

    A coded document (C-CDA) arrives with its findings read from the XML: those are used, classified by `policy`,
    and no NLP runs. `ner_model`: the bundled model of the diagnosis finder's recall layer (`Settings.ner_model_name`),
    None for none.
    """
    if document.structured is not None:
        return apply_policy(document.structured, policy)
    parsed = get_pipeline().parse(linearize(document))
    recognizer = get_recognizer(ner_model)
    people_finder: Finder[PersonMention] = find_people
    diagnosis_finder: Finder[DiagnosisMention] = functools.partial(find_diagnoses, policy=policy, recognizer=recognizer)
    patient_chooser: Chooser = choose_patient
    physician_chooser: Chooser = choose_treating_physician
    people = people_finder(parsed)
    return Findings(
        people=people,
        diagnoses=diagnosis_finder(parsed),
        patient=patient_chooser(people),
        physician=physician_chooser(people),
    )


def model_versions(ner_model: str | None) -> dict[str, str]:
    """Name and version of the spaCy model and of the NER recall layer's model ("off" when none) in use."""
    meta = get_pipeline().nlp.meta
    recognizer = get_recognizer(ner_model)
    return {"spacy_model": f"{meta.get('lang', 'en')}_{meta.get('name', '?')}-{meta.get('version', '?')}",
            "ner_model": recognizer.version_tag if recognizer is not None else "off"}
