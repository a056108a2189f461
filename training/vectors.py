"""Train floret vectors on training/raw_text.py's output and convert them to a spaCy vectors directory.

floret (explosion/floret, a fastText fork) stores only hashed subword rows (`--bucket` × `--dim`), so a word never
seen in the raw text still gets a vector from its character n-grams — what chemical and disease names need — and the
table is small enough to ship (20,000 × 128 float32 ≈ 10 MB). Seeded and single-threaded: reproducible.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

DIM = 128
BUCKET = 20000


def train(raw: Path, out: Path, *, dim: int = DIM, bucket: int = BUCKET, epochs: int = 10, threads: int = 1) -> Path:
    import floret

    out.mkdir(parents=True, exist_ok=True)
    model = floret.train_unsupervised(
        str(raw), model="skipgram", mode="floret", hashCount=2, bucket=bucket, dim=dim, minn=3, maxn=5,
        minCount=3, epoch=epochs, thread=threads, verbose=0)  # floret seeds its RNG with 0
    vec_file = out / "vectors.floret"
    model.save_floret_vectors(str(vec_file))
    spacy_dir = out / "spacy"
    subprocess.run([sys.executable, "-m", "spacy", "init", "vectors", "en", str(vec_file), str(spacy_dir),
                    "--mode", "floret"], check=True)
    return spacy_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=Path("var/ner/raw.txt"))
    ap.add_argument("--out", type=Path, default=Path("var/ner/vectors"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    print(train(args.raw, args.out, epochs=args.epochs, threads=args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
