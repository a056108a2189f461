"""In-domain raw text for the NER model's floret vectors and tok2vec pretraining.

Two forms of the same text: `raw.txt` (one tokenised, lower-cased sentence-ish line per row, for floret) and
`pretrain.jsonl` (`{"text": ...}` per sentence-ish piece, original case, for `spacy pretrain`: the tok2vec's SHAPE
and PREFIX features need the capitals that floret's input drops).

Sources (no test abstract of either NER corpus; no MTSamples note that evaluation/mtsamples labels):
  * BC5CDR and NCBI-disease train + dev abstracts (PubMed titles/abstracts),
  * MTSamples transcriptions (clinical notes; ../shared/corpora/mtsamples, CC0),
  * ICD-10-CM descriptions from simple-icd-10-cm (the disease vocabulary docverify links to).
Only word co-occurrence and subwords are learned from it; no labels.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from training.corpora import SPLITS, blank_nlp, default_root, read_split, test_pmids

MTSAMPLES_LABELS = Path(__file__).resolve().parents[1] / "evaluation" / "mtsamples" / "labels.jsonl"
_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|\s*,\s{2,}|\n+")


def labeled_rows() -> set[int]:
    rows = set()
    for line in MTSAMPLES_LABELS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.add(int(json.loads(line)["row"]))
    return rows


def texts() -> Iterator[str]:
    held_out = test_pmids()
    for corpus in SPLITS:
        for split in ("train", "dev"):
            for abstract in read_split(corpus, split):
                if abstract.pmid not in held_out:
                    yield abstract.text
    csv.field_size_limit(10_000_000)
    skip = labeled_rows()
    with (default_root() / "mtsamples" / "mtsamples.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if int(row["note_id"]) not in skip and row["transcription"]:
                yield row["transcription"]
    from pipeline.icd10cm import table

    icd = table()
    for code in icd.codes():
        description = icd.description(code)
        if description:
            yield description


def pieces() -> Iterator[tuple[str, list[str]]]:
    """(sentence-ish piece of text, its tokens) for every piece of three or more tokens."""
    tokenizer = blank_nlp().tokenizer
    for text in texts():
        for piece in _SENT_END.split(text):
            words = [t.text for t in tokenizer(piece) if not t.is_space]
            if len(words) >= 3:
                yield piece.strip(), words


def lines() -> Iterator[str]:
    for _, words in pieces():
        yield " ".join(w.lower() for w in words)


def write_pretrain_jsonl(out: Path) -> tuple[int, int]:
    """`spacy pretrain`'s input: one {"text": piece} per line, original case. Returns (lines, words)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    n_lines = n_words = 0
    with out.open("w", encoding="utf-8") as f:
        for piece, words in pieces():
            f.write(json.dumps({"text": piece}, ensure_ascii=False) + "\n")
            n_lines += 1
            n_words += len(words)
    return n_lines, n_words


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("var/ner/raw.txt"))
    ap.add_argument("--jsonl", type=Path, default=None,
                    help="Write the pretraining JSONL (original case) here instead of the floret text.")
    args = ap.parse_args(argv)
    if args.jsonl is not None:
        n_lines, n_words = write_pretrain_jsonl(args.jsonl)
        print(f"{args.jsonl}: {n_lines} lines, {n_words} words")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n_lines = n_words = 0
    with args.out.open("w", encoding="utf-8") as f:
        for line in lines():
            f.write(line + "\n")
            n_lines += 1
            n_words += line.count(" ") + 1
    print(f"{args.out}: {n_lines} lines, {n_words} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
