"""Deployments, automations and the local Prefect server.

`docverify serve` and `docverify batch` need a Prefect API. When none is configured (no PREFECT_API_URL), a local
server (SQLite under `<data dir>/prefect`) is started in the background on 127.0.0.1 (`Settings.prefect_port`,
default 4200) instead of Prefect's ephemeral in-process server, which prints tracebacks on shutdown.

The local server is locked down (docs/THREAT-MODEL.md B7): basic auth with a generated auth string kept 0600 in
`<data dir>/secrets/prefect-auth` (the server gets it as PREFECT_SERVER_API_AUTH_STRING, our clients as
PREFECT_API_AUTH_STRING), CSRF protection on, CORS limited to its own origin. A server already answering on the port
is reused only when it is ours: it refuses a request without the auth string and accepts ours. Anything else there
(a stranger's Prefect that merely answers /health) is left alone and ours starts on a free port.

Worker death on another host (docs/THREAT-MODEL.md items 39–41): `serve` also keeps two Prefect automations, by name:
a flow run of ours that goes silent (no Prefect heartbeat for three beats) is marked Crashed, and a run of ours that
enters Crashed — so marked, or reported by a runner that outlived it — starts the reconcile deployment at once
(resubmit on), instead of waiting for its next interval.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from pipeline.errors import DocverifyError
from pipeline.exports import private_folder, write_private
from pipeline.settings import Settings

HOST = "127.0.0.1"
WATCHED_FLOWS = ("verify-upload", "batch-verify")  # the flows that claim uploads (the reconciler's own runs: not)
RECONCILE_ON_CRASH = "docverify-reconcile-on-crash"
CRASH_SILENT_RUNS = "docverify-crash-silent-runs"
SILENT_BEATS = 3  # a run missing this many Prefect heartbeats in a row is taken for dead
# Settings of the local Prefect server we start (an operator's own values win). Prefect 3.9's task-run recorder
# writes one task-run event per database transaction by default (batch size 1); batched, the server's CPU per
# task run falls ~3× (2.0–2.4 → 0.6–0.9 CPU-s per 47 task runs, benchmarks/README.md), at the price of task-run
# states reaching the API up to 1 s later (flow-run states, which the reconciler reads, are not batched).
LOCAL_SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",  # seconds (whole seconds: Prefect int()s it)
}


AUTH_USER = "docverify"
AUTH_FILE = Path("secrets") / "prefect-auth"  # under the data dir; 0600 in a 0700 folder


class PrefectServerError(DocverifyError):
    """The local Prefect server did not start."""

    code = "prefect_server_unavailable"
    retryable = True
    user_message = "The local Prefect server did not start; see <data dir>/prefect/server.log."


def healthy(api_url: str, timeout_s: float = 2.0) -> bool:
    """True when a Prefect API answers /health at `api_url`."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def auth_string(data_path: Path) -> str:
    """The local server's auth string ("docverify:<random>"), generated once and kept 0600 in
    `<data dir>/secrets/prefect-auth` (a file of another mode is tightened). Raises OSError."""
    path = data_path / AUTH_FILE
    private_folder(path.parent)
    with contextlib.suppress(FileNotFoundError):
        if (path.stat().st_mode & 0o777) != 0o600:
            path.chmod(0o600)
        existing = path.read_text(encoding="ascii").strip()
        if existing.startswith(f"{AUTH_USER}:") and len(existing) > len(AUTH_USER) + 20:
            return existing
    fresh = f"{AUTH_USER}:{secrets.token_urlsafe(32)}"
    write_private(path, fresh + "\n")
    return fresh


def ours(api_url: str, auth: str, timeout_s: float = 2.0) -> bool:
    """True when the Prefect API at `api_url` is our local server: it refuses a request without credentials (401)
    and accepts one with `auth` (/health answers anyone, so it proves nothing)."""
    probe = f"{api_url.rstrip('/')}/admin/version"
    user, _, password = auth.partition(":")
    try:
        anonymous = httpx.get(probe, timeout=timeout_s)
        authorised = httpx.get(probe, timeout=timeout_s, auth=(user, password))
    except httpx.HTTPError:
        return False
    return anonymous.status_code == 401 and authorised.status_code == 200


