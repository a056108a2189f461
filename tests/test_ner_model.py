"""extractors.ner_model (bundled models, the recall-layer setting) and the diagnosis finder's NER recall layer.

The recall layer's plumbing is pinned with a real spaCy pipeline whose "ner" is an EntityRuler saved as a bundled
model in a temporary models folder: it recognises exactly the spans we give it, so each rule (link, assertion,
overlap with the lexicon, no link → no mention, section rules) is checked on its own. The trained model itself is
exercised in tests/test_ner_bundled.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from fakes import linear_text

from extractors import ner_model
from extractors.diagnosis import find_diagnoses
from extractors.nlp import get_pipeline
from pipeline.errors import ConfigError
from pipeline.policy import load_policy
from pipeline.settings import Settings
from pipeline.types import Assertion, Category, DiagnosisMention


def save_ruler_model(root: Path, name: str, phrases: list[str], version: str = "0.1.0") -> Path:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", name="ner", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns([{"label": "DISEASE", "pattern": p} for p in phrases])  # type: ignore[attr-defined]
    nlp.add_pipe("entity_ruler", name="chem").add_patterns(  # type: ignore[attr-defined]
        [{"label": "CHEMICAL", "pattern": "gabapentin"}])
    nlp.meta["name"] = name
    nlp.meta["version"] = version
    directory = root / name
    nlp.to_disk(directory)
    meta = json.loads((directory / "meta.json").read_text())
    meta["labels"] = {"ner": ["DISEASE"]}
    (directory / "meta.json").write_text(json.dumps(meta))
    return directory


@pytest.fixture
def ruler(tmp_path: Path) -> ner_model.EntityRecognizer:
    save_ruler_model(tmp_path, "toy_ner", ["pain in left knee", "chronic pancreatitis", "fibromyalgia",
                                           "zzqx vrrk", "chronic pain", "plantar fasciitis", "pain",
                                           "severe pain", "patellar tendinosis"])
    return ner_model.load_recognizer("toy_ner", tmp_path)


def find(text: str, recognizer: ner_model.EntityRecognizer | None) -> tuple[DiagnosisMention, ...]:
    return find_diagnoses(get_pipeline().parse(linear_text(text)), load_policy(), recognizer=recognizer)


def test_bundled_models_lists_each_model_directory_with_name_version_labels_and_size(tmp_path: Path) -> None:
    save_ruler_model(tmp_path, "b_model", ["x y"], version="2.0.0")
    save_ruler_model(tmp_path, "a_model", ["x y"])
    (tmp_path / "not_a_model").mkdir()
    models = ner_model.bundled_models(tmp_path)
    assert [(m.name, m.version, m.labels) for m in models] == [("a_model", "0.1.0", ("DISEASE",)),
                                                              ("b_model", "2.0.0", ("DISEASE",))]
    assert models[0].directory == tmp_path / "a_model" and models[0].size_bytes > 0
    assert spacy.load(models[0].directory)("x y").ents[0].label_ == "DISEASE"  # loadable by directory alone


def test_unknown_model_name_is_a_config_error_naming_what_is_bundled(tmp_path: Path) -> None:
    save_ruler_model(tmp_path, "only_one", ["x"])
    with pytest.raises(ConfigError, match="only_one"):
        ner_model.load_recognizer("missing", tmp_path)


def test_when_the_setting_names_a_model_or_off_then_the_recall_layer_uses_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCVERIFY_NER_MODEL", raising=False)
    assert Settings().ner_model_name == ner_model.DEFAULT_MODEL
    monkeypatch.setenv("DOCVERIFY_NER_MODEL", "OFF")
    assert Settings().ner_model_name is None and ner_model.get_recognizer(Settings().ner_model_name) is None
    monkeypatch.setenv("DOCVERIFY_NER_MODEL", "docverify_ner_ncbi")
    assert Settings().ner_model_name == "docverify_ner_ncbi"


def test_recognize_returns_only_the_requested_labels_with_character_offsets(
        ruler: ner_model.EntityRecognizer) -> None:
    text = "Plantar fasciitis treated with gabapentin."
    spans = ruler.recognize(text)
    assert [(text[s.start:s.end], s.label) for s in spans] == [("Plantar fasciitis", "DISEASE")]
    assert [s.label for s in ruler.recognize(text, labels=("CHEMICAL",))] == ["CHEMICAL"]


def test_a_disease_the_lexicon_does_not_list_is_found_linked_and_classified_by_policy(
        ruler: ner_model.EntityRecognizer) -> None:
    text = "Assessment: the patient has pain in left knee since the fall."
    assert not [m for m in find(text, None) if "knee" in m.text]  # the lexicon alone misses it
    (hit,) = [m for m in find(text, ruler) if "knee" in m.text]
    assert hit.icd10 == "M25.562" and hit.assertion is Assertion.AFFIRMED
    assert hit.category is Category.OTHER_PAIN is load_policy().classify(hit.icd10)
    assert hit.evidence[0].rule == "ner:toy_ner" and hit.evidence[0].snippet


def test_a_negated_recall_layer_mention_is_negated_by_context(ruler: ner_model.EntityRecognizer) -> None:
    (hit,) = [m for m in find("Assessment: no evidence of chronic pancreatitis.", ruler) if "pancrea" in m.text]
    assert hit.icd10 == "K86.1"
    assert hit.assertion is Assertion.NEGATED


def test_a_recall_layer_mention_about_a_relative_is_not_the_patients(ruler: ner_model.EntityRecognizer) -> None:
    text = "History of Present Illness:\nHer mother has chronic pancreatitis."
    (hit,) = [m for m in find(text, ruler) if "pancrea" in m.text]
    assert hit.assertion is Assertion.FAMILY


def test_sections_listed_in_skip_sections_are_not_read_by_the_model(ruler: ner_model.EntityRecognizer) -> None:
    text = ("Family History:\nMother: chronic pancreatitis\nMedications:\nCreon for chronic pancreatitis\n"
            "History of Present Illness:\nShe has pain in left knee.")
    rules = ner_model.load_recall_rules()
    assert {"family_history", "medications"} <= {k.value for k in rules.skip_sections}
    found = [m.text for m in find(text, ruler) if m.evidence[0].rule.startswith("ner:")]
    assert found == ["pain in left knee"]


def test_a_span_the_lexicon_already_found_is_not_reported_twice(ruler: ner_model.EntityRecognizer) -> None:
    hits = [m for m in find("Diagnoses: fibromyalgia", ruler) if "fibromyalgia" in m.text.lower()]
    assert len(hits) == 1 and hits[0].category is Category.FIBROMYALGIA
    assert hits[0].evidence[0].rule.startswith("lexicon:")


def test_a_recognised_span_with_no_icd_link_is_not_a_mention(ruler: ner_model.EntityRecognizer) -> None:
    assert not [m for m in find("Assessment: zzqx vrrk.", ruler) if "zzqx" in m.text]
    # nor one that links only below the policy's table threshold (patellar tendinosis ~ patellar tendinitis 0.63)
    assert not [m for m in find("Assessment: patellar tendinosis.", ruler) if "tendin" in m.text]


def test_a_recognised_icd_inclusion_term_is_linked_not_dropped(ruler: ner_model.EntityRecognizer) -> None:
    # "plantar fasciitis" is an ICD-10-CM inclusion term of M72.2: it links since the linker indexes inclusion terms
    hits = [m for m in find("She came in for plantar fasciitis of the left foot.", ruler) if "fasci" in m.text]
    assert [(m.icd10, m.evidence[0].rule) for m in hits] == [("M72.2", "ner:toy_ner")]


def test_regression_a_diagnosis_the_linker_layer_found_is_not_reported_again_by_the_recall_layer(
        ruler: ner_model.EntityRecognizer) -> None:
    # the linker layer did not mark its spans as covered, so the recall layer reported the same words a second time
    hits = [m for m in find("Assessment: plantar fasciitis.", ruler) if "fasci" in m.text]
    assert [(m.icd10, m.evidence[0].rule) for m in hits] == [("M72.2", "linker:char3gram")]


def test_a_pain_symptom_found_by_the_model_outside_symptom_sections_is_dropped_like_a_lexicon_one(
        ruler: ner_model.EntityRecognizer) -> None:
    text = "Patient Instructions:\nReturn to clinic if chronic pain worsens."
    assert [m.text for m in find(text, ruler)] == [m.text for m in find(text, None)]


def test_abbreviation_propagator_gives_every_occurrence_of_a_defined_short_form_the_long_forms_label() -> None:
    from training.corpora import blank_nlp

    nlp = blank_nlp()
    doc = nlp("Rats received streptozotocin (STZ). After STZ, glucose rose; STZ-treated rats lost weight.")
    doc.ents = [doc.char_span(14, 28, label="CHEMICAL"), doc.char_span(42, 45, label="DISEASE")]  # a wrong label
    out = ner_model.AbbreviationPropagator(nlp)(doc)
    assert [(e.text, e.label_) for e in out.ents] == [("streptozotocin", "CHEMICAL"), ("STZ", "CHEMICAL"),
                                                      ("STZ", "CHEMICAL"), ("STZ", "CHEMICAL")]


def test_abbreviation_propagator_changes_nothing_when_the_long_form_is_no_entity() -> None:
    from training.corpora import blank_nlp

    nlp = blank_nlp()
    doc = nlp("We used dobutamine stress echocardiography (DSE). DSE was normal.")
    doc.ents = [doc.char_span(50, 53, label="CHEMICAL")]
    out = ner_model.AbbreviationPropagator(nlp)(doc)
    assert [(e.text, e.label_) for e in out.ents] == [("DSE", "CHEMICAL")]


def test_a_recognised_span_of_only_generic_words_is_not_a_mention(ruler: ner_model.EntityRecognizer) -> None:
    # regression: bare "Pain" of a letterhead linked to M79.603 and made 9 samples wrongly complete
    text = "Riverside Pain & Spine Associates\nHistory of Present Illness: severe pain, then pain in left knee."
    found = [(m.text, m.evidence[0].rule) for m in find(text, ruler) if m.evidence[0].rule.startswith("ner:")]
    assert found == [("pain in left knee", "ner:toy_ner")]


def test_recall_rules_reject_an_unknown_key_and_a_score_out_of_range(tmp_path: Path) -> None:
    good = ner_model.RECALL_RULES_PATH.read_text()
    bad_key = tmp_path / "ner_recall.yaml"
    bad_key.write_text(good + "\nextra_key: 1\n")
    with pytest.raises(ConfigError, match="ner_recall.yaml: extra_key"):
        ner_model.load_recall_rules(bad_key)
    bad_score = tmp_path / "score.yaml"
    bad_score.write_text(good.replace("min_link_score: 0.85", "min_link_score: 1.5"))
    with pytest.raises(ConfigError, match="min_link_score"):
        ner_model.load_recall_rules(bad_score)


def test_generic_word_check_ignores_punctuation_and_case() -> None:
    rules = ner_model.load_recall_rules()
    assert rules.is_generic(["Chronic", ",", "PAIN"]) and not rules.is_generic(["chronic", "pancreatitis"])


def test_recognize_reads_blank_line_separated_blocks_and_keeps_offsets_into_the_whole_text(
        ruler: ner_model.EntityRecognizer) -> None:
    text = "Page one: plantar fasciitis.\n\n\nPage two:\n  \nchronic pancreatitis and plantar fasciitis."
    spans = ruler.recognize(text)
    assert [text[s.start:s.end] for s in spans] == ["plantar fasciitis", "chronic pancreatitis", "plantar fasciitis"]


def test_a_document_longer_than_spacys_max_length_is_recognised_block_by_block(
        ruler: ner_model.EntityRecognizer) -> None:
    block = "Assessment: chronic pancreatitis. " + "word " * 2000
    text = "\n\n".join([block] * 120)  # ~1.2 M characters, over spaCy's 1,000,000 default
    assert len(text) > ruler.nlp.max_length
    assert len(ruler.recognize(text)) == 120


def test_the_model_does_not_run_when_the_rules_already_found_an_affirmed_pain_diagnosis(
        ruler: ner_model.EntityRecognizer) -> None:
    hpi = "History of Present Illness:\nShe also has chronic pancreatitis.\n"
    assert [m.text for m in find(hpi, ruler) if m.evidence[0].rule.startswith("ner:")] == ["chronic pancreatitis"]
    settled = find(hpi + "Diagnoses:\nFibromyalgia (M79.7)", ruler)
    assert any(m.category is Category.FIBROMYALGIA and m.assertion is Assertion.AFFIRMED for m in settled)
    assert not [m for m in settled if m.evidence[0].rule.startswith("ner:")]
    # a negated pain diagnosis settles nothing: the model still runs
    unsettled = find(hpi + "Diagnoses:\nNo fibromyalgia.", ruler)
    assert [m.text for m in unsettled if m.evidence[0].rule.startswith("ner:")] == ["chronic pancreatitis"]


def test_when_given_a_loader_the_model_is_loaded_only_for_a_document_the_rules_leave_unsettled(
        ruler: ner_model.EntityRecognizer) -> None:
    # A cold `docverify check` loaded the NER model for every document (~0.5 CPU-s) though the rules settle most.
    loads: list[str] = []

    def load() -> ner_model.EntityRecognizer:
        loads.append("loaded")
        return ruler

    parse = get_pipeline().parse
    settled = find_diagnoses(parse(linear_text("Diagnoses:\nFibromyalgia (M79.7)")), load_policy(), recognizer=load)
    assert any(m.category is Category.FIBROMYALGIA for m in settled) and loads == []
    text = "Assessment: the patient has pain in left knee since the fall."
    (hit,) = [m for m in find_diagnoses(parse(linear_text(text)), load_policy(), recognizer=load) if "knee" in m.text]
    assert loads == ["loaded"] and hit.evidence[0].rule == "ner:toy_ner"


def test_when_the_finders_warm_then_the_ner_model_is_named_but_not_loaded() -> None:
    from extractors.finders import model_versions
    # a cold `docverify check` loaded the NER model only to record its version (~0.5 CPU-s of the 3 s goal)
    ner_model._cached.cache_clear()
    tags = model_versions(ner_model.DEFAULT_MODEL)
    assert tags["ner_model"].startswith(ner_model.DEFAULT_MODEL + "-")
    assert ner_model._cached.cache_info().currsize == 0
