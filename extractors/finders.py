"""Runs every finder over one shared parse of a document."""

from __future__ import annotations

from extractors.ccda import apply_policy
from extractors.diagnosis import find_diagnoses
from extractors.ner_model import get_recognizer
from extractors.nlp import get_pipeline
from extractors.people import choose_patient, choose_treating_physician, find_people
from pipeline.policy import Policy
from pipeline.types import Choice, Document, Findings, linearize


def find_all(document: Document, policy: Policy) -> Findings:
    """Parse the document once and find the people (with the chosen patient and physician) and diagnoses.

    A coded document (C-CDA) arrives with its findings read from the XML: those are used, classified by `policy`,
    and no NLP runs.
    """
    if document.structured is not None:
        return apply_policy(document.structured, policy)
    parsed = get_pipeline().parse(linearize(document))
    people = find_people(parsed)
    patient, patient_reason, several = choose_patient(people)
    physician, physician_reason, near_tie = choose_treating_physician(people)
    return Findings(
        people=people,
        diagnoses=find_diagnoses(parsed, policy),
        patient=Choice(patient, patient_reason, several),
        physician=Choice(physician, physician_reason, near_tie),
    )


def model_versions() -> dict[str, str]:
    """Name and version of the spaCy model and of the NER recall layer's model ("off" when none) in use."""
    meta = get_pipeline().nlp.meta
    recognizer = get_recognizer()
    return {"spacy_model": f"{meta.get('lang', 'en')}_{meta.get('name', '?')}-{meta.get('version', '?')}",
            "ner_model": recognizer.version_tag if recognizer is not None else "off"}
