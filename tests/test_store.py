"""storage.store against SQLite (tmp_path) and the real PostgreSQL (one fresh schema per test, dropped after).

PostgreSQL: $DOCVERIFY_TEST_PG_URL, default postgresql+psycopg://root@127.0.0.1:5432/test (trust auth). When it
cannot be reached the PostgreSQL cases skip and say why. docs/THREAT-MODEL.md items: 8, 9 (idempotent add), 44
(contention), 45 (integrity on read), 46 (nothing half-written), 47 (versioned reports), 48 (hash-chained audit).
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import make_url
from stores import KINDS, store_settings

import storage.store as store_module
from pipeline.errors import EmptyFile
from pipeline.evaluate import Intake, rejected_report
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Payer, Status
from storage.crypto import Keyring, new_key, sealed_with
from storage.models import Base
from storage.store import (
    FileSignature,
    StaleWriter,
    StorageFull,
    Store,
    StoreBusy,
    StoreIntegrityError,
    StoreSettings,
    UnknownUpload,
    UploadState,
    audit_hash,
    original_path,
)

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Clock:
    """An injectable UTC clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = T0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(microseconds=1)  # strictly increasing, like a real clock between calls
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta


@pytest.fixture(params=KINDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    with store_settings(request.param, tmp_path) as s:
        yield s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_store(settings: StoreSettings, clock: Clock) -> Iterator[Callable[[], Store]]:
    made: list[Store] = []

    def make() -> Store:
        store = Store(settings, clock=clock)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    s = make_store()
    s.migrate()
    return s


@pytest.fixture
def sqlite_store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store(StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals"), clock=clock)
    s.migrate()
    yield s
    s.close()


def _add(store: Store, data: bytes, owner: str = "user-1") -> str:
    record, _ = store.add_upload(data, owner=owner, display_name="note.pdf", media_type="application/pdf",
                                 intake=Intake(patient_name="Ana Garcia", payer=Payer.COMMERCIAL))
    return record.id


def _report(sha256: str, code: str = "empty_file") -> Report:
    error = EmptyFile(code)
    return rejected_report(error, sha256=sha256, media_type="application/pdf", size_bytes=3, payer=Payer.COMMERCIAL,
                           versions={"docverify": "test"})


def _sql(store: Store, statement: str, **params: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


# --- uploads: idempotency (items 8, 9) ------------------------------------------------------------------------------

@pytest.mark.parametrize(("owners", "expected_created", "expected_records"), [
    (["user-1", "user-1"], [True, False], 1),
    (["user-1", "user-2"], [True, True], 2),
    (["user-1", "user-2", "user-1", "user-2"], [True, True, False, False], 2),
], ids=["same-owner-twice", "two-owners", "two-owners-twice-each"])
def test_when_the_same_bytes_are_added_then_there_is_one_upload_per_owner(
        store: Store, owners: list[str], expected_created: list[bool], expected_records: int) -> None:
    results = [store.add_upload(b"%PDF-same", owner=o, display_name="a.pdf", media_type="application/pdf",
                                intake=Intake("Ana Garcia", Payer.MEDICARE)) for o in owners]
    assert [created for _, created in results] == expected_created
    assert len({r.id for r, _ in results}) == expected_records
    assert len(store.list_uploads()) == expected_records
    first = results[0][0]
    assert (first.state, first.attempts, first.payer, first.size_bytes) == (UploadState.PENDING, 0, Payer.MEDICARE, 9)
    assert first.created_at.tzinfo is not None and first.created_at.utcoffset() == timedelta(0)
    stored = [p for p in store.settings.originals_dir.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [first.sha256]  # content-addressed: one file whoever uploaded it


def test_when_one_owner_adds_the_same_bytes_from_four_threads_then_exactly_one_is_created(store: Store) -> None:
    def add(_: int) -> tuple[str, bool]:
        record, created = store.add_upload(b"racing bytes", owner="user-1", display_name="a.pdf", media_type=None,
                                           intake=Intake())
        return record.id, created

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(add, range(8)))
    assert sum(created for _, created in results) == 1
    assert len({upload_id for upload_id, _ in results}) == 1


@pytest.mark.parametrize(("field", "value"), [
    ("owner", "ana garcia"), ("owner", ""), ("display_name", "x" * 256), ("display_name", "a\r\nb.pdf"),
])
def test_when_an_upload_field_is_invalid_then_nothing_is_stored(store: Store, field: str, value: str) -> None:
    kwargs: dict[str, Any] = {"owner": "user-1", "display_name": "a.pdf", "media_type": None, "intake": Intake()}
    kwargs[field] = value
    with pytest.raises(ValueError, match=field):
        store.add_upload(b"bytes", **kwargs)
    assert store.list_uploads() == []


def test_when_the_disk_is_full_then_storage_full_is_raised_and_nothing_is_half_written(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module.os, "fsync", no_space)
    with pytest.raises(StorageFull) as caught:
        _add(store, b"big upload")
    assert (caught.value.code, caught.value.retryable) == ("storage_full", True)
    assert store.list_uploads() == []
    assert [p for p in store.settings.originals_dir.rglob("*") if p.is_file()] == []


# --- reports: versioned (item 47) -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("first_version", "second_version"), [("0.1.0", "0.2.0"), ("0.1.0", "0.1.0")],
                         ids=["upgrade", "same-version-rerun"])
def test_when_a_report_is_saved_again_then_a_new_version_is_added_and_the_old_one_kept(
        store: Store, first_version: str, second_version: str) -> None:
    upload_id = _add(store, b"%PDF-versioned")
    sha = store.get(upload_id).sha256  # type: ignore[union-attr]
    first = store.save_report(upload_id, _report(sha, "empty_file"), first_version,
                              fence=store.claim(upload_id, "w").fence)  # type: ignore[union-attr]
    store.requeue(upload_id, "reprocess", expected=UploadState.DONE)
    second = store.save_report(upload_id, _report(sha, "no_readable_text"), second_version,
                               fence=store.claim(upload_id, "w").fence)  # type: ignore[union-attr]
    assert (first.version, second.version) == (1, 2)
    kept = store.reports(upload_id)
    assert [(r.version, r.pipeline_version) for r in kept] == [(1, first_version), (2, second_version)]
    assert kept[0].report_json == first.report_json and kept[0].report() == _report(sha, "empty_file")
    assert store.latest_report(upload_id) == second
    assert second.status is Status.REJECTED
    assert store.get(upload_id).state is UploadState.DONE  # type: ignore[union-attr]
    assert [a.outcome for a in store.audit_log(upload_id) if a.action == "report.save"] == ["v1", "v2"]


@pytest.mark.parametrize(("upload", "expected"), [("unknown", UnknownUpload), ("other-bytes", StoreIntegrityError)])
def test_when_a_report_does_not_belong_to_the_upload_then_it_is_refused(
        store: Store, upload: str, expected: type[Exception]) -> None:
    upload_id = _add(store, b"%PDF-mine")
    target = uuid.uuid4().hex if upload == "unknown" else upload_id
    fence = store.claim(upload_id, "w").fence  # type: ignore[union-attr]
    with pytest.raises(expected):
        store.save_report(target, _report("f" * 64), "0.1.0", fence=fence)
    assert store.reports(upload_id) == []


def test_when_an_upload_fails_then_it_is_terminal_and_a_later_report_clears_the_error(store: Store) -> None:
    upload_id = _add(store, b"%PDF-fails")
    claimed = store.claim(upload_id, "worker-1")
    assert claimed is not None and store.mark_failed(upload_id, "ocr_timeout", fence=claimed.fence)
    failed = store.get(upload_id)
    assert failed is not None and (failed.state, failed.error_code) == (UploadState.FAILED, "ocr_timeout")
    assert store.claim(upload_id, "worker-2") is None
    assert store.requeue(upload_id, "retry", expected=UploadState.FAILED)
    again = store.claim(upload_id, "worker-2")
    assert again is not None
    store.save_report(upload_id, _report(failed.sha256), "0.1.0", fence=again.fence)
    done = store.get(upload_id)
    assert done is not None and (done.state, done.error_code) == (UploadState.DONE, None)


# --- claims (item 44) -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shared", [True, False], ids=["one-store-4-threads", "store-per-worker"])
def test_when_four_workers_claim_fifty_uploads_then_each_is_claimed_exactly_once(
        store: Store, make_store: Callable[[], Store], shared: bool) -> None:
    ids = {_add(store, f"doc {i}".encode()) for i in range(50)}
    workers = [store if shared else make_store() for _ in range(4)]

    def drain(n: int) -> list[str]:
        got: list[str] = []
        while batch := workers[n].claim_pending(3, f"worker-{n}"):
            got += [r.id for r in batch]
            assert all(r.state is UploadState.PROCESSING and r.worker == f"worker-{n}" for r in batch)
        return got

    with ThreadPoolExecutor(4) as pool:
        claimed = [upload_id for got in pool.map(drain, range(4)) for upload_id in got]
    assert Counter(claimed) == Counter(ids)  # every id once, none twice, none missed; no StoreBusy escaped
    assert {r.attempts for r in store.list_uploads()} == {1}
    assert store.list_uploads(UploadState.PENDING) == []
    assert store.verify_audit_chain()


# Regression: on PostgreSQL one claim_pending(1) claimed every pending upload — the UPDATE's
# `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` subquery ran again for each row scanned, each run skipping the rows
# already locked — so a worker asking for one upload held them all (found by the load run, benchmarks/load/).
@pytest.mark.parametrize("limit", [1, 3])
def test_when_pending_uploads_are_claimed_then_one_claim_takes_at_most_its_limit(store: Store, limit: int) -> None:
    ids = {_add(store, f"limit doc {i}".encode()) for i in range(8)}
    first = store.claim_pending(limit, "worker-1")
    second = store.claim_pending(limit, "worker-2")
    assert (len(first), len(second)) == (limit, limit)
    assert {r.id for r in first}.isdisjoint({r.id for r in second}) and {r.id for r in first + second} <= ids
    assert len(store.list_uploads(UploadState.PENDING)) == 8 - 2 * limit


# Runs in a separate interpreter (importing only storage.store, ~1 s): claim in small batches until none is pending.
DRAIN = """
import json, sys
from pathlib import Path
from storage.store import Store, StoreSettings
store = Store(StoreSettings(sys.argv[1], Path(sys.argv[2])))
got = []
while batch := store.claim_pending(2, sys.argv[3]):
    got += [r.id for r in batch]
store.close()
print(json.dumps(got))
"""


def test_when_two_processes_claim_forty_uploads_then_each_is_claimed_exactly_once(store: Store) -> None:
    ids = {_add(store, f"proc doc {i}".encode()) for i in range(40)}
    procs = [subprocess.Popen([sys.executable, "-c", DRAIN, store.settings.database_url,
                               str(store.settings.originals_dir), f"proc-{n}"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    claimed = [upload_id for out, _ in outputs for upload_id in json.loads(out)]
    assert Counter(claimed) == Counter(ids)
    assert store.verify_audit_chain()


@pytest.mark.parametrize(("target", "expected_state"), [("pending", UploadState.PROCESSING), ("claimed", None),
                                                         ("unknown", None), ("malformed", None)])
def test_when_one_upload_is_claimed_then_only_a_pending_one_is_taken(
        store: Store, target: str, expected_state: UploadState | None) -> None:
    upload_id = _add(store, b"%PDF-claim")
    if target == "claimed":
        store.claim(upload_id, "worker-0")
    upload = {"unknown": uuid.uuid4().hex, "malformed": "../etc"}.get(target, upload_id)
    record = store.claim(upload, "worker-1")
    assert (record.state if record else None) is expected_state
    if record:
        assert (record.attempts, record.worker) == (1, "worker-1")


def test_when_an_upload_is_claimed_for_a_run_then_the_run_id_is_written_in_the_claims_own_transaction(
        sqlite_store: Store) -> None:
    store = sqlite_store
    upload_id = _add(store, b"%PDF-claim-run")
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, stmt, *_: statements.append(stmt))
    record = store.claim(upload_id, "worker-1", "0f5b8a3c-run")
    assert record is not None and (record.state, record.worker, record.run_id) == (
        UploadState.PROCESSING, "worker-1", "0f5b8a3c-run")
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE"]  # one write, not two
    assert store.get(upload_id).run_id == "0f5b8a3c-run"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        store.claim(_add(store, b"%PDF-claim-bad"), "worker-1", "run id with spaces")


# --- reconciling: stale runs and requeue ------------------------------------------------------------------------------

def test_when_a_processing_upload_is_not_touched_then_it_is_stale_until_it_is_requeued(
        store: Store, clock: Clock) -> None:
    stale_id, fresh_id = _add(store, b"%PDF-stale"), _add(store, b"%PDF-fresh")
    store.claim(stale_id, "worker-1")
    store.claim(fresh_id, "worker-2")
    clock.advance(timedelta(minutes=20))
    assert store.touch(fresh_id)  # heartbeat of a live run
    assert [r.id for r in store.stale_processing(timedelta(minutes=15))] == [stale_id]
    assert store.requeue(stale_id, "stale_processing", expected=UploadState.PROCESSING)
    assert store.stale_processing(timedelta(minutes=15)) == []
    again = store.claim(stale_id, "worker-3")
    assert again is not None and again.attempts == 2 and again.run_id is None


# Regression: after the reconciler requeued a silent but live run A, A's late report was accepted and B's
# mark_failed then turned done into failed; requeue did not check the state it expected.
def test_when_a_requeued_run_writes_late_then_its_result_is_refused_and_the_new_runs_result_stands(
        store: Store) -> None:
    upload_id = _add(store, b"%PDF-race")
    sha = store.get(upload_id).sha256  # type: ignore[union-attr]
    run_a = store.claim(upload_id, "worker-a", "run-a")
    assert run_a is not None
    assert store.requeue(upload_id, "stale_processing", expected=UploadState.PROCESSING, fence=run_a.fence)
    run_b = store.claim(upload_id, "worker-b", "run-b")
    assert run_b is not None and run_b.lease == run_a.lease + 2
    with pytest.raises(StaleWriter):
        store.save_report(upload_id, _report(sha, "empty_file"), "0.1.0", fence=run_a.fence)
    assert not store.mark_failed(upload_id, "ocr_timeout", fence=run_a.fence)
    assert store.get(upload_id).state is UploadState.PROCESSING  # type: ignore[union-attr]
    saved = store.save_report(upload_id, _report(sha, "no_readable_text"), "0.1.0", fence=run_b.fence)
    assert not store.mark_failed(upload_id, "internal_error", fence=run_b.fence)  # done stays done
    final = store.get(upload_id)
    assert final is not None and (final.state, final.error_code) == (UploadState.DONE, None)
    assert [r.version for r in store.reports(upload_id)] == [saved.version] == [1]
    actions = [(a.actor, a.action, a.outcome) for a in store.audit_log(upload_id)]
    assert ("system", "report.refused", f"stale_lease{run_a.lease}") in actions
    assert ("system", "upload.fail_refused", "ocr_timeout") in actions
    assert ("system", "upload.fail_refused", "internal_error") in actions
    assert store.verify_audit_chain()


def test_when_the_same_run_id_claims_again_then_the_old_lease_still_cannot_write(store: Store) -> None:
    upload_id = _add(store, b"%PDF-same-run")
    first = store.claim(upload_id, "worker-a", "run-1")
    assert first is not None
    assert store.requeue(upload_id, "stale_processing", expected=UploadState.PROCESSING)
    second = store.claim(upload_id, "worker-a", "run-1")  # a retry of the same flow run
    assert second is not None and second.run_id == first.run_id and second.lease != first.lease
    assert not store.mark_failed(upload_id, "ocr_timeout", fence=first.fence)
    assert store.mark_failed(upload_id, "ocr_timeout", fence=second.fence)


@pytest.mark.parametrize(("expected", "use_fence", "moved"), [
    (UploadState.PROCESSING, "current", True),
    (UploadState.FAILED, None, False),
    (UploadState.PROCESSING, "stale", False),
], ids=["as-expected", "other-state", "stale-fence"])
def test_when_requeue_expects_another_state_or_claim_then_nothing_moves(store: Store, expected: UploadState,
                                                                        use_fence: str | None, moved: bool) -> None:
    upload_id = _add(store, b"%PDF-expect")
    old = store.claim(upload_id, "worker-a", "run-a")
    assert old is not None
    if use_fence == "stale":
        store.requeue(upload_id, "stale_processing", expected=UploadState.PROCESSING)
        store.claim(upload_id, "worker-b", "run-b")
    fence = {"current": old.fence, "stale": old.fence, None: None}[use_fence]
    assert store.requeue(upload_id, "stale_processing", expected=expected, fence=fence) is moved
    state = store.get(upload_id).state  # type: ignore[union-attr]
    assert state is (UploadState.PENDING if moved else UploadState.PROCESSING)
    assert store.audit_log(upload_id)[-1].outcome.startswith("requeued" if moved else "refused")


def test_when_a_pending_upload_is_never_claimed_then_it_is_stale_pending(store: Store, clock: Clock) -> None:
    upload_id = _add(store, b"%PDF-orphan")
    assert store.stale_pending(timedelta(minutes=5)) == []
    clock.advance(timedelta(minutes=6))
    assert [r.id for r in store.stale_pending(timedelta(minutes=5))] == [upload_id]


@pytest.mark.parametrize(("state", "reason", "moved", "final"), [
    (UploadState.PROCESSING, "stale_processing", True, UploadState.PENDING),
    (UploadState.FAILED, "retry", True, UploadState.PENDING),
    (UploadState.DONE, "stale_processing", False, UploadState.DONE),
    (UploadState.DONE, "reprocess", True, UploadState.PENDING),
    (UploadState.PENDING, "stale_processing", False, UploadState.PENDING),
])
def test_when_an_upload_is_requeued_then_only_allowed_states_move(
        store: Store, state: UploadState, reason: str, moved: bool, final: UploadState) -> None:
    upload_id = _add(store, b"%PDF-requeue")
    if state is not UploadState.PENDING:
        store.claim(upload_id, "worker-1")
        store.set_run_id(upload_id, "run-123")
    fence = store.get(upload_id).fence  # type: ignore[union-attr]
    if state is UploadState.FAILED:
        store.mark_failed(upload_id, "ocr_engine_error", fence=fence)
    if state is UploadState.DONE:
        store.save_report(upload_id, _report(store.get(upload_id).sha256), "0.1.0",  # type: ignore[union-attr]
                          fence=fence)
    assert store.requeue(upload_id, reason, expected=state) is moved
    assert store.get(upload_id).state is final  # type: ignore[union-attr]
    assert store.audit_log(upload_id)[-1].action == f"upload.requeue.{reason}"


def test_when_an_unknown_upload_is_requeued_then_unknown_upload_is_raised(store: Store) -> None:
    with pytest.raises(UnknownUpload) as caught:
        store.requeue(uuid.uuid4().hex, "reprocess", expected=UploadState.DONE)
    assert caught.value.code == "unknown_upload"


# --- integrity of originals (items 45, A3) ---------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["flip-a-byte", "truncate", "delete"])
def test_when_an_original_is_damaged_on_disk_then_reading_it_raises_an_integrity_error(
        store: Store, damage: str) -> None:
    upload_id = _add(store, b"%PDF-1.7 original bytes")
    good_id = _add(store, b"%PDF-1.7 untouched")
    record = store.get(upload_id)
    assert record is not None and store.read_original(upload_id) == b"%PDF-1.7 original bytes"
    path = original_path(store.settings.originals_dir, record.sha256)
    data = bytearray(path.read_bytes())
    if damage == "flip-a-byte":
        data[3] ^= 0x01
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[:-1]))
    else:
        path.unlink()
    with pytest.raises(StoreIntegrityError) as caught:
        store.read_original(upload_id)
    assert caught.value.code == "integrity_error"
    assert store.audit_log(upload_id)[-1].action == "original.verify"
    assert store.verify_originals() == [upload_id]
    assert store.read_original(good_id) == b"%PDF-1.7 untouched"


def test_when_an_unknown_id_is_read_then_unknown_upload_is_raised(store: Store) -> None:
    for bad in (uuid.uuid4().hex, "../../etc/passwd", ""):
        with pytest.raises(UnknownUpload):
            store.read_original(bad)
    assert store.get("../../etc/passwd") is None


@pytest.mark.parametrize("sha256", ["../" * 3 + "etc/passwd", "/etc/passwd", "A" * 64, "a" * 63, "a" * 64 + "/..",
                                    "", "ab/../../" + "a" * 55])
def test_when_a_path_is_built_from_a_bad_digest_then_it_is_refused(tmp_path: Path, sha256: str) -> None:
    with pytest.raises(ValueError):
        original_path(tmp_path, sha256)
    good = original_path(tmp_path, "ab" + "0" * 62)
    assert good == tmp_path.resolve() / "ab" / ("ab" + "0" * 62)


def test_when_a_shard_directory_is_a_symlink_out_of_the_root_then_the_path_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "originals", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "ab").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="leaves"):
        original_path(root, "ab" + "1" * 62)


