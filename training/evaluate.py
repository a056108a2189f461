"""Exact-span precision/recall/F1 of a trained NER pipeline on a corpus split, against the corpus's own offsets.

A prediction counts only when its label and both character offsets equal a gold mention's (the corpus text is
untouched; the few gold spans our tokenizer cannot produce stay in the gold set and cost recall). Reported: micro
over all labels the model and corpus share, and per label.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from evaluation.scoring import FieldScore
from training.corpora import SPLITS, read_split


def to_json(counts: FieldScore) -> dict[str, float | int]:
    """P/R/F1 ×100 (two decimals, as NER papers report them) and the counts."""
    return {"precision": round(100 * counts.precision, 2), "recall": round(100 * counts.recall, 2),
            "f1": round(100 * counts.f1, 2), "tp": counts.tp, "fp": counts.fp, "fn": counts.fn}


def score(nlp: Language, corpus: str, split: str = "test", labels: frozenset[str] | None = None,
          abbreviations: bool = False) -> dict[str, FieldScore]:
    """Per-label and micro ("ALL") counts of `nlp` on one split; `labels` restricts both sides (default: the labels
    the model predicts that the corpus also annotates). `abbreviations`: score the model's output after
    extractors.ner_model.AbbreviationPropagator, as the recall layer uses it."""
    abstracts = read_split(corpus, split)
    gold_labels = {m.label for a in abstracts for m in a.mentions}
    ner: Any = nlp.get_pipe("ner")
    ner_labels = set(ner.labels)
    use = labels if labels is not None else frozenset(gold_labels & ner_labels)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    docs: Iterable[Doc] = nlp.pipe((a.text for a in abstracts), batch_size=32)
    if abbreviations:
        from extractors.ner_model import AbbreviationPropagator

        docs = map(AbbreviationPropagator(nlp), docs)
    for abstract, doc in zip(abstracts, docs, strict=True):
        gold = {(m.start, m.end, m.label) for m in abstract.mentions if m.label in use}
        pred = {(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in use}
        for _, _, label in pred & gold:
            tp[label] += 1
        for _, _, label in pred - gold:
            fp[label] += 1
        for _, _, label in gold - pred:
            fn[label] += 1
    out = {label: FieldScore(tp[label], fp[label], fn[label]) for label in sorted(use)}
    out["ALL"] = FieldScore(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--corpus", choices=sorted(SPLITS), action="append")
    ap.add_argument("--split", default="test", choices=["train", "dev", "test"])
    args = ap.parse_args(argv)
    nlp = spacy.load(args.model)
    for corpus in args.corpus or sorted(SPLITS):
        for abbreviations in (False, True):
            result = {k: to_json(v) for k, v in score(nlp, corpus, args.split, abbreviations=abbreviations).items()}
            print(json.dumps({"model": str(args.model), "corpus": corpus, "split": args.split,
                              "abbreviation_rule": abbreviations, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
