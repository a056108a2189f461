"""`make model`: build docverify's NER models from the public corpora, reproducibly, on CPU.

Steps (each skipped when its output is newer than its inputs, so a rerun only redoes what changed):
  1. training/corpora.py   BC5CDR and NCBI-disease → spaCy DocBins with the corpora's own train/dev/test splits
  2. training/raw_text.py  in-domain raw text (train/dev abstracts, MTSamples, ICD-10-CM descriptions)
  3. training/vectors.py   floret subword vectors on that text (20,000 × 128 hashed rows)
  4. spacy train           training/ner.cfg, one model per corpus, both at once (one core each), seed 0, on the
                           corpus's train + dev splits for the config's max_epochs (model-last)
  5. training/evaluate.py  exact-span P/R/F1 on each corpus's test split, written into the model's meta.json
  6. copy to models/<name>, ready for spacy.load(directory)

How max_epochs was chosen (`--select`): the same config trained on train only, with dev scored every
eval_frequency steps; the epoch of the best dev score is what training/ner.cfg's max_epochs holds, and
`--select` prints it. The final models then train on train + dev for that many epochs — the dev split picks the
stopping point and then adds its 500 (BC5CDR) / 100 (NCBI) abstracts to training; the test split is never seen.

Models: docverify_ner_bc5cdr (DISEASE, CHEMICAL; the recall layer) and docverify_ner_ncbi (DISEASE).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import spacy

from training import corpora, evaluate, raw_text, vectors

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "training" / "ner.cfg"
VERSION = "1.0.0"
SELECT_EPOCHS = 20
# Epochs of the final train+dev run: the epoch of the best dev score in the --select run, plus one (training/README.md
# has the dev curves). Selected on 2026-11-27 with training/ner.cfg as committed.
FINAL_EPOCHS = {"docverify_ner_bc5cdr": 8, "docverify_ner_ncbi": 7}
# Per-model settings that differ from training/ner.cfg, each chosen on the dev split (training/README.md).
OVERRIDES: dict[str, dict[str, str]] = {}
MODELS = {
    "docverify_ner_bc5cdr": {"corpus": "bc5cdr", "description":
                             "DISEASE and CHEMICAL recogniser trained on BC5CDR (BioCreative V CDR) train, "
                             "model selected on its dev split; floret vectors from in-domain text"},
    "docverify_ner_ncbi": {"corpus": "ncbi", "description":
                           "DISEASE recogniser trained on NCBI-disease train, model selected on its dev split; "
                           "floret vectors from in-domain text"},
}
SOURCES = [
    {"name": "BioCreative V CDR corpus (BC5CDR)", "license": "NCBI public domain notice",
     "citation": "Li J et al., Database 2016, doi:10.1093/database/baw068"},
    {"name": "NCBI disease corpus", "license": "NCBI public domain notice",
     "citation": "Dogan RI, Leaman R, Lu Z, J Biomed Inform 2014"},
    {"name": "MTSamples (raw text for vectors only)", "license": "CC0"},
]
# One thread per process: two trainings share the two cores (BLAS threads would thrash).
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "BLIS_NUM_THREADS": "1",
                 "MKL_NUM_THREADS": "1"}


def _fresh(out: Path, *inputs: Path) -> bool:
    return out.exists() and all(out.stat().st_mtime >= p.stat().st_mtime for p in inputs if p.exists())


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def best_epoch(log: Path) -> tuple[int, int, float]:
    """(epoch, step, dev score) of the best evaluation in a `spacy train` console log."""
    rows = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[0].isdigit() and parts[1].isdigit():
            rows.append((float(parts[7]), -int(parts[1]), int(parts[0])))
    if not rows:
        raise SystemExit(f"no evaluation rows in {log}")
    score, neg_step, epoch = max(rows)
    return epoch, -neg_step, score


def build(work: Path, models_dir: Path, only: list[str], vectors_on: bool = True,
          select: bool = False, overrides: dict[str, str] | None = None) -> dict[str, dict[str, object]]:
    corpus_dir = work / "corpus"
    if not _fresh(corpus_dir / "ncbi-test.spacy", ROOT / "training" / "corpora.py"):
        _log("converting corpora")
        for corpus in corpora.SPLITS:
            print(corpus, json.dumps(corpora.convert(corpus, corpus_dir)))
    vec_dir = work / "vectors" / "spacy"
    if vectors_on and not _fresh(vec_dir / "vocab" / "vectors", ROOT / "training" / "raw_text.py",
                                 ROOT / "training" / "vectors.py"):
        raw = work / "raw.txt"
        _log("writing raw text")
        raw_text.main(["--out", str(raw)])
        _log("training floret vectors")
        vectors.train(raw, work / "vectors")
    env = {**os.environ, **SINGLE_THREAD, "PYTHONPATH": str(ROOT)}
    procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for name in only:
        corpus = str(MODELS[name]["corpus"])
        out = work / ("select" if select else "train") / name
        if overrides:
            out = out.with_name(name + "+" + ",".join(f"{k}={v}" for k, v in sorted(overrides.items())))
        train_data = corpus_dir / f"{corpus}-train.spacy"
        if not select:  # spacy.Corpus reads every .spacy file of a folder
            train_data = corpus_dir / f"{corpus}-train+dev"
            train_data.mkdir(exist_ok=True)
            for split in ("train", "dev"):
                shutil.copyfile(corpus_dir / f"{corpus}-{split}.spacy", train_data / f"{split}.spacy")
        cmd = [sys.executable, "-m", "spacy", "train", str(CONFIG), "--code", str(ROOT / "training" / "ner_code.py"),
               "--output", str(out), "--paths.train", str(train_data),
               "--paths.dev", str(corpus_dir / f"{corpus}-dev.spacy")]
        for key, value in {**OVERRIDES.get(name, {}), **(overrides or {})}.items():
            cmd += [f"--{key}", value]
        if select:  # train only, score dev every eval_frequency steps, run long enough to see the peak
            cmd += ["--training.max_epochs", str(SELECT_EPOCHS)]
        else:  # dev is in the training data now: its score means nothing, so evaluate only at the end
            cmd += ["--training.max_epochs", str(FINAL_EPOCHS[name]), "--training.eval_frequency", "1000000"]
        if vectors_on:
            cmd += ["--paths.vectors", str(vec_dir), "--components.tok2vec.model.embed.include_static_vectors",
                    "true"]
        out.mkdir(parents=True, exist_ok=True)
        _log(f"training {name} (log: {out / 'train.log'})")
        with (out / "train.log").open("wb") as log:
            procs[name] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), out)
    results: dict[str, dict[str, object]] = {}
    for name, (proc, out) in procs.items():
        if proc.wait() != 0:
            raise SystemExit(f"training {name} failed: see {out / 'train.log'}")
        if select:
            epoch, step, score = best_epoch(out / "train.log")
            _log(f"{name}: best dev score {score:.2f} at epoch {epoch} (step {step}): max_epochs = {epoch + 1}")
            results[name] = {"best_epoch": epoch, "step": step, "dev_score": score}
        else:
            results[name] = install(name, out / "model-last", models_dir)
    return results


def install(name: str, trained: Path, models_dir: Path) -> dict[str, object]:
    """Evaluate `trained` on every test split and copy it to models_dir/name with docverify's meta.json."""
    nlp = spacy.load(trained)
    performance: dict[str, object] = {}
    for corpus in corpora.SPLITS:
        for abbreviations, suffix in ((False, ""), (True, "+abbreviation_rule")):
            scores = evaluate.score(nlp, corpus, "test", abbreviations=abbreviations)
            performance[f"{corpus}_test{suffix}"] = {k: evaluate.to_json(v) for k, v in scores.items()}
    target = models_dir / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(trained, target)
    meta = json.loads((target / "meta.json").read_text())
    meta.update({"name": name, "version": VERSION, "description": MODELS[name]["description"],
                 "author": "docverify", "license": "public domain corpora; see training/README.md",
                 "sources": SOURCES, "docverify_performance": performance})
    (target / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    _log(f"{name}: {json.dumps(performance)}")
    return performance


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "var" / "ner")
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--only", action="append", choices=sorted(MODELS))
    ap.add_argument("--no-vectors", action="store_true", help="Train without the floret vectors (ablation).")
    ap.add_argument("--select", action="store_true",
                    help="Train on train only and report the best dev epoch (how ner.cfg's max_epochs was chosen); "
                         "installs nothing.")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="Override a training/ner.cfg value for this run (e.g. training.dropout=0.2).")
    args = ap.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    t0 = time.perf_counter()
    build(args.work, args.models, args.only or sorted(MODELS), vectors_on=not args.no_vectors, select=args.select,
          overrides=overrides)
    _log(f"done in {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
