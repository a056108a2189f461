"""Running the upload API inside `docverify serve`: uvicorn in a background thread of the serving process, so the
API, the Prefect runner and its deployments start and stop together. Alone, any ASGI server runs the app
(`uvicorn --factory flows.api:app_from_environment`)."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from pipeline.errors import DocverifyError

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


class ApiServerError(DocverifyError):
    """The upload API did not start (most often: the port is taken)."""

    code = "api_server_unavailable"
    retryable = True
    user_message = "The upload API did not start; is the port free?"


@contextlib.contextmanager
def api_server(app: FastAPI, host: str, port: int) -> Iterator[uvicorn.Server]:
    """Serve `app` on host:port in a daemon thread for the duration of the block, then stop it gracefully
    (in-flight requests finish). uvicorn installs no signal handlers off the main thread, so the main thread's
    owner (Prefect's runner) keeps SIGINT/SIGTERM. Raises ApiServerError when it does not start in time."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                            server_header=False, date_header=True)
    server = uvicorn.Server(config)
    # The caller's context goes with the thread: Prefect keeps its settings (the API URL that serve's local server
    # was given) in a context variable, which a new thread would not see.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(server.run,), name="docverify-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ApiServerError(f"no listener on {host}:{port} within {STARTUP_TIMEOUT_S:.0f} s")
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
