"""The steps of verifying one stored upload, as plain functions and as Prefect tasks.

PHI rule (docs/THREAT-MODEL.md): what Prefect records — parameters, results, state messages, logs — is upload ids,
counts, field names and status codes only. Steps that carry document content (bytes, Document, Findings, Report)
between them are tasks with `persist_result=False` and `cache_policy=NONE` (no result file, no input hashing), and
their values are passed `quote`d so Prefect does not walk them. Errors are DocverifyErrors, whose messages hold
codes, sizes and ids only; anything else is translated to `InternalError` by type name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import State, TaskRun

from flows.isolation import DEFAULT_BOUNDS, Bounds, Reader, default_reader, read_bounded
from pipeline import __version__
from pipeline.errors import DocverifyError, RejectedUpload
from pipeline.evaluate import Intake, evaluate, rejected_report
from pipeline.intake import accept
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.policy import load_policy
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Document, Findings, Status
from storage.store import Fence, StaleWriter, Store, StoreSettings, UploadRecord, UploadState

RETRIES = 2
RETRY_DELAYS_S: list[float] = [5.0, 30.0]

_log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What happened to one upload in one run: a report status, or why there is no new report."""

    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"
    FAILED = "failed"  # no report: processing failed (FAILED in the store, with its error code)
    SKIPPED = "skipped"  # not claimed: another run has it, or it is already terminal

    @classmethod
    def of(cls, status: Status) -> Outcome:
        return cls(status.value)


class InternalError(DocverifyError):
    """An unexpected error in our own code; carries the exception type only (messages may hold document text)."""

    code = "internal_error"


@dataclass(frozen=True, slots=True)
class Loaded:
    """A claimed upload's record with its original bytes (PHI: never a Prefect parameter or persisted result)."""

    record: UploadRecord
    data: bytes


# --- process-wide resources -----------------------------------------------------------------------------------


@functools.cache
def _store_for(store_settings: StoreSettings) -> Store:
    store = Store(store_settings)
    store.migrate()
    return store


def open_store(settings: Settings) -> Store:
    """The process's Store for the configured database (built and migrated once per process and configuration)."""
    return _store_for(StoreSettings.of(settings))


def worker_id() -> str:
    """Who claims: host and process id (a token the store accepts)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@functools.cache
def pipeline_version(ner_model: str | None) -> str:
    """docverify's version plus a short hash of every model and rule-file version: a change adds a report version."""
    from flows.verify import versions

    digest = hashlib.sha256(json.dumps(versions(ner_model), sort_keys=True).encode()).hexdigest()[:12]
    return f"{__version__}+{digest}"


# spaCy/medspaCy components are not documented as thread-safe; the thread pool runs uploads concurrently, so the
# parse is serialised per process (reading, the slow part, runs in child processes and stays concurrent).
_NLP_LOCK = threading.Lock()


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise anything that is not a DocverifyError as InternalError(type name), without chaining its message."""
    try:
        yield
    except DocverifyError:
        raise
    except Exception as e:  # noqa: BLE001 - translated at the boundary, by type only
        raise InternalError(type(e).__name__) from None


@contextmanager
def heartbeat(store: Store, upload_id: str, every_s: float, fence: Fence | None = None) -> Iterator[None]:
    """While the block runs, `store.touch(upload_id)` every `every_s` seconds (`Settings.heartbeat_s`) from a daemon
    thread, so a long legitimate read (up to the 15-min cap) is not taken for a lost run. Stopped in a finally;
    a failed touch is logged by exception type and retried at the next beat, never raised into the block."""
    interval = every_s
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(interval):
            try:
                if not store.touch(upload_id, fence):
                    return  # no longer PROCESSING (requeued or failed by someone else): nothing to keep alive
            except Exception as e:  # noqa: BLE001 - a heartbeat must not kill the read; logged by type only
                _log.warning("heartbeat of upload %s failed: %s", upload_id, type(e).__name__)

    thread = threading.Thread(target=beat, name=f"docverify-heartbeat-{upload_id[:12]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5.0)


# --- plain steps (used by both flows) -------------------------------------------------------------------------


def claim(store: Store, upload_id: str, run_id: str | None) -> Fence | None:
    """PENDING → PROCESSING for this run (worker and run id recorded in the same write): the claim's fence, which
    every later write of this run's outcome must present; None when it is not PENDING (another run has it, or it is
    terminal)."""
    record = store.claim(upload_id, worker_id(), run_id or None)
    return record.fence if record is not None else None


def load(store: Store, upload_id: str) -> Loaded:
    """The record and its original, verified against its sha256. Raises UnknownUpload, StoreIntegrityError."""
    record = store.get(upload_id)
    if record is None:
        from storage.store import UnknownUpload

        raise UnknownUpload(upload_id[:40])
    return Loaded(record, store.read_original(upload_id))


def intake_of(record: UploadRecord) -> Intake:
    return Intake(patient_name=record.intake_patient_name, payer=record.payer)


def read(loaded: Loaded, settings: Settings, limits: Limits = DEFAULT_LIMITS, bounds: Bounds = DEFAULT_BOUNDS,
         reader: Reader = default_reader) -> Document | Report:
    """The Document, read in a bounded child process; or the rejected report when the upload is unreadable.
    Raises ProcessingTimeout, ResourceLimit, ReaderCrashed, OcrTimeout, OcrEngineError."""
    from flows.verify import versions

    data, record = loaded.data, loaded.record
    try:
        upload = accept(data, record.display_name, limits)
        return read_bounded(data, upload, limits, reader=reader, bounds=bounds)
    except RejectedUpload as e:
        return rejected_report(e, sha256=record.sha256, media_type=record.media_type, size_bytes=record.size_bytes,
                               payer=record.payer, versions=versions(settings.ner_model_name))


def find(document: Document, settings: Settings, intake_name: str | None, limits: Limits = DEFAULT_LIMITS) -> Findings:
    """People and diagnoses, from one parse (the NLP pipeline is built once per process) or one per page window of a
    long record (extractors/windows.py), the document also searched for the intake's person."""
    from extractors.windows import find_in_windows

    with _NLP_LOCK:
        return find_in_windows(document, load_policy(), ner_model=settings.ner_model_name, intake_name=intake_name,
                               window_chars=limits.window_chars)


