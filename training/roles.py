"""Train the treating-physician ranker (`extractors.role_model`) on the varied train split and the bundled samples.

    PYTHONPATH=. .venv/bin/python -m training.roles            # cache documents, cross-validate, fit, write the model
    PYTHONPATH=. .venv/bin/python -m training.roles --cache-only

Data: `out/varied/train` (first 360 uploads, made by `evaluation.varied.generate --split train` when missing) and
`samples/inputs` with `samples/labels.jsonl`. The dev split is kept out so that the end-to-end dev figures (`docverify
eval-varied --split dev`) measure the ranker on documents it was not fitted on; the test split is never read,
generated or scored here.

Each upload is read once with `extractors.routing.read_document`; the Documents are pickled under `out/role-cache/`
keyed by the upload's sha256 (a build cache, never shipped). Logs carry counts only, never names or text.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import pickle
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import numpy as np  # noqa: E402 (OMP_THREAD_LIMIT must be set before tesseract or BLAS load)
import numpy.typing as npt  # noqa: E402

from extractors.people import SAME_PERSON_THRESHOLD  # noqa: E402
from pipeline.errors import DocverifyError  # noqa: E402
from pipeline.names import fold, parse_person_name, same_person  # noqa: E402
from pipeline.types import Document, linearize  # noqa: E402

log = logging.getLogger("training.roles")

ROOT = Path(__file__).resolve().parent.parent
TRAIN_DIR = ROOT / "out" / "varied" / "train"
TRAIN_COUNT = 1800
SAMPLES_DIR = ROOT / "samples"
CACHE_DIR = ROOT / "out" / "role-cache"
FOLDS = 5


@dataclass(frozen=True, slots=True)
class LabelledFile:
    """One upload and the treating physician its label names (None: no treating physician)."""

    corpus: str  # "varied-train" or "samples"
    path: Path
    physician: str | None
    names: tuple[str, ...] = ()  # every name the label mentions (kept out of the feature vocabulary)


def _labelled(labels: Path, inputs: Path, corpus: str) -> list[LabelledFile]:
    out: list[LabelledFile] = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("split") in ("test", "dev") or "test" in Path(row["file"]).parts:
            raise SystemExit(f"refusing a {row.get('split')}-split label")  # the train split only, by construction
        path = inputs / row["file"]
        expected = row.get("expected") or {}
        names = (expected.get("patient_name"), expected.get("physician_name"),
                 (row.get("intake") or {}).get("patient_name"), *(d.get("name") for d in row.get("distractors", ())))
        if path.is_file():
            out.append(LabelledFile(corpus, path, expected.get("physician_name"), tuple(n for n in names if n)))
    return out


def ensure_train_split() -> None:
    """Generate the varied train split when it is missing or short (never the dev or test split)."""
    labels = TRAIN_DIR / "labels.jsonl"
    if labels.is_file() and len(labels.read_text(encoding="utf-8").splitlines()) >= TRAIN_COUNT:
        return
    log.info("generating the varied train split")
    subprocess.run([sys.executable, "-m", "evaluation.varied.generate", "--split", "train", "--out", str(TRAIN_DIR),
                    "--count", str(TRAIN_COUNT)], check=True, cwd=ROOT)


def labelled_files() -> list[LabelledFile]:
    """Every labelled upload of the training data: the varied train split, then the bundled samples."""
    ensure_train_split()
    # The first TRAIN_COUNT documents only, whatever a longer generated split holds: the same data on every run.
    return (_labelled(TRAIN_DIR / "labels.jsonl", TRAIN_DIR / "inputs", "varied-train")[:TRAIN_COUNT]
            + _labelled(SAMPLES_DIR / "labels.jsonl", SAMPLES_DIR / "inputs", "samples"))


def _read_cached(path: Path) -> Document | None:
    """The Document of the upload at `path`, from the cache or read now (None: the reader refused it)."""
    from extractors.routing import read_document
    from pipeline.intake import accept

    data = path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    cached = CACHE_DIR / f"{key}.pickle"
    missing = CACHE_DIR / f"{key}.none"
    if cached.is_file():
        with cached.open("rb") as f:
            doc: Document = pickle.load(f)  # noqa: S301 (our own build cache)
        return doc
    if missing.is_file():
        return None
    try:
        document = read_document(data, accept(data, path.name))
    except DocverifyError:
        missing.touch()
        return None
    if document.structured is not None:
        missing.touch()  # a C-CDA upload: coded people, no layout for the finder
        return None
    tmp = cached.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(document, f)
    tmp.replace(cached)
    return document


def read_all(files: Sequence[LabelledFile], jobs: int = 2) -> list[Document | None]:
    """The Documents of `files` (cached), read with `jobs` processes."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(_read_cached, [f.path for f in files]))


