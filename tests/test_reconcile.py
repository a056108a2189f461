"""Nothing lost (flows/reconcile.py, docs/THREAT-MODEL.md items 39–41): batch workers killed with SIGKILL at twenty
random points are reconciled after each kill and finished by the next batch, every upload in exactly one terminal
state with one report; and the automations that start the reconciler when a run of ours crashes elsewhere."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import StateType
from prefect.events.schemas.automations import Posture
from prefect.states import Completed, Crashed, Running

from flows.deploy import CRASH_SILENT_RUNS, RECONCILE_ON_CRASH, ensure_automations
from flows.flows import batch_verify, verify_upload
from flows.reconcile import RunVerdict, reconcile, reconcile_once, run_verdict, worker_dead
from flows.tasks import heartbeat, open_store, worker_id
from pipeline.evaluate import Intake
from pipeline.settings import Settings
from storage.store import UploadState

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inputs"


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
    store = open_store(Settings())
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
    store = open_store(Settings())
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
    store = open_store(Settings())
    record, _ = store.add_upload(b"%PDF-1.4 y", owner="t", display_name="y.pdf", media_type="application/pdf",
                                 intake=Intake())
    for _ in range(3):
        store.claim(record.id, worker_id())
        store.requeue(record.id, "test", expected=UploadState.PROCESSING)
    store.claim(record.id, worker_id())
    with get_client(sync_client=True) as client:
        counts, _ = reconcile_once(store, client, timedelta(0), max_attempts=3)
    assert counts["failed"] == 1 and store.get(record.id).error_code == "attempts_exhausted"


KILLS = 20
KILL_SEED = 5  # seeded: the same twenty kill times on every run
KILL_AFTER_S = (0.2, 2.5)  # after the fork: during flow start, ingest, claim, bounded read, OCR, find, persist
KILL_BATCH = ("visit_note_crps.pdf", "avs_fibromyalgia_nocodes.pdf", "problem_list_migraine.pdf",
              "visit_note_uncertain.pdf", "visit_note_no_diagnosis.pdf", "visit_note_negated.pdf",
              "visit_note_family_history.pdf", "visit_note_resolved.pdf", "visit_note_nickname.pdf",
              "two_patients.pdf", "visit_note_mh_plus_pain.pdf", "avs_chronic_pain_medicaid.pdf",
              "jpeg_scan_migraine.jpg", "html_disguised.pdf", "empty.pdf")  # 12 text PDFs, 1 OCR, 2 rejected


def _wait_gone(pid: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    pytest.fail(f"worker {pid} still exists {timeout_s} s after SIGKILL")


def test_when_batch_workers_are_killed_at_twenty_random_times_then_every_upload_ends_once_in_a_terminal_state(
        prefect_api, data_dir, tmp_path, monkeypatch) -> None:
    indir = tmp_path / "in"
    indir.mkdir()
    for name in KILL_BATCH:
        shutil.copy(SAMPLES / name, indir / name)
    # The workers' reader temp folders, apart from the machine's: the reconciler sweeps those of killed workers.
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "DOCVERIFY_BATCH_CONCURRENCY": "2",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)}
    log = tmp_path / "workers.log"
    with log.open("wb") as err:
        zygote = subprocess.Popen([sys.executable, str(ROOT / "tests" / "batch_worker_zygote.py"), str(indir)],
                                  env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                  text=True)
    store = open_store(Settings())
    rng = random.Random(KILL_SEED)
    in_flight: list[int] = []  # uploads left PROCESSING by each kill
    try:
        assert zygote.stdout.readline().strip() == "ready", log.read_text(errors="replace")[-2000:]
        for _ in range(KILLS):
            zygote.stdin.write("run\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            time.sleep(rng.uniform(*KILL_AFTER_S))
            with contextlib.suppress(ProcessLookupError):  # it may have finished the whole batch already
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid)
            in_flight.append(len(store.list_uploads(UploadState.PROCESSING)))
            counts = reconcile(max_attempts=KILLS + 1)  # never give up here: every upload must get its report
            assert counts.get("requeued", 0) == in_flight[-1] and counts.get("failed", 0) == 0, counts
    finally:
        with contextlib.suppress(OSError):
            zygote.stdin.write("quit\n")
            zygote.stdin.close()
        zygote.wait(30)
    assert sum(n > 0 for n in in_flight) >= KILLS // 2, in_flight  # most kills hit an upload mid-run
    batch_verify(inbox=str(indir))  # a worker that is not killed finishes what is left
    counts = reconcile()
    counts.pop("read_folders_swept", None)  # a killed reader still closing its files at the previous sweep
    assert counts == {}  # nothing left in flight
    # Regression: a worker killed mid-read left its reader's temp folder (page images, OCR files) behind for good.
    assert list(temp.glob("docverify-read-*")) == []
    records = store.list_uploads()
    assert sorted(r.display_name for r in records) == sorted(KILL_BATCH)  # each file accepted once, none lost
    assert {r.state for r in records} == {UploadState.DONE}
    assert [len(store.reports(r.id)) for r in records] == [1] * len(KILL_BATCH)  # none processed twice
    assert store.verify_audit_chain()


# --- worker death on another host: Prefect automations (flows/deploy.py) -------------------------------------------

@flow(name="batch-verify")
def _batch_stand_in() -> None:
    """Only gives runs named like the batch flow (never run)."""


@pytest.fixture
def reconcile_deployment(prefect_api):
    """The reconcile deployment registered on the test server (no runner: its runs stay Scheduled); our
    automations and its runs removed after the test."""
    deployment_id = reconcile.to_deployment(name="reconcile").apply()
    yield deployment_id
    with get_client(sync_client=True) as client:
        for name in (RECONCILE_ON_CRASH, CRASH_SILENT_RUNS):
            for automation in client.read_automations_by_name(name):
                client.delete_automation(automation.id)
        for run in _reconcile_runs(deployment_id):  # the next test starts with none
            client.delete_flow_run(run.id)


def _automations() -> dict[str, list]:
    with get_client(sync_client=True) as client:
        return {name: client.read_automations_by_name(name) for name in (RECONCILE_ON_CRASH, CRASH_SILENT_RUNS)}


def test_when_automations_are_ensured_again_then_each_exists_once_with_the_current_definition(
        reconcile_deployment) -> None:
    first = ensure_automations(reconcile_deployment, heartbeat_s=30)
    assert ensure_automations(reconcile_deployment, heartbeat_s=30) == first
    found = _automations()
    assert [len(found[n]) for n in (RECONCILE_ON_CRASH, CRASH_SILENT_RUNS)] == [1, 1]
    crash, silent = found[RECONCILE_ON_CRASH][0], found[CRASH_SILENT_RUNS][0]
    assert crash.trigger.expect == {"prefect.flow-run.Crashed"} and crash.trigger.posture is Posture.Reactive
    assert [(a.type, a.deployment_id, a.parameters) for a in crash.actions] == [
        ("run-deployment", reconcile_deployment, {"resubmit": True})]
    assert silent.trigger.posture is Posture.Proactive and silent.trigger.after == {"prefect.flow-run.heartbeat"}
    assert silent.trigger.within == timedelta(seconds=90)  # three missed 30-s beats
    assert [(a.type, a.state) for a in silent.actions] == [("change-flow-run-state", StateType.CRASHED)]

    other = uuid4()  # the reconcile deployment re-created: the same automations now point at it
    assert ensure_automations(other, heartbeat_s=60) == first
    found = _automations()
    assert found[RECONCILE_ON_CRASH][0].actions[0].deployment_id == other
    assert found[CRASH_SILENT_RUNS][0].trigger.within == timedelta(seconds=180)

    off = ensure_automations(reconcile_deployment, heartbeat_s=0)  # flow-run heartbeats off: nothing to watch
    assert set(off) == {RECONCILE_ON_CRASH} and _automations()[CRASH_SILENT_RUNS] == []


def _reconcile_runs(deployment_id) -> list:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))


def test_when_runs_crash_then_only_ours_start_the_reconcile_deployment(reconcile_deployment) -> None:
    ensure_automations(reconcile_deployment, heartbeat_s=30)
    assert _reconcile_runs(reconcile_deployment) == []
    crashed = []
    with get_client(sync_client=True) as client:
        for a_flow in (_probe, verify_upload, _batch_stand_in):  # not ours, then our two claiming flows
            run = client.create_flow_run(a_flow, state=Running())
            client.set_flow_run_state(run.id, Crashed(message="worker lost"), force=True)
            crashed.append(run.id)
    deadline = time.monotonic() + 60
    while len(_reconcile_runs(reconcile_deployment)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # let a third (wrong) one show up if the probe's crash had matched
    runs = _reconcile_runs(reconcile_deployment)
    assert len(runs) == 2, [r.parameters for r in runs]
    assert all(r.parameters == {"resubmit": True} and r.state_type is StateType.SCHEDULED for r in runs)


def test_when_a_run_of_ours_goes_silent_then_it_is_crashed_and_the_reconcile_deployment_starts(
        reconcile_deployment) -> None:
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    ensure_automations(reconcile_deployment, heartbeat_s=4)  # silent after 12 s (Prefect's shortest window: 10 s)
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(verify_upload, state=Running())
    emit_event(event="prefect.flow-run.heartbeat",  # one beat, as a run does when it starts; then its host dies
               resource={"prefect.resource.id": f"prefect.flow-run.{run.id}"},
               related=[{"prefect.resource.id": f"prefect.flow.{run.flow_id}", "prefect.resource.role": "flow",
                         "prefect.resource.name": "verify-upload"}])
    EventsWorker.drain_all(timeout=10)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not _reconcile_runs(reconcile_deployment):
        time.sleep(1)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run.id).state
    assert state is not None and state.type is StateType.CRASHED and state.message == "No heartbeat for 12 s."
    assert [r.parameters for r in _reconcile_runs(reconcile_deployment)] == [{"resubmit": True}]


def test_when_the_reconciler_runs_then_it_verifies_the_audit_chain_and_reports_a_broken_one(prefect_api,
                                                                                           data_dir) -> None:
    store = open_store(Settings())
    store.add_upload(b"%PDF-1.4 audited", owner="t", display_name="x.pdf", media_type="application/pdf",
                     intake=Intake())
    with get_client(sync_client=True) as client:
        counts, _ = reconcile_once(store, client, timedelta(hours=1))
    assert counts["audit_chain_broken"] == 0
    assert store.audit_log()[-1].outcome.endswith("audit:ok")
    with store.engine.begin() as conn:  # someone edits a row behind the store's back
        conn.exec_driver_sql("UPDATE audit_log SET outcome = 'granted' WHERE seq = 1")
    with get_client(sync_client=True) as client:
        counts, _ = reconcile_once(store, client, timedelta(hours=1))
    assert counts["audit_chain_broken"] == 1
    assert store.audit_log()[-1].outcome.endswith("audit:broken")


def _rewrite_chain_from_the_start(store) -> None:
    """A forger with write access to the database and no key: changes the first row's actor and recomputes every
    row's hash and the head, so the chain verifies by itself."""
    from sqlalchemy import text

    from storage.models import GENESIS_HASH
    from storage.store import audit_hash

    prev = GENESIS_HASH
    with store.engine.begin() as conn:
        for row in store.audit_log():
            actor = "someone-else" if row.seq == 1 else row.actor
            link = audit_hash(prev, seq=row.seq, at=row.at, actor=actor, action=row.action, upload_id=row.upload_id,
                              outcome=row.outcome)
            conn.execute(text("UPDATE audit_log SET actor = :a, prev_hash = :p, row_hash = :h WHERE seq = :s"),
                         {"a": actor, "p": prev, "h": link, "s": row.seq})
            prev = link
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})


