"""Deployments and the local Prefect server.

`docverify serve` and `docverify batch` need a Prefect API. When none is configured (no PREFECT_API_URL), a local
server (SQLite under `<data dir>/prefect`) is started in the background on 127.0.0.1 — or one already running there
is reused — instead of Prefect's ephemeral in-process server, which prints tracebacks on shutdown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from pipeline.errors import DocverifyError

HOST = "127.0.0.1"
DEFAULT_PORT = 4200
BATCH_CRON_ENV = "DOCVERIFY_BATCH_CRON"
DEFAULT_BATCH_CRON = "*/15 * * * *"
RECONCILE_EVERY = timedelta(seconds=60)  # goal figures: the reconciler runs every 60 s
VERIFY_DEPLOYMENT = "verify-upload/verify-upload"
BATCH_DEPLOYMENT = "batch-verify/batch"
RECONCILE_DEPLOYMENT = "reconcile/reconcile"


class PrefectServerError(DocverifyError):
    """The local Prefect server did not start."""

    code = "prefect_server_unavailable"
    retryable = True
    user_message = "The local Prefect server did not start; see <data dir>/prefect/server.log."


def data_dir() -> Path:
    """DOCVERIFY_DATA_DIR (default ./var), absolute."""
    return Path(os.environ.get("DOCVERIFY_DATA_DIR") or "var").resolve()


def healthy(api_url: str, timeout_s: float = 2.0) -> bool:
    """True when a Prefect API answers /health at `api_url`."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


@contextlib.contextmanager
def local_prefect_api(home: Path | None = None, port: int = DEFAULT_PORT,
                      startup_timeout_s: float = 90.0) -> Iterator[str]:
    """The Prefect API URL to use: PREFECT_API_URL when configured; else a local server on 127.0.0.1 (reused when
    one answers on `port`, otherwise started with PREFECT_HOME=`home` and stopped on exit). Inside the block the
    URL is the process's Prefect setting and in os.environ (for child processes). Raises PrefectServerError."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()
    if configured:
        yield str(configured)
        return
    url = f"http://{HOST}:{port}/api"
    process: subprocess.Popen[bytes] | None = None
    if not healthy(url):
        if _port_open(port):  # something else holds the port: use another one
            port = _free_port()
            url = f"http://{HOST}:{port}/api"
        process = _start_server(home or data_dir() / "prefect", port, url, startup_timeout_s)
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
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


def _start_server(home: Path, port: int, url: str, timeout_s: float) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log = (home / "server.log").open("ab")
    process = subprocess.Popen(  # own session: a Ctrl-C in the terminal reaches us, and we stop it cleanly
        [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port), "--analytics-off"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if healthy(url):
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


def batch_cron() -> str:
    """The batch schedule: DOCVERIFY_BATCH_CRON, default every 15 minutes."""
    return os.environ.get(BATCH_CRON_ENV) or DEFAULT_BATCH_CRON


def deployments(inbox: str | None = None, cron: str | None = None) -> list[Any]:
    """The three runner deployments `docverify serve` serves: the batch on a cron, the per-upload flow (no
    schedule: the upload API triggers it with `trigger_verify`), and the reconciler on an interval."""
    from flows.flows import batch_flow_for, verify_upload
    from flows.reconcile import reconcile

    return [
        batch_flow_for().to_deployment(name="batch", cron=cron or batch_cron(), parameters={"inbox": inbox},
                                       description="Verify every pending upload (and the inbox folder)."),
        verify_upload.to_deployment(name="verify-upload", description="Verify one upload, by id."),
        reconcile.to_deployment(name="reconcile", interval=RECONCILE_EVERY,
                                description="Requeue uploads whose run crashed, vanished or went silent."),
    ]


def trigger_verify(upload_id: str) -> str:
    """Start the per-upload deployment for `upload_id` without waiting (what the upload API calls); the run id."""
    from prefect.deployments import run_deployment

    run = run_deployment(VERIFY_DEPLOYMENT, parameters={"upload_id": upload_id}, timeout=0)
    return str(run.id)  # type: ignore[union-attr]


def serve(inbox: str | None = None) -> None:
    """Serve the deployments until interrupted (Prefect's runner; one process)."""
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(inbox))
