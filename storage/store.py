"""Storage: uploads, versioned reports and the hash-chained audit trail in an application database (SQLAlchemy;
SQLite by default, PostgreSQL by URL), and the original bytes content-addressed on disk.

Guarantees (docs/THREAT-MODEL.md "HIPAA technical safeguards", "Processing reliability"; test items 8, 9, 44–47):
- The same bytes from the same owner are one upload (unique `(owner, sha256)`); `add_upload` says whether it
  created it, so a caller starts exactly one run. The same bytes from another owner are a separate upload and
  nothing tells either owner that the other exists.
- Originals live at `originals_dir/<sha256[:2]>/<sha256>` (a path built only from the hex digest and checked to
  stay under the root), written to a temp file, fsynced, renamed atomically, the directory fsynced: a crash or a
  full disk never leaves a half-written original. The file is written before the row commits, so every row has
  its file; a crash in between leaves at most an unreferenced file (harmless: same name, same bytes next time).
  The sha256 is verified on every read.
- Reports are versioned: every `save_report` adds version n+1, nothing is overwritten.
- Writes of a run's outcome are fenced: `save_report` and `mark_failed` succeed only while the upload is still
  PROCESSING under the same run id and lease (`Fence`; the lease is bumped by every claim and requeue), in one
  conditional UPDATE. A stale writer — a run the reconciler took for lost and requeued — is refused and audited, so
  its late result never overwrites the result of the run that holds the upload now.
- Every state change is audited in the same transaction; the audit log is append-only and hash-chained.
- SQLite: WAL, `synchronous=FULL`, `busy_timeout`, foreign keys on, and `BEGIN IMMEDIATE` for every write
  transaction (a deferred read transaction that later writes can fail with SQLITE_BUSY despite the timeout).
  PostgreSQL: claims use `SELECT … FOR UPDATE SKIP LOCKED`; rows are locked before they are changed.
- A busy database is retried a few times inside the store, then raised as `StoreBusy` (retryable).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import random
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text, update
from sqlalchemy import delete as delete_rows
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from pipeline.errors import DocverifyError, ProcessingError
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Payer, Status
from storage.crypto import FILE_OVERHEAD, Keyring, SealError, open_file, open_text, seal_file, seal_text
from storage.models import (
    GENESIS_HASH,
    AuditHeadRow,
    AuditRow,
    CaseRow,
    InboxFileRow,
    ReportRow,
    UploadIdentifierRow,
    UploadRow,
)
from storage.sealed import (
    SEALED_COLUMNS,
    column_context,
    external_id_digest,
    external_id_digests,
    match_digest,
    open_column,
    open_value,
    seal_row,
)

if TYPE_CHECKING:
    from pipeline.evaluate import Intake

T = TypeVar("T")

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
SQLITE_MIGRATE_BUSY_TIMEOUT_MS: Final = 120_000  # waiting for another process's migrations (Store.migrate)
"""How long one SQLite statement waits for the write lock before SQLITE_BUSY (docs/THREAT-MODEL.md: ≥ 5 s)."""
BUSY_ATTEMPTS: Final = 3
"""Whole write transactions tried this many times on a busy/locked database before `StoreBusy` is raised."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/+-]*")
"""Audit actors/actions/outcomes, error codes and requeue reasons: ids and codes only — no spaces, no CR/LF
(log injection), no free text that could carry PHI."""
_WRITE = "docverify_write"  # execution option that makes SQLite open the transaction with BEGIN IMMEDIATE
_PG_MIGRATE_LOCK = 0x646F6376  # pg_advisory_xact_lock key serialising concurrent migrate() calls ("docv")

# SQLAlchemy's engine logger writes every statement's parameters at INFO and every fetched row at DEBUG — intake
# names, file names, identifiers and notes — so any DEBUG or INFO logging configuration (ours, Prefect's, an
# operator's) would copy PHI into logs. Cap it at WARNING where the engines are made; statements are also built with
# `hide_parameters`, which keeps parameters out of database error messages too (docs/CONVENTIONS.md "PHI").
# Regression: tests/test_phi_canary.py (the canary name found in sqlalchemy.engine.Engine records).
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


# --- errors -------------------------------------------------------------------------------------------------------

class StoreIntegrityError(DocverifyError):
    """A stored original is missing or no longer matches its recorded sha256, or stored data contradicts itself."""

    code = "integrity_error"
    user_message = "A stored document failed its integrity check. The clinic has been notified; please upload it again."


class UnknownUpload(DocverifyError):
    """No upload has this id."""

    code = "unknown_upload"
    user_message = "This document was not found. Please check the link or upload it again."


class StoreBusy(ProcessingError):
    """The database stayed locked/busy (or a lock conflict aborted the transaction) after the store's own retries."""

    code = "store_busy"
    retryable = True
    user_message = "The service is busy. Please try again in a moment."


class StoreUnavailable(ProcessingError):
    """The database could not be reached or failed on its side."""

    code = "store_unavailable"
    retryable = True
    user_message = "The service is temporarily unavailable. Please try again later."


class StoreIOError(ProcessingError):
    """Writing or reading an original on disk failed (not a content mismatch: that is `StoreIntegrityError`)."""

    code = "store_io_error"
    retryable = True
    user_message = "Your document could not be saved. Please try again later."


class StaleWriter(ProcessingError):
    """The run no longer holds the upload (requeued and claimed again, or finished by someone else): its result is
    refused (audited as `report.refused` / `upload.fail_refused`)."""

    code = "stale_writer"
    retryable = False
    user_message = "This document is being processed by another run; no action is needed."


class StorageFull(StoreIOError):
    """The disk holding originals (or its temp space) is full: map to HTTP 507. Nothing was half-written."""

    code = "storage_full"
    user_message = "Your document could not be saved because our storage is full. Please try again later."


# --- values -------------------------------------------------------------------------------------------------------

class UploadState(StrEnum):
    """Processing state of an upload. DONE and FAILED are terminal (only `requeue` leaves them)."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class UploadStatus(StrEnum):
    """Where an upload is: waiting, being read, failed on our side, or its newest report's status."""

    PENDING = "pending"
    PROCESSING = "processing"
    FAILED = "failed"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"

    @classmethod
    def of(cls, state: UploadState, report_status: Status | None) -> UploadStatus:
        """A DONE upload has its report's status; the others their state."""
        if state is UploadState.DONE and report_status is not None:
            return cls(report_status.value)
        if state is UploadState.DONE:  # a report saved and then deleted is impossible; read it as failed
            return cls.FAILED
        return cls(state.value)