# --------------------------------------------------------------------------------------------------------------
# Candidates and targets
# --------------------------------------------------------------------------------------------------------------

def is_labelled_physician(name: str, label: str) -> bool:
    """True when the found `name` is the labelled treating physician (accents folded; a surname-only label, as a
    "Dr. Ferreira" document shows it, matches that surname)."""
    if same_person(name, label) or same_person(fold(name), fold(label)):
        return True
    label_words = fold(label).split()
    if len(label_words) == 1:
        parsed = parse_person_name(name)
        family = fold(parsed.family) if parsed is not None else ""
        return label_words[0] in {family, *fold(name).split()[-1:]}
    return False


@dataclass(frozen=True, slots=True)
class DocRecord:
    """One readable document: its people grouped, their features and targets, and the rules' choice."""

    corpus: str
    physician_labelled: bool
    features: list[dict[str, float]]
    targets: list[int]
    rules_choice: int | None  # index of the rules' chosen person (None: nobody chosen)
    rules_correct: bool  # the rules' choice is the labelled physician, or nobody when none is labelled
    name_words: frozenset[str] = frozenset()  # folded words of the label's names


def build_records(files: Sequence[LabelledFile], docs: Sequence[Document | None]) -> list[DocRecord]:
    """Parse each document once, find its people, and describe every person (counts only are logged)."""
    from extractors.nlp import get_pipeline
    from extractors.people import choose_treating_physician, find_people
    from extractors.role_model import group_people, person_features

    nlp = get_pipeline()
    records: list[DocRecord] = []
    for lf, doc in zip(files, docs, strict=True):
        if doc is None:
            continue
        people = find_people(nlp.parse(linearize(doc)))
        groups = group_people(people)
        chosen = choose_treating_physician(people).person
        label = lf.physician
        targets = [int(label is not None and any(is_labelled_physician(p.normalized, label) for p in g))
                   for g in groups]
        rules_choice = None
        if chosen is not None:
            rules_choice = next((i for i, g in enumerate(groups)
                                 if any(same_person(p.normalized, chosen.normalized, SAME_PERSON_THRESHOLD)
                                        for p in g)), None)
        if chosen is None:
            rules_correct = label is None
        else:
            rules_correct = label is not None and is_labelled_physician(chosen.normalized, label)
        records.append(DocRecord(lf.corpus, label is not None,
                                 [person_features(doc, g, people, chosen) for g in groups], targets, rules_choice,
                                 rules_correct, frozenset(re.findall(r"[a-z]+", fold(" ".join(lf.names))))))
    return records


# --------------------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------------------

SPARSE_FAMILIES = frozenset({"ctx", "after", "rule"})  # kept only when seen in MIN_DOC_FREQ training documents
MIN_DOC_FREQ = 3
C_GRID = (0.03, 0.1, 0.3, 1.0)


