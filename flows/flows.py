"""Prefect flows: `verify_upload` (one upload, triggered per upload) and `batch_verify` (every pending upload, on a
schedule or from `docverify batch`). Parameters and results are upload ids, counts and status codes only."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, cast

from prefect import Flow, flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.tasks import (
    Outcome,
    claim_task,
    evaluate_task,
    fail_task,
    find_task,
    open_store,
    persist_task,
    read_task,
    rejudge_case_of,
    verify_one_task,
)
from pipeline.errors import DocverifyError
from pipeline.report import Report
from pipeline.settings import Settings
from storage.store import UploadState


def _quoted[T](value: T) -> T:
    """`value` wrapped so Prefect passes it through without walking it (a Document has thousands of words)."""
    return cast(T, quote(value))


@flow(name="verify-upload", persist_result=False, log_prints=False)
def verify_upload(upload_id: str) -> Outcome:
    """Verify one stored upload: claim → load and read (bounded) → find → evaluate → persist.

    A processing failure marks the upload FAILED with its code and fails the run (message: the code only). An entry
    point: a runner starts it in a fresh process, so it builds the settings from the environment."""
    settings = Settings()
    fence = claim_task(upload_id, flow_run.get_id(), settings)
    if fence is None:
        return Outcome.SKIPPED
    try:
        document_or_rejection = read_task(upload_id, settings)
        if isinstance(document_or_rejection, Report):
            return persist_task(upload_id, _quoted(document_or_rejection), settings, fence)
        findings = find_task(upload_id, _quoted(document_or_rejection), settings)
        report = evaluate_task(upload_id, _quoted(document_or_rejection), _quoted(findings), settings)
        return persist_task(upload_id, _quoted(report), settings, fence)
    except DocverifyError as e:
        fail_task(upload_id, e.code, settings, fence)
        raise


@flow(name="batch-verify", persist_result=False, log_prints=False,
      task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=os.cpu_count() or 1)))
def batch_verify(inbox: str | None = None, limit: int = 500, manifest: str | None = None,
                 owner: str = "inbox") -> dict[str, int]:
    """Ingest the inbox folder (if given), then verify up to `limit` pending uploads with bounded concurrency;
    returns counts by outcome (also written as a table artifact). An entry point (see `verify_upload`); its task
    runner is set by `batch_flow_for` (served runs: one thread per core)."""
    from flows.batch import ingest_inbox

    settings = Settings()
    if inbox:
        ingest_inbox(inbox, settings, manifest=manifest, owner=owner)
    pending = [r.id for r in open_store(settings).list_uploads(UploadState.PENDING, limit=limit)]
    run_id = flow_run.get_id()
    futures = [verify_one_task.submit(upload_id, run_id, settings) for upload_id in pending]
    counts = _collect(pending, futures, run_id, settings)
    _summary_artifact(counts)
    get_run_logger().info("batch: %d uploads: %s", len(pending), dict(counts))
    return dict(counts)


def _collect(upload_ids: list[str], futures: list[PrefectFuture[Outcome]], run_id: str | None,
             settings: Settings) -> Counter[str]:
    """Counts by outcome; an upload whose task failed for good (after its retries) is marked FAILED with its code."""
    counts: Counter[str] = Counter()
    store = open_store(settings)
    for upload_id, future in zip(upload_ids, futures, strict=True):
        try:
            outcome = future.result()
        except Exception as e:  # noqa: BLE001 - a failed or crashed task: recorded by code, never by message
            code = e.code if isinstance(e, DocverifyError) else "internal_error"
            record = store.get(upload_id)
            held = record is not None and record.state is UploadState.PROCESSING and record.run_id == run_id
            # mark_failed is refused if the upload was requeued meanwhile
            if held and record is not None and store.mark_failed(upload_id, code, fence=record.fence):
                rejudge_case_of(store, upload_id, settings)
            outcome = Outcome.FAILED
        counts[Outcome(outcome).value] += 1
    return counts


def _summary_artifact(counts: Counter[str]) -> None:
    """A table artifact of counts by outcome (ids and counts only, docs/THREAT-MODEL.md "PHI rule")."""
    rows = [{"status": o.value, "uploads": counts.get(o.value, 0)} for o in Outcome]
    rows.append({"status": "total", "uploads": sum(counts.values())})
    create_table_artifact(rows, key="batch-summary", description="docverify batch: uploads by outcome")


def batch_flow_for(settings: Settings) -> Flow[..., dict[str, int]]:
    """`batch_verify` with its task runner: a DaskTaskRunner on `settings.dask_address` over mutual TLS (the files
    in `settings.dask_tls_dir`) when set, else a thread pool of `settings.batch_concurrency` threads.
    Raises DaskTlsError when the address is not tls:// or the TLS files are missing."""
    address = settings.dask_address
    if not address:
        return batch_verify.with_options(
            task_runner=cast(Any, ThreadPoolTaskRunner(max_workers=settings.batch_concurrency)))
    from prefect_dask.task_runners import DaskTaskRunner

    from flows.dask_tls import client_security

    security = client_security(address, settings.dask_tls_dir)
    return batch_verify.with_options(
        task_runner=cast(Any, DaskTaskRunner(address=address, client_kwargs={"security": security})))
