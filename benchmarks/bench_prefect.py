"""Benchmark of Prefect's overhead per upload: the `verify_upload` flow run vs the same steps called directly.

Run from the repository root:  .venv/bin/python benchmarks/bench_prefect.py [--runs 3]

Three figures per sample, each the median of `--runs` runs after one warm-up (wall clock, seconds):
- `check`: flows.verify.check_file — the plain path, in-process reading;
- `steps`: flows.tasks.verify_claimed — the flow's steps without Prefect: store read, bounded child-process
  reading, find, evaluate, store write;
- `flow`: the verify_upload flow run (claim, five tasks, states and logs sent to a local temporary Prefect server).
Prefect's overhead is flow − steps; the isolation and storage cost is steps − check. Then the scheduled path:
`batch_verify` over all samples with one task at a time (median of `--runs`), against the sum of the steps.
The load average is printed: on a 2-core machine another busy process inflates every figure.

`--all`: the realistic batch instead. Every bundled sample (samples/inputs, intake from samples/manifest.csv) is
ingested by one warm-up `batch_verify(inbox=..., manifest=...)`; then, alternating `--runs` times (and which goes
first), the same uploads are reprocessed (a) by `batch_verify()` with its default task runner (a thread pool of
`Settings.batch_concurrency`) and (b) directly: a ThreadPoolExecutor of the same size calling `claim` + `verify_claimed`
per upload. Each run records wall time and the CPU seconds of the process tree by part: client (this process),
server (the temporary Prefect server), readers (forkserver, reader children, tesseract). Prefect's share is printed
two ways: wall (batch − direct) / batch, and CPU (client + server of batch − those of direct) / the batch's CPU —
the readers do the same work on both sides and only add noise. `--no-flow-heartbeat` (diagnostic) turns Prefect's
flow-run heartbeat off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY=None, settable only in code) to separate its ≤1 s join at
run end.

The temporary server gets the settings docverify gives the local server it starts
(flows.deploy.LOCAL_SERVER_SETTINGS: a batched task-run recorder); `--server-defaults` runs it with Prefect's
defaults instead (diagnostic, and the "before" figures).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

SAMPLES = ("visit_note_crps.pdf", "avs_fibromyalgia_nocodes.pdf", "problem_list_migraine.pdf",
           "visit_note_uncertain.pdf", "jpeg_scan_migraine.jpg", "scanned_note_crps_codes.pdf")


def tree_cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this process and every descendant, by part: "client" (this
    process: our threads and Prefect's client), "server" (the Prefect server started by the test harness), "readers"
    (the forkserver, reader children and tesseract). Reaped descendants are counted in their parent's children
    times. Unlike wall time, CPU time is hardly inflated by other processes on the machine."""
    import psutil

    me = psutil.Process()
    t = me.cpu_times()
    parts = {"client": t.user + t.system + t.children_user + t.children_system, "server": 0.0, "readers": 0.0}
    for process in me.children(recursive=True):
        try:
            t = process.cpu_times()
            part = "server" if "uvicorn" in " ".join(process.cmdline()) else "readers"
        except psutil.Error:  # exited between the listing and the read: its time moves to its parent's children
            continue
        parts[part] += t.user + t.system + t.children_user + t.children_system
    return parts


