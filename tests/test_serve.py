"""`docverify serve` end to end (flows/deploy.py, flows/cli.py), as an operator runs it: a subprocess with no
Prefect configured, so it starts its own local Prefect server on a free port, registers its three deployments and
its automations, and runs flow runs as they come. The per-upload deployment, triggered the way the upload API
triggers it, stores the report; a run of ours that crashes on another host is reconciled and resubmitted through
the automation; a SIGTERM stops serve and its server with no traceback and no process left behind.

The batch cron and the reconcile interval are set far apart (a year, an hour), so every run seen here was started
by the test or by the automation."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import psutil
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from prefect.states import Crashed, Running

from flows.deploy import (
    CRASH_SILENT_RUNS,
    LOCAL_SERVER_SETTINGS,
    RECONCILE_ON_CRASH,
    auth_string,
    healthy,
)
from flows.flows import verify_upload
from flows.tasks import open_store
from flows.triggers import BATCH_DEPLOYMENT, RECONCILE_DEPLOYMENT, VERIFY_DEPLOYMENT, trigger_verify
from flows.verify import check_file
from pipeline.evaluate import Intake
from pipeline.settings import Settings
from pipeline.types import Payer
from storage.access import Access, AccessRole
from storage.store import UploadRecord, UploadState

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inputs"
CANARY = "Zzcanary Qxj"  # an intake name: it must reach our store and nothing that serve prints
STARTUP_S = 240.0  # the local server, then serve's imports and registrations, on a busy 2-core machine
RUN_S = 240.0  # a served run starts a fresh process (imports, NLP pipeline) before it reads anything


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[bytes]
    api_url: str
    output: Path
    upload_api: str  # base URL of the upload API that serve runs beside the deployments


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).parent / "docverify"  # the installed entry point, as an operator runs it
    return [str(script)] if script.exists() else [sys.executable, "-m", "flows.cli"]


def _wait_registered(served: Served) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert served.process.poll() is None, served.output.read_text(errors="replace")[-3000:]
        if healthy(served.api_url, timeout_s=1.0):
            with get_client(sync_client=True) as client:
                try:
                    for name in (VERIFY_DEPLOYMENT, BATCH_DEPLOYMENT, RECONCILE_DEPLOYMENT):
                        client.read_deployment_by_name(name)
                    if client.read_automations_by_name(RECONCILE_ON_CRASH):
                        return
                except Exception:  # noqa: BLE001 - not registered yet
                    pass
        time.sleep(1.0)
    pytest.fail("serve did not register its deployments in time:\n"
                + served.output.read_text(errors="replace")[-3000:])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("serve")
    port, api_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "DOCVERIFY_DATABASE_URL"}
    env.update(DOCVERIFY_DATA_DIR=str(base / "var"), DOCVERIFY_PREFECT_PORT=str(port),
               DOCVERIFY_BATCH_CRON="0 0 1 1 *", DOCVERIFY_RECONCILE_EVERY_S="3600",
               PREFECT_RUNNER_POLL_FREQUENCY="1", OMP_THREAD_LIMIT="1")
    output = base / "serve.log"
    auth = auth_string(base / "var")  # the auth string serve's local server will require (created here first)
    with output.open("wb") as log:
        process = subprocess.Popen(_command() + ["serve", "--port", str(api_port)], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    api_url = f"http://127.0.0.1:{port}/api"
    this = Served(process, api_url, output, f"http://127.0.0.1:{api_port}")
    try:
        with pytest.MonkeyPatch.context() as mp, temporary_settings(updates={PREFECT_API_URL: api_url,
                                                                            PREFECT_API_AUTH_STRING: auth}):
            mp.setenv("PREFECT_API_URL", api_url)
            mp.setenv("PREFECT_API_AUTH_STRING", auth)
            mp.setenv("DOCVERIFY_DATA_DIR", str(base / "var"))  # the test's store is serve's store
            mp.delenv("DOCVERIFY_DATABASE_URL", raising=False)
            _wait_registered(this)
            yield this
    finally:  # clean-up only (the last test stops serve and checks that it stopped cleanly)
        if process.poll() is None:
            family = psutil.Process(process.pid).children(recursive=True)
            os.killpg(process.pid, signal.SIGKILL)
            for child in family:
                with contextlib.suppress(psutil.Error):
                    child.kill()
            process.wait(30)


def _add(name: str, intake: Intake) -> str:
    record, created = open_store(Settings()).add_upload((SAMPLES / name).read_bytes(), owner="api", display_name=name,
                                              media_type="application/pdf", intake=intake)
    assert created
    return record.id


def _wait_terminal(served: Served, upload_id: str) -> UploadRecord:
    deadline = time.monotonic() + RUN_S
    while time.monotonic() < deadline:
        record = open_store(Settings()).get(upload_id)
        if record is not None and record.state in (UploadState.DONE, UploadState.FAILED):
            return record
        assert served.process.poll() is None, served.output.read_text(errors="replace")[-3000:]
        time.sleep(0.5)
    pytest.fail(f"upload not finished in {RUN_S:.0f} s:\n" + served.output.read_text(errors="replace")[-3000:])


def test_when_serve_runs_then_the_triggered_per_upload_deployment_stores_checks_report(served: Served) -> None:
    intake = Intake(CANARY, Payer.COMMERCIAL)
    upload_id = _add("visit_note_crps.pdf", intake)
    run_id = trigger_verify(upload_id)  # what the upload API calls
    record = _wait_terminal(served, upload_id)
    assert record.state is UploadState.DONE and record.run_id == run_id
    stored = open_store(Settings()).latest_report(upload_id)
    assert stored is not None
    assert stored.report().model_dump() == check_file(SAMPLES / "visit_note_crps.pdf", intake, Settings()).model_dump()
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(UUID(run_id)).parameters == {"upload_id": upload_id}
        deadline = time.monotonic() + 30  # task-run states reach the API within the recorder's 1-s flush
        while time.monotonic() < deadline:
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])))
            if len(tasks) == 5 and all(t.state_type is StateType.COMPLETED for t in tasks):
                break
            time.sleep(0.5)
    assert sorted(t.name.rsplit("-", 1)[0] for t in tasks) == ["claim", "evaluate", "find", "load-and-read",
                                                               "persist"]
    assert {t.state_type for t in tasks} == {StateType.COMPLETED}


def test_when_a_run_of_ours_crashes_on_another_host_then_the_automation_reconciles_and_resubmits_its_upload(
        served: Served) -> None:
    upload_id = _add("problem_list_migraine.pdf", Intake())
    with get_client(sync_client=True) as client:
        lost = client.create_flow_run(verify_upload, parameters={"upload_id": upload_id}, state=Running())
    store = open_store(Settings())
    assert store.claim(upload_id, "worker-host-b:4242", str(lost.id)) is not None  # held by a worker elsewhere
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(lost.id, Crashed(message="worker lost"), force=True)  # its runner saw it die
    record = _wait_terminal(served, upload_id)
    assert record.state is UploadState.DONE and record.run_id != str(lost.id)
    assert len(store.reports(upload_id)) == 1
    requeues = [a for a in store.audit_log(upload_id) if a.action.startswith("upload.requeue")]
    assert [(a.actor, a.action) for a in requeues] == [("reconciler", "upload.requeue.run_crashed")]
    with get_client(sync_client=True) as client:
        reconciler = client.read_deployment_by_name(RECONCILE_DEPLOYMENT)
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[reconciler.id])))
    started_by_automation = [r for r in runs if r.parameters == {"resubmit": True}]
    assert len(started_by_automation) == 1 and started_by_automation[0].state_type is StateType.COMPLETED


def test_when_serve_runs_then_an_upload_posted_to_its_api_comes_back_as_a_report(served: Served) -> None:
    _, token = Access(open_store(Settings())).create_token(AccessRole.UPLOADER)
    auth = {"Authorization": f"Bearer {token}"}
    ready = httpx.get(f"{served.upload_api}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert httpx.post(f"{served.upload_api}/api/uploads", timeout=10).status_code == 401
    sample = SAMPLES / "problem_list_migraine.pdf"
    accepted = httpx.post(f"{served.upload_api}/api/uploads", headers=auth, timeout=30,
                          data={"patient_name": CANARY, "payer": "medicare"},
                          files={"file": ("scan.pdf", sample.read_bytes(), "application/pdf")})
    assert accepted.status_code == 202, accepted.text
    upload_id = accepted.json()["upload_id"]
    record = _wait_terminal(served, upload_id)  # the API triggered the per-upload deployment; serve ran it
    assert record.state is UploadState.DONE and record.run_id
    report = httpx.get(f"{served.upload_api}/api/uploads/{upload_id}/report", headers=auth, timeout=10)
    assert report.status_code == 200
    expected = check_file(sample, Intake(CANARY, Payer.MEDICARE), Settings())
    assert report.json()["status"] == expected.status.value
    # A 30 MB body is refused from its declared length, before the server reads it.
    with socket.create_connection(("127.0.0.1", int(served.upload_api.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(b"POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode()
                     + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 31457280\r\n\r\n"
                     + b"0" * 65536)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_when_serve_is_stopped_then_it_and_its_server_exit_cleanly_leaving_no_process(served: Served) -> None:
    with get_client(sync_client=True) as client:
        kept = {name: len(client.read_automations_by_name(name)) for name in (RECONCILE_ON_CRASH, CRASH_SILENT_RUNS)}
    assert kept == {RECONCILE_ON_CRASH: 1, CRASH_SILENT_RUNS: 1}
    family = [psutil.Process(served.process.pid), *psutil.Process(served.process.pid).children(recursive=True)]
    server = [p for p in family if "prefect" in " ".join(p.cmdline()) and "server" in " ".join(p.cmdline())]
    assert len(server) == 1, [p.cmdline() for p in family]
    environ = server[0].environ()
    assert {k: environ.get(k) for k in LOCAL_SERVER_SETTINGS} == LOCAL_SERVER_SETTINGS
    served.process.send_signal(signal.SIGTERM)  # as `kill` or systemd stops it
    assert served.process.wait(90) == 0
    _, alive = psutil.wait_procs(family, timeout=30)
    assert alive == []
    assert not healthy(served.api_url, timeout_s=1.0)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{served.upload_api}/healthz", timeout=5)
    output = served.output.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
    assert CANARY not in output and "Mary-Kate" not in output  # intake and document names stay in our store