@dataclass(frozen=True, slots=True)
class Fence:
    """Who may write an upload's outcome: the run that claimed it and the claim's lease number (bumped by every
    claim and requeue, so a run that lost the upload cannot write even when the run id is reused)."""

    run_id: str | None
    lease: int


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """One upload, as stored. `display_name` was sanitised by the caller; `worker` is who claimed it last; `lease`
    counts claims and requeues (the fencing token of `Fence`)."""

    id: str
    owner: str
    sha256: str
    media_type: str | None
    size_bytes: int
    display_name: str
    intake_patient_name: str | None
    payer: Payer
    state: UploadState
    attempts: int
    run_id: str | None
    error_code: str | None
    created_at: datetime
    updated_at: datetime
    worker: str | None = None
    external_id: str | None = None  # the client's own reference, given to the upload API
    lease: int = 0

    @property
    def fence(self) -> Fence:
        """The fence of the claim this record shows (pass it to `save_report` / `mark_failed`)."""
        return Fence(self.run_id, self.lease)


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One stored version of an upload's report (`report_json` is `Report.model_dump_json()`)."""

    upload_id: str
    version: int
    pipeline_version: str
    status: Status
    report_json: str
    created_at: datetime

    def report(self) -> Report:
        """The report, validated again on the way out."""
        return Report.model_validate_json(self.report_json)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit row (ids and codes only)."""

    seq: int
    at: datetime
    actor: str
    action: str
    upload_id: str | None
    outcome: str
    prev_hash: str
    row_hash: str


@dataclass(frozen=True, slots=True)
class FileSignature:
    """What tells that a file changed without reading it: size, mtime and ctime (nanoseconds) and device:inode.
    ctime cannot be set from user space, so a rewrite that restores the size and the mtime still changes it; a file
    replaced by rename changes the inode."""

    size_bytes: int
    mtime_ns: int
    ctime_ns: int
    file_id: str  # "<st_dev>:<st_ino>"

    @classmethod
    def of(cls, st: os.stat_result) -> FileSignature:
        """The signature of a `stat()` result (take it before reading the file: a write during the read then
        changes the next signature, and the file is read again)."""
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, f"{st.st_dev}:{st.st_ino}")


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """Where the database and the originals live."""

    database_url: str
    originals_dir: Path
    audit_key: bytes | None = field(default=None, repr=False)  # HMAC key of the audit chain; None: unkeyed SHA-256
    data_keys: Keyring | None = field(default=None, repr=False)  # encryption at rest (storage/crypto.py); None: clear

    @classmethod
    def of(cls, settings: Settings) -> StoreSettings:
        """From the application settings: `settings.store_url`, `<data dir>/originals`, the audit key
        (`Settings.audit_key_bytes`) and the data keyring (`Settings.data_key_file`). Raises ValueError / OSError on
        a bad or unreadable key."""
        keys = Keyring.load(settings.data_key_file) if settings.data_key_file is not None else None
        return cls(database_url=settings.store_url, originals_dir=settings.originals_dir,
                   audit_key=settings.audit_key_bytes(), data_keys=keys)


def key_id(key: bytes | None) -> str | None:
    """The fingerprint recorded on each audit row chained with `key`: 16 hex digits (never the key)."""
    return None if key is None else hashlib.sha256(b"docverify-audit-key-id:" + key).hexdigest()[:16]


def original_path(originals_dir: Path, sha256: str) -> Path:
    """`originals_dir/<sha256[:2]>/<sha256>`. Raises ValueError unless `sha256` is 64 lowercase hex digits or if
    the resolved path would leave `originals_dir` (e.g. a shard directory replaced by a symlink)."""
    if not _HEX64.fullmatch(sha256):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    root = originals_dir.resolve()
    path = root / sha256[:2] / sha256
    if not path.resolve().is_relative_to(root):
        raise ValueError("original path leaves the originals directory")
    return path


def audit_hash(prev_hash: str, *, seq: int, at: datetime, actor: str, action: str, upload_id: str | None,
               outcome: str, key: bytes | None = None) -> str:
    """The chain link stored in `row_hash`: HMAC-SHA256 under `key` (or, without a key, SHA-256) of prev_hash +
    the canonical JSON of the row. Keyed, a rewrite of the chain needs the key, which is kept apart from the data."""
    canonical = json.dumps({"seq": seq, "at": at.astimezone(UTC).isoformat(timespec="microseconds"), "actor": actor,
                            "action": action, "upload_id": upload_id, "outcome": outcome},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    message = (prev_hash + canonical).encode("ascii")
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What `Store.purge` removed: uploads (with their reports), original files, and orphaned originals or temp
    files (on disk without a row)."""

    uploads: int
    originals: int
    orphans: int


ORPHAN_GRACE: Final = timedelta(hours=1)
"""An original without a row is swept only when older than this: `add_upload` writes the file before its row
commits, so a younger one may belong to an upload being added right now."""


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """What `Store.check_audit_chain` found: rows checked, how many are keyed, and the first bad row (None: ok)."""

    rows: int
    keyed_rows: int
    first_bad_seq: int | None
    reason: str

    @property
    def ok(self) -> bool:
        """True when every row and the head verify."""
        return self.first_bad_seq is None and self.reason == "ok"


# --- the store ----------------------------------------------------------------------------------------------------

