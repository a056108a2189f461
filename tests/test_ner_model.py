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
                                           "zzqx vrrk", "chronic pain", "plantar fasciitis"])
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


def test_setting_selects_the_model_or_turns_the_recall_layer_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ner_model.SETTING, raising=False)
    assert ner_model.selected_model_name() == ner_model.DEFAULT_MODEL
    monkeypatch.setenv(ner_model.SETTING, "OFF")
    assert ner_model.selected_model_name() is None and ner_model.get_recognizer() is None
    monkeypatch.setenv(ner_model.SETTING, "docverify_ner_ncbi")
    assert ner_model.selected_model_name() == "docverify_ner_ncbi"


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


def test_a_family_history_recall_layer_mention_is_not_the_patients(ruler: ner_model.EntityRecognizer) -> None:
    (hit,) = [m for m in find("Family History:\nMother: chronic pancreatitis", ruler) if "pancrea" in m.text]
    assert hit.assertion is Assertion.FAMILY


def test_a_span_the_lexicon_already_found_is_not_reported_twice(ruler: ner_model.EntityRecognizer) -> None:
    hits = [m for m in find("Diagnoses: fibromyalgia", ruler) if "fibromyalgia" in m.text.lower()]
    assert len(hits) == 1 and hits[0].category is Category.FIBROMYALGIA
    assert hits[0].evidence[0].rule.startswith("lexicon:")


def test_a_recognised_span_with_no_icd_link_is_not_a_mention(ruler: ner_model.EntityRecognizer) -> None:
    assert not [m for m in find("Assessment: zzqx vrrk.", ruler) if "zzqx" in m.text]
    # nor one that links only below the policy's table threshold (plantar fasciitis ~ necrotizing fasciitis 0.60)
    assert not [m for m in find("Assessment: plantar fasciitis.", ruler) if "fasci" in m.text]


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