def test_when_a_stored_digest_is_tampered_into_a_path_then_nothing_outside_the_root_is_read(store: Store) -> None:
    upload_id = _add(store, b"%PDF-victim")
    _sql(store, "UPDATE uploads SET sha256 = :sha WHERE id = :id", sha="../../../../etc/passwd", id=upload_id)
    with pytest.raises(StoreIntegrityError):
        store.read_original(upload_id)
    assert store.audit_log(upload_id)[-1].outcome == "missing_or_bad_path"


# --- audit chain (A3) -------------------------------------------------------------------------------------------------

TAMPERING = {
    "edit-outcome": "UPDATE audit_log SET outcome = 'granted' WHERE seq = 3",
    "edit-actor": "UPDATE audit_log SET actor = 'admin' WHERE seq = 1",
    "delete-middle": "DELETE FROM audit_log WHERE seq = 2",
    "delete-tail": "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",
    "rewind-head": "UPDATE audit_head SET seq = seq - 1",
}


@pytest.mark.parametrize("tamper", list(TAMPERING), ids=list(TAMPERING))
def test_when_an_audit_row_is_tampered_then_the_chain_no_longer_verifies(store: Store, tamper: str) -> None:
    upload_id = _add(store, b"%PDF-audited")
    store.audit(actor="coordinator-7", action="report.view", upload_id=upload_id, outcome="ok")
    store.audit(actor="coordinator-7", action="login", upload_id=None, outcome="denied")
    assert store.verify_audit_chain()
    assert [a.seq for a in store.audit_log()] == [1, 2, 3]
    _sql(store, TAMPERING[tamper])
    assert not store.verify_audit_chain()