def server_environment(environ: dict[str, str], home: Path, port: int, auth: str) -> dict[str, str]:
    """The environment of the local server: Prefect's own settings (LOCAL_SERVER_SETTINGS, overridable), the
    caller's environment without PREFECT_API_URL and DOCVERIFY_* (the server needs neither our database URL nor our
    settings), and the lock-down, which an operator's environment cannot loosen: the auth string, CSRF protection
    on, CORS limited to the server's own origin."""
    env = {**LOCAL_SERVER_SETTINGS, **{k: v for k, v in environ.items()
                                       if k != "PREFECT_API_URL" and not k.startswith("DOCVERIFY_")}}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_API_AUTH_STRING=auth,
               PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED="true",
               PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS=f"http://{HOST}:{port}",
               PREFECT_API_AUTH_STRING=auth)  # the server's own services call its API too
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


@contextlib.contextmanager
def local_prefect_api(settings: Settings, home: Path | None = None, port: int | None = None,
                      startup_timeout_s: float = 90.0) -> Iterator[str]:
    """The Prefect API URL to use: PREFECT_API_URL when configured; else our local server on 127.0.0.1 (reused when
    the server on `port` — default `settings.prefect_port` — is ours (`ours`), otherwise started with
    PREFECT_HOME=`home`, default `<data dir>/prefect`, on that port or a free one, and stopped on exit). Inside the
    block the URL and the auth string are the process's Prefect settings and in os.environ (for the flow-run
    processes the runner starts). Raises PrefectServerError."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    configured = os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()
    if configured:
        yield str(configured)
        return
    if port is None:
        port = settings.prefect_port
    auth = auth_string(settings.data_path)
    url = f"http://{HOST}:{port}/api"
    process: subprocess.Popen[bytes] | None = None
    if not ours(url, auth):
        if _port_open(port):  # a stranger (or a server of another data dir) holds the port: never reuse it
            port = _free_port()
            url = f"http://{HOST}:{port}/api"
        process = _start_server(home or settings.data_path / "prefect", port, url, auth, startup_timeout_s)
    previous = {key: os.environ.get(key) for key in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING")}
    os.environ.update(PREFECT_API_URL=url, PREFECT_API_AUTH_STRING=auth)
    try:
        with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_API_AUTH_STRING: auth}):
            yield url
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if process is not None:
            _drain_to_api()
            stop_server(process)


def _drain_to_api(timeout_s: float = 10.0) -> None:
    """Send the logs and events still queued to the server we are about to stop (else Prefect prints "Error logging
    to API" at exit)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=timeout_s)


def _start_server(home: Path, port: int, url: str, auth: str, timeout_s: float) -> subprocess.Popen[bytes]:
    private_folder(home)  # Prefect's database: flow-run metadata (ids and codes, but still ours to keep)
    env = server_environment(dict(os.environ), home, port, auth)
    log = (home / "server.log").open("ab")
    process = subprocess.Popen(  # own session: a Ctrl-C in the terminal reaches us, and we stop it cleanly
        [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port), "--analytics-off"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if healthy(url) and ours(url, auth):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.5)
    stop_server(process)
    raise PrefectServerError(f"no answer on {url} within {timeout_s:.0f} s")


def stop_server(process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after `timeout_s`."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout_s)


def deployments(settings: Settings, inbox: str | None = None, cron: str | None = None) -> list[Any]:
    """The three runner deployments `docverify serve` serves: the batch on a cron, the per-upload flow (no
    schedule: the upload API triggers it with `flows.triggers.trigger_verify`), and the reconciler on an interval.

    Entrypoints are module paths (`flows.reconcile:reconcile`): the runner starts each flow run in a new process
    that imports its flow, and a file-path entrypoint (`flows/reconcile.py`) is run as a script with `flows/` first
    on sys.path, where `import flows.tasks` finds the module flows/flows.py instead of the package."""
    from prefect.types.entrypoint import EntrypointType

    from flows.flows import batch_flow_for, verify_upload
    from flows.reconcile import reconcile

    by_module = EntrypointType.MODULE_PATH
    return [
        batch_flow_for(settings).to_deployment(name="batch", cron=cron or settings.batch_cron,
                                               parameters={"inbox": inbox},
                                               description="Verify every pending upload (and the inbox folder).",
                                               entrypoint_type=by_module),
        verify_upload.to_deployment(name="verify-upload", description="Verify one upload, by id.",
                                    entrypoint_type=by_module),
        reconcile.to_deployment(name="reconcile", interval=timedelta(seconds=settings.reconcile_every_s),
                                entrypoint_type=by_module,
                                description="Requeue uploads whose run crashed, vanished or went silent."),
    ]


def automations(reconcile_deployment_id: UUID, heartbeat_s: int | None) -> list[Any]:
    """The automations `serve` keeps (see the module docstring): reconcile on a Crashed run of ours, and — when
    flow-run heartbeats are on (`heartbeat_s`, Prefect's PREFECT_FLOWS_HEARTBEAT_FREQUENCY) — crash a run of ours
    that missed SILENT_BEATS of them. Both match only runs of WATCHED_FLOWS; messages carry no run data."""
    from prefect.automations import Automation, ChangeFlowRunState, EventTrigger, Posture, RunDeployment
    from prefect.client.schemas.objects import StateType
    from prefect.events.schemas.events import ResourceSpecification

    ours = ResourceSpecification({"prefect.resource.role": "flow", "prefect.resource.name": list(WATCHED_FLOWS)})
    runs = ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"})
    kept = [Automation(
        name=RECONCILE_ON_CRASH,
        description="A docverify run crashed: requeue and resubmit the uploads it held.",
        trigger=EventTrigger(expect={"prefect.flow-run.Crashed"}, match=runs, match_related=ours,
                             posture=Posture.Reactive, threshold=1, within=timedelta(0)),
        actions=[RunDeployment(source="selected", deployment_id=reconcile_deployment_id,
                               parameters={"resubmit": True}, job_variables=None)],
    )]
    if heartbeat_s:
        silence = timedelta(seconds=SILENT_BEATS * heartbeat_s)
        kept.append(Automation(
            name=CRASH_SILENT_RUNS,
            description=f"A docverify run sent no heartbeat for {silence.total_seconds():.0f} s: mark it Crashed.",
            trigger=EventTrigger(after={"prefect.flow-run.heartbeat"},
                                 expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed",
                                         "prefect.flow-run.Failed", "prefect.flow-run.Cancelled",
                                         "prefect.flow-run.Crashed"},
                                 match=runs, match_related=ours, for_each={"prefect.resource.id"},
                                 posture=Posture.Proactive, threshold=1, within=silence),
            actions=[ChangeFlowRunState(name=None, state=StateType.CRASHED, force=False,
                                        message=f"No heartbeat for {silence.total_seconds():.0f} s.")],
        ))
    return kept


def ensure_automations(reconcile_deployment_id: UUID, heartbeat_s: int | None = None) -> dict[str, UUID]:
    """Create or update `automations(...)` by name (idempotent: one automation per name, updated only when its
    definition differs; duplicates from concurrent starts are deleted, and so is the silence automation when
    heartbeats are off). `heartbeat_s` defaults to Prefect's flow-run heartbeat setting. Returns name → id."""
    from prefect import get_client
    from prefect.events.schemas.automations import AutomationCore
    from prefect.settings import get_current_settings

    beat = get_current_settings().flows.heartbeat_frequency if heartbeat_s is None else heartbeat_s
    kept = automations(reconcile_deployment_id, beat)
    ids: dict[str, UUID] = {}
    with get_client(sync_client=True) as client:
        for name in {RECONCILE_ON_CRASH, CRASH_SILENT_RUNS} - {a.name for a in kept}:  # heartbeats turned off
            for stale in client.read_automations_by_name(name):
                client.delete_automation(stale.id)
        for wanted in kept:
            # owner_resource: not accepted on update (and unset here: these automations belong to no resource)
            core = AutomationCore(**wanted.model_dump(exclude={"id", "owner_resource"}))
            found = sorted(client.read_automations_by_name(wanted.name), key=lambda a: str(a.id))
            for extra in found[1:]:
                client.delete_automation(extra.id)
            if not found:
                ids[wanted.name] = client.create_automation(core)
                continue
            current = found[0]
            if AutomationCore(**current.model_dump(exclude={"id", "owner_resource"})) != core:
                client.update_automation(current.id, core)
            ids[wanted.name] = current.id
    return ids


def serve(settings: Settings, inbox: str | None = None) -> None:
    """Serve the deployments until interrupted (Prefect's runner; one process), after registering them and
    keeping the automations (`ensure_automations`) that start the reconciler when a run of ours crashes."""
    from prefect import serve as prefect_serve

    served = deployments(settings, inbox)
    reconciler = next(d for d in served if d.name == "reconcile")
    ensure_automations(reconciler.apply())  # registered now for its id; serve re-applies it (an upsert by name)
    prefect_serve(*served)
