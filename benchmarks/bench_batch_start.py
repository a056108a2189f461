"""`docverify batch` from a cold start: seconds from process start to the first report stored, and to exit.

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_batch_start.py --runs 2 FILE [FILE ...] [--tree DIR ...]

Each run copies FILEs into a fresh inbox, with a fresh data dir (so a fresh local Prefect server on a free port),
and runs what the `docverify` console script runs (`flows.cli.app` with `batch INBOX --out OUT`) with the code of
`--tree` first on PYTHONPATH (default: this checkout); runs alternate between trees. The first report is seen by
polling the store's SQLite file (`reports` table, read-only) every 50 ms. Prints one JSON line per run and the
medians per tree (benchmarks/README.md "bench_batch_start.py").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = "import sys\nfrom flows.cli import app\nsys.argv = ['docverify', *sys.argv[1:]]\napp()\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reports(db: Path) -> int:
    if not db.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as conn:
            return int(conn.execute("select count(*) from reports").fetchone()[0])
    except sqlite3.Error:
        return 0


def one_run(files: list[Path], tree: Path) -> dict[str, object]:
    """One cold `docverify batch` over `files` with `tree`'s code."""
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        base = Path(tmp)
        inbox, out, data = base / "inbox", base / "out", base / "data"
        inbox.mkdir()
        for f in files:
            shutil.copy(f, inbox / f.name)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL" and not k.startswith("DOCVERIFY_")}
        env.update(PYTHONPATH=str(tree), OMP_THREAD_LIMIT="1", DOCVERIFY_DATA_DIR=str(data),
                   DOCVERIFY_PREFECT_PORT=str(_free_port()))
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, "batch", str(inbox), "--out", str(out)], cwd=tree,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first = None
        while proc.poll() is None:
            if first is None and _reports(data / "docverify.db"):
                first = time.monotonic() - t0
            time.sleep(0.05)
        total = time.monotonic() - t0
        stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        return {"tree": str(tree), "rc": proc.returncode, "first_report_s": round(first, 2) if first else None,
                "exit_s": round(total, 2), "written": len(list(out.glob("*.json"))) if out.is_dir() else 0,
                **({"stderr_tail": stderr[-300:]} if proc.returncode else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--tree", action="append", type=Path, help="a source tree (repeat to compare); default: here")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    files = [f.resolve() for f in args.files]
    load = os.getloadavg()[0]
    runs = []
    for i in range(args.runs):
        for tree in (trees if i % 2 == 0 else trees[::-1]):
            runs.append(one_run(files, tree))
            print(json.dumps(runs[-1]), flush=True)
    for tree in trees:
        mine = [r for r in runs if r["tree"] == str(tree) and r["rc"] == 0 and r["first_report_s"] is not None]
        if mine:
            print(json.dumps({"tree": str(tree), "runs": len(mine),
                              "median_first_report_s": statistics.median(float(str(r["first_report_s"])) for r in mine),
                              "median_exit_s": statistics.median(float(str(r["exit_s"])) for r in mine)}))
    print(json.dumps({"load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