def test_when_the_audit_log_is_empty_then_the_chain_verifies(store: Store) -> None:
    assert store.audit_log() == []
    assert store.verify_audit_chain()


@pytest.mark.parametrize(("field", "value"), [("actor", "Ana Garcia"), ("action", "view\r\nforged"),
                                              ("outcome", ""), ("outcome", "x" * 65)])
def test_when_an_audit_field_is_free_text_then_it_is_refused(store: Store, field: str, value: str) -> None:
    kwargs = {"actor": "user-1", "action": "report.view", "outcome": "ok"} | {field: value}
    with pytest.raises(ValueError, match=field):
        store.audit(upload_id=None, **kwargs)
    assert store.audit_log() == []


# --- the inbox hash cache --------------------------------------------------------------------------------------------

SIGNATURE = FileSignature(size_bytes=1234, mtime_ns=1_767_600_000_123_456_789, ctime_ns=1_767_600_000_223_456_789,
                          file_id=f"{2**63 + 5}:{2**64 - 1}")  # device and inode beyond a signed int64


@pytest.mark.parametrize(("changed", "known"), [
    ({}, True),
    ({"size_bytes": 1235}, False),
    ({"mtime_ns": SIGNATURE.mtime_ns + 1}, False),
    ({"ctime_ns": SIGNATURE.ctime_ns + 1}, False),
    ({"file_id": f"{2**63 + 5}:7"}, False),
], ids=["unchanged", "size", "mtime", "ctime", "inode"])
def test_when_an_inbox_file_signature_changes_then_its_recorded_sha256_is_no_longer_known(
        store: Store, tmp_path: Path, changed: dict[str, Any], known: bool) -> None:
    path, sha = tmp_path / "inbox" / "note.pdf", "ab" * 32
    assert store.known_sha256(path, SIGNATURE) is None
    store.remember_sha256(path, SIGNATURE, sha)
    now = FileSignature(**{**{f: getattr(SIGNATURE, f) for f in SIGNATURE.__slots__}, **changed})
    assert store.known_sha256(path, now) == (sha if known else None)
    assert store.known_sha256(tmp_path / "inbox" / "other.pdf", SIGNATURE) is None
    store.remember_sha256(path, now, "cd" * 32)  # re-read after the change: the new digest replaces the old
    assert store.known_sha256(path, now) == "cd" * 32
    assert (store.known_sha256(path, SIGNATURE) is None) is not known