def vocabulary(records: Sequence[DocRecord]) -> list[str]:
    """The feature names of a training set: every dense feature, sparse ones seen in MIN_DOC_FREQ documents, never
    a word of any labelled name (the generated names recur across documents)."""
    doc_freq: Counter[str] = Counter()
    for r in records:
        doc_freq.update({name for f in r.features for name in f})
    banned = {t for r in records for t in r.name_words}
    return sorted(n for n, c in doc_freq.items()
                  if n.partition(":")[0] not in SPARSE_FAMILIES
                  or (c >= MIN_DOC_FREQ and n.partition(":")[2] not in banned))


@dataclass(frozen=True, slots=True)
class Fitted:
    names: list[str]
    means: npt.NDArray[np.float64]
    scales: npt.NDArray[np.float64]
    coefficients: npt.NDArray[np.float64]
    intercept: float

    def probabilities(self, features: Sequence[dict[str, float]]) -> npt.NDArray[np.float64]:
        x = _matrix(features, self.names)
        z = ((x - self.means) / self.scales) @ self.coefficients + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _matrix(features: Sequence[dict[str, float]], names: Sequence[str]) -> npt.NDArray[np.float64]:
    index = {n: i for i, n in enumerate(names)}
    x = np.zeros((len(features), len(names)))
    for row, f in enumerate(features):
        for n, v in f.items():
            if n in index:
                x[row, index[n]] = v
    return x


def fit(records: Sequence[DocRecord], c: float) -> Fitted:
    """Standardise and fit a balanced L2 logistic regression on every person of `records`."""
    from sklearn.linear_model import LogisticRegression

    names = vocabulary(records)
    feats = [f for r in records for f in r.features]
    y = np.array([t for r in records for t in r.targets])
    x = _matrix(feats, names)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0
    # Sparse word features stay 0/1: standardising a word seen in a handful of documents multiplies it by up to
    # 1/sqrt(frequency), so the L2 penalty barely holds its weight back, and one OCR-garbled word after a name
    # ("visil" for "visit", 3 of 1,800 documents) outvoted the treating label (fresh seeds 7500-8099, train_7666).
    sparse = np.array([n.partition(":")[0] in SPARSE_FAMILIES for n in names])
    means[sparse], scales[sparse] = 0.0, 1.0
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    lr.fit((x - means) / scales, y)
    return Fitted(names, means, scales, lr.coef_[0], float(lr.intercept_[0]))


@dataclass(frozen=True, slots=True)
class DocPrediction:
    best_probability: float  # 0.0 when the document names nobody
    best_correct: bool  # the top-ranked person is the labelled physician
    labelled: bool
    candidate: bool  # the labelled physician is among the people found


def predict(model: Fitted, records: Sequence[DocRecord]) -> list[DocPrediction]:
    out: list[DocPrediction] = []
    for r in records:
        if not r.features:
            out.append(DocPrediction(0.0, False, r.physician_labelled, False))
            continue
        p = model.probabilities(r.features)
        best = int(np.argmax(p))  # first of equals: deterministic
        out.append(DocPrediction(float(p[best]), bool(r.targets[best]), r.physician_labelled, any(r.targets)))
    return out


def f1_at(preds: Sequence[DocPrediction], threshold: float) -> tuple[float, float, float]:
    """(precision, recall, F1) of the physician on documents, nobody chosen below `threshold`."""
    tp = fp = 0
    for d in preds:
        if d.best_probability >= threshold and d.best_probability > 0:
            if d.best_correct:
                tp += 1
            else:
                fp += 1
    labelled = sum(d.labelled for d in preds)
    return _prf(tp, tp + fp, labelled)


def _prf(tp: int, predicted: int, labelled: int) -> tuple[float, float, float]:
    p = tp / predicted if predicted else 0.0
    r = tp / labelled if labelled else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def best_threshold(preds: Sequence[DocPrediction]) -> float:
    """The threshold of the best document F1 (midpoint between neighbouring probabilities; lowest on ties)."""
    probs = sorted({round(d.best_probability, 6) for d in preds if d.best_probability > 0})
    cuts = [0.0] + [(a + b) / 2 for a, b in zip(probs, probs[1:], strict=False)] + [probs[-1] if probs else 0.0]
    return max(cuts, key=lambda t: (round(f1_at(preds, t)[2], 9), -t))


