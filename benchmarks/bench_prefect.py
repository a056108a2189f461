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
ingested by one warm-up `batch_verify(inbox=..., manifest=...)`; then, alternating `--runs` times, the same uploads
are reprocessed (a) by `batch_verify()` with its default task runner (a thread pool of `default_concurrency()`)
and (b) directly: a ThreadPoolExecutor of the same size calling `claim` + `verify_claimed` per upload. Prefect's
share is (batch − direct) / batch, on medians. `--no-flow-heartbeat` (diagnostic) runs the batch flow with Prefect's
flow-run heartbeat off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY=None, settable only in code) to separate its ~1 s join at
run end from the per-upload cost.
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
    args = parser.parse_args()
    os.environ["DOCVERIFY_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-prefect-")
    os.environ.pop("DOCVERIFY_DATABASE_URL", None)
    if args.all:
        all_samples(args.runs, flow_heartbeat=not args.no_flow_heartbeat)
        return

    import logging

    from prefect.testing.utilities import prefect_test_harness

    from flows.flows import verify_upload
    from flows.tasks import open_store, verify_claimed, worker_id
    from flows.verify import check_file
    from pipeline.evaluate import Intake

    logging.getLogger("prefect").setLevel(logging.WARNING)
    store = open_store()
    rows: list[tuple[str, float, float, float]] = []
    with prefect_test_harness(server_startup_timeout=90):
        for name in SAMPLES:
            path = ROOT / "samples" / "inputs" / name
            record, _ = store.add_upload(path.read_bytes(), owner="bench", display_name=name, media_type=None,
                                         intake=Intake())

            def steps(upload_id: str = record.id) -> object:
                store.requeue(upload_id, "reprocess")
                store.claim(upload_id, worker_id())
                return verify_claimed(store, upload_id)

            def flow_run(upload_id: str = record.id) -> object:
                store.requeue(upload_id, "reprocess")
                return verify_upload(upload_id)

            store.claim(record.id, worker_id())
            store.mark_failed(record.id, "bench_setup")  # FAILED → requeue-able by every runner below
            check = _median(lambda p=path: check_file(p, Intake()), args.runs)
            plain = _median(steps, args.runs)
            flow = _median(flow_run, args.runs)
            rows.append((name, check, plain, flow))

        # The scheduled path: one batch flow, one task per upload, run one at a time so it compares with the steps.
        from prefect.task_runners import ThreadPoolTaskRunner

        from flows.flows import batch_verify
        from pipeline.store import UploadState

        serial_batch = batch_verify.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))  # type: ignore

        def batch() -> object:
            for r in store.list_uploads(owner="bench"):
                if r.state is not UploadState.PENDING:
                    store.requeue(r.id, "reprocess")
            return serial_batch()

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
    """The realistic batch: every bundled sample, batch_verify vs the same steps on a thread pool of the same size."""
    import contextlib
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.flows import batch_verify, default_concurrency
    from flows.tasks import claim, open_store, verify_claimed

    logging.getLogger("prefect").setLevel(logging.WARNING)
    store = open_store()
    workers = default_concurrency()
    load_before = os.getloadavg()
    with prefect_test_harness(server_startup_timeout=90):
        t0 = time.perf_counter()
        batch_verify(inbox=str(ROOT / "samples" / "inputs"), manifest=str(ROOT / "samples" / "manifest.csv"))
        warm_s = time.perf_counter() - t0
        ids = [r.id for r in store.list_uploads(limit=10_000)]

        def requeue_all() -> None:
            for upload_id in ids:
                store.requeue(upload_id, "reprocess")

        def one(upload_id: str) -> object:
            if not claim(store, upload_id, None):
                raise RuntimeError("not pending")
            return verify_claimed(store, upload_id)

        def direct() -> None:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, ids))

        def batch() -> None:
            settings = ({} if flow_heartbeat else {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
            with temporary_settings(settings) if settings else contextlib.nullcontext():
                counts = batch_verify()
            assert sum(counts.values()) == len(ids), counts

        times: dict[str, list[float]] = {"direct": [], "batch": []}
        for _ in range(runs):
            for name, fn in (("direct", direct), ("batch", batch)):
                requeue_all()
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    load_after = os.getloadavg()
    direct_s, batch_s = statistics.median(times["direct"]), statistics.median(times["batch"])
    over = batch_s - direct_s
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}; "
          f"after: {' '.join(f'{x:.2f}' for x in load_after)}")
    print(f"{len(ids)} uploads (all bundled samples), concurrency {workers}, runs {runs} (median); "
          f"Prefect flow heartbeat {'on (default)' if flow_heartbeat else 'OFF (diagnostic)'}; "
          f"warm-up batch with ingest {warm_s:.2f} s")
    print(f"direct (thread pool, claim + verify_claimed): {direct_s:.3f} s  "
          f"[{', '.join(f'{t:.2f}' for t in times['direct'])}]")
    print(f"batch_verify:                                 {batch_s:.3f} s  "
          f"[{', '.join(f'{t:.2f}' for t in times['batch'])}]")
    print(f"Prefect: {over:.3f} s = {over / len(ids):.4f} s per upload, {100 * over / batch_s:.1f}% of the batch")
    # Other processes only ever add time: the fastest run of each is the least disturbed estimate on a shared box.
    best_direct, best_batch = min(times["direct"]), min(times["batch"])
    best_over = best_batch - best_direct
    print(f"fastest runs: direct {best_direct:.3f} s, batch {best_batch:.3f} s: Prefect {best_over:.3f} s = "
          f"{best_over / len(ids):.4f} s per upload, {100 * best_over / best_batch:.1f}% of the batch")


if __name__ == "__main__":
    main()
