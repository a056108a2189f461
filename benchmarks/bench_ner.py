"""Benchmark of docverify's own NER models: load time, tokens per second, and the recall layer's cost per page.

Run from the repository root:  .venv/bin/python benchmarks/bench_ner.py [--runs 10] [--no-cold]

  load         `spacy.load(directory)` of each bundled model in a fresh subprocess (median of 3), seconds
  throughput   tokens per second of `nlp.pipe` over the BC5CDR test abstracts (500, ~120k tokens), one process,
               one thread (OMP/BLAS threads 1, as the workers run)
  per page     the NLP stage per page — parse + diagnosis finder — with and without the recall layer, over the
               text-layer sample PDFs and bench_nlp.py's dense 400-word note; the difference is what the model costs.
               The budget for the whole NLP stage is 50 ms per page of text.
Times are wall-clock; the load average is printed with the figures (2 cores: another busy process inflates them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from bench_nlp import SAMPLES, sample_pages  # noqa: E402

from extractors import ner_model  # noqa: E402
from extractors.diagnosis import find_diagnoses  # noqa: E402
from extractors.nlp import get_pipeline  # noqa: E402
from pipeline.policy import load_policy  # noqa: E402
from pipeline.types import LinearText  # noqa: E402


def cold_load(directory: Path, runs: int = 3) -> float:
    code = (f"import time, spacy; t = time.perf_counter(); spacy.load({str(directory)!r}); "
            "print(time.perf_counter() - t)")
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                   .stdout.strip()) for _ in range(runs)]
    return statistics.median(times)


def throughput(model: ner_model.BundledModel) -> tuple[float, int]:
    from training.corpora import read_split

    nlp = ner_model.load_recognizer(model.name).nlp
    texts = [a.text for a in read_split("bc5cdr", "test")]
    list(nlp.pipe(texts[:20]))  # warm-up
    t0 = time.perf_counter()
    tokens = sum(len(doc) for doc in nlp.pipe(texts, batch_size=32))
    return tokens / (time.perf_counter() - t0), tokens


def per_page(texts: list[LinearText], recognizer: ner_model.EntityRecognizer | None, runs: int) -> float:
    pipeline, policy = get_pipeline(), load_policy()
    for t in texts:  # warm-up: linker index, caches
        find_diagnoses(pipeline.parse(t), policy, recognizer=recognizer)
    times = []
    for _ in range(runs):
        for t in texts:
            t0 = time.perf_counter()
            find_diagnoses(pipeline.parse(t), policy, recognizer=recognizer)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _runs_model(text: LinearText, recognizer: ner_model.EntityRecognizer) -> bool:
    """True when the diagnosis finder calls the model on this page (its cascade did not settle the verdict)."""
    calls = 0
    original = recognizer.recognize

    def counting(*args: object, **kwargs: object) -> list[ner_model.EntitySpan]:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    recognizer.recognize = counting  # type: ignore[method-assign]
    try:
        find_diagnoses(get_pipeline().parse(text), load_policy(), recognizer=recognizer)
    finally:
        recognizer.recognize = original  # type: ignore[method-assign]
    return calls > 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-cold", action="store_true")
    args = ap.parse_args(argv)
    models = ner_model.bundled_models()
    print(f"load average {os.getloadavg()[0]:.1f}; samples: {SAMPLES}")
    for m in models:
        load = "" if args.no_cold else f"load {cold_load(m.directory):.2f} s, "
        tps, tokens = throughput(m)
        print(f"{m.name} {m.version} ({m.size_bytes / 1e6:.1f} MB): {load}{tps:,.0f} tokens/s over {tokens:,} tokens")
    texts = [p.text for p in sample_pages()]  # every text-layer sample page + the dense 400-word note
    without = per_page(texts, None, args.runs)
    recognizer = ner_model.load_recognizer(ner_model.DEFAULT_MODEL)
    with_ner = per_page(texts, recognizer, args.runs)
    print(f"NLP stage per page (parse + diagnoses), median over {len(texts)} pages x {args.runs}: "
          f"without recall layer {without:.1f} ms, with {recognizer.model.name} {with_ner:.1f} ms "
          f"(+{with_ner - without:.1f} ms; budget 50 ms)")
    # The recall layer runs only on pages where the rules settled nothing (extractors/diagnosis.py, cascade);
    # its cost where it does run, and the pure model time on the text it reads:
    unsettled = [t for t in texts if _runs_model(t, recognizer)]
    if unsettled:
        w, n = per_page(unsettled, recognizer, args.runs), per_page(unsettled, None, args.runs)
        print(f"  on the {len(unsettled)} pages where the model runs: without {n:.1f} ms, with {w:.1f} ms "
              f"(+{w - n:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