def test_when_an_inbox_file_is_recorded_then_only_a_hash_of_its_path_is_stored(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "inbox" / "Zzcanary Qxj MRI.pdf"
    store.remember_sha256(path, SIGNATURE, "ab" * 32)
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM inbox_files"))]
    assert len(rows) == 1
    assert "zzcanary" not in repr(rows).lower() and "inbox" not in repr(rows)
    with pytest.raises(ValueError):
        store.remember_sha256(path, SIGNATURE, "not-a-digest")


# --- schema and engine ----------------------------------------------------------------------------------------------

def test_when_migrate_runs_twice_then_the_schema_is_at_head_and_matches_the_models(
        make_store: Callable[[], Store]) -> None:
    store = make_store()
    assert store.schema_revision() is None
    store.migrate()
    store.migrate()
    assert store.schema_revision() == Store.head_revision() == "0010"
    with store.engine.connect() as conn:
        assert {"uploads", "reports", "audit_log", "audit_head", "inbox_files", "users", "api_tokens",
                "webhook_deliveries"} <= set(inspect(conn).get_table_names())
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert store.verify_audit_chain()


def test_when_a_0006_database_with_clear_names_is_migrated_then_they_read_back_and_rotation_seals_them(
        settings: StoreSettings, clock: Clock) -> None:
    from alembic import command
    from alembic.config import Config

    from storage.cases import CaseStore
    from storage.store import MIGRATIONS_DIR

    old = Store(settings, clock=clock)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with old.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    upload_id = uuid.uuid4().hex
    sha = hashlib.sha256(CANARY_BYTES).hexdigest()
    original_path(settings.originals_dir, sha).parent.mkdir(parents=True, exist_ok=True)
    original_path(settings.originals_dir, sha).write_bytes(CANARY_BYTES)
    _sql(old, "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "') ON CONFLICT DO NOTHING")
    _sql(old, f"INSERT INTO uploads (id, owner, sha256, media_type, size_bytes, display_name, intake_patient_name, "
              f"payer, state, attempts, lease, created_at, updated_at) VALUES ('{upload_id}', 'o', '{sha}', NULL, "
              f"{len(CANARY_BYTES)}, 'Zzcanary scan.pdf', 'Zzcanary Qxj', 'unknown', 'pending', 0, 0, "
              f"'2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    _sql(old, f"INSERT INTO upload_identifiers (upload_id, kind, value, page) VALUES ('{upload_id}', 'mrn', "
              f"'CANARY7', 1)")
    old.close()
    keys = Keyring((new_key(),))
    store = _sealed_store(settings, clock, keys)  # migrates 0006 → head
    record = store.get(upload_id)
    assert record is not None and (record.display_name, record.intake_patient_name) == \
        ("Zzcanary scan.pdf", "Zzcanary Qxj")  # clear values written before the key still read
    assert [x.value for x in CaseStore(store).identifiers(upload_id)] == ["CANARY7"]
    store.reseal_all()
    with store.engine.connect() as conn:
        row = conn.execute(text("SELECT display_name, intake_patient_name FROM uploads")).one()
        ident = conn.execute(text("SELECT value, value_hmac FROM upload_identifiers")).one()
    assert all(sealed_with(v) == keys.current[0] for v in (*row, ident[0]))
    assert ident[1] != hashlib.sha256(b"mrn:CANARY7").hexdigest()  # the unkeyed digest of the migration, re-keyed
    assert store.get(upload_id).intake_patient_name == "Zzcanary Qxj"  # type: ignore[union-attr]
    assert [x.value for x in CaseStore(store).identifiers(upload_id)] == ["CANARY7"]


def test_when_two_stores_migrate_at_once_then_both_succeed(make_store: Callable[[], Store]) -> None:
    stores = [make_store(), make_store()]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda s: s.migrate(), stores))
    assert [s.schema_revision() for s in stores] == ["0010", "0010"]


def test_when_the_store_uses_sqlite_then_wal_busy_timeout_and_foreign_keys_are_on(sqlite_store: Store) -> None:
    store = sqlite_store
    with store.engine.connect() as conn:
        pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                   for p in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["busy_timeout"] >= 5000
    assert (pragmas["foreign_keys"], pragmas["synchronous"]) == (1, 2)  # 2 = FULL
    assert store.integrity_check()
    db = Path(make_url(store.settings.database_url).database or "")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_when_the_store_writes_on_sqlite_then_it_begins_immediate_and_reads_stay_deferred(
        sqlite_store: Store) -> None:
    store = sqlite_store
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, stmt, *_: statements.append(stmt))
    upload_id = _add(store, b"%PDF-begin")
    writes = [s for s in statements if s.startswith("BEGIN")]
    statements.clear()
    store.get(upload_id)
    reads = [s for s in statements if s.startswith("BEGIN")]
    assert writes == ["BEGIN IMMEDIATE"]
    assert reads == ["BEGIN"]


