"""A warm parent of batch workers, for the kill test in tests/test_reconcile.py.

It imports the flows and builds the NLP pipeline once (5–10 s on the 2-core machine), then forks one fresh batch
worker per command — `batch_verify(inbox=<argv[1]>)`, the production flow against the test's Prefect server and
store — each in its own session, so the test can SIGKILL a worker's whole process group (the worker, its
forkserver and, through PR_SET_PDEATHSIG, its reader children) twenty times in well under a minute. Nothing is
opened before the fork (no store, no Prefect client, no thread), so each worker starts as a new process would.

Protocol, one line each way: "run" → the worker's pid; "quit" → exit. Dead workers are reaped at once (SIGCHLD),
so a killed worker's pid is gone — as after a real worker's death — when the reconciler looks for it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _reap(_signum: int, _frame: object) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _work(inbox: str) -> None:
    """The worker: its own session (the test kills the group), stdout closed (it is the protocol channel)."""
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    code = 1
    try:
        from flows.flows import batch_verify

        result = batch_verify(inbox=inbox)
        if inspect.iscoroutine(result):
            asyncio.run(result)
        code = 0
    finally:
        os._exit(code)


def main() -> None:
    inbox = sys.argv[1]
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import flows.batch  # noqa: F401 - imported before the fork, as a worker process would at start
    import flows.flows  # noqa: F401
    from extractors.nlp import get_pipeline
    from flows.tasks import pipeline_version
    from pipeline.policy import load_policy
    from pipeline.settings import Settings

    get_pipeline()
    load_policy()
    pipeline_version(Settings().ner_model_name)
    if threading.active_count() != 1:  # forking a process with threads could copy a held lock
        raise SystemExit(f"zygote has {threading.active_count()} threads before forking")
    signal.signal(signal.SIGCHLD, _reap)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        pid = os.fork()
        if pid == 0:
            _work(inbox)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
