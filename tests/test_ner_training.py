"""The NER training data path (training/corpora.py) and the exact-span scorer (training/evaluate.py).

Real corpus files from ../shared/corpora are read where the behaviour is about them (split sizes, offsets, test
PMIDs held out); small PubTator texts written here pin the edge cases. The scorer runs a real spaCy EntityRuler
named "ner", so its counts are checked against spans we know.
"""

from __future__ import annotations

import json
from pathlib import Path

import corpus_paths
import pytest
import spacy

from training import corpora, evaluate

needs_corpora = corpus_paths.needs("bc5cdr", "ncbi-disease")

PUBTATOR = (
    "1|t|Naloxone reverses hypotension.\n"
    "1|a|Doxorubicin-induced cardiomyopathy in rats.\n"
    "1\t0\t8\tNaloxone\tChemical\tD009270\n"
    "1\t18\t29\thypotension\tDisease\tD007022\n"
    "1\t31\t42\tDoxorubicin\tChemical\tD004317\n"
    "1\t51\t65\tcardiomyopathy\tDisease\tD009202\n"
    "1\tCID\tD004317\tD009202\n"
    "\n"
    "2|t|Migraine.\n"
    "2|a|None.\n"
    "2\t0\t8\tMigraine\tSpecificDisease\tD008881\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_pubtator_reader_joins_title_and_abstract_and_maps_types_to_two_labels(tmp_path: Path) -> None:
    abstracts = list(corpora.read_pubtator(write(tmp_path, PUBTATOR)))
    assert [a.pmid for a in abstracts] == ["1", "2"]
    assert abstracts[0].text == "Naloxone reverses hypotension. Doxorubicin-induced cardiomyopathy in rats."
    assert [(m.text, m.label) for m in abstracts[0].mentions] == [
        ("Naloxone", "CHEMICAL"), ("hypotension", "DISEASE"), ("Doxorubicin", "CHEMICAL"),
        ("cardiomyopathy", "DISEASE")]
    assert abstracts[1].mentions[0].label == "DISEASE"  # an NCBI type


def test_pubtator_reader_rejects_a_mention_whose_offsets_do_not_hold_its_text(tmp_path: Path) -> None:
    bad = PUBTATOR.replace("1\t18\t29\thypotension", "1\t17\t28\thypotension")
    with pytest.raises(ValueError, match="do not hold the mention text"):
        list(corpora.read_pubtator(write(tmp_path, bad)))


def test_ner_tokenizer_splits_where_annotators_put_entity_boundaries() -> None:
    nlp = corpora.blank_nlp()
    words = [t.text for t in nlp("[3H]-naloxone ergotamine/caffeine Mg+2 doxorubicin-induced protein S.")]
    assert words == ["[", "3H", "]", "-", "naloxone", "ergotamine", "/", "caffeine", "Mg", "+", "2",
                     "doxorubicin", "-", "induced", "protein", "S", "."]


def test_gold_spans_become_token_aligned_entities_in_the_converted_doc(tmp_path: Path) -> None:
    abstract = next(corpora.read_pubtator(write(tmp_path, PUBTATOR)))
    stats = corpora.Alignment()
    doc = corpora.to_doc(corpora.blank_nlp(), abstract, stats, frozenset({"DISEASE", "CHEMICAL"}))
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Naloxone", "CHEMICAL"), ("hypotension", "DISEASE"), ("Doxorubicin", "CHEMICAL"),
        ("cardiomyopathy", "DISEASE")]
    assert (stats.mentions, stats.exact, stats.expanded) == (4, 4, 0)


def test_converting_for_a_disease_only_corpus_drops_other_labels(tmp_path: Path) -> None:
    abstract = next(corpora.read_pubtator(write(tmp_path, PUBTATOR)))
    doc = corpora.to_doc(corpora.blank_nlp(), abstract, corpora.Alignment(), frozenset({"DISEASE"}))
    assert [e.label_ for e in doc.ents] == ["DISEASE", "DISEASE"]


@needs_corpora
def test_corpus_splits_have_the_published_sizes_and_the_duplicate_ncbi_abstract_is_read_once() -> None:
    bc5 = {s: corpora.read_split("bc5cdr", s) for s in ("train", "dev", "test")}
    assert [len(v) for v in bc5.values()] == [500, 500, 500]
    disease = sum(m.label == "DISEASE" for a in bc5["train"] for m in a.mentions)
    chemical = sum(m.label == "CHEMICAL" for a in bc5["train"] for m in a.mentions)
    assert (disease, chemical) == (4182, 5203)  # the official training-set statistics (SOURCE.md)
    ncbi_train = corpora.read_split("ncbi", "train")
    assert len(ncbi_train) == 592 and len({a.pmid for a in ncbi_train}) == 592
    assert sum(len(a.mentions) for a in corpora.read_split("ncbi", "test")) == 960


@needs_corpora
def test_no_test_abstract_of_either_corpus_reaches_training_data_or_raw_text(tmp_path: Path) -> None:
    held_out = corpora.test_pmids()
    corpora.convert("ncbi", tmp_path)
    from spacy.tokens import DocBin

    nlp = corpora.blank_nlp()
    for split in ("train", "dev"):
        docs = list(DocBin().from_disk(tmp_path / f"ncbi-{split}.spacy").get_docs(nlp.vocab))
        assert docs and not {d.user_data["pmid"] for d in docs} & held_out
    from training import raw_text

    test_texts = {a.text for c in corpora.SPLITS for a in corpora.read_split(c, "test")}
    first = [t for _, t in zip(range(3000), raw_text.texts(), strict=False)]
    assert not test_texts & set(first)