def measure(fn: Callable[[], object]) -> tuple[float, dict[str, float]]:
    """(wall seconds, CPU seconds of the process tree by part, see `tree_cpu_s`) of one call."""
    cpu0, t0 = tree_cpu_s(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    cpu1 = tree_cpu_s()
    return wall, {part: cpu1[part] - cpu0[part] for part in cpu0}


def run_flow(result: object) -> object:
    """A flow call's result: async flows return a coroutine, run here to completion."""
    import asyncio
    import inspect

    return asyncio.run(result) if inspect.iscoroutine(result) else result  # type: ignore[arg-type]


def _median(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: models, linker index, forkserver
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="batch over all bundled samples (the realistic batch)")
    parser.add_argument("--no-flow-heartbeat", action="store_true",
                        help="with --all: Prefect's flow-run heartbeat off (diagnostic: isolates its join at run end)")
    parser.add_argument("--server-defaults", action="store_true",
                        help="the temporary server with Prefect's defaults instead of the settings docverify gives "
                             "its local server (flows.deploy.LOCAL_SERVER_SETTINGS; diagnostic)")
    args = parser.parse_args()
    os.environ["DOCVERIFY_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-prefect-")
    os.environ.pop("DOCVERIFY_DATABASE_URL", None)
    if not args.server_defaults:  # the temporary server reads them from this environment
        from flows.deploy import LOCAL_SERVER_SETTINGS

        for key, value in LOCAL_SERVER_SETTINGS.items():
            os.environ.setdefault(key, value)
    print(f"server: {'Prefect defaults' if args.server_defaults else 'docverify local-server settings'}")
    if args.all:
        all_samples(args.runs, flow_heartbeat=not args.no_flow_heartbeat)
        return

    import logging

    from prefect.testing.utilities import prefect_test_harness

    from flows.flows import verify_upload
    from flows.tasks import open_store, verify_claimed, worker_id
    from flows.verify import check_file
    from pipeline.settings import Settings

    settings = Settings()
    from pipeline.evaluate import Intake

    logging.getLogger("prefect").setLevel(logging.WARNING)
    store = open_store(settings)
    rows: list[tuple[str, float, float, float]] = []
    with prefect_test_harness(server_startup_timeout=90):
        for name in SAMPLES:
            path = ROOT / "samples" / "inputs" / name
            record, _ = store.add_upload(path.read_bytes(), owner="bench", display_name=name, media_type=None,
                                         intake=Intake())

            def requeue(upload_id: str) -> None:
                current = store.get(upload_id)
                assert current is not None
                store.requeue(upload_id, "reprocess", expected=current.state)

            def steps(upload_id: str = record.id) -> object:
                requeue(upload_id)
                claimed = store.claim(upload_id, worker_id())
                assert claimed is not None
                return verify_claimed(store, upload_id, settings, claimed.fence)

            def flow_run(upload_id: str = record.id) -> object:
                requeue(upload_id)
                return run_flow(verify_upload(upload_id))

            setup = store.claim(record.id, worker_id())
            assert setup is not None
            store.mark_failed(record.id, "bench_setup", fence=setup.fence)  # FAILED: requeue-able by every runner
            check = _median(lambda p=path: check_file(p, Intake(), settings), args.runs)
            plain = _median(steps, args.runs)
            flow = _median(flow_run, args.runs)
            rows.append((name, check, plain, flow))

        # The scheduled path: one batch flow, one task per upload, run one at a time so it compares with the steps.
        from prefect.task_runners import ThreadPoolTaskRunner

        from flows.flows import batch_verify
        from storage.store import UploadState

        serial_batch = batch_verify.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))  # type: ignore

        def batch() -> object:
            for r in store.list_uploads(owner="bench"):
                if r.state is not UploadState.PENDING:
                    store.requeue(r.id, "reprocess", expected=r.state)
            return run_flow(serial_batch())

        batch_s = _median(batch, args.runs)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; runs: {args.runs} (median)")
    print(f"{'sample':32} {'check s':>8} {'steps s':>8} {'flow s':>8} {'prefect s':>10} {'prefect %':>9}")
    for name, check, plain, flow in rows:
        over = flow - plain
        print(f"{name:32} {check:8.3f} {plain:8.3f} {flow:8.3f} {over:10.3f} {100 * over / flow:8.1f}%")
    total_check, total_plain, total_flow = (sum(r[i] for r in rows) for i in (1, 2, 3))
    over = total_flow - total_plain
    print(f"{'all':32} {total_check:8.3f} {total_plain:8.3f} {total_flow:8.3f} {over:10.3f} "
          f"{100 * over / total_flow:8.1f}%")
    batch_over = batch_s - total_plain
    print(f"batch_verify over all {len(rows)} samples, one at a time: {batch_s:.3f} s vs steps {total_plain:.3f} s: "
          f"Prefect {batch_over:.3f} s = {batch_over / len(rows):.3f} s per upload, "
          f"{100 * batch_over / batch_s:.1f}% of the batch")