def rules_scores(records: Sequence[DocRecord]) -> tuple[float, float, float]:
    tp = sum(r.rules_choice is not None and r.rules_correct for r in records)
    predicted = sum(r.rules_choice is not None for r in records)
    return _prf(tp, predicted, sum(r.physician_labelled for r in records))


def cross_validate(records: Sequence[DocRecord], c: float) -> list[DocPrediction]:
    """Out-of-fold predictions, folds grouped by document (GroupKFold, FOLDS folds)."""
    from sklearn.model_selection import GroupKFold

    preds: list[DocPrediction | None] = [None] * len(records)
    index = np.arange(len(records))
    for train_i, test_i in GroupKFold(n_splits=FOLDS).split(index, groups=index):
        model = fit([records[i] for i in train_i], c)
        for i, pr in zip(test_i, predict(model, [records[i] for i in test_i]), strict=True):
            preds[i] = pr
    return [p for p in preds if p is not None]


def _select(records: Sequence[DocRecord]) -> tuple[float, float, float]:
    """(F1, C, threshold) of the best C by cross-validation on `records` (smaller C on ties)."""
    best: tuple[float, float, float] | None = None
    for c in C_GRID:
        preds = cross_validate(records, c)
        t = best_threshold(preds)
        f = f1_at(preds, t)[2]
        if best is None or f > best[0] + 1e-9:
            best = (f, c, t)
    assert best is not None
    return best


def nested_f1(records: Sequence[DocRecord]) -> tuple[float, float, float]:
    """(P, R, F1) on documents with C and the threshold chosen inside each outer training fold (an unbiased
    estimate of the whole recipe, selection included)."""
    from sklearn.model_selection import GroupKFold

    preds: list[tuple[DocPrediction, float]] = []
    index = np.arange(len(records))
    for train_i, test_i in GroupKFold(n_splits=FOLDS).split(index, groups=index):
        train = [records[i] for i in train_i]
        _, c, t = _select(train)
        preds += [(d, t) for d in predict(fit(train, c), [records[i] for i in test_i])]
    tp = sum(d.best_probability >= t and d.best_probability > 0 and d.best_correct for d, t in preds)
    predicted = sum(d.best_probability >= t and d.best_probability > 0 for d, t in preds)
    return _prf(tp, predicted, sum(d.labelled for d, _ in preds))


