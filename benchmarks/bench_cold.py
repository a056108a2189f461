"""Cold `docverify check`: wall seconds from process start to exit, and the checking process's own CPU seconds.

    OMP_THREAD_LIMIT=1 .venv/bin/python benchmarks/bench_cold.py --runs 3 FILE [FILE ...] [--tree DIR ...]

Each run is a fresh interpreter doing what the `docverify` console script does (`flows.cli.app` with `check FILE`),
with the code of `--tree` first on PYTHONPATH (default: this checkout), so two trees can be compared in one run;
runs are interleaved across trees and files so that both see the same load. The CPU figure is the parent's own
(getrusage RUSAGE_SELF: the reader child, the forkserver and tesseract are not in it): on 2 idle cores, with the
reader child on the other core, it is the critical path, and unlike wall time it barely moves with other processes'
load. Prints one JSON line per run and a median summary per (tree, file) (benchmarks/README.md "bench_cold.py").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """\
import json, resource, sys
from flows.cli import app
sys.argv = ["docverify", "check", sys.argv[1]]
try:
    app()
    rc = 0
except SystemExit as e:
    rc = e.code
r = resource.getrusage(resource.RUSAGE_SELF)
sys.stderr.write("\\n" + json.dumps({"rc": rc, "cpu_s": round(r.ru_utime + r.ru_stime, 3)}) + "\\n")
"""


def cold_check(path: Path, tree: Path) -> dict[str, object]:
    """One cold `docverify check path` with `tree`'s code: exit code, wall seconds, the process's CPU seconds."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_THREAD_LIMIT": "1"}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    wall = time.monotonic() - t0
    tail = json.loads(proc.stderr.strip().splitlines()[-1])
    return {"tree": str(tree), "file": path.name, "rc": tail["rc"], "wall_s": round(wall, 3), "cpu_s": tail["cpu_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--tree", action="append", type=Path, help="a source tree (repeat to compare); default: here")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    files = [f.resolve() for f in args.files]
    runs: list[dict[str, object]] = []
    load = os.getloadavg()[0]
    for i in range(args.runs):
        order = trees if i % 2 == 0 else trees[::-1]
        for tree in order:
            for path in files:
                runs.append(cold_check(path, tree))
                print(json.dumps(runs[-1]), flush=True)
    for tree in trees:
        for path in files:
            mine = [r for r in runs if r["tree"] == str(tree) and r["file"] == path.name]
            print(json.dumps({"tree": str(tree), "file": path.name, "runs": len(mine),
                              "median_wall_s": statistics.median(float(str(r["wall_s"])) for r in mine),
                              "median_cpu_s": statistics.median(float(str(r["cpu_s"])) for r in mine)}))
    print(json.dumps({"load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