class Store:
    """The application database plus the originals directory. Thread-safe (one engine, pooled connections); one
    `Store` per process. Call `migrate()` once at start-up before anything else."""

    def __init__(self, settings: StoreSettings, *, clock: Callable[[], datetime] | None = None) -> None:
        """Create the engine (no connection is opened yet) and the originals directory (mode 0700).
        `clock` returns the current UTC time; tests inject one to age rows."""
        self.settings = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        url = make_url(settings.database_url)
        self._dialect = url.get_backend_name()
        if self._dialect == "sqlite":
            if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
                # The database holds intake names (PHI): owner-only, created before SQLite would create it 0644
                # (its -wal and -shm files copy the database file's mode).
                db_path = Path(url.database)
                db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.close(os.open(db_path, os.O_CREAT | os.O_RDWR, 0o600))
            self._engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                            "check_same_thread": False}, hide_parameters=True)
            _install_sqlite_hooks(self._engine)
        else:
            self._engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
        self._write_engine = self._engine.execution_options(**{_WRITE: True})
        settings.originals_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for health checks and tests; write through the methods below)."""
        return self._engine

    # -- schema --

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (Alembic, programmatic). Idempotent, and safe when several
        processes start at once (SQLite: one write transaction; PostgreSQL: an advisory lock).
        Raises StoreBusy / StoreUnavailable."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with _translated(), self._write_engine.connect() as conn:
            if self._dialect == "sqlite":
                # Another process may be running every migration in its write transaction: wait for it longer than
                # for an ordinary write (a loaded machine took more than the usual timeout for six revisions).
                _sqlite_busy_timeout(conn, SQLITE_MIGRATE_BUSY_TIMEOUT_MS)
            try:
                with conn.begin():
                    if self._dialect == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATE_LOCK})
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            finally:
                if self._dialect == "sqlite":
                    _sqlite_busy_timeout(conn, SQLITE_BUSY_TIMEOUT_MS)

    def schema_revision(self) -> str | None:
        """The database's current migration revision (None before `migrate`)."""
        with _translated(), self._engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        """The newest migration revision shipped with this code."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        return ScriptDirectory.from_config(cfg).get_current_head()

    # -- uploads --

    def add_upload(self, data: bytes, *, owner: str, display_name: str, media_type: str | None,
                   intake: Intake, external_id: str | None = None) -> tuple[UploadRecord, bool]:
        """Store `data` for `owner`; returns (record, created). The same bytes from the same owner return the
        existing record with created=False (start a run only when created; its `external_id` is kept). Raises
        ValueError on an empty owner or over-long fields, StorageFull / StoreIOError when the original cannot be
        written, StoreBusy / StoreUnavailable."""
        _check_token("owner", owner, 128)  # an account id: it is also the audit actor
        _check_text("display_name", display_name, 255)
        if intake.patient_name is not None:
            _check_text("intake patient_name", intake.patient_name, 255, allow_empty=True)
        if media_type is not None:
            _check_text("media_type", media_type, 100)
        if external_id is not None:
            _check_text("external_id", external_id, 128)
        sha256 = hashlib.sha256(data).hexdigest()
        # The file first, outside the write lock: every committed row then has its file.
        self._write_original(sha256, data)

        def existing(s: Session) -> UploadRow | None:
            return s.scalars(select(UploadRow).where(UploadRow.owner == owner, UploadRow.sha256 == sha256)).first()

        def insert(s: Session) -> tuple[UploadRecord, bool]:
            row = existing(s)
            if row is not None:
                self._audit(s, actor=owner, action="upload.duplicate", upload_id=row.id, outcome="existing")
                return self._upload(row), False
            now = self._clock()
            upload_id = uuid.uuid4().hex
            keys = self.settings.data_keys
            row = UploadRow(id=upload_id, owner=owner, sha256=sha256, media_type=media_type,
                            size_bytes=len(data),
                            display_name=display_name, intake_patient_name=intake.patient_name,
                            payer=Payer(intake.payer).value,
                            external_id=external_id, external_id_hmac=external_id_digest(keys, external_id),
                            state=UploadState.PENDING.value, attempts=0, lease=0,
                            run_id=None, worker=None, error_code=None,
                            created_at=now, updated_at=now)
            s.add(seal_row(keys, row))
            s.flush()
            self._audit(s, actor=owner, action="upload.create", upload_id=row.id, outcome="created")
            return self._upload(row), True

        try:
            return self._write(insert)
        except IntegrityError:
            # PostgreSQL: a concurrent add of the same (owner, sha256) committed first; ours lost the unique index.
            return self._write(insert)

    def get(self, upload_id: str) -> UploadRecord | None:
        """The upload, or None for an unknown or malformed id."""
        if not _UPLOAD_ID.fullmatch(upload_id):
            return None
        with self._read() as s:
            row = s.get(UploadRow, upload_id)
            return self._upload(row) if row else None

    def find_upload(self, owner: str, sha256: str) -> UploadRecord | None:
        """`owner`'s upload of the bytes with this sha256, or None."""
        with self._read() as s:
            row = s.scalars(select(UploadRow).where(UploadRow.owner == owner, UploadRow.sha256 == sha256)).first()
            return self._upload(row) if row else None

    def find_by_external_id(self, owner: str, external_id: str) -> list[UploadRecord]:
        """`owner`'s uploads given this external_id, oldest first: found by its keyed digest (storage/sealed.py),
        never by the clear value, which is sealed. Raises StoreIntegrityError when a sealed field does not open."""
        query = (select(UploadRow)
                 .where(UploadRow.owner == owner,
                        UploadRow.external_id_hmac.in_(external_id_digests(self.settings.data_keys, external_id)))
                 .order_by(UploadRow.created_at, UploadRow.id))
        with self._read() as s:
            return [r for r in map(self._upload, s.scalars(query)) if r.external_id == external_id]

    def list_uploads(self, state: UploadState | None = None, limit: int = 1000, *,
                     owner: str | None = None) -> list[UploadRecord]:
        """Uploads, oldest first, optionally only in `state` and/or of `owner`."""
        query = select(UploadRow).order_by(UploadRow.created_at, UploadRow.id).limit(limit)
        if state is not None:
            query = query.where(UploadRow.state == state.value)
        if owner is not None:
            query = query.where(UploadRow.owner == owner)
        with self._read() as s:
            return [self._upload(r) for r in s.scalars(query)]

    def read_original(self, upload_id: str) -> bytes:
        """The original bytes, verified against the recorded sha256. Raises UnknownUpload, StoreIntegrityError
        (missing or altered file — also audited), StoreIOError."""
        record = self.get(upload_id)
        if record is None:
            raise UnknownUpload(f"upload {upload_id[:40]!r}")
        try:
            path = original_path(self.settings.originals_dir, record.sha256)
            data = open_file(self.settings.data_keys, path.read_bytes(), record.sha256)
        except (ValueError, FileNotFoundError) as e:
            self._audit_failure(upload_id, "seal_open_failed" if isinstance(e, SealError) else "missing_or_bad_path")
            raise StoreIntegrityError(f"upload {upload_id}: original missing, unreadable or path invalid") from e
        except OSError as e:
            raise StoreIOError(f"upload {upload_id}: {e.__class__.__name__} errno={e.errno}") from e
        if hashlib.sha256(data).hexdigest() != record.sha256 or len(data) != record.size_bytes:
            self._audit_failure(upload_id, "sha256_mismatch")
            raise StoreIntegrityError(f"upload {upload_id}: original does not match its sha256")
        return data

    def verify_originals(self) -> list[str]:
        """Ids of uploads whose original is missing or no longer matches its sha256 (after a crash or restore;
        test item 45). Reads every original: run it offline, not per request."""
        bad: list[str] = []
        for record in self.list_uploads(limit=2**62):
            try:
                self.read_original(record.id)
            except StoreIntegrityError:
                bad.append(record.id)
        return bad

    # -- the inbox hash cache --

    def known_sha256(self, path: Path, signature: FileSignature) -> str | None:
        """The sha256 recorded for the file at `path` if its signature is still `signature`; None when the file was
        never recorded or has changed since (read it again)."""
        with self._read() as s:
            row = s.get(InboxFileRow, _path_key(path))
            if row is None or FileSignature(row.size_bytes, row.mtime_ns, row.ctime_ns, row.file_id) != signature:
                return None
            return row.sha256

    def remember_sha256(self, path: Path, signature: FileSignature, sha256: str) -> None:
        """Record that the file at `path`, with `signature`, holds bytes of this sha256 (replacing what was recorded
        for that path). Only a hash of the path is stored. Raises ValueError on a malformed digest, StoreBusy /
        StoreUnavailable."""
        if not _HEX64.fullmatch(sha256):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        key = _path_key(path)

        def upsert(s: Session) -> None:
            row = s.get(InboxFileRow, key, with_for_update=True)
            if row is None:
                row = InboxFileRow(path_sha256=key)
                s.add(row)
            row.size_bytes, row.mtime_ns, row.ctime_ns = signature.size_bytes, signature.mtime_ns, signature.ctime_ns
            row.file_id, row.sha256, row.seen_at = signature.file_id, sha256, self._clock()

        try:
            self._write(upsert)
        except IntegrityError:  # PostgreSQL: a concurrent first record of the same path committed first
            self._write(upsert)

    # -- processing --

    def claim_pending(self, limit: int, worker: str) -> list[UploadRecord]:
        """Atomically move up to `limit` PENDING uploads (oldest first) to PROCESSING, attempts += 1; each upload is
        claimed by exactly one caller however many claim at once (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite:
        BEGIN IMMEDIATE). Raises ValueError on a bad worker token, StoreBusy / StoreUnavailable."""
        _check_token("worker", worker, 128)
        if limit <= 0:
            return []

        def claim(s: Session) -> list[UploadRecord]:
            # The ids first, locked, then the UPDATE of exactly those: as a subquery of the UPDATE
            # (`WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`) PostgreSQL ran the SELECT again for each
            # row it scanned, each run skipping the rows already locked, and one claim of 1 took every pending row.
            ids = list(s.scalars(select(UploadRow.id).where(UploadRow.state == UploadState.PENDING.value)
                                 .order_by(UploadRow.created_at, UploadRow.id).limit(limit)
                                 .with_for_update(skip_locked=True)))
            if not ids:
                return []
            rows = self._claim_rows(s, UploadRow.id.in_(ids), worker)
            return sorted(rows, key=lambda r: (r.created_at, r.id))

        return self._write(claim)

    def claim(self, upload_id: str, worker: str, run_id: str | None = None) -> UploadRecord | None:
        """Claim one upload (PENDING → PROCESSING, attempts += 1), recording the orchestrator's `run_id` in the same
        transaction (so no claimed upload is ever without the run that holds it); None when it is unknown or not
        PENDING. Raises ValueError on a bad worker or run id."""
        _check_token("worker", worker, 128)
        if run_id is not None:
            _check_token("run_id", run_id)
        if not _UPLOAD_ID.fullmatch(upload_id):
            return None

        def claim(s: Session) -> UploadRecord | None:
            rows = self._claim_rows(s, UploadRow.id == upload_id, worker, run_id)
            return rows[0] if rows else None

        return self._write(claim)

    def touch(self, upload_id: str, fence: Fence | None = None) -> bool:
        """Heartbeat of a long run: bump `updated_at` of a PROCESSING upload so `stale_processing` does not take it
        for a vanished run. With `fence`, only while that claim still holds it (a requeued run's beats must not
        keep the new run's claim looking alive). False when it is not PROCESSING (under `fence`) any more."""
        def bump(s: Session) -> bool:
            where = [UploadRow.id == upload_id, UploadRow.state == UploadState.PROCESSING.value]
            if fence is not None:
                where.append(UploadRow.lease == fence.lease)
            result = s.execute(update(UploadRow).where(*where).values(updated_at=self._clock()))
            return bool(getattr(result, "rowcount", 0))

        return self._write(bump)

    def set_run_id(self, upload_id: str, run_id: str) -> None:
        """Record the orchestrator's run id (an opaque token). Raises UnknownUpload, ValueError."""
        _check_token("run_id", run_id)

        def set_run(s: Session) -> None:
            row = self._locked(s, upload_id)
            row.run_id = run_id
            row.updated_at = self._clock()

        self._write(set_run)

    def save_report(self, upload_id: str, report: Report, pipeline_version: str, *, fence: Fence,
                    actor: str = "system") -> ReportRecord:
        """Add the next version of the upload's report and mark the upload PROCESSING → DONE (error_code cleared),
        only while the upload is PROCESSING under `fence` (the claim's run id and lease). Never overwrites: every
        save adds a version. Raises UnknownUpload, StaleWriter (the run no longer holds the upload; refused and
        audited), StoreIntegrityError when the report is of other bytes, ValueError on a bad pipeline_version."""
        _check_token("pipeline_version", pipeline_version)
        _check_token("actor", actor, 128)
        body = report.model_dump_json()

        def save(s: Session) -> ReportRecord | None:
            if not self._fenced(s, upload_id, fence, state=UploadState.DONE, error_code=None):
                self._audit(s, actor=actor, action="report.refused", upload_id=upload_id,
                            outcome=f"stale_lease{fence.lease}")
                return None
            row = self._locked(s, upload_id)
            if report.upload.sha256 != row.sha256:
                raise StoreIntegrityError(f"upload {upload_id}: report is of other bytes")
            last = s.scalar(select(func.max(ReportRow.version)).where(ReportRow.upload_id == upload_id))
            now = self._clock()
            version = (last or 0) + 1
            saved = ReportRow(upload_id=upload_id, version=version, pipeline_version=pipeline_version,
                              status=report.status.value, report_json=self._seal_report(body, upload_id, version),
                              created_at=now)
            s.add(saved)
            s.flush()
            self._audit(s, actor=actor, action="report.save", upload_id=upload_id, outcome=f"v{saved.version}")
            return self._report(saved)

        saved = self._write(save)
        if saved is None:
            raise StaleWriter(f"upload {upload_id}: lease {fence.lease} no longer holds it")
        return saved

    def mark_failed(self, upload_id: str, error_code: str, *, fence: Fence, actor: str = "system") -> bool:
        """PROCESSING → FAILED (terminal) with a stable error code, only while the upload is PROCESSING under
        `fence`. False when the run no longer holds it (refused and audited: a stale run cannot turn another run's
        DONE into FAILED). Raises UnknownUpload, ValueError on a bad code."""
        _check_token("error_code", error_code)
        _check_token("actor", actor, 128)

        def fail(s: Session) -> bool:
            if not self._fenced(s, upload_id, fence, state=UploadState.FAILED, error_code=error_code):
                self._audit(s, actor=actor, action="upload.fail_refused", upload_id=upload_id, outcome=error_code)
                return False
            self._audit(s, actor=actor, action="upload.fail", upload_id=upload_id, outcome=error_code)
            return True

        return self._write(fail)

    def requeue(self, upload_id: str, reason: str, *, expected: UploadState, fence: Fence | None = None,
                actor: str = "system") -> bool:
        """`expected` → PENDING (run_id cleared, lease bumped; attempts kept, so callers can cap retries), only when
        the upload is still in `expected` (and, with `fence`, still under that claim): a requeue decided on an old
        read never moves an upload that changed since. PROCESSING and FAILED may move; DONE only when reason ==
        "reprocess". True when this call moved it; audited either way. Raises UnknownUpload, ValueError (reason
        must be a code such as "stale_processing" or "reprocess", not free text)."""
        _check_token("reason", reason)
        _check_token("actor", actor, 128)

        def move(s: Session) -> bool:
            row = self._locked(s, upload_id)
            state = UploadState(row.state)
            allowed = state in (UploadState.PROCESSING, UploadState.FAILED) or (
                state is UploadState.DONE and reason == "reprocess")
            if state is not expected:
                outcome = f"refused_{state.value}"
            elif fence is not None and Fence(row.run_id, row.lease) != fence:
                outcome = "refused_stale_lease"
            elif not allowed:
                outcome = f"refused_{state.value}"
            else:
                outcome = "requeued"
                row.state, row.run_id, row.updated_at = UploadState.PENDING.value, None, self._clock()
                row.lease += 1
            self._audit(s, actor=actor, action=f"upload.requeue.{reason}"[:64], upload_id=upload_id,
                        outcome=outcome)
            return outcome == "requeued"

        return self._write(move)

    def stale_processing(self, older_than: timedelta) -> list[UploadRecord]:
        """PROCESSING uploads not updated for `older_than` (crashed or vanished runs; see `touch`)."""
        return self._stale(UploadState.PROCESSING, older_than)

    def stale_pending(self, older_than: timedelta) -> list[UploadRecord]:
        """PENDING uploads not updated for `older_than` (created but never claimed: the run was never started)."""
        return self._stale(UploadState.PENDING, older_than)

    # -- reports --

    def latest_report(self, upload_id: str) -> ReportRecord | None:
        """The newest report version, or None."""
        with self._read() as s:
            row = s.scalars(select(ReportRow).where(ReportRow.upload_id == upload_id)
                            .order_by(ReportRow.version.desc()).limit(1)).first()
            return self._report(row) if row else None

    def reports(self, upload_id: str) -> list[ReportRecord]:
        """Every report version of the upload, oldest (version 1) first."""
        with self._read() as s:
            rows = s.scalars(select(ReportRow).where(ReportRow.upload_id == upload_id).order_by(ReportRow.version))
            return [self._report(r) for r in rows]

    # -- audit --

    def audit(self, *, actor: str, action: str, upload_id: str | None, outcome: str) -> None:
        """Append one audit row (its own transaction). Every argument is an id or a code (letters, digits and
        `_.:@/+-`; ≤ 64 characters, actor ≤ 128) — never names or document text. Raises ValueError otherwise."""
        self._write(lambda s: self._audit(s, actor=actor, action=action, upload_id=upload_id, outcome=outcome))

    def audit_log(self, upload_id: str | None = None, limit: int = 1000) -> list[AuditRecord]:
        """Audit rows, oldest first, optionally of one upload."""
        query = select(AuditRow).order_by(AuditRow.seq).limit(limit)
        if upload_id is not None:
            query = query.where(AuditRow.upload_id == upload_id)
        with self._read() as s:
            return [_audit(r) for r in s.scalars(query)]

    def audit_row_hash(self, seq: int) -> str | None:
        """The stored `row_hash` of audit row `seq`, or None when there is no such row."""
        with self._read() as s:
            return s.scalar(select(AuditRow.row_hash).where(AuditRow.seq == seq))

    def verify_audit_chain(self) -> bool:
        """True when the whole chain verifies (`check_audit_chain`)."""
        return self.check_audit_chain().ok

    def check_audit_chain(self) -> AuditVerification:
        """Recompute the chain: every row's hash (HMAC under this store's key for keyed rows, SHA-256 for the unkeyed
        rows written before a key was configured), each row's link to the previous one, contiguous seqs, and the
        head against the last row. Unkeyed rows may only precede keyed ones (else a forger without the key could
        append unkeyed rows); a keyed row of another key, or keyed rows with no key configured, fail. Keyed, a
        rewrite of the whole chain needs the key, which is kept apart from the data (`Settings.audit_key_file`)."""
        own_id = key_id(self.settings.audit_key)
        with self._read() as s:
            prev, seq, keyed = GENESIS_HASH, 0, 0
            for row in s.scalars(select(AuditRow).order_by(AuditRow.seq).execution_options(yield_per=1000)):
                if row.key_id is None and keyed:
                    return AuditVerification(seq, keyed, row.seq, "unkeyed_row_after_keyed")
                if row.key_id is not None and row.key_id != own_id:
                    return AuditVerification(seq, keyed, row.seq, "unknown_key")
                key = self.settings.audit_key if row.key_id is not None else None
                expected = audit_hash(prev, seq=row.seq, at=row.at, actor=row.actor, action=row.action,
                                      upload_id=row.upload_id, outcome=row.outcome, key=key)
                if row.seq != seq + 1 or row.prev_hash != prev or not hmac.compare_digest(row.row_hash, expected):
                    return AuditVerification(seq, keyed, row.seq, "hash_mismatch")
                prev, seq, keyed = row.row_hash, row.seq, keyed + (row.key_id is not None)
            head = s.get(AuditHeadRow, 1)
            if head is None or head.seq != seq or head.hash != prev:
                return AuditVerification(seq, keyed, seq + 1, "head_mismatch")
            return AuditVerification(seq, keyed, None, "ok")

    # -- retention --

    def purge(self, older_than: timedelta, *, actor: str = "purge", orphan_grace: timedelta = ORPHAN_GRACE,
              now: datetime | None = None) -> PurgeResult:
        """Delete every DONE or FAILED upload created more than `older_than` ago — its row, its reports and its
        original (unless another upload still holds the same bytes) — then sweep originals and temp files that no
        row references and that are older than `orphan_grace`. Each deletion is audited (`upload.purge`,
        `original.purge`, `original.orphan_swept`: ids and digests only) and the run is summed up in one
        `purge.run` row. PENDING and PROCESSING uploads are never purged. Raises StoreBusy / StoreUnavailable,
        StoreIOError."""
        _check_token("actor", actor, 128)
        cutoff = (now or self._clock()) - older_than
        old = [r for r in self.list_uploads(limit=2**62) if r.created_at < cutoff
               and r.state in (UploadState.DONE, UploadState.FAILED)]
        removed_uploads, removed_files = 0, 0
        for record in old:
            def delete(s: Session, record: UploadRecord = record) -> bool:
                row = s.scalars(select(UploadRow).where(UploadRow.id == record.id).with_for_update()).first()
                if row is None or row.state not in (UploadState.DONE.value, UploadState.FAILED.value):
                    return False  # gone, or requeued since the listing
                s.execute(delete_rows(ReportRow).where(ReportRow.upload_id == record.id))
                s.delete(row)
                s.flush()
                self._audit(s, actor=actor, action="upload.purge", upload_id=record.id, outcome=row.state)
                return True

            if not self._write(delete):
                continue
            removed_uploads += 1
            if self.find_sha256(record.sha256):
                continue  # another upload (another owner) still holds these bytes
            if self._remove_original(record.sha256):
                removed_files += 1
                self.audit(actor=actor, action="original.purge", upload_id=None, outcome=record.sha256)
        orphans = self._sweep_orphans(actor, orphan_grace)
        self.audit(actor=actor, action="purge.run", upload_id=None,
                   outcome=f"uploads:{removed_uploads}:originals:{removed_files}:orphans:{orphans}")
        self._truncate_wal()
        return PurgeResult(removed_uploads, removed_files, orphans)

    def _truncate_wal(self) -> None:
        """SQLite: copy the WAL into the database and empty it. The WAL keeps older versions of the pages secure_delete
        zeroed (the purged rows as they were inserted) until it wraps; a checkpoint that a reader holds back is retried
        by the next purge. PostgreSQL: nothing (its own vacuum reclaims dead rows)."""
        if self._dialect != "sqlite":
            return
        with _translated(), self._engine.connect() as conn:
            cursor = conn.connection.cursor()  # outside any transaction: a checkpoint cannot run inside one
            try:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                cursor.fetchall()
            finally:
                cursor.close()

    def find_sha256(self, sha256: str) -> bool:
        """True when some upload (of any owner) holds bytes with this sha256."""
        with self._read() as s:
            return s.scalars(select(UploadRow.id).where(UploadRow.sha256 == sha256).limit(1)).first() is not None

    def _remove_original(self, sha256: str) -> bool:
        path = original_path(self.settings.originals_dir, sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StoreIOError(f"removing original: {e.__class__.__name__} errno={e.errno}") from e
        return True

    def _sweep_orphans(self, actor: str, grace: timedelta) -> int:
        """Originals without a row (a crash between the file write and the row commit) and stale temp files, older
        than `grace` by their mtime. Returns how many were removed."""
        root = self.settings.originals_dir
        limit = time.time() - grace.total_seconds()
        swept = 0
        for shard in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
            for path in sorted(shard.iterdir()):
                try:
                    if not path.is_file() or path.is_symlink() or path.stat().st_mtime > limit:
                        continue
                except FileNotFoundError:
                    continue
                is_temp = path.name.startswith(".tmp-")
                if not is_temp and (not _HEX64.fullmatch(path.name) or self.find_sha256(path.name)):
                    continue  # a referenced original, or a file that is not ours: left alone
                with suppress(FileNotFoundError):
                    path.unlink()
                    swept += 1
                    self.audit(actor=actor, action="original.orphan_swept", upload_id=None,
                               outcome="temp" if is_temp else path.name)
        return swept

    # -- maintenance --

    def integrity_check(self) -> bool:
        """SQLite: `PRAGMA integrity_check` is ok. PostgreSQL: the server answers (it checks itself)."""
        with _translated(), self._engine.connect() as conn:
            if self._dialect == "sqlite":
                return [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")] == ["ok"]
            return conn.execute(text("SELECT 1")).scalar() == 1

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    # -- internals --

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with _translated(), Session(self._engine) as s:
            yield s

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one write transaction (SQLite BEGIN IMMEDIATE), retried on a busy database."""
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            try:
                with _translated(), Session(self._write_engine, expire_on_commit=False) as s, s.begin():
                    return fn(s)
            except StoreBusy:
                if attempt == BUSY_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * attempt)  # noqa: S311 (jitter, not crypto)
        raise AssertionError("unreachable")

    def _locked(self, s: Session, upload_id: str) -> UploadRow:
        row = None
        if _UPLOAD_ID.fullmatch(upload_id):
            row = s.scalars(select(UploadRow).where(UploadRow.id == upload_id).with_for_update()).first()
        if row is None:
            raise UnknownUpload(f"upload {upload_id[:40]!r}")
        return row

    def _fenced(self, s: Session, upload_id: str, fence: Fence, *, state: UploadState,
                error_code: str | None) -> bool:
        """The conditional UPDATE of a run's outcome: PROCESSING → `state` only where the run id and lease are still
        `fence`'s. False (nothing changed) when they are not. Raises UnknownUpload for an unknown id."""
        run_matches = UploadRow.run_id.is_(None) if fence.run_id is None else UploadRow.run_id == fence.run_id
        result = s.execute(update(UploadRow)
                           .where(UploadRow.id == upload_id, UploadRow.state == UploadState.PROCESSING.value,
                                  run_matches, UploadRow.lease == fence.lease)
                           .values(state=state.value, error_code=error_code, updated_at=self._clock()),
                           execution_options={"synchronize_session": False})
        if getattr(result, "rowcount", 0) == 1:
            return True
        self._locked(s, upload_id)  # UnknownUpload when there is no such upload
        return False

    def _claim_rows(self, s: Session, where: Any, worker: str, run_id: str | None = None) -> list[UploadRecord]:
        stmt = (update(UploadRow).where(where, UploadRow.state == UploadState.PENDING.value)
                .values(state=UploadState.PROCESSING.value, attempts=UploadRow.attempts + 1, worker=worker,
                        run_id=run_id, error_code=None, updated_at=self._clock(), lease=UploadRow.lease + 1)
                .returning(UploadRow))
        records = [self._upload(r) for r in s.scalars(stmt, execution_options={"synchronize_session": False})]
        for record in sorted(records, key=lambda r: r.id):
            self._audit(s, actor=worker, action="upload.claim", upload_id=record.id,
                        outcome=f"attempt{record.attempts}")
        return records

    def _stale(self, state: UploadState, older_than: timedelta) -> list[UploadRecord]:
        cutoff = self._clock() - older_than
        with self._read() as s:
            rows = s.scalars(select(UploadRow).where(UploadRow.state == state.value, UploadRow.updated_at < cutoff)
                             .order_by(UploadRow.updated_at))
            return [self._upload(r) for r in rows]

    def _audit(self, s: Session, *, actor: str, action: str, upload_id: str | None, outcome: str) -> None:
        # Always the last lock a transaction takes (after any upload rows), so lock order is fixed: no deadlocks.
        _check_token("actor", actor, 128)
        _check_token("action", action)
        _check_token("outcome", outcome)
        if upload_id is not None and not _UPLOAD_ID.fullmatch(upload_id):
            upload_id = "invalid"
        head = s.scalars(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).one()
        at = self._clock()
        seq = head.seq + 1
        row_hash = audit_hash(head.hash, seq=seq, at=at, actor=actor, action=action, upload_id=upload_id,
                              outcome=outcome, key=self.settings.audit_key)
        s.add(AuditRow(seq=seq, at=at, actor=actor, action=action, upload_id=upload_id, outcome=outcome,
                       prev_hash=head.hash, row_hash=row_hash, key_id=key_id(self.settings.audit_key)))
        head.seq, head.hash = seq, row_hash
        s.flush()

    def _audit_failure(self, upload_id: str, outcome: str) -> None:
        # The integrity error being raised matters more than its audit row.
        with suppress(DocverifyError):
            self.audit(actor="system", action="original.verify", upload_id=upload_id, outcome=outcome)

    def _seal_report(self, body: str, upload_id: str, version: int) -> str:
        keys = self.settings.data_keys
        return body if keys is None else seal_text(keys, body, f"{upload_id}:{version}")

    def _upload(self, row: UploadRow) -> UploadRecord:
        """The record of an upload row, its sealed fields opened (Raises StoreIntegrityError)."""
        return _upload(row, self.settings.data_keys)

    def _report(self, row: ReportRow) -> ReportRecord:
        """The record of a report row, its JSON opened (Raises StoreIntegrityError when it does not open)."""
        try:
            body = open_text(self.settings.data_keys, row.report_json, f"{row.upload_id}:{row.version}")
        except (SealError, ValueError) as e:
            raise StoreIntegrityError(f"upload {row.upload_id}: report v{row.version} does not open") from e
        return ReportRecord(upload_id=row.upload_id, version=row.version, pipeline_version=row.pipeline_version,
                            status=Status(row.status), report_json=body, created_at=row.created_at)

    def reseal_all(self, *, actor: str = "keys") -> tuple[int, int]:
        """Re-encrypt every original, every report and every other sealed column (storage/sealed.py) with the current
        data key (after `docverify keys rotate` added it), and recompute the identifiers' keyed digests: (originals,
        reports) resealed. Each original is verified against its sha256 on the way.
        Raises StoreIntegrityError, StoreIOError, StoreBusy / StoreUnavailable, ValueError without a keyring."""
        keys = self.settings.data_keys
        if keys is None:
            raise ValueError("no data key configured")
        originals = 0
        one_upload_per_file = {r.sha256: r.id for r in self.list_uploads(limit=2**62)}
        for sha256, upload_id in sorted(one_upload_per_file.items()):
            self._write_original(sha256, self.read_original(upload_id), force=True)
            originals += 1

        def reseal(s: Session) -> tuple[int, int]:
            counts = {"reports": 0, "fields": 0}
            for sealed in SEALED_COLUMNS:
                for row in s.scalars(select(sealed.model).with_for_update()):
                    stored = getattr(row, sealed.column)
                    if stored is None:
                        continue
                    plain = open_text(keys, stored, sealed.context(row))
                    setattr(row, sealed.column, seal_text(keys, plain, sealed.context(row)))
                    counts["reports" if sealed.model is ReportRow else "fields"] += 1
            # The identifiers' and external ids' digests are keyed by the current data key: recomputed with it.
            for ident in s.scalars(select(UploadIdentifierRow).with_for_update()):
                plain = open_text(keys, ident.value, column_context(ident, "value"))
                ident.value_hmac = match_digest(keys, ident.kind, plain)
            external: list[UploadRow | CaseRow] = [
                *s.scalars(select(UploadRow).where(UploadRow.external_id.is_not(None)).with_for_update()),
                *s.scalars(select(CaseRow).where(CaseRow.external_id.is_not(None)).with_for_update())]
            for row in external:
                row.external_id_hmac = external_id_digest(keys, open_column(keys, row, "external_id"))
            return counts["reports"], counts["fields"]

        try:
            reports, fields = self._write(reseal)
        except (SealError, ValueError) as e:
            raise StoreIntegrityError("a sealed value does not open with the keyring") from e
        self.audit(actor=actor, action="keys.rotate", upload_id=None,
                   outcome=f"key:{keys.current[0]}:originals:{originals}:reports:{reports}:fields:{fields}")
        return originals, reports

    def _write_original(self, sha256: str, data: bytes, *, force: bool = False) -> None:
        """Content-addressed, atomic: temp file in the same directory, fsync, rename, fsync the directory. Sealed
        with the current data key when one is configured (storage/crypto.py)."""
        path = original_path(self.settings.originals_dir, sha256)
        keys = self.settings.data_keys
        stored_size = len(data) + (FILE_OVERHEAD if keys is not None else 0)
        if not force and path.is_file() and path.stat().st_size == stored_size:
            return  # same name = same content (verified on read); a clear file is sealed once a key is configured
        if keys is not None:
            data = seal_file(keys, data, sha256)
        tmp: str | None = None
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)  # mode 0600
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as e:
            detail = f"writing original: {e.__class__.__name__} errno={e.errno}"
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(detail) from e
            raise StoreIOError(detail) from e
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


# --- helpers ------------------------------------------------------------------------------------------------------

def _sqlite_busy_timeout(conn: Connection, ms: int) -> None:
    """Set SQLite's busy timeout on the driver connection itself (outside any transaction: a statement through
    SQLAlchemy would autobegin one, and the write engine begins IMMEDIATE)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={int(ms)}")
    finally:
        cursor.close()


def _install_sqlite_hooks(engine: Engine) -> None:
    """Pragmas on every connection; our own BEGIN (IMMEDIATE for writes) instead of pysqlite's implicit one."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not emit BEGIN itself; the "begin" hook below does
        cursor = dbapi_conn.cursor()
        try:
            # The wait first: switching to WAL needs a lock another process's migration may hold (a fresh database
            # is still in rollback-journal mode), and pysqlite's own wait is only 5 s.
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")  # WAL + FULL: a committed upload survives a power cut
            # Deleted content is overwritten with zeros, so a purged upload's PHI does not stay in freed pages until
            # SQLite reuses them (docs/THREAT-MODEL.md B6). Purge also truncates the WAL (Store._truncate_wal).
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


_BUSY_MARKERS = ("database is locked", "database is busy", "database table is locked")
_PG_BUSY_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


@contextmanager
def _translated() -> Iterator[None]:
    """Database errors → our hierarchy (IntegrityError passes through: callers that expect it handle it)."""
    try:
        yield
    except IntegrityError:
        raise
    except OperationalError as e:
        message = str(e.orig).lower() if e.orig is not None else ""
        sqlstate = getattr(e.orig, "sqlstate", None)
        if any(m in message for m in _BUSY_MARKERS) or sqlstate in _PG_BUSY_SQLSTATES:
            raise StoreBusy(f"{e.orig.__class__.__name__} sqlstate={sqlstate}") from e
        raise StoreUnavailable(f"{e.orig.__class__.__name__} sqlstate={sqlstate}") from e
    except PoolTimeout as e:  # every pooled connection in use for longer than the pool's timeout: busy, not broken
        raise StoreBusy("connection pool timeout") from e
    except DBAPIError as e:
        sqlstate = getattr(e.orig, "sqlstate", None)
        if sqlstate in _PG_BUSY_SQLSTATES:
            raise StoreBusy(f"{e.orig.__class__.__name__} sqlstate={sqlstate}") from e
        raise StoreUnavailable(f"{e.orig.__class__.__name__} sqlstate={sqlstate}") from e


def _path_key(path: Path) -> str:
    """The cache key of a file path: sha256 of its absolute form (symlinks not resolved; the signature follows
    them). File names may hold patient names, so the path itself is never stored."""
    return hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()


def _check_text(name: str, value: str, max_len: int, *, allow_empty: bool = False) -> None:
    if (not value and not allow_empty) or len(value) > max_len or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{name} must be 1–{max_len} characters without control characters")


def _check_token(name: str, value: str, max_len: int = 64) -> None:
    if len(value) > max_len or not _TOKEN.fullmatch(value):
        raise ValueError(f"{name} must be an id or code: letters, digits and _.:@/+- (≤ {max_len} characters)")


def _upload(row: UploadRow, keys: Keyring | None) -> UploadRecord:
    """The record of an upload row, its sealed fields opened. Raises StoreIntegrityError when one does not open."""
    try:
        display_name = open_value(keys, row.display_name, column_context(row, "display_name"))
        patient_name = open_column(keys, row, "intake_patient_name")
        external_id = open_column(keys, row, "external_id")
    except (SealError, ValueError) as e:
        raise StoreIntegrityError(f"upload {row.id}: a sealed field does not open") from e
    return UploadRecord(id=row.id, owner=row.owner, sha256=row.sha256, media_type=row.media_type,
                        size_bytes=row.size_bytes, display_name=display_name,
                        intake_patient_name=patient_name, payer=Payer(row.payer),
                        state=UploadState(row.state), attempts=row.attempts, run_id=row.run_id,
                        error_code=row.error_code, created_at=row.created_at, updated_at=row.updated_at,
                        worker=row.worker, external_id=external_id, lease=row.lease)


def _audit(row: AuditRow) -> AuditRecord:
    return AuditRecord(seq=row.seq, at=row.at, actor=row.actor, action=row.action, upload_id=row.upload_id,
                       outcome=row.outcome, prev_hash=row.prev_hash, row_hash=row.row_hash)
