"""Nothing lost: find uploads stuck in PROCESSING whose run crashed, vanished or went silent, and requeue them.

Why this is needed (docs/THREAT-MODEL.md items 39–41): a killed flow-run process leaves its run Crashed only when a
runner survives it; when the whole worker dies the run stays Running forever (PrefectHQ/prefect#16746). So the
store's own clock decides too: an upload not updated for `stale_after_s` is taken for lost whatever Prefect says.
The bound must exceed the longest legitimate silence. A run beats while it reads and parses (flows.tasks.heartbeat:
`store.touch` every `Settings.heartbeat_s`, default 30 s), so the longest silence is a retry delay (30 s) or a few
missed beats — not the 15-min read cap — and the default bound is 180 s (`Settings.reconcile_stale_s`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from uuid import UUID

from prefect import flow, get_client, get_run_logger
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound

from flows.tasks import open_store
from pipeline.limits import NO_LIMIT
from pipeline.settings import Settings
from storage.audit_anchor import check_and_advance
from storage.store import Store, UploadRecord, UploadState

_log = logging.getLogger("docverify.reconcile")
MAX_ATTEMPTS = 3  # an upload that loses its worker this often is failed, not requeued forever
ACTOR = "reconciler"


class RunVerdict(StrEnum):
    """What the orchestrator says of the run that claimed an upload."""

    ALIVE = "alive"  # scheduled, pending, running or paused
    CRASHED = "crashed"
    ENDED = "ended"  # completed, failed or cancelled, yet the upload was left PROCESSING
    VANISHED = "vanished"  # the run id is unknown to the API
    UNKNOWN = "unknown"  # no run id was recorded (claimed, then lost before the run id was written)


def run_verdict(client: SyncPrefectClient, run_id: str | None) -> RunVerdict:
    """The verdict on `run_id` (a flow run id)."""
    if not run_id:
        return RunVerdict.UNKNOWN
    try:
        run = client.read_flow_run(UUID(run_id))
    except (ObjectNotFound, ValueError):
        return RunVerdict.VANISHED
    if run.state_type is StateType.CRASHED:
        return RunVerdict.CRASHED
    if run.state_type in (StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED):
        return RunVerdict.ENDED
    return RunVerdict.ALIVE


def worker_dead(worker: str | None) -> bool:
    """True when `worker` (host:pid, see flows.tasks.worker_id) is a process of this host that no longer runs —
    a killed batch or flow-run process, known at once instead of after the silence bound."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname()[:40] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reconcile_once(store: Store, client: SyncPrefectClient, stale_after: timedelta,
                   max_attempts: int = MAX_ATTEMPTS, *, anchor: Path | None = None) -> tuple[Counter[str], list[str]]:
    """Requeue (or, past `max_attempts`, fail) every lost PROCESSING upload, then verify the audit chain and, with
    `anchor`, its head against the anchor outside the database (then advance it: storage/audit_anchor.py);
    (counts by action, requeued ids)."""
    stale = {r.id for r in store.stale_processing(stale_after)}
    counts: Counter[str] = Counter()
    requeued: list[str] = []
    for record in store.list_uploads(UploadState.PROCESSING, limit=NO_LIMIT):
        verdict = run_verdict(client, record.run_id)
        if verdict in (RunVerdict.ALIVE, RunVerdict.UNKNOWN) and worker_dead(record.worker):
            verdict = RunVerdict.VANISHED
        if verdict in (RunVerdict.ALIVE, RunVerdict.UNKNOWN) and record.id not in stale:
            counts["in_progress"] += 1
            continue
        reason = "stale_processing" if verdict in (RunVerdict.ALIVE, RunVerdict.UNKNOWN) else f"run_{verdict.value}"
        if _give_up(store, record, max_attempts):
            counts["failed"] += 1
        elif store.requeue(record.id, reason, expected=UploadState.PROCESSING, fence=record.fence, actor=ACTOR):
            counts["requeued"] += 1
            requeued.append(record.id)
    # The audit chain verified on the same schedule (docs/THREAT-MODEL.md "Holes closed"): a broken chain is counted,
    # logged by its reason code and row number only, and recorded in the run's own audit row.
    chain = store.check_audit_chain()
    audit = "ok" if chain.ok else "broken"
    if not chain.ok:
        counts["audit_chain_broken"] += 1
        _log.error("audit chain does not verify: %s at row %s", chain.reason, chain.first_bad_seq)
    elif anchor is not None:
        # The head anchored outside the database at the last run must still be in the chain (a chain rewritten from
        # its first row verifies by itself). A lost anchor is kept as it was, so every later run reports it too.
        check = check_and_advance(store, chain, anchor)
        if not check.ok:
            counts[f"audit_{check.code}"] += 1
            audit = check.code
            _log.error("audit anchor: %s (anchored row %s)", check.code, check.anchored_seq)
    store.audit(actor=ACTOR, action="reconcile.run", upload_id=None,
                outcome=f"requeued:{counts['requeued']}:failed:{counts['failed']}:audit:{audit}")
    return counts, requeued


def _give_up(store: Store, record: UploadRecord, max_attempts: int) -> bool:
    if record.attempts < max_attempts:
        return False
    # Fenced: a run that finished since the listing keeps its result (then this is refused, and audited).
    store.mark_failed(record.id, "attempts_exhausted", fence=record.fence, actor=ACTOR)
    return True


@flow(name="reconcile", persist_result=False, log_prints=False)
def reconcile(stale_after_s: float | None = None, max_attempts: int = MAX_ATTEMPTS,
              resubmit: bool = False) -> dict[str, int]:
    """Requeue uploads whose run crashed, vanished or went silent (no update for `stale_after_s`, default
    `Settings.reconcile_stale_s`); with `resubmit`, start the per-upload deployment for each (else the next batch
    takes them). Also sweeps the reader temp folders killed processes of this machine left (flows/isolation.py),
    counted as `read_folders_swept`. Returns counts by action (ids and counts only). An entry point: builds the
    settings."""
    from flows.isolation import sweep_abandoned_read_folders

    settings = Settings()
    stale_after_s = settings.reconcile_stale_s if stale_after_s is None else stale_after_s
    store = open_store(settings)
    with get_client(sync_client=True) as client:
        counts, requeued = reconcile_once(store, client, timedelta(seconds=stale_after_s), max_attempts,
                                          anchor=settings.audit_anchor_path)
    if swept := sweep_abandoned_read_folders():
        counts["read_folders_swept"] = swept
    if resubmit:
        from flows.triggers import trigger_verify

        for upload_id in requeued:
            try:
                trigger_verify(upload_id)
                counts["resubmitted"] += 1
            except ObjectNotFound:  # no per-upload deployment served: the next batch takes it
                break
    get_run_logger().info("reconcile: %s", dict(counts))
    return dict(counts)
