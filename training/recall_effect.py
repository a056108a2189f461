"""What the NER recall layer adds to the diagnosis finder, measured on text no rule was written for.

Every BC5CDR test abstract (never trained on) is run through docverify's diagnosis finder as a one-page text
document, with the recall layer and without it. A gold DISEASE mention counts as found when a reported diagnosis's
text contains it or lies inside it (case-insensitive; reports carry page and box, not character offsets). Reported
for all gold DISEASE mentions and for the pain-like ones (PAIN_WORDS in the mention), with the number of reported
mentions per configuration.

    PYTHONPATH=. .venv/bin/python -m training.recall_effect [--limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from extractors.diagnosis import find_diagnoses
from extractors.ner_model import DEFAULT_MODEL, load_recognizer
from extractors.nlp import get_pipeline
from pipeline.policy import load_policy
from pipeline.types import Document, MediaType, Source, linearize, page_from_lines
from training.corpora import read_split

PAIN_WORDS = re.compile(r"pain|ache|migrain|neuralg|neuropath|fibromyalg|dystroph|causalg|allodyn|hyperalges",
                        re.IGNORECASE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    abstracts = read_split("bc5cdr", "test")[: args.limit]
    pipeline, policy = get_pipeline(), load_policy()
    recognizer = load_recognizer(DEFAULT_MODEL)
    totals: dict[str, dict[str, float]] = {name: {"gold": 0, "found": 0, "pain_gold": 0, "pain_found": 0, "reported": 0}
              for name in ("without", "with")}
    for a in abstracts:
        page = page_from_lines(1, [a.text], source=Source.TEXT_LAYER, reason="bc5cdr")
        text = linearize(Document("0" * 64, MediaType.PDF, len(a.text), (page,)))
        parsed = pipeline.parse(text)
        gold = [m for m in a.mentions if m.label == "DISEASE"]
        for name, rec in (("without", None), ("with", recognizer)):
            found = find_diagnoses(parsed, policy, recognizer=rec)
            texts = [" ".join(m.text.lower().split()) for m in found]
            t = totals[name]
            t["reported"] += len(found)
            for g in gold:
                g_text = " ".join(g.text.lower().split())
                hit = any(g_text in r or (len(r) >= 4 and r in g_text) for r in texts)
                pain = bool(PAIN_WORDS.search(g.text))
                t["gold"] += 1
                t["found"] += hit
                t["pain_gold"] += pain
                t["pain_found"] += hit and pain
    for t in totals.values():
        t["recall"] = round(t["found"] / t["gold"], 3)
        t["pain_recall"] = round(t["pain_found"] / t["pain_gold"], 3)
    print(json.dumps({"abstracts": len(abstracts), "model": DEFAULT_MODEL, **totals}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
