"""The Prefect flows (flows/flows.py, flows/tasks.py) against a temporary Prefect server: the per-upload flow stores
the same report `check` gives, retries only retryable errors, and records failures by code."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import Completed, Failed

from flows import flows as flows_module
from flows.flows import verify_upload
from flows.isolation import ProcessingTimeout
from flows.tasks import Outcome, is_retryable, open_store, read_task, verify_claimed, worker_id
from flows.verify import check_file
from pipeline.errors import OcrEngineError, OcrTimeout, PdfEncrypted
from pipeline.evaluate import Intake
from pipeline.limits import Limits
from pipeline.settings import Settings
from pipeline.types import Document, Page, Payer, Source
from storage.store import UploadState

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"
SLOW_READ_S = 3.0  # longer than the silence bound of the heartbeat test below (1 s)


def slow_reader(data: bytes, upload, limits: Limits) -> Document:
    """A reader (the isolation seam production uses) that takes SLOW_READ_S, as a long OCR would."""
    time.sleep(SLOW_READ_S)
    return Document(upload.sha256, upload.media_type, upload.size_bytes,
                    (Page(1, 612.0, 792.0, Source.TEXT_LAYER, "test", ()),))


def _add(name: str, intake: Intake = Intake()) -> str:
    data = (SAMPLES / name).read_bytes()
    record, created = open_store(Settings()).add_upload(data, owner="test", display_name=name,
                                                        media_type="application/pdf",
                                              intake=intake)
    assert created
    return record.id


@pytest.mark.parametrize(("name", "intake", "outcome"), [
    ("visit_note_crps.pdf", Intake("Mary-Kate O'Neil", Payer.COMMERCIAL), Outcome.COMPLETE),
    ("visit_note_no_diagnosis.pdf", Intake(), Outcome.INCOMPLETE),
    ("truncated.pdf", Intake(), Outcome.REJECTED),
])
def test_when_verify_upload_runs_then_the_stored_report_equals_checks(prefect_api, data_dir, name, intake,
                                                                       outcome) -> None:
    upload_id = _add(name, intake)
    assert verify_upload(upload_id) is outcome
    store = open_store(Settings())
    record = store.get(upload_id)
    assert record is not None and record.state is UploadState.DONE and record.run_id
    stored = store.latest_report(upload_id)
    assert stored is not None and stored.version == 1
    assert stored.report().model_dump() == check_file(SAMPLES / name, intake, Settings()).model_dump()


def test_when_the_upload_is_not_pending_then_verify_upload_skips_it(prefect_api, data_dir) -> None:
    upload_id = _add("problem_list_migraine.pdf")
    assert verify_upload(upload_id) is not Outcome.SKIPPED
    assert verify_upload(upload_id) is Outcome.SKIPPED
    assert len(open_store(Settings()).reports(upload_id)) == 1


@pytest.mark.parametrize(("error", "runs", "code"), [
    (ProcessingTimeout("test"), 1, "processing_timeout"),
    (PdfEncrypted("test"), 1, "pdf_encrypted"),
    # Regression: an OCR timeout was retryable, so one hostile page cost three full timeouts.
    (OcrTimeout("test"), 1, "ocr_timeout"),
    (OcrEngineError("test"), 3, "ocr_engine_error"),
], ids=["permanent-timeout", "typed-permanent", "ocr-timeout-once", "transient-engine"])
def test_when_reading_fails_then_only_retryable_errors_are_retried_and_the_upload_fails_by_code(
        prefect_api, data_dir, monkeypatch, error, runs, code) -> None:
    calls: list[str] = []

    def failing_read(loaded, *args, **kwargs):
        calls.append(loaded.record.id)
        raise error

    monkeypatch.setattr("flows.tasks.read", failing_read)
    monkeypatch.setattr(flows_module, "read_task", read_task.with_options(retry_delay_seconds=0))
    upload_id = _add("problem_list_migraine.pdf")
    state = verify_upload(upload_id, return_state=True)
    assert state.is_failed()
    assert code in (state.message or "")
    assert len(calls) == runs
    record = open_store(Settings()).get(upload_id)
    assert record is not None and record.state is UploadState.FAILED and record.error_code == code


@pytest.mark.parametrize(("state", "retry"), [
    (Failed(data=OcrTimeout("x")), False),
    (Failed(data=OcrEngineError("x")), True),
    (Failed(data=ProcessingTimeout("x")), False),
    (Failed(data=ValueError("x")), False),
    (Completed(data=None), False),
])
def test_when_a_task_fails_then_the_retry_condition_follows_retryable(state, retry) -> None:
    assert is_retryable(None, None, state) is retry


def test_when_the_flow_ran_then_prefect_holds_only_the_upload_id_as_parameter(prefect_api, data_dir) -> None:
    upload_id = _add("problem_list_migraine.pdf", Intake("Zzcanary Qxj"))
    state = verify_upload(upload_id, return_state=True)
    with get_client(sync_client=True) as client:
        run_filter = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        runs = client.read_flow_runs(flow_run_filter=run_filter)
        task_runs = client.read_task_runs()
    assert runs and runs[0].parameters == {"upload_id": upload_id}
    assert all("Zzcanary" not in (t.state.message or "") for t in task_runs if t.state)


@pytest.mark.parametrize(("cron_env", "cron"), [(None, "*/15 * * * *"), ("0 * * * *", "0 * * * *")])
def test_when_serve_builds_its_deployments_then_schedules_and_names_are_configured(monkeypatch, cron_env,
                                                                                   cron) -> None:
    from datetime import timedelta

    from flows.deploy import deployments

    if cron_env:
        monkeypatch.setenv("DOCVERIFY_BATCH_CRON", cron_env)
    else:
        monkeypatch.delenv("DOCVERIFY_BATCH_CRON", raising=False)
    monkeypatch.delenv("DOCVERIFY_RECONCILE_EVERY_S", raising=False)
    batch, per_upload, reconciler = deployments(Settings(), inbox="/srv/inbox")
    assert (batch.name, per_upload.name, reconciler.name) == ("batch", "verify-upload", "reconcile")
    assert [s.schedule.cron for s in batch.schedules] == [cron]
    assert batch.parameters == {"inbox": "/srv/inbox"}
    assert per_upload.schedules == [] and set(per_upload._parameter_openapi_schema.properties) == {"upload_id"}
    assert [s.schedule.interval for s in reconciler.schedules] == [timedelta(seconds=60)]


def test_when_a_served_deployment_is_imported_as_the_runner_does_then_its_entrypoint_is_the_flow() -> None:
    import subprocess
    import sys

    from flows.deploy import deployments

    entrypoints = {d.name: d.entrypoint for d in deployments(Settings())}
    assert entrypoints == {"batch": "flows.flows.batch_verify", "verify-upload": "flows.flows.verify_upload",
                           "reconcile": "flows.reconcile.reconcile"}
    # Each flow run's process imports its flow by entrypoint (prefect.utilities.importtools.import_object) in a
    # fresh interpreter started in serve's directory: one each, as the runner does (the reconciler's file-path
    # entrypoint, flows/reconcile.py, failed there: "'flows' is not a package").
    code = "import sys; from prefect.utilities.importtools import import_object; print(import_object(sys.argv[1]).name)"
    processes = {name: subprocess.Popen([sys.executable, "-c", code, entrypoint],
                                        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                 for name, entrypoint in entrypoints.items()}
    imported = {name: p.communicate(timeout=120) for name, p in processes.items()}
    assert {name: out.strip() for name, (out, _) in imported.items()} == {
        "batch": "batch-verify", "verify-upload": "verify-upload", "reconcile": "reconcile"}, imported


def test_when_reader_children_rerun_the_entry_point_script_then_the_module_it_imports_is_preloaded() -> None:
    from importlib.metadata import entry_points

    from flows.isolation import FORKSERVER_PRELOAD

    # Every forkserver child re-runs the parent's main script; under `docverify batch|serve` that is the console
    # script, which imports the entry point's module: preloaded, the re-import costs nothing per read.
    (script,) = entry_points(group="console_scripts", name="docverify")
    assert script.module in FORKSERVER_PRELOAD


def test_when_a_prefect_api_is_configured_then_no_local_server_is_started(prefect_api) -> None:
    from flows.deploy import local_prefect_api

    with local_prefect_api(Settings(), port=1) as url:  # port 1 would fail loudly if a server were started
        assert url == prefect_api


@pytest.mark.parametrize(("heartbeat_s", "ever_stale"), [(0.2, False), (3600.0, True)],
                         ids=["beating", "no-beat-within-the-read"])
def test_when_a_read_is_slow_then_the_heartbeat_keeps_the_processing_upload_fresh(data_dir, heartbeat_s,
                                                                                  ever_stale) -> None:
    store = open_store(Settings())
    upload_id = _add("problem_list_migraine.pdf")
    assert store.claim(upload_id, worker_id()) is not None
    bound = timedelta(seconds=1.0)
    seen: list[bool] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        fence = store.get(upload_id).fence  # type: ignore[union-attr]
        future = pool.submit(verify_claimed, store, upload_id, Settings(heartbeat_s=heartbeat_s), fence,
                             reader=slow_reader)
        while not future.done():
            seen.append(upload_id in {r.id for r in store.stale_processing(bound)})
            time.sleep(0.1)
        outcome = future.result()
    assert len(seen) >= 10 * SLOW_READ_S * 0.9  # polled throughout the read
    assert any(seen) is ever_stale
    assert outcome is not Outcome.FAILED
    record = store.get(upload_id)
    assert record is not None and record.state is UploadState.DONE
