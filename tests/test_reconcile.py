"""Nothing lost (flows/reconcile.py, HOSTILE-INPUTS.md items 39–41): a batch killed with SIGKILL mid-run is
reconciled and finished by the next batch, every upload in exactly one terminal state with one report."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Completed, Crashed, Running

from flows.flows import batch_verify
from flows.reconcile import RunVerdict, reconcile, reconcile_once, run_verdict, worker_dead
from flows.tasks import heartbeat, open_store, worker_id
from pipeline.evaluate import Intake
from pipeline.store import UploadState

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inputs"
BATCH = ("visit_note_crps.pdf", "jpeg_scan_migraine.jpg", "problem_list_migraine.pdf",
         "scanned_note_crps_codes.pdf", "avs_fibromyalgia_nocodes.pdf")


@flow(name="reconcile-probe")
def _probe() -> None:
    """Only gives the test flow runs to put in states."""


def _run_in_state(state) -> str:
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(_probe, state=state)
    return str(run.id)


@pytest.mark.parametrize(("state", "verdict"), [
    (Crashed(), RunVerdict.CRASHED), (Running(), RunVerdict.ALIVE), (Completed(), RunVerdict.ENDED),
    (None, RunVerdict.VANISHED),
])
def test_when_the_claiming_run_is_in_a_state_then_the_verdict_follows(prefect_api, state, verdict) -> None:
    run_id = _run_in_state(state) if state is not None else str(uuid4())
    with get_client(sync_client=True) as client:
        assert run_verdict(client, run_id) is verdict


@pytest.mark.parametrize(("worker", "dead"), [
    (worker_id(), False), (f"{worker_id().rpartition(':')[0]}:999999999", True), ("otherhost:1", False), (None, False),
])
def test_when_the_claiming_worker_is_checked_then_only_dead_local_processes_count(worker, dead) -> None:
    assert worker_dead(worker) is dead


@pytest.mark.parametrize(("state", "requeued"), [(Crashed(), True), (Running(), False), (None, True)])
def test_when_an_upload_is_stuck_processing_then_it_is_requeued_unless_its_run_lives(prefect_api, data_dir, state,
                                                                                   requeued) -> None:
    store = open_store()
    record, _ = store.add_upload(b"%PDF-1.4 x", owner="t", display_name="x.pdf", media_type="application/pdf",
                                 intake=Intake())
    assert store.claim(record.id, worker_id()) is not None
    store.set_run_id(record.id, _run_in_state(state) if state is not None else str(uuid4()))
    with get_client(sync_client=True) as client:
        counts, ids = reconcile_once(store, client, timedelta(hours=1))
    assert (ids == [record.id]) is requeued
    after = store.get(record.id)
    assert after is not None and after.state is (UploadState.PENDING if requeued else UploadState.PROCESSING)
    with get_client(sync_client=True) as client:  # silent past the bound: requeued whatever the run says
        reconcile_once(store, client, timedelta(0))
    assert store.get(record.id).state is UploadState.PENDING


def test_when_the_heartbeat_stops_then_reconcile_requeues_the_silent_upload(prefect_api, data_dir) -> None:
    store = open_store()
    record, _ = store.add_upload(b"%PDF-1.4 z", owner="t", display_name="z.pdf", media_type="application/pdf",
                                 intake=Intake())
    assert store.claim(record.id, worker_id()) is not None
    store.set_run_id(record.id, _run_in_state(Running()))  # the run looks alive: only silence can requeue it
    bound = timedelta(seconds=1.0)
    with heartbeat(store, record.id, every_s=0.2):
        time.sleep(2 * bound.total_seconds())
        with get_client(sync_client=True) as client:
            beating, beating_ids = reconcile_once(store, client, bound)
    time.sleep(1.5 * bound.total_seconds())
    with get_client(sync_client=True) as client:
        stopped, stopped_ids = reconcile_once(store, client, bound)
    assert beating_ids == [] and beating["in_progress"] == 1
    assert stopped_ids == [record.id] and stopped["requeued"] == 1
    after = store.get(record.id)
    assert after is not None and after.state is UploadState.PENDING


def test_when_an_upload_lost_its_worker_too_often_then_it_fails_instead_of_looping(prefect_api, data_dir) -> None:
    store = open_store()
    record, _ = store.add_upload(b"%PDF-1.4 y", owner="t", display_name="y.pdf", media_type="application/pdf",
                                 intake=Intake())
    for _ in range(3):
        store.claim(record.id, worker_id())
        store.requeue(record.id, "test")
    store.claim(record.id, worker_id())
    with get_client(sync_client=True) as client:
        counts, _ = reconcile_once(store, client, timedelta(0), max_attempts=3)
    assert counts["failed"] == 1 and store.get(record.id).error_code == "attempts_exhausted"


def _counts(store) -> dict[UploadState, int]:
    states = [r.state for r in store.list_uploads()]
    return {s: states.count(s) for s in UploadState}


def test_when_a_batch_is_killed_mid_run_then_reconcile_and_a_second_batch_finish_every_upload_once(
        prefect_api, data_dir, tmp_path) -> None:
    indir = tmp_path / "in"
    indir.mkdir()
    for name in BATCH:
        shutil.copy(SAMPLES / name, indir / name)
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "DOCVERIFY_BATCH_CONCURRENCY": "1",
           "PYTHONPATH": str(ROOT)}
    code = "import sys; from flows.flows import batch_verify; batch_verify(inbox=sys.argv[1])"
    proc = subprocess.Popen([sys.executable, "-c", code, str(indir)], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = open_store()
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            counts = _counts(store)
            if counts[UploadState.DONE] >= 1 and counts[UploadState.PROCESSING] >= 1:
                break
            assert proc.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("the batch never had an upload in flight")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert _counts(store)[UploadState.PROCESSING] >= 1
    requeued = reconcile()
    assert requeued.get("requeued", 0) >= 1
    batch_verify()
    records = store.list_uploads()
    assert len(records) == len(BATCH)
    assert {r.state for r in records} <= {UploadState.DONE, UploadState.FAILED}
    assert all(len(store.reports(r.id)) == (1 if r.state is UploadState.DONE else 0) for r in records)