def test_when_another_process_holds_the_sqlite_write_lock_then_store_busy_is_raised(
        tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals")
    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    store = Store(settings, clock=clock)
    store.migrate()
    holder = sqlite3.connect(make_url(settings.database_url).database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy) as caught:
            _add(store, b"%PDF-blocked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (caught.value.code, caught.value.retryable) == ("store_busy", True)
    assert _add(store, b"%PDF-blocked")  # the lock is gone: the same call now succeeds
    store.close()


@pytest.mark.parametrize(("env", "url_suffix", "originals"), [
    ({}, "var/docverify.db", "var/originals"),
    ({"DOCVERIFY_DATA_DIR": "data"}, "data/docverify.db", "data/originals"),
    ({"DOCVERIFY_DATABASE_URL": "postgresql+psycopg://x@h/db"}, None, "var/originals"),
])
def test_when_settings_come_from_the_environment_then_defaults_are_under_the_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url_suffix: str | None,
        originals: str) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("DOCVERIFY_DATA_DIR", "DOCVERIFY_DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = StoreSettings.of(Settings())
    expected_url = f"sqlite:///{tmp_path.resolve()}/{url_suffix}" if url_suffix else env["DOCVERIFY_DATABASE_URL"]
    assert settings.database_url == expected_url
    assert settings.originals_dir == tmp_path.resolve() / originals


# --- keyed audit chain and retention ----------------------------------------------------------------------------------

KEY = b"k" * 32


def _keyed(settings: StoreSettings, key: bytes | None, clock: Clock) -> Store:
    store = Store(dataclasses.replace(settings, audit_key=key), clock=clock)
    store.migrate()
    return store


# Regression: the audit chain was an unkeyed SHA-256 that anyone with write access to the database could recompute
# after editing a row.
def test_when_the_chain_is_keyed_then_a_forger_without_the_key_cannot_recompute_it(
        settings: StoreSettings, clock: Clock) -> None:
    store = _keyed(settings, KEY, clock)
    upload_id = _add(store, b"%PDF-keyed")
    store.audit(actor="coordinator-7", action="report.view", upload_id=upload_id, outcome="ok")
    result = store.check_audit_chain()
    assert result.ok and result.rows == result.keyed_rows == 2
    # the forger edits the last row and recomputes its link the only way open without the key: unkeyed SHA-256
    last = store.audit_log()[-1]
    forged = audit_hash(last.prev_hash, seq=last.seq, at=last.at, actor="coordinator-9", action=last.action,
                        upload_id=last.upload_id, outcome=last.outcome)
    _sql(store, "UPDATE audit_log SET actor = 'coordinator-9', row_hash = :h WHERE seq = :s", h=forged, s=last.seq)
    _sql(store, "UPDATE audit_head SET hash = :h WHERE id = 1", h=forged)
    assert store.check_audit_chain().reason == "hash_mismatch"
    assert _keyed(settings, b"o" * 32, clock).check_audit_chain().reason == "unknown_key"
    store.close()


def test_when_a_key_is_configured_later_then_older_unkeyed_rows_verify_but_none_may_follow_keyed_ones(
        settings: StoreSettings, clock: Clock) -> None:
    plain = _keyed(settings, None, clock)
    _add(plain, b"%PDF-before-the-key")
    keyed = _keyed(settings, KEY, clock)
    _add(keyed, b"%PDF-after-the-key")
    result = keyed.check_audit_chain()
    assert result.ok and result.rows == 2 and result.keyed_rows == 1
    _add(plain, b"%PDF-unkeyed-append")  # a writer without the key appends after keyed rows
    assert keyed.check_audit_chain().reason == "unkeyed_row_after_keyed"
    plain.close()
    keyed.close()


def test_when_finished_uploads_pass_the_retention_period_then_purge_removes_them_and_sweeps_orphans(
        store: Store, clock: Clock) -> None:
    old_id = _add(store, b"%PDF-old")
    shared_id = _add(store, b"%PDF-shared", owner="user-1")
    pending_id = _add(store, b"%PDF-old-but-pending")
    for upload_id in (old_id, shared_id):
        claimed = store.claim(upload_id, "w")
        assert claimed is not None
        store.save_report(upload_id, _report(claimed.sha256), "0.1.0", fence=claimed.fence)
    clock.advance(timedelta(days=40))
    young_id = _add(store, b"%PDF-young")
    kept_copy = _add(store, b"%PDF-shared", owner="user-2")  # the same bytes, young, another owner: file stays
    for upload_id in (young_id, kept_copy):
        claimed = store.claim(upload_id, "w")
        assert claimed is not None
        store.save_report(upload_id, _report(claimed.sha256), "0.1.0", fence=claimed.fence)
    originals = store.settings.originals_dir
    orphan_old = original_path(originals, "a" * 64)
    orphan_young = original_path(originals, "b" * 64)
    stray_temp = originals / "aa" / ".tmp-crashed"
    for path in (orphan_old, orphan_young, stray_temp):
        path.parent.mkdir(mode=0o700, exist_ok=True)
        path.write_bytes(b"orphan")
    two_hours_ago = time.time() - 7200
    os.utime(orphan_old, (two_hours_ago, two_hours_ago))
    os.utime(stray_temp, (two_hours_ago, two_hours_ago))
    old_sha = store.get(old_id).sha256  # type: ignore[union-attr]

    result = store.purge(timedelta(days=30))

    assert (result.uploads, result.originals, result.orphans) == (2, 1, 2)
    assert store.get(old_id) is None and store.get(shared_id) is None and store.reports(old_id) == []
    assert store.get(pending_id) is not None and store.get(young_id) is not None and store.get(kept_copy) is not None
    assert not original_path(originals, old_sha).exists()
    assert store.read_original(kept_copy) == b"%PDF-shared"  # the shared file stayed for the other owner
    assert not orphan_old.exists() and not stray_temp.exists() and orphan_young.exists()  # young: maybe in flight
    actions = [(a.action, a.upload_id) for a in store.audit_log()]
    assert ("upload.purge", old_id) in actions and ("upload.purge", shared_id) in actions
    assert ("original.orphan_swept", None) in actions and actions[-1] == ("purge.run", None)
    assert store.audit_log()[-1].outcome == "uploads:2:originals:1:orphans:2"
    assert store.verify_audit_chain()


# Regression: a purged upload's intake name, file name and report stayed readable in the SQLite file's freed pages
# (and in the WAL's older frames) until SQLite happened to reuse them (docs/THREAT-MODEL.md B6).
def test_when_an_upload_is_purged_then_its_phi_is_in_neither_the_database_file_nor_its_wal(
        tmp_path: Path, clock: Clock) -> None:
    database = tmp_path / "docverify.db"
    store = Store(StoreSettings(f"sqlite:///{database}", tmp_path / "originals"), clock=clock)  # no data key: clear
    store.migrate()
    record, _ = store.add_upload(b"%PDF-purged", owner="user-1", display_name="Zzcanary-Qxj.pdf",
                                 media_type="application/pdf",
                                 intake=Intake(patient_name="Zzcanary Qxj", payer=Payer.COMMERCIAL))
    claimed = store.claim(record.id, "w")
    assert claimed is not None
    store.save_report(record.id, _report(claimed.sha256, "Zzcanary"), "0.1.0", fence=claimed.fence)
    files = [database, Path(f"{database}-wal")]
    assert any(b"Zzcanary" in f.read_bytes() for f in files if f.exists())  # stored in clear: the probe sees it
    clock.advance(timedelta(days=40))
    kept = _add(store, b"%PDF-young")  # a young upload shares the pages the purged rows lived in

    assert store.purge(timedelta(days=30)).uploads == 1
    assert store.get(kept) is not None

    # while the store stays open (an API or a worker keeps it open for days)...
    assert [f.name for f in files if f.exists() and b"Zzcanary" in f.read_bytes()] == []
    store.close()
    # ...and once it is closed
    assert [f.name for f in files if f.exists() and b"Zzcanary" in f.read_bytes()] == []


# --- encryption at rest ------------------------------------------------------------------------------------------

CANARY_BYTES = b"%PDF-1.7 Zzcanary Qxj 900-00-0000"


def _sealed_store(settings: StoreSettings, clock: Clock, keys: Keyring | None) -> Store:
    store = Store(dataclasses.replace(settings, data_keys=keys), clock=clock)
    store.migrate()
    return store


# Regression: originals and report JSON were stored in plaintext.
def test_when_a_data_key_is_configured_then_originals_and_reports_are_sealed_and_read_back(
        settings: StoreSettings, clock: Clock, tmp_path: Path) -> None:
    store = _sealed_store(settings, clock, Keyring((new_key(),)))
    upload_id = _add(store, CANARY_BYTES)
    claimed = store.claim(upload_id, "w")
    assert claimed is not None
    report = _report(claimed.sha256, "Zzcanary")
    store.save_report(upload_id, report, "0.1.0", fence=claimed.fence)
    raw = original_path(settings.originals_dir, claimed.sha256).read_bytes()
    assert b"Zzcanary" not in raw and sealed_with(raw) == store.settings.data_keys.current[0]  # type: ignore[union-attr]
    assert store.read_original(upload_id) == CANARY_BYTES
    assert store.latest_report(upload_id).report() == report  # type: ignore[union-attr]
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT report_json FROM reports")).scalar_one()
    assert "Zzcanary" not in stored and sealed_with(stored) is not None
    if settings.database_url.startswith("sqlite"):
        store.close()
        database = Path(make_url(settings.database_url).database or "")
        files = [database, Path(f"{database}-wal")]
        assert not any(b"Zzcanary" in f.read_bytes() for f in files if f.exists())


EXTERNAL_ID = "ZZMRN-4471"  # the client's own reference: often the patient's MRN


def _external_ids(store: Store) -> tuple[list[str], list[str]]:
    """(uploads found, cases found) for the owner `clinic` and EXTERNAL_ID."""
    from storage.cases import CaseStore

    return ([r.id for r in store.find_by_external_id("clinic", EXTERNAL_ID)],
            [c.id for c in CaseStore(store).find_by_external_id("clinic", EXTERNAL_ID)])


# Regression: the client's external_id (an MRN, often) was stored in clear in uploads and cases, even with a data key.
def test_when_a_data_key_is_configured_then_an_external_id_is_sealed_and_still_finds_its_upload_and_case(
        tmp_path: Path, clock: Clock) -> None:
    from pipeline.cases import CaseIntake
    from storage.cases import CaseStore

    database = tmp_path / "docverify.db"
    settings = StoreSettings(f"sqlite:///{database}", tmp_path / "originals")
    keys = Keyring((new_key(),))
    store = _sealed_store(settings, clock, keys)
    record, _ = store.add_upload(b"%PDF-ext", owner="clinic", display_name="n.pdf", media_type=None,
                                 intake=Intake(), external_id=EXTERNAL_ID)
    store.add_upload(b"%PDF-ext-other", owner="clinic", display_name="n.pdf", media_type=None, intake=Intake(),
                     external_id="ZZMRN-9999")
    store.add_upload(b"%PDF-ext", owner="clinic-2", display_name="n.pdf", media_type=None, intake=Intake(),
                     external_id=EXTERNAL_ID)  # another owner's upload with the same reference: not theirs to find
    again, created = store.add_upload(b"%PDF-ext", owner="clinic", display_name="n.pdf", media_type=None,
                                      intake=Intake(), external_id=EXTERNAL_ID)
    assert (again.id, created) == (record.id, False)
    case = CaseStore(store).create("clinic", CaseIntake("Ana Garcia", Payer.COMMERCIAL, external_id=EXTERNAL_ID),
                                   actor="t")
    assert store.get(record.id).external_id == EXTERNAL_ID  # type: ignore[union-attr]  # shown back
    assert CaseStore(store).get(case.id).intake.external_id == EXTERNAL_ID  # type: ignore[union-attr]
    assert _external_ids(store) == ([record.id], [case.id])
    rotated = _sealed_store(settings, clock, keys.with_new_key())
    rotated.reseal_all()  # the digests are keyed by the current data key: recomputed with the new one
    assert _external_ids(rotated) == ([record.id], [case.id])
    assert rotated.get(record.id).external_id == EXTERNAL_ID  # type: ignore[union-attr]
    store.close()
    rotated.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("docverify.db*"))
    assert EXTERNAL_ID.encode() not in raw and b"ZZMRN-9999" not in raw


def test_when_a_0007_database_with_clear_external_ids_is_migrated_then_they_are_found_and_rotation_seals_them(
        settings: StoreSettings, clock: Clock) -> None:
    from alembic import command
    from alembic.config import Config

    from storage.store import MIGRATIONS_DIR

    old = Store(settings, clock=clock)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with old.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    upload_id, case_id = uuid.uuid4().hex, uuid.uuid4().hex
    sha = hashlib.sha256(b"%PDF-0007").hexdigest()
    original_path(settings.originals_dir, sha).parent.mkdir(parents=True, exist_ok=True)
    original_path(settings.originals_dir, sha).write_bytes(b"%PDF-0007")
    _sql(old, f"INSERT INTO uploads (id, owner, sha256, media_type, size_bytes, display_name, payer, external_id, "
              f"state, attempts, lease, created_at, updated_at) VALUES ('{upload_id}', 'clinic', '{sha}', NULL, "
              f"9, 'n.pdf', 'unknown', '{EXTERNAL_ID}', 'pending', 0, 0, '2026-01-01 00:00:00', "
              f"'2026-01-01 00:00:00')")
    _sql(old, f"INSERT INTO cases (id, owner, patient_name, payer, external_id, created_at) VALUES ('{case_id}', "
              f"'clinic', NULL, 'unknown', '{EXTERNAL_ID}', '2026-01-01 00:00:00')")
    old.close()
    keys = Keyring((new_key(),))
    store = _sealed_store(settings, clock, keys)  # migrates 0007 → head
    assert store.get(upload_id).external_id == EXTERNAL_ID  # type: ignore[union-attr]  # clear values still read
    assert _external_ids(store) == ([upload_id], [case_id])  # by the migration's unkeyed digest
    store.reseal_all()
    with store.engine.connect() as conn:
        stored = [*conn.execute(text("SELECT external_id, external_id_hmac FROM uploads")).one(),
                  *conn.execute(text("SELECT external_id, external_id_hmac FROM cases")).one()]
    assert sealed_with(stored[0]) == sealed_with(stored[2]) == keys.current[0]
    assert EXTERNAL_ID not in "".join(stored)
    assert _external_ids(store) == ([upload_id], [case_id])  # by the keyed digest
    store.close()


@pytest.mark.parametrize("damage", ["flip-a-byte", "other-key", "report-moved-to-another-version"])
def test_when_sealed_data_is_altered_or_the_key_is_wrong_then_it_fails_its_integrity_check(
        settings: StoreSettings, clock: Clock, damage: str) -> None:
    keys = Keyring((new_key(),))
    store = _sealed_store(settings, clock, keys)
    upload_id = _add(store, CANARY_BYTES)
    claimed = store.claim(upload_id, "w")
    assert claimed is not None
    store.save_report(upload_id, _report(claimed.sha256), "0.1.0", fence=claimed.fence)
    if damage == "flip-a-byte":
        path = original_path(settings.originals_dir, claimed.sha256)
        data = bytearray(path.read_bytes())
        data[-1] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(StoreIntegrityError):
            store.read_original(upload_id)
    elif damage == "other-key":
        with pytest.raises(StoreIntegrityError):
            _sealed_store(settings, clock, Keyring((new_key(),))).read_original(upload_id)
    else:
        store.requeue(upload_id, "reprocess", expected=UploadState.DONE)
        again = store.claim(upload_id, "w")
        assert again is not None
        store.save_report(upload_id, _report(claimed.sha256, "no_readable_text"), "0.1.0", fence=again.fence)
        _sql(store, "UPDATE reports SET report_json = (SELECT report_json FROM reports WHERE version = 1) "
                    "WHERE version = 2")
        with pytest.raises(StoreIntegrityError):
            store.latest_report(upload_id)


def test_when_keys_are_rotated_then_clear_and_old_data_is_resealed_with_the_new_key(
        settings: StoreSettings, clock: Clock) -> None:
    plain = _sealed_store(settings, clock, None)
    upload_id = _add(plain, CANARY_BYTES)  # written before any key existed
    claimed = plain.claim(upload_id, "w")
    assert claimed is not None
    plain.save_report(upload_id, _report(claimed.sha256), "0.1.0", fence=claimed.fence)
    first = Keyring((new_key(),))
    assert _sealed_store(settings, clock, first).read_original(upload_id) == CANARY_BYTES  # clear data still reads
    assert _sealed_store(settings, clock, first).reseal_all() == (1, 1)
    rotated = first.with_new_key()
    store = _sealed_store(settings, clock, rotated)
    assert store.reseal_all() == (1, 1)
    only_new = _sealed_store(settings, clock, rotated.only_current())  # the old key dropped
    assert only_new.read_original(upload_id) == CANARY_BYTES
    assert only_new.latest_report(upload_id).report() == _report(claimed.sha256)  # type: ignore[union-attr]
    raw = original_path(settings.originals_dir, claimed.sha256).read_bytes()
    assert sealed_with(raw) == rotated.current[0] != first.current[0]
    assert only_new.audit_log()[-1].action == "keys.rotate"
    assert only_new.get(upload_id).intake_patient_name == "Ana Garcia"  # type: ignore[union-attr]
    if settings.database_url.startswith("sqlite"):
        # Regression: an intake name written before the key stayed in clear after `keys rotate` (only reports and
        # originals were resealed).
        with only_new.engine.connect() as conn:  # the other stores of this test stay open: checkpoint the WAL
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        only_new.close()
        database = Path(make_url(settings.database_url).database or "")
        assert not any(b"Ana Garcia" in f.read_bytes() for f in database.parent.glob(database.name + "*"))
