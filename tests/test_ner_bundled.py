"""The trained NER models bundled in models/: present, small, loadable by directory alone, accurate on a
slice of the test split, and used by the diagnosis finder as its recall layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import corpus_paths
import pytest
from fakes import linear_text
from typer.testing import CliRunner

from extractors import ner_model
from extractors.diagnosis import find_diagnoses
from extractors.nlp import get_pipeline
from flows.cli import app
from pipeline.policy import load_policy
from pipeline.settings import Settings
from training import corpora, evaluate

NAMES = ("docverify_ner_bc5cdr", "docverify_ner_ncbi")
MAX_BYTES = 40 * 1024 * 1024


@pytest.fixture(scope="module")
def bc5cdr() -> ner_model.EntityRecognizer:
    return ner_model.load_recognizer("docverify_ner_bc5cdr")


def test_both_models_are_bundled_under_40_mb_with_versions_labels_and_test_figures() -> None:
    models = {m.name: m for m in ner_model.bundled_models()}
    assert set(NAMES) <= set(models)
    assert set(models["docverify_ner_bc5cdr"].labels) == {"DISEASE", "CHEMICAL"}
    assert models["docverify_ner_ncbi"].labels == ("DISEASE",)
    for name in NAMES:
        m = models[name]
        assert m.size_bytes <= MAX_BYTES, f"{name} is {m.size_bytes / 1e6:.1f} MB"
        assert m.version and m.directory.name == name
        assert {"bc5cdr_test", "ncbi_test"} <= set(m.performance)


def test_a_bundled_model_loads_with_spacy_load_and_no_code_from_this_repository(tmp_path: object) -> None:
    directory = ner_model.MODELS_DIR / "docverify_ner_bc5cdr"
    code = (f"import json, spacy; nlp = spacy.load({str(directory)!r}); "
            "doc = nlp('Cisplatin-induced nephrotoxicity in rats.'); "
            "print(json.dumps([(e.text, e.label_) for e in doc.ents]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    ents = json.loads(out.stdout)
    assert ["Cisplatin", "CHEMICAL"] in ents and ["nephrotoxicity", "DISEASE"] in ents


def test_the_model_finds_diseases_and_chemicals_in_clinical_prose(bc5cdr: ner_model.EntityRecognizer) -> None:
    text = ("The patient developed acute renal failure and rhabdomyolysis; gabapentin was started for diabetic "
            "neuropathy.")
    diseases = {text[s.start:s.end] for s in bc5cdr.recognize(text)}
    assert {"acute renal failure", "rhabdomyolysis", "diabetic neuropathy"} <= diseases
    assert "gabapentin" in {text[s.start:s.end] for s in bc5cdr.recognize(text, labels=("CHEMICAL",))}


def test_a_defined_short_form_gets_its_long_forms_label_at_every_occurrence(
        bc5cdr: ner_model.EntityRecognizer) -> None:
    text = ("Patients with acute kidney injury (AKI) were enrolled. "
            "AKI resolved after hydration, and AKI recurrence was rare.")
    found = [(text[s.start:s.end], s.label) for s in bc5cdr.recognize(text)]
    assert found.count(("AKI", "DISEASE")) == 3


@corpus_paths.needs("bc5cdr")
def test_accuracy_on_the_first_100_bc5cdr_test_abstracts_stays_above_the_floor(
        bc5cdr: ner_model.EntityRecognizer, monkeypatch: pytest.MonkeyPatch) -> None:
    first = corpora.read_split("bc5cdr", "test")[:100]
    monkeypatch.setattr(evaluate, "read_split", lambda corpus, split: first)
    scores = evaluate.score(bc5cdr.nlp, "bc5cdr", "test", abbreviations=True)
    figures = {k: evaluate.to_json(v) for k, v in scores.items()}
    assert scores["ALL"].f1 >= 0.80 and scores["DISEASE"].f1 >= 0.75, figures


@corpus_paths.needs("ncbi-disease")
def test_ncbi_model_meets_the_issue_goal_on_the_whole_ncbi_test_split_as_its_meta_says() -> None:
    # the goal set for docverify's own NER model: >= 81.7 exact-span F1 on NCBI-disease test (scispaCy reported 81.65)
    model = next(m for m in ner_model.bundled_models() if m.name == "docverify_ner_ncbi")
    nlp = ner_model.load_recognizer("docverify_ner_ncbi").nlp
    scores = evaluate.score(nlp, "ncbi", "test")
    assert scores["DISEASE"].f1 >= 0.817, evaluate.to_json(scores["DISEASE"])
    recorded = model.performance["ncbi_test"]["DISEASE"]
    assert (recorded["tp"], recorded["fp"], recorded["fn"]) == (
        scores["DISEASE"].tp, scores["DISEASE"].fp, scores["DISEASE"].fn)


def test_models_command_lists_every_bundled_model_with_its_directory() -> None:
    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in NAMES:
        assert name in result.output
    assert str(ner_model.MODELS_DIR) in result.output


def test_recall_layer_reports_a_diagnosis_the_lexicon_does_not_list() -> None:
    parsed = get_pipeline().parse(linear_text("Assessment:\nHypothyroidism and irritable bowel syndrome."))
    (hit,) = [m for m in find_diagnoses(parsed, load_policy(),
                                        recognizer=ner_model.get_recognizer(ner_model.DEFAULT_MODEL))
              if "bowel" in m.text]
    assert hit.icd10.startswith("K58") and hit.evidence[0].rule == "ner:docverify_ner_bc5cdr"
    assert hit.category is load_policy().classify(hit.icd10)
    off = Settings(ner_model="off").ner_model_name
    assert not [m for m in find_diagnoses(parsed, load_policy(), recognizer=ner_model.get_recognizer(off))
                if "bowel" in m.text]
