"""The local Prefect server of `docverify serve` / `batch` (flows/deploy.py) is locked down (docs/THREAT-MODEL.md
B7): a generated auth string kept 0600, CSRF protection on, CORS closed to other origins, and a server that merely
answers /health on the port is never reused."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from flows.deploy import auth_string, local_prefect_api, ours, server_environment
from pipeline.settings import Settings


class _Stranger(BaseHTTPRequestHandler):
    """Any HTTP server that answers 200 to everything, /health included (another tool, or a stranger's Prefect)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stranger() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stranger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


def test_when_the_auth_string_is_needed_then_it_is_generated_once_and_kept_owner_only(tmp_path: Path) -> None:
    first = auth_string(tmp_path)
    path = tmp_path / "secrets" / "prefect-auth"
    assert first.startswith("docverify:") and len(first) > 40
    assert auth_string(tmp_path) == first
    assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    path.chmod(0o644)
    assert auth_string(tmp_path) == first and path.stat().st_mode & 0o777 == 0o600


def test_when_the_server_environment_is_built_then_the_lock_down_wins_and_our_secrets_stay_out(tmp_path) -> None:
    environ = {"PATH": os.environ["PATH"], "DOCVERIFY_DATABASE_URL": "postgresql://u:Zzsecret@db/x",
               "PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "false",
               "PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS": "*", "PREFECT_API_URL": "http://elsewhere/api",
               "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "7"}
    env = server_environment(environ, tmp_path, 4321, "docverify:abc")
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == env["PREFECT_API_AUTH_STRING"] == "docverify:abc"
    assert env["PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED"] == "true"
    assert env["PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS"] == "http://127.0.0.1:4321"
    assert "DOCVERIFY_DATABASE_URL" not in env and "PREFECT_API_URL" not in env
    assert env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] == "7"  # tuning stays the operator's


def test_when_a_stranger_answers_health_then_it_is_not_taken_for_ours(stranger: int) -> None:
    url = f"http://127.0.0.1:{stranger}/api"
    assert httpx.get(f"{url}/health").status_code == 200
    assert not ours(url, "docverify:whatever")


# Regression: the local Prefect server ran without an auth string, with CSRF protection off and CORS open, and
# `serve` reused whatever answered /health on its port.
def test_when_a_local_server_is_started_then_it_needs_our_auth_refuses_csrf_and_cors_and_is_reused_only_if_ours(
        tmp_path: Path, stranger: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_AUTH_STRING", raising=False)
    monkeypatch.setenv("DOCVERIFY_DATA_DIR", str(tmp_path / "var"))
    settings = Settings()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # A session's test Prefect server (tests/conftest.py prefect_api) may be configured already: start from none.
    with temporary_settings(updates={PREFECT_API_URL: None}), \
            local_prefect_api(settings, port=stranger, startup_timeout_s=180) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert port != stranger  # the stranger's port was not reused
        auth = (tmp_path / "var" / "secrets" / "prefect-auth").read_text().strip()
        assert os.environ["PREFECT_API_AUTH_STRING"] == auth
        user, _, password = auth.partition(":")
        assert httpx.get(f"{url}/admin/version").status_code == 401
        assert httpx.get(f"{url}/admin/version", auth=(user, "wrong")).status_code == 401
        assert httpx.get(f"{url}/admin/version", auth=(user, password)).status_code == 200
        # CSRF: a state-changing request with valid credentials but no CSRF token is refused
        no_token = httpx.post(f"{url}/flows/", json={"name": "x"}, auth=(user, password))
        assert no_token.status_code == 403
        # CORS: no other origin is allowed
        preflight = httpx.options(f"{url}/flows/filter", headers={
            "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
        assert preflight.headers.get("access-control-allow-origin") not in ("*", "http://evil.example")
        # Our own server on its port is reused (no second server: the same URL comes back)
        os.environ.pop("PREFECT_API_URL")  # as a fresh `docverify batch` sees it (restored by the outer block)
        with temporary_settings(updates={PREFECT_API_URL: None}), local_prefect_api(settings, port=port) as again:
            assert again == url
    with socket.socket() as s:  # stopped on exit
        assert s.connect_ex(("127.0.0.1", port)) != 0
