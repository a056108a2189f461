"""extractors.nlp: one pipeline with sentences, sections, targets, ConText; PERSON spans kept; rule files validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import linear_text

from extractors.nlp import (
    DIAGNOSIS_GROUP,
    _expand_in,
    build_pipeline,
    get_pipeline,
    load_context_rules,
    load_sections,
    section_of,
)
from pipeline.errors import ConfigError
from pipeline.types import SectionKind


def test_when_the_pipeline_is_built_then_it_has_the_clinical_components_and_no_parser() -> None:
    names = get_pipeline().nlp.pipe_names
    for name in ("docverify_sentences", "ner", "abbreviation_detector", "medspacy_target_matcher",
                 "medspacy_sectionizer", "medspacy_context"):
        assert name in names
    assert "parser" not in names
    assert get_pipeline() is get_pipeline()


def test_when_text_names_people_then_person_spans_stay_available() -> None:
    parsed = get_pipeline().parse(linear_text("Problem List:\nCRPS\nJohn Smith was seen by Dr. Alice Brown."))
    assert [p.text for p in parsed.persons] == ["John Smith", "Alice Brown"]
    assert [s.text for s in parsed.doc.spans[DIAGNOSIS_GROUP]] == ["CRPS"]
    assert "CRPS" not in [e.text for e in parsed.doc.ents if e.label_ == "DIAGNOSIS"]


SENTENCES = [
    ("Migraine: denies\nFibromyalgia: yes", ["Migraine: denies", "Fibromyalgia: yes"]),
    ("Patient denies\nmigraines today", ["Patient denies\nmigraines today"]),  # layout-broken line is joined
    ("Seen today. Fibromyalgia stable.", ["Seen today.", "Fibromyalgia stable."]),
    ("?CRPS of the left arm", ["?CRPS of the left arm"]),
]


@pytest.mark.parametrize(("text", "sentences"), SENTENCES)
def test_when_text_has_lines_and_periods_then_sentences_follow_the_clinical_layout(text: str,
                                                                                  sentences: list[str]) -> None:
    doc = get_pipeline().parse(linear_text(text)).doc
    assert [s.text.strip() for s in doc.sents if s.text.strip()] == sentences


SECTION_TITLES = [
    ("Chief Complaint: pain", SectionKind.CHIEF_COMPLAINT), ("HPI: pain", SectionKind.HPI),
    ("Past Medical History: pain", SectionKind.PAST_MEDICAL_HISTORY),
    ("Family History: pain", SectionKind.FAMILY_HISTORY), ("Social History: pain", SectionKind.SOCIAL_HISTORY),
    ("Assessment: pain", SectionKind.ASSESSMENT), ("Assessment and Plan: pain", SectionKind.ASSESSMENT_AND_PLAN),
    ("Diagnoses: pain", SectionKind.DIAGNOSES), ("Problem List: pain", SectionKind.PROBLEM_LIST),
    ("Active Problems: pain", SectionKind.PROBLEM_LIST), ("Health Issues\npain", SectionKind.PROBLEM_LIST),
    ("Current Problems\npain", SectionKind.PROBLEM_LIST), ("Medications: pain", SectionKind.MEDICATIONS),
    ("Allergies: pain", SectionKind.ALLERGIES), ("Plan: pain", SectionKind.PLAN),
    ("Review of Systems: pain", SectionKind.REVIEW_OF_SYSTEMS),
]


@pytest.mark.parametrize(("text", "kind"), SECTION_TITLES)
def test_when_a_section_title_starts_a_line_then_the_body_gets_its_kind(text: str, kind: SectionKind) -> None:
    doc = get_pipeline().parse(linear_text(text)).doc
    assert section_of(doc, len(doc) - 1) is kind


def test_when_a_title_word_is_mid_sentence_then_no_section_starts() -> None:
    doc = get_pipeline().parse(linear_text("We discussed the plan: continue infusions")).doc
    assert section_of(doc, len(doc) - 1) is None


BAD_RULE_FILES = [
    ("sections.yaml", "version: 1\nweights: {}\nimplies: {}\nrules: [{title: X, kind: nowhere}]", load_sections),
    ("sections.yaml", "version: 1\nweights: {}\nimplies: {}\nrules: []\nextra: 1", load_sections),
    ("context_rules.json", '{"version": 1, "exclude_default_literals": [], "context_rules": '
                           '[{"literal": "x", "category": "MAYBE"}]}', load_context_rules),
    ("context_rules.json", '{"version": 1, "exclude_default_literals": [], "context_rules": [], "x": 1}',
     load_context_rules),
    # an item-end cue that would modify targets instead of only bounding other cues' scopes
    ("context_rules.json", '{"version": 1, "exclude_default_literals": [], "context_rules": '
                           '[{"literal": ";", "category": "ITEM_END", "direction": "BACKWARD"}]}', load_context_rules),
    ("context_rules.json", '{"version": 1, "exclude_default_literals": [], "context_rules": [], '
                           '"ocr_edits_by_length": {"8": 5}}', load_context_rules),
]


@pytest.mark.parametrize(("name", "content", "loader"), BAD_RULE_FILES)
def test_when_a_rule_file_is_invalid_then_config_error_names_the_file(tmp_path: Path, name: str, content: str,
                                                                      loader: object) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        loader(path)  # type: ignore[operator]
    assert name in str(err.value)


def test_when_documents_are_parsed_then_pyrush_and_pipeline_log_no_document_text(
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    get_pipeline().parse(linear_text("Problem List:\nSecretword fibromyalgia"))
    out = capsys.readouterr()
    assert "Secretword" not in out.out + out.err + caplog.text


def test_when_the_pipeline_is_built_then_unused_tagger_components_are_not_loaded() -> None:
    names = get_pipeline().nlp.pipe_names
    assert not {"tok2vec", "tagger", "attribute_ruler", "lemmatizer", "senter"} & set(names)


IN_PATTERNS = [
    ([{"LOWER": {"IN": ["no", "not"]}}], [[{"LOWER": "no"}], [{"LOWER": "not"}]]),
    ([{"ORTH": ":"}, {"LOWER": {"IN": ["a", "b"]}, "OP": "?"}],
     [[{"ORTH": ":"}, {"LOWER": "a", "OP": "?"}], [{"ORTH": ":"}, {"LOWER": "b", "OP": "?"}]]),
    ([{"LOWER": {"IN": ["a", "b"]}, "OP": "+"}], [[{"LOWER": {"IN": ["a", "b"]}, "OP": "+"}]]),  # kept as is
    ([{"LOWER": {"NOT_IN": ["a"]}}], [[{"LOWER": {"NOT_IN": ["a"]}}]]),  # kept as is
]


@pytest.mark.parametrize(("pattern", "expanded"), IN_PATTERNS)
def test_when_a_context_pattern_has_in_sets_then_it_expands_to_equivalent_plain_patterns(
        pattern: list[dict[str, object]], expanded: list[list[dict[str, object]]]) -> None:
    assert _expand_in(pattern) == expanded


CONTEXT_CASES = [
    ("Family History:\nMother has fibromyalgia.", "is_family"),
    ("Migraine: denies\nFibromyalgia: yes", "is_negated"),
    ("Assessment: possible CRPS", "is_uncertain"),
    ("Patient is not known to have fibromyalgia.", "is_negated"),
]


@pytest.mark.parametrize(("text", "flag"), CONTEXT_CASES)
def test_when_a_packaged_or_own_cue_uses_in_sets_then_context_still_applies_it(text: str, flag: str) -> None:
    doc = get_pipeline().parse(linear_text(text)).doc
    first = sorted(doc.spans[DIAGNOSIS_GROUP], key=lambda s: s.start)[0]
    assert getattr(first._, flag)


def test_when_a_rule_reads_lemmas_then_building_the_pipeline_fails_with_config_error(tmp_path: Path) -> None:
    path = tmp_path / "context_rules.json"
    path.write_text('{"version": 1, "exclude_default_literals": [], "context_rules": '
                    '[{"literal": "deny", "category": "NEGATED_EXISTENCE", "pattern": [{"LEMMA": "deny"}]}]}')
    with pytest.raises(ConfigError) as err:
        build_pipeline(context_path=path)
    assert "context_rules.json" in str(err.value)


# Regression (CCD table header "Diagnosis Age At Onset" inside FAMILY HISTORY opened a diagnoses section): a one-word
# title is a title only with a colon or alone on its line; longer titles keep starting a section wherever a line starts.
ONE_WORD_TITLES = [
    ("Family History\nDiagnosis Age At Onset\nDiabetes 40", SectionKind.FAMILY_HISTORY),
    ("Family History:\nProblems of relatives include\nDiabetes", SectionKind.FAMILY_HISTORY),
    ("Family History\nPlan was reviewed with the family\nDiabetes", SectionKind.FAMILY_HISTORY),
    ("Family History\nDiagnosis\nDiabetes", SectionKind.DIAGNOSES),
    ("Family History\nDiagnosis   \nDiabetes", SectionKind.DIAGNOSES),
    ("Family History\nDiagnosis: Diabetes", SectionKind.DIAGNOSES),
    ("Family History\nPROBLEMS\nDiabetes", SectionKind.PROBLEM_LIST),
    ("Family History\nProblem List Diabetes", SectionKind.PROBLEM_LIST),  # two words: no colon needed
]


@pytest.mark.parametrize(("text", "kind"), ONE_WORD_TITLES)
def test_when_a_one_word_title_shares_its_line_without_a_colon_then_no_section_starts(text: str,
                                                                                      kind: SectionKind) -> None:
    doc = get_pipeline().parse(linear_text(text)).doc
    assert section_of(doc, len(doc) - 1) is kind


# Dictated notes (MTSamples style) run every section into one line: "...pain.,INDICATION: , ...".
DICTATED_TITLES = [
    ("PROCEDURE: , Block.,INDICATION: , Sacroiliac joint pain.", "Sacroiliac", SectionKind.CHIEF_COMPLAINT),
    ("HISTORY:, headaches.,IMPRESSION: , Migraine.", "Migraine", SectionKind.ASSESSMENT),
    ("HISTORY:, headaches.,PROBLEMS/DIAGNOSES:,1. Migraine.", "Migraine", SectionKind.DIAGNOSES),
    ("Seen today. POSTOPERATIVE DIAGNOSIS: , Lumbar radiculopathy.", "radiculopathy", SectionKind.DIAGNOSES),
    ("PREOPERATIVE DIAGNOSES,1. Radiculopathy.,POSTOPERATIVE DIAGNOSES,1. Neuralgia.", "Neuralgia",
     SectionKind.DIAGNOSES),
    ("POSTOPERATIVE DIAGNOSIS: , Hematoma.,FINDINGS: , Headache for weeks.", "Headache", SectionKind.OTHER),
    ("DIAGNOSES: , Migraine.,ESTIMATED BLOOD LOSS: , Minimal pain.", "Minimal", SectionKind.OTHER),
]


@pytest.mark.parametrize(("text", "word", "kind"), DICTATED_TITLES)
def test_when_an_all_caps_title_with_a_colon_is_mid_line_then_it_starts_a_section(text: str, word: str,
                                                                                  kind: SectionKind) -> None:
    doc = get_pipeline().parse(linear_text(text)).doc
    token = next(t for t in doc if t.text == word)
    assert section_of(doc, token.i) is kind


MID_LINE_PROSE = [
    "Patient seen today. We reviewed the assessment: migraine is stable.",
    "Patient seen today. The Impression: migraine.",
    "Patient seen today. Findings: migraine.",
]


@pytest.mark.parametrize("text", MID_LINE_PROSE)
def test_when_a_mixed_case_title_is_mid_line_then_no_section_starts(text: str) -> None:
    doc = get_pipeline().parse(linear_text(text)).doc
    assert section_of(doc, len(doc) - 2) is None


def test_when_dictation_glues_commas_to_titles_then_tokens_split_and_sentences_break() -> None:
    doc = get_pipeline().parse(linear_text("DIAGNOSES:,1. Dystonia.,2. Neck pain.,INDICATION: , Pain.")).doc
    words = [t.text for t in doc]
    assert words[:4] == ["DIAGNOSES", ":", ",", "1"]
    assert "INDICATION" in words and "2" in words
    assert any(s.text.startswith("INDICATION") for s in doc.sents)


def test_when_bipolar_names_a_device_then_the_pseudo_target_displaces_bipolar_disorder() -> None:
    spans = get_pipeline().parse(linear_text("Hemostasis with bipolar cautery and bipolar forceps. PMH: bipolar")) \
        .diagnosis_spans
    labels = [(s.text.lower(), s.label_) for s in spans]
    assert labels == [("bipolar cautery", "PSEUDO_TARGET"), ("bipolar forceps", "PSEUDO_TARGET"),
                      ("bipolar", "DIAGNOSIS")]
