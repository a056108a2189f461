"""Checks many files with one worker process per core; each worker builds the NLP pipeline once."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import DocverifyError
from pipeline.evaluate import Intake
from pipeline.report import Report


@dataclass(frozen=True, slots=True)
class Job:
    """One file to check with its intake facts."""

    path: Path
    intake: Intake


@dataclass(frozen=True, slots=True)
class Outcome:
    """A report, or the stable code of the error that prevented one."""

    job: Job
    report: Report | None
    error_code: str | None = None


def _warm() -> None:
    # Tesseract's OpenMP threads thrash when several run on 2 cores: one thread per process, one process per core.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from extractors.nlp import get_pipeline

    get_pipeline()


def _run(job: Job) -> Outcome:
    from flows.verify import check_file

    try:
        return Outcome(job, check_file(job.path, job.intake))
    except DocverifyError as e:  # retryable processing errors: reported by code, never by message content
        return Outcome(job, None, e.code)


def check_many(jobs: list[Job], workers: int | None = None) -> Iterator[Outcome]:
    """Yield an outcome per job as each finishes (order not preserved)."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    if workers == 1:
        _warm()
        for job in jobs:
            yield _run(job)
        return
    # forkserver, not fork: the caller may already run threads (Prefect's client, a test server), and forking a
    # multi-threaded process can deadlock the child.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm, mp_context=context) as pool:
        futures = [pool.submit(_run, job) for job in jobs]
        for fut in as_completed(futures):
            yield fut.result()