def ruler_model(patterns: list[dict[str, str]]) -> spacy.language.Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    return nlp


def test_scorer_counts_only_exact_offsets_and_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, PUBTATOR)
    monkeypatch.setitem(corpora.SPLITS, "toy", {"test": path.name})
    monkeypatch.setitem(corpora.CORPUS_DIR, "toy", ".")
    monkeypatch.setattr(evaluate, "read_split", lambda c, s: corpora.read_split(c, s, tmp_path))
    # right: hypotension, cardiomyopathy, Migraine; wrong label: Naloxone; too short: "Doxorubicin-induced" missing
    nlp = ruler_model([{"label": "DISEASE", "pattern": "hypotension"}, {"label": "DISEASE", "pattern": "Migraine"},
                       {"label": "DISEASE", "pattern": "cardiomyopathy"}, {"label": "DISEASE", "pattern": "Naloxone"},
                       {"label": "DISEASE", "pattern": "rats"}])
    scores = evaluate.score(nlp, "toy", "test")
    assert set(scores) == {"DISEASE", "ALL"}  # the model predicts no CHEMICAL: only shared labels are scored
    d = scores["DISEASE"]
    assert (d.tp, d.fp, d.fn) == (3, 2, 0)
    assert d.precision == pytest.approx(0.6) and d.recall == 1.0 and d.f1 == pytest.approx(0.75)


def test_pretraining_text_keeps_capitals_and_the_floret_text_is_the_same_text_lower_cased(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from training import raw_text

    texts = ["Complex regional pain syndrome (CRPS) of the left arm. Fibromyalgia, stable.", "No.",
             "Migraine without aura\n\nTwo words"]
    monkeypatch.setattr(raw_text, "texts", lambda: iter(texts))
    n_lines, n_words = raw_text.write_pretrain_jsonl(tmp_path / "pretrain.jsonl")
    rows = [json.loads(line)["text"] for line in (tmp_path / "pretrain.jsonl").read_text().splitlines()]
    # sentence-ish pieces of three or more tokens, capitals kept ("No." and "Two words" are too short)
    assert rows == ["Complex regional pain syndrome (CRPS) of the left arm.", "Fibromyalgia, stable.",
                    "Migraine without aura"]
    assert (n_lines, n_words) == (3, 12 + 4 + 3)
    assert list(raw_text.lines()) == [
        "complex regional pain syndrome ( crps ) of the left arm .", "fibromyalgia , stable .",
        "migraine without aura"]


def _tok2vec_params(nlp: spacy.language.Language) -> list[object]:
    model = nlp.get_pipe("tok2vec").model
    return [node.get_param(name) for node in model.walk() for name in node.param_names if node.has_param(name)]


def test_spacy_pretrain_with_ner_cfg_yields_weights_that_the_ner_training_starts_from(tmp_path: Path) -> None:
    """The [pretraining] section of training/ner.cfg runs, and paths.init_tok2vec loads its output into the tok2vec
    the NER listens to (without the vectors here, to keep the test small)."""
    import subprocess
    import sys

    import numpy
    from spacy.tokens import DocBin
    from spacy.training.initialize import init_nlp
    from spacy.util import load_config

    from training import train

    nlp = corpora.blank_nlp()
    docs = [corpora.to_doc(nlp, a, corpora.Alignment(), frozenset({"DISEASE", "CHEMICAL"}))
            for a in corpora.read_pubtator(write(tmp_path, PUBTATOR))]
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "tiny.spacy")
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"text": d.text}) + "\n" for d in docs * 20), encoding="utf-8")
    out = tmp_path / "pretrain"
    root = Path(train.__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "spacy", "pretrain", str(train.CONFIG), str(out), "--code",
         str(root / "training" / "ner_code.py"), "--paths.raw_text", str(raw), "--pretraining.max_epochs", "2"],
        capture_output=True, text=True, env={**train.SINGLE_THREAD, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    weights = out / "model-last.bin"
    assert weights.stat().st_size > 0 and (out / "model1.bin").exists()

    def initialised(init_tok2vec: Path | None) -> spacy.language.Language:
        overrides = {"paths.train": str(tmp_path / "tiny.spacy"), "paths.dev": str(tmp_path / "tiny.spacy"),
                     "paths.init_tok2vec": str(init_tok2vec) if init_tok2vec else None}
        return init_nlp(load_config(train.CONFIG, overrides=overrides, interpolate=False))

    import training.ner_code  # noqa: F401  (registers the tokenizer callback the config names)

    pretrained, random = _tok2vec_params(initialised(weights)), _tok2vec_params(initialised(None))
    reference = initialised(None)
    reference.get_pipe("tok2vec").model.from_bytes(weights.read_bytes())
    expected = _tok2vec_params(reference)
    assert len(pretrained) == len(expected) > 0
    assert all(numpy.array_equal(a, b) for a, b in zip(pretrained, expected, strict=True))
    assert not all(numpy.array_equal(a, b) for a, b in zip(pretrained, random, strict=True))


def test_lexicon_union_adds_dictionary_matches_only_where_the_model_found_nothing() -> None:
    from training.lexicon_ensemble import add_union

    nlp = ruler_model([{"label": "DISEASE", "pattern": "cystic fibrosis"}])
    add_union(nlp, ["Fibrosis", "migraine", "migraine with aura", "aura"])
    doc = nlp("Siblings with cystic fibrosis and Migraine with aura.")
    # "fibrosis" lies inside the model's entity: not added; of the overlapping matches the longest wins, any case
    assert [(e.text, e.label_) for e in doc.ents] == [("cystic fibrosis", "DISEASE"),
                                                      ("Migraine with aura", "DISEASE")]