def all_samples(runs: int, flow_heartbeat: bool = True) -> None:
    """The realistic batch: every bundled sample, batch_verify vs the same steps on a thread pool of the same size.
    Wall clock and CPU seconds of the whole process tree (this process, reader children, the Prefect server)."""
    import contextlib
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.flows import batch_verify
    from flows.tasks import claim, open_store, verify_claimed
    from pipeline.settings import Settings

    settings = Settings()

    logging.getLogger("prefect").setLevel(logging.WARNING)
    store = open_store(settings)
    workers = settings.batch_concurrency
    load_before = os.getloadavg()
    with prefect_test_harness(server_startup_timeout=90):
        t0 = time.perf_counter()
        run_flow(batch_verify(inbox=str(ROOT / "samples" / "inputs"), manifest=str(ROOT / "samples" / "manifest.csv")))
        warm_s = time.perf_counter() - t0
        ids = [r.id for r in store.list_uploads(limit=10_000)]

        def requeue_all() -> None:
            for record in store.list_uploads(limit=10_000):
                store.requeue(record.id, "reprocess", expected=record.state)

        def one(upload_id: str) -> object:
            fence = claim(store, upload_id, None)
            if fence is None:
                raise RuntimeError("not pending")
            return verify_claimed(store, upload_id, settings, fence)

        def direct() -> None:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, ids))

        def batch() -> None:
            settings = ({} if flow_heartbeat else {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
            with temporary_settings(settings) if settings else contextlib.nullcontext():
                counts = run_flow(batch_verify())
            assert isinstance(counts, dict) and sum(counts.values()) == len(ids), counts

        wall: dict[str, list[float]] = {"direct": [], "batch": []}
        cpu: dict[str, list[dict[str, float]]] = {"direct": [], "batch": []}
        for i in range(runs):
            # Alternate which goes first, so a drift in the machine's load does not favour one side.
            order = (("direct", direct), ("batch", batch)) if i % 2 == 0 else (("batch", batch), ("direct", direct))
            for name, fn in order:
                requeue_all()
                w, c = measure(fn)
                wall[name].append(w)
                cpu[name].append(c)
                print(f"  run {i + 1} {name:6} wall {w:6.2f} s  CPU " + "  ".join(f"{k} {v:.2f}" for k, v in c.items()),
                      flush=True)
    load_after = os.getloadavg()
    n = len(ids)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}; "
          f"after: {' '.join(f'{x:.2f}' for x in load_after)}")
    print(f"{n} uploads (all bundled samples), concurrency {workers}, runs {runs}; "
          f"Prefect flow heartbeat {'on (default)' if flow_heartbeat else 'OFF (diagnostic)'}; "
          f"warm-up batch with ingest {warm_s:.2f} s")
    med = statistics.median
    d_wall, b_wall = med(wall["direct"]), med(wall["batch"])
    print(f"wall, median: direct {d_wall:.2f} s, batch_verify {b_wall:.2f} s: Prefect {b_wall - d_wall:.2f} s = "
          f"{(b_wall - d_wall) / n:.4f} s per upload, {100 * (b_wall - d_wall) / b_wall:.1f}% of the batch")
    d_min, b_min = min(wall["direct"]), min(wall["batch"])
    print(f"wall, fastest: direct {d_min:.2f} s, batch_verify {b_min:.2f} s: Prefect {b_min - d_min:.2f} s = "
          f"{100 * (b_min - d_min) / b_min:.1f}% of the batch")
    parts = {name: {part: med([c[part] for c in cpu[name]]) for part in cpu[name][0]} for name in cpu}
    for name in ("direct", "batch"):
        print(f"CPU, median: {name:6} " + "  ".join(f"{k} {v:.2f}" for k, v in parts[name].items())
              + f"  total {sum(parts[name].values()):.2f} s")
    # Prefect's own CPU is in the client and the server parts; the readers do the same work on both sides (their
    # run-to-run spread, ±2–4 s, would hide a 2-s effect), so they are left out of the difference.
    over = sum(parts["batch"][k] - parts["direct"][k] for k in ("client", "server"))
    total = sum(parts["batch"].values())
    print(f"Prefect CPU (client + server, batch − direct): {over:.2f} s = {over / n:.4f} s per upload, "
          f"{100 * over / total:.1f}% of the batch's CPU")


if __name__ == "__main__":
    main()
