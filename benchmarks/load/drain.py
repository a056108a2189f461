"""The load run's worker: verifies pending uploads while the load runs and drains the queue afterwards.

    .venv/bin/python benchmarks/load/drain.py --finish-file PATH --out drain.json   (settings from DOCVERIFY_*)

It does what the batch flow's per-upload task does (`flows.tasks.verify_one_task`), without Prefect: claim the
oldest pending upload (`Store.claim_pending`: BEGIN IMMEDIATE on SQLite, SKIP LOCKED on PostgreSQL), then
`flows.tasks.verify_claimed` (load → bounded read in a child process → find → evaluate → save the report, fenced by
the claim). `DOCVERIFY_BATCH_CONCURRENCY` threads do that at once. When the queue is empty it waits for more until
FINISH_FILE exists; then it ends at the first empty queue and writes its counts (JSON) to --out.

Heavy imports stay inside main(): every reader child of the forkserver re-runs this script (flows/isolation.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IDLE_POLL_S = 0.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finish-file", type=Path, required=True,
                        help="Once this file exists, stop at the first empty queue.")
    parser.add_argument("--out", type=Path, required=True, help="Counts by outcome, as JSON.")
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

    from flows.tasks import open_store, verify_claimed, worker_id
    from pipeline.errors import DocverifyError
    from pipeline.settings import Settings

    settings = Settings()  # an entry point: the settings from DOCVERIFY_* variables
    store = open_store(settings)
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    finish_seen: list[float] = []

    def work() -> None:
        worker = worker_id()
        while True:
            claimed = store.claim_pending(1, worker)
            if not claimed:
                if args.finish_file.exists():
                    with lock:
                        finish_seen.append(time.monotonic())
                    return
                time.sleep(IDLE_POLL_S)
                continue
            record = claimed[0]
            try:
                outcome = verify_claimed(store, record.id, settings, record.fence).value
            except DocverifyError as e:
                # a processing failure on our side: the upload is failed by code, as the flow's fail_task does
                store.mark_failed(record.id, e.code, fence=record.fence)
                outcome = f"failed:{e.code}"
            with lock:
                counts[outcome] += 1

    threads = [threading.Thread(target=work, name=f"drain-{i}") for i in range(settings.batch_concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    args.out.write_text(json.dumps({"outcomes": dict(counts), "verified": sum(counts.values()),
                                    "elapsed_s": round(time.monotonic() - started, 2),
                                    "concurrency": settings.batch_concurrency}, indent=2) + "\n")


if __name__ == "__main__":
    main()
