"""`make model`: build docverify's NER models from the public corpora, reproducibly, on CPU.

Steps (each skipped when its output is newer than its inputs, so a rerun only redoes what changed):
  1. training/corpora.py   BC5CDR and NCBI-disease → spaCy DocBins with the corpora's own train/dev/test splits
  2. training/raw_text.py  in-domain raw text (train/dev abstracts, MTSamples, ICD-10-CM descriptions)
  3. training/vectors.py   floret subword vectors on that text (20,000 × 128 hashed rows)
  4. spacy pretrain        the tok2vec learns to predict each token's first and last characters from its context on
                           the same text (original case), PRETRAIN_EPOCHS passes; the models PRETRAINED names
                           start from it
  5. spacy train           training/ner.cfg, one model per corpus, seed 0, on the corpus's train + dev splits for
                           FINAL_EPOCHS (model-last); a model from random weights trains beside the pretraining
                           (one core each), a pretrained one after it
  6. training/evaluate.py  exact-span P/R/F1 on each corpus's test split, written into the model's meta.json
  7. copy to models/<name>, ready for spacy.load(directory)

How FINAL_EPOCHS and PRETRAINED were chosen (`--select`, and `--select --no-pretrain`): the same config trained on
train only, with dev scored every eval_frequency steps; `--select` prints the epoch of the best dev score, and
FINAL_EPOCHS holds that epoch + 1. The final models then train on train + dev for that many epochs — the dev split
picks the stopping point and then adds its 500 (BC5CDR) / 100 (NCBI) abstracts to training; the test split is never
seen.

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
SELECT_EPOCHS = 20
# Passes of `spacy pretrain` over the 4.4 M-word raw text (about 15 min each on one core).
PRETRAIN_EPOCHS = 1
# Epochs of the final train+dev run: the epoch of the best dev score in the --select run, plus one (training/README.md
# has the dev curves). Selected on 2026-11-27 with training/ner.cfg as committed.
FINAL_EPOCHS = {"docverify_ner_bc5cdr": 8, "docverify_ner_ncbi": 3}
# Whether the final model starts from the pretrained tok2vec: chosen per model on dev (`--select` vs
# `--select --no-pretrain`, training/README.md rows 11-12). BC5CDR's dev best was no higher with it (82.81 vs 82.87).
PRETRAINED = {"docverify_ner_bc5cdr": False, "docverify_ner_ncbi": True}
# Per-model settings that differ from training/ner.cfg, each chosen on the dev split (training/README.md).
OVERRIDES: dict[str, dict[str, str]] = {}
MODELS = {
    "docverify_ner_bc5cdr": {"corpus": "bc5cdr", "version": "1.0.0", "description":
                             "DISEASE and CHEMICAL recogniser trained on BC5CDR (BioCreative V CDR) train, "
                             "model selected on its dev split; floret vectors from in-domain text"},
    # 1.1.0: the tok2vec starts from weights pretrained on the in-domain raw text (1.0.0: random)
    "docverify_ner_ncbi": {"corpus": "ncbi", "version": "1.1.0", "description":
                           "DISEASE recogniser trained on NCBI-disease train, model selected on its dev split; "
                           "floret vectors and a pretrained tok2vec from in-domain text"},
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
    """(epoch, step, dev F1 ×100) of the best evaluation in a `spacy train` console log; the earliest on a tie.

    Read from the ENTS_F column (two decimals on 0–100), not SCORE (two decimals on 0–1, where 82.81 and 82.50
    both print 0.83 and the earlier step won the tie)."""
    rows = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[0].isdigit() and parts[1].isdigit():
            rows.append((float(parts[4]), -int(parts[1]), int(parts[0])))
    if not rows:
        raise SystemExit(f"no evaluation rows in {log}")
    score, neg_step, epoch = max(rows)
    return epoch, -neg_step, score


def pretrain(work: Path, vec_dir: Path, env: dict[str, str]) -> Path:
    """Pretrain the tok2vec on the raw text (original case) and return the weights file for paths.init_tok2vec.

    Redone only when the raw text, the vectors or training/ner.cfg changed. Uses the same vectors as the training
    (the pretrained weights must fit the tok2vec exactly) and one thread, so the weights are reproducible."""
    jsonl = work / "pretrain.jsonl"
    if not _fresh(jsonl, ROOT / "training" / "raw_text.py", ROOT / "training" / "corpora.py"):
        _log("writing pretraining text")
        raw_text.write_pretrain_jsonl(jsonl)
    out = work / f"pretrain-{PRETRAIN_EPOCHS}"
    weights = out / "model-last.bin"
    if _fresh(weights, jsonl, vec_dir / "vocab" / "vectors", CONFIG):
        return weights
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cmd = [sys.executable, "-m", "spacy", "pretrain", str(CONFIG), str(out), "--code",
           str(ROOT / "training" / "ner_code.py"), "--paths.raw_text", str(jsonl), "--paths.vectors", str(vec_dir),
           "--components.tok2vec.model.embed.include_static_vectors", "true",
           "--pretraining.max_epochs", str(PRETRAIN_EPOCHS)]
    _log(f"pretraining the tok2vec, {PRETRAIN_EPOCHS} pass(es) (log: {out / 'pretrain.log'})")
    with (out / "pretrain.log").open("wb") as log:
        if subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            raise SystemExit(f"pretraining failed: see {out / 'pretrain.log'}")
    return weights


def build(work: Path, models_dir: Path, only: list[str], vectors_on: bool = True,
          select: bool = False, overrides: dict[str, str] | None = None,
          pretrain_on: bool = True) -> dict[str, dict[str, object]]:
    if pretrain_on and not vectors_on:
        raise SystemExit("pretraining uses the floret vectors: --no-vectors needs --no-pretrain too")
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
    # --select compares with and without pretraining (--no-pretrain) for every model; a final build follows PRETRAINED
    uses_pretrained = {name: pretrain_on and (select or PRETRAINED[name]) for name in only}
    procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(name: str, init_tok2vec: Path | None) -> None:
        corpus = str(MODELS[name]["corpus"])
        out = work / ("select" if select else "train") / name
        if overrides:
            out = out.with_name(name + "+" + ",".join(f"{k}={v}" for k, v in sorted(overrides.items())))
        if init_tok2vec is None:
            out = out.with_name(out.name + "+no-pretrain")
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
        if init_tok2vec is not None:
            cmd += ["--paths.init_tok2vec", str(init_tok2vec)]
        out.mkdir(parents=True, exist_ok=True)
        _log(f"training {name} (log: {out / 'train.log'})")
        with (out / "train.log").open("wb") as log:
            procs[name] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), out)

    # Models that start from random weights train while the pretraining runs (one core each); the others after it.
    for name in only:
        if not uses_pretrained[name]:
            start(name, None)
    if any(uses_pretrained.values()):
        weights = pretrain(work, vec_dir, env)
        for name in only:
            if uses_pretrained[name]:
                start(name, weights)
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


def _null_paths(config: Path) -> None:
    """Set every [paths] value of a bundled model's config.cfg to null: they name this machine's training folders,
    which spacy.load never reads, and a shipped model must hold no absolute path."""
    lines, in_paths = [], False
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            in_paths = line.strip() == "[paths]"
        elif in_paths and "=" in line:
            line = f"{line.split('=', 1)[0].rstrip()} = null"
        lines.append(line)
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


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
    _null_paths(target / "config.cfg")
    meta = json.loads((target / "meta.json").read_text())
    meta.update({"name": name, "version": MODELS[name]["version"], "description": MODELS[name]["description"],
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
    ap.add_argument("--no-pretrain", action="store_true",
                    help="Start the tok2vec from random weights instead of the pretrained ones (ablation).")
    ap.add_argument("--select", action="store_true",
                    help="Train on train only and report the best dev epoch (how FINAL_EPOCHS was chosen); "
                         "installs nothing.")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="Override a training/ner.cfg value for this run (e.g. training.dropout=0.2).")
    args = ap.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    t0 = time.perf_counter()
    build(args.work, args.models, args.only or sorted(MODELS), vectors_on=not args.no_vectors, select=args.select,
          overrides=overrides, pretrain_on=not args.no_pretrain)
    _log(f"done in {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
