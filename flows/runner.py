"""Checks many files with one worker process per core; each worker builds the NLP pipeline once."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from evaluation.checking import Job, Outcome
from pipeline.errors import DocverifyError
from pipeline.settings import Settings

__all__ = ["Job", "Outcome", "check_many"]


def _warm() -> None:
    """A worker process's entry: one tesseract thread, and the NLP pipeline built once before the first job."""
    from extractors.nlp import get_pipeline
    from extractors.ocr import limit_tesseract_threads

    limit_tesseract_threads()
    get_pipeline()


def _run(job: Job, settings: Settings) -> Outcome:
    from flows.verify import check_file

    try:
        return Outcome(job, check_file(job.path, job.intake, settings))
    except DocverifyError as e:  # retryable processing errors: reported by code, never by message content
        return Outcome(job, None, e.code)


def check_many(jobs: list[Job], settings: Settings, workers: int | None = None) -> Iterator[Outcome]:
    """Yield an outcome per job as each finishes (order not preserved)."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    if workers == 1:
        _warm()
        for job in jobs:
            yield _run(job, settings)
        return
    # forkserver, not fork: the caller may already run threads (Prefect's client, a test server), and forking a
    # multi-threaded process can deadlock the child.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm, mp_context=context) as pool:
        futures = [pool.submit(_run, job, settings) for job in jobs]
        for fut in as_completed(futures):
            yield fut.result()