def report(records: Sequence[DocRecord]) -> tuple[float, float, dict[str, float]]:
    """Print the CV figures; return the chosen C, threshold and the figures saved with the model."""
    labelled = [r for r in records if r.physician_labelled]
    with_candidate = [r for r in labelled if any(r.targets)]
    recall = len(with_candidate) / len(labelled) if labelled else 0.0
    print(f"documents read: {len(records)} ({len(labelled)} with a labelled treating physician, "
          f"{sum(len(r.targets) for r in records)} people)")
    print(f"candidate recall: {len(with_candidate)}/{len(labelled)} = {recall:.3f}")
    rules_hits = sum(r.rules_correct and r.rules_choice is not None for r in with_candidate)
    rules_top1 = rules_hits / max(1, len(with_candidate))
    rp, rr, rf = rules_scores(records)
    print(f"rules (choose_treating_physician): top-1 {rules_top1:.3f}  P {rp:.3f} R {rr:.3f} F1 {rf:.3f}")
    best: tuple[float, float, float, float] | None = None  # (F1, -C, C, threshold)
    figures: dict[str, float] = {}
    for c in C_GRID:
        preds = cross_validate(records, c)
        cands = [d for d in preds if d.candidate]
        top1 = sum(d.best_correct for d in cands) / max(1, len(cands))
        t = best_threshold(preds)
        p, r, f = f1_at(preds, t)
        _, _, f0 = f1_at(preds, 0.0)
        print(f"model C={c:<5} top-1 {top1:.3f}  threshold {t:.3f}: P {p:.3f} R {r:.3f} F1 {f:.3f}  "
              f"(F1 always choosing: {f0:.3f})")
        if best is None or (f, -c) > (best[0], best[1]):
            best = (f, -c, c, t)
            figures = {"candidate_recall": round(recall, 4), "model_top1": round(top1, 4),
                       "model_precision": round(p, 4), "model_recall": round(r, 4), "model_f1": round(f, 4),
                       "rules_top1": round(rules_top1, 4), "rules_precision": round(rp, 4),
                       "rules_recall": round(rr, 4), "rules_f1": round(rf, 4), "c": c}
    assert best is not None
    by_corpus = sorted({r.corpus for r in records})
    preds = cross_validate(records, best[2])
    for corpus in by_corpus:
        idx = [i for i, r in enumerate(records) if r.corpus == corpus]
        sub = [records[i] for i in idx]
        _, _, mf = f1_at([preds[i] for i in idx], best[3])
        _, _, rf_c = rules_scores(sub)
        lab = [r for r in sub if r.physician_labelled]
        print(f"  {corpus}: {len(sub)} documents, candidate recall {sum(any(r.targets) for r in lab)}/{len(lab)}, "
              f"F1 model {mf:.3f} vs rules {rf_c:.3f}")
    np_, nr, nf = nested_f1(records)
    print(f"nested CV (C and threshold chosen inside each training fold): P {np_:.3f} R {nr:.3f} F1 {nf:.3f}")
    figures.update({"model_nested_precision": round(np_, 4), "model_nested_recall": round(nr, 4),
                    "model_nested_f1": round(nf, 4)})
    print(f"chosen: C={best[2]} threshold={best[3]:.3f}")
    return best[2], best[3], figures


def write_model(model: Fitted, threshold: float, records: Sequence[DocRecord], figures: dict[str, float],
                path: Path) -> None:
    data = {
        "format": "docverify-role-ranker/1",
        "feature_names": model.names,
        "means": [round(float(x), 6) for x in model.means],
        "scales": [round(float(x), 6) for x in model.scales],
        "coefficients": [round(float(x), 6) for x in model.coefficients],
        "intercept": round(model.intercept, 6),
        "threshold": round(threshold, 4),
        "training": {
            "data": (f"evaluation.varied train split (out/varied/train, {TRAIN_COUNT} generated uploads) and the "
                     "bundled samples (samples/inputs); people from extractors.people.find_people; target: the "
                     "labelled treating physician; balanced L2 logistic regression, C and threshold by 5-fold "
                     "GroupKFold CV"),
            "documents": len(records),
            "candidates": sum(len(r.targets) for r in records),
            "trained_on": dt.date.today().isoformat(),
            "cross_validation": figures,
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    from extractors.role_model import DEFAULT_MODEL_PATH, load_role_ranker

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--cache-only", action="store_true", help="read and cache the documents, then stop")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    args = ap.parse_args(argv)
    files = labelled_files()
    docs = read_all(files, args.jobs)
    log.info("%d uploads, %d read", len(files), sum(d is not None for d in docs))
    if args.cache_only:
        return 0
    records = build_records(files, docs)
    c, threshold, figures = report(records)
    final = fit(records, c)
    ranked = sorted(zip(final.names, final.coefficients, strict=True), key=lambda x: -abs(x[1]))[:12]
    print("largest standardised coefficients: " + ", ".join(f"{n} {v:+.2f}" for n, v in ranked))
    write_model(final, threshold, records, figures, args.out)
    load_role_ranker.cache_clear()
    load_role_ranker(args.out)  # the written file validates
    log.info("wrote %s", args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