# Regression: the head was anchored outside the database only when an operator ran `audit verify --anchor FILE`; the
# reconciler's scheduled verify recomputed the chain alone, which a rewrite from the first row passes.
def test_when_the_reconcile_flow_runs_then_it_anchors_the_head_outside_the_data_dir_and_catches_a_rewritten_chain(
        prefect_api, data_dir) -> None:
    settings = Settings()
    store = open_store(settings)
    store.add_upload(b"%PDF-1.4 anchored", owner="t", display_name="x.pdf", media_type="application/pdf",
                     intake=Intake())
    assert reconcile().get("audit_anchor_lost", 0) == 0
    anchor = settings.audit_anchor_path
    assert anchor.is_file() and data_dir.resolve() not in anchor.resolve().parents
    assert anchor.stat().st_mode & 0o777 == 0o600 and anchor.parent.stat().st_mode & 0o777 == 0o700
    seq, anchored = anchor.read_text(encoding="ascii").split()
    assert store.audit_row_hash(int(seq)) == anchored and store.audit_log()[-1].seq == int(seq) + 1  # then its row
    reconcile()  # the anchor moves with the chain
    moved = anchor.read_text(encoding="ascii")
    assert int(moved.split()[0]) == int(seq) + 1
    _rewrite_chain_from_the_start(store)
    assert store.verify_audit_chain()  # the chain alone cannot tell
    counts = reconcile()
    assert counts["audit_anchor_lost"] == 1
    assert store.audit_log()[-1].outcome.endswith("audit:anchor_lost")
    assert anchor.read_text(encoding="ascii") == moved  # kept: the next run reports it again
    assert reconcile()["audit_anchor_lost"] == 1