def evaluate_upload(record: UploadRecord, document: Document, findings: Findings, settings: Settings) -> Report:
    """The report of a read document, against the upload's intake."""
    from flows.verify import versions

    return evaluate(document, findings, intake_of(record), load_policy(), versions(settings.ner_model_name))


def persist(store: Store, upload_id: str, report: Report, settings: Settings, fence: Fence) -> Outcome:
    """Save the report as the upload's next version (upload → DONE) while this run's claim (`fence`) holds it;
    SKIPPED when another run holds it now (the late result is refused and audited by the store). A case holding the
    upload is judged again (docs/POLICY.md "Cases")."""
    try:
        store.save_report(upload_id, report, pipeline_version(settings.ner_model_name), fence=fence)
    except StaleWriter:
        _log.warning("upload %s: result of a run that no longer holds it refused", upload_id)
        return Outcome.SKIPPED
    rejudge_case_of(store, upload_id, settings)
    return Outcome.of(report.status)


def remember_identifiers(store: Store, upload_id: str, document: Document) -> None:
    """Record the dates of birth and MRNs the document prints, which tie a case's uploads together."""
    from extractors.identifiers import find_identifiers
    from storage.cases import CaseStore

    CaseStore(store).save_identifiers(upload_id, find_identifiers(document))


def fail(store: Store, upload_id: str, error: DocverifyError, fence: Fence,
         settings: Settings | None = None) -> Outcome:
    """Upload → FAILED with the error's code, while this run's claim holds it (else SKIPPED: refused, audited); with
    `settings`, a case holding the upload is judged again."""
    if not store.mark_failed(upload_id, error.code, fence=fence):
        return Outcome.SKIPPED
    if settings is not None:
        rejudge_case_of(store, upload_id, settings)
    return Outcome.FAILED


def rejudge_case_of(store: Store, upload_id: str, settings: Settings) -> None:
    """Judge again the case holding the upload, if any (docs/POLICY.md "Cases")."""
    from flows.cases import rejudge
    from storage.cases import CaseStore

    case_id = CaseStore(store).case_of(upload_id)
    if case_id is not None:
        rejudge(store, case_id, settings, actor="system", upload_id=upload_id)


def verify_claimed(store: Store, upload_id: str, settings: Settings, fence: Fence, bounds: Bounds = DEFAULT_BOUNDS,
                   reader: Reader = default_reader) -> Outcome:
    """All steps for one upload claimed under `fence`: load → read (bounded) → find → evaluate → persist, with a
    heartbeat on the upload until its report is ready. Raises DocverifyError."""
    with heartbeat(store, upload_id, settings.heartbeat_s, fence):
        loaded = load(store, upload_id)
        read_result = read(loaded, settings, bounds=bounds, reader=reader)
        if isinstance(read_result, Report):
            report = read_result
        else:
            # may wait for _NLP_LOCK behind other uploads: still beating
            findings = find(read_result, settings, loaded.record.intake_patient_name)
            report = evaluate_upload(loaded.record, read_result, findings, settings)
            remember_identifiers(store, upload_id, read_result)
    return persist(store, upload_id, report, settings, fence)


# --- retry policy ----------------------------------------------------------------------------------------------


