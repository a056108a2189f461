"""Experiment (training/README.md row 14): does adding dictionary matches to the model's DISEASE spans help?

"Ensembling with the lexicon", the union way: after the NER, every case-insensitive exact match of a dictionary
phrase that overlaps no entity becomes a DISEASE entity (longest match first). Dictionaries, each scored alone:
  lexicon   docverify's pain lexicon (pipeline/rules, terms and abbreviations)
  icd       every billable ICD-10-CM description and the linker's inclusion-term rows (extractors/icd_linker)
Scored on the dev split only (exact spans, DISEASE), so the result can choose a recipe without touching test.

    PYTHONPATH=. .venv/bin/python -m training.lexicon_ensemble models/docverify_ner_ncbi --corpus ncbi
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from training import evaluate
from training.corpora import SPLITS

DICTIONARIES = ("lexicon", "icd")
_UNION_IDS = itertools.count()


def phrases(dictionary: str) -> list[str]:
    """The phrases of one dictionary, de-duplicated case-insensitively, in a stable order."""
    out: list[str] = []
    if dictionary == "lexicon":
        from pipeline.policy import load_lexicon

        for entry in load_lexicon().entries:
            out += [*entry.terms, *entry.abbreviations]
    elif dictionary == "icd":
        from extractors.icd_linker import inclusion_rows
        from pipeline import icd10cm

        descriptions = {c: d for c in icd10cm.billable_codes() if (d := icd10cm.description(c))}
        out += list(descriptions.values()) + [term for _, term in inclusion_rows(descriptions)]
    else:
        raise ValueError(f"unknown dictionary {dictionary!r}")
    seen: set[str] = set()
    unique = []
    for p in out:
        key = " ".join(p.lower().split())
        if key and key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def add_union(nlp: Language, patterns: Iterable[str], label: str = "DISEASE") -> None:
    """Append a component that adds non-overlapping dictionary matches to doc.ents."""
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    matcher.add(label, [nlp.make_doc(p) for p in patterns])

    def union(doc: Doc) -> Doc:
        taken = {i for e in doc.ents for i in range(e.start, e.end)}
        found = [Span(doc, s, e, label=label) for _, s, e in matcher(doc)
                 if not any(i in taken for i in range(s, e))]
        if found:
            doc.ents = list(doc.ents) + filter_spans(found)
        return doc

    name = f"lexicon_union_{next(_UNION_IDS)}"  # a registered name holds its first function: one name per matcher
    Language.component(name, func=union)
    nlp.add_pipe(name, last=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--corpus", choices=sorted(SPLITS), action="append")
    args = ap.parse_args(argv)
    for corpus in args.corpus or sorted(SPLITS):
        for dictionary in (None, *DICTIONARIES):
            nlp = spacy.load(args.model)
            if dictionary:
                add_union(nlp, phrases(dictionary))
            scores = evaluate.score(nlp, corpus, "dev", labels=frozenset({"DISEASE"}))
            print(json.dumps({"model": str(args.model), "corpus": corpus, "split": "dev",
                              "dictionary": dictionary, "DISEASE": evaluate.to_json(scores["DISEASE"])}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