def is_retryable(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect `retry_condition_fn`: retry only errors marked retryable (docs/THREAT-MODEL.md item 43)."""
    try:
        state.result(raise_on_failure=True)
    except DocverifyError as e:
        return e.retryable
    except Exception:  # noqa: BLE001 - an untranslated error: not known to be transient
        return False
    return False


# --- tasks of verify_upload (one step each) --------------------------------------------------------------------


@task(name="claim", persist_result=False, cache_policy=NONE)
def claim_task(upload_id: str, run_id: str | None, settings: Settings) -> Fence | None:
    """Claim the upload for this run: the claim's fence (run id and lease: no PHI), or None when not claimed."""
    with translated_errors():
        fence = claim(open_store(settings), upload_id, run_id)
    get_run_logger().info("upload %s claimed=%s", upload_id, fence is not None)
    return fence


@task(name="load-and-read", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS_S, retry_condition_fn=is_retryable,
      persist_result=False, cache_policy=NONE)
def read_task(upload_id: str, settings: Settings) -> Document | Report:
    """Load the original and read it in a bounded child process (PHI result: not persisted)."""
    with translated_errors():
        store = open_store(settings)
        with heartbeat(store, upload_id, settings.heartbeat_s):
            result = read(load(store, upload_id), settings)
    if isinstance(result, Report):
        get_run_logger().info("upload %s rejected: %s", upload_id, result.error.code if result.error else "?")
    else:
        get_run_logger().info("upload %s read: %d pages (%s)", upload_id, len(result.pages),
                              ",".join(sorted({p.source.value for p in result.pages})))
    return result


@task(name="find", persist_result=False, cache_policy=NONE)
def find_task(upload_id: str, document: Document, settings: Settings) -> Findings:
    """Find people and diagnoses (PHI result: not persisted)."""
    with translated_errors():
        record = open_store(settings).get(upload_id)
        findings = find(document, settings, record.intake_patient_name if record is not None else None)
    get_run_logger().info("upload %s: %d people, %d diagnoses; patient %s, physician %s", upload_id,
                          len(findings.people), len(findings.diagnoses),
                          "found" if findings.patient.person else "absent",
                          "found" if findings.physician.person else "absent")
    return findings


@task(name="evaluate", persist_result=False, cache_policy=NONE)
def evaluate_task(upload_id: str, document: Document, findings: Findings, settings: Settings) -> Report:
    """Evaluate the findings into the report (PHI result: not persisted)."""
    with translated_errors():
        store = open_store(settings)
        record = store.get(upload_id)
        if record is None:
            from storage.store import UnknownUpload

            raise UnknownUpload(upload_id[:40])
        report = evaluate_upload(record, document, findings, settings)
        remember_identifiers(store, upload_id, document)
    get_run_logger().info("upload %s evaluated: %s", upload_id, report.status.value)
    return report


@task(name="persist", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS_S, retry_condition_fn=is_retryable,
      persist_result=False, cache_policy=NONE)
def persist_task(upload_id: str, report: Report, settings: Settings, fence: Fence) -> Outcome:
    """Save the report as the upload's next version, fenced by this run's claim."""
    with translated_errors():
        outcome = persist(open_store(settings), upload_id, report, settings, fence)
    get_run_logger().info("upload %s saved: %s", upload_id, outcome.value)
    return outcome


@task(name="mark-failed", persist_result=False, cache_policy=NONE)
def fail_task(upload_id: str, code: str, settings: Settings, fence: Fence) -> Outcome:
    """Record a terminal processing failure by code, fenced by this run's claim; a case holding the upload is judged
    again."""
    store = open_store(settings)
    failed = store.mark_failed(upload_id, code, fence=fence)
    if failed:
        rejudge_case_of(store, upload_id, settings)
    get_run_logger().warning("upload %s failed: %s%s", upload_id, code, "" if failed else " (refused: not held)")
    return Outcome.FAILED if failed else Outcome.SKIPPED


# --- the per-upload task of batch_verify (all steps inside: only the outcome leaves it) ---------------------------


@task(name="verify-one", retries=RETRIES, retry_delay_seconds=RETRY_DELAYS_S, retry_condition_fn=is_retryable,
      persist_result=False, cache_policy=NONE)
def verify_one_task(upload_id: str, run_id: str | None, settings: Settings) -> Outcome:
    """Claim (on the first attempt) and verify one upload; returns only its outcome. Raises DocverifyError."""
    store = open_store(settings)
    with translated_errors():
        record = store.get(upload_id)
        # A retry of this task finds the upload still claimed by this run: go on without claiming again.
        ours = (record is not None and record.state is UploadState.PROCESSING and record.worker == worker_id()
                and record.run_id == run_id)
        fence = record.fence if ours and record is not None else claim(store, upload_id, run_id)
        if fence is None:
            get_run_logger().info("upload %s skipped: not pending", upload_id)
            return Outcome.SKIPPED
        outcome = verify_claimed(store, upload_id, settings, fence)
    get_run_logger().info("upload %s: %s", upload_id, outcome.value)
    return outcome


UPLOAD_TERMINAL = (UploadState.DONE, UploadState.FAILED)
