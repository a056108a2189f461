"""The outbound webhook (flows/webhooks.py, storage/webhooks.py) against a real HTTP receiver (http.server in a
thread) that checks every signature itself: each status change of an upload is POSTed once with ids and status only,
signed over "timestamp.body"; failures are retried with exponential backoff; every attempt is recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pydantic
import pytest
from fastapi.testclient import TestClient
from prefect.settings import PREFECT_API_URL, temporary_settings
from pydantic import SecretStr

from flows.api import create_app
from flows.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookDispatcher
from pipeline.errors import EmptyFile
from pipeline.evaluate import Intake, rejected_report
from pipeline.settings import Settings
from pipeline.types import Payer
from storage.access import Access, AccessRole
from storage.store import Store, StoreSettings
from storage.webhooks import deliveries

SECRET = "whsec-test-3f9a"
CANARY = "Zzcanary Qxjwick"
PDF = (Path(__file__).resolve().parents[1] / "samples" / "inputs" / "problem_list_migraine.pdf").read_bytes()


class Receiver:
    """A local HTTP endpoint: answers each POST with the next scripted status (then 200) and keeps what it got,
    with whether the signature verified under SECRET."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers[TIMESTAMP_HEADER]
                expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body,
                                                hashlib.sha256).hexdigest()
                receiver.received.append({
                    "body": json.loads(body), "timestamp": int(timestamp),
                    "verified": hmac.compare_digest(expected, self.headers[SIGNATURE_HEADER])})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/docverify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals"))
    s.migrate()
    yield s
    s.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _add(store: Store, data: bytes = PDF) -> str:
    record, _ = store.add_upload(data, owner="ana", display_name="n.pdf", media_type="application/pdf",
                                 intake=Intake(CANARY, Payer.MEDICARE))
    return record.id


def _finish_rejected(store: Store, upload_id: str) -> None:
    record = store.claim(upload_id, "test-worker")
    assert record is not None
    store.save_report(upload_id, rejected_report(EmptyFile("t"), sha256=record.sha256, media_type=record.media_type,
                                                 size_bytes=record.size_bytes, payer=record.payer,
                                                 versions={"docverify": "test"}), "test", fence=record.fence)


def _wait(predicate: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_when_an_upload_changes_status_then_each_change_is_posted_signed_with_ids_and_status_only(
        store: Store) -> None:
    _, token = Access(store).create_token(AccessRole.UPLOADER)
    with Receiver() as receiver, \
            temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{_closed_port()}/api"}):
        settings = Settings(_env_file=None, webhook_url=receiver.url,  # type: ignore[call-arg]
                            webhook_secret=SecretStr(SECRET), webhook_backoff_s=0.05)
        with TestClient(create_app(settings, store)) as client:  # the app's lifespan runs the dispatcher
            response = client.post("/api/uploads", headers={"Authorization": f"Bearer {token}"},
                                   data={"patient_name": CANARY, "payer": "medicare"},
                                   files={"file": ("n.pdf", PDF, "application/pdf")})
            upload_id = response.json()["upload_id"]
            _finish_rejected(store, upload_id)
            _wait(lambda: len(receiver.received) >= 3)
    bodies = [r["body"] for r in receiver.received]
    assert [(b["upload_id"], b["status"]) for b in bodies] == \
        [(upload_id, "pending"), (upload_id, "processing"), (upload_id, "rejected")]
    assert all(set(b) == {"event_id", "upload_id", "status"} for b in bodies)
    assert len({b["event_id"] for b in bodies}) == 3
    assert all(r["verified"] and abs(r["timestamp"] - time.time()) < 120 for r in receiver.received)
    assert CANARY not in json.dumps(bodies)
    recorded = deliveries(store, upload_id)
    assert [(d.upload_status, d.attempt, d.response_status, d.outcome) for d in recorded] == \
        [("pending", 1, 200, "delivered"), ("processing", 1, 200, "delivered"), ("rejected", 1, 200, "delivered")]


def test_when_the_receiver_fails_then_the_event_is_retried_with_exponential_backoff_and_each_attempt_recorded(
        store: Store) -> None:
    waits: list[float] = []
    with Receiver([503, 500]) as receiver:
        dispatcher = WebhookDispatcher(store, receiver.url, SECRET.encode(), max_attempts=5, backoff_s=0.5,
                                       sleep=waits.append)
        assert dispatcher.run_once() == 0  # the cursor starts at the current end of the audit log
        upload_id = _add(store)
        assert dispatcher.run_once() == 1
    assert waits == [0.5, 1.0]
    assert [r["verified"] for r in receiver.received] == [True, True, True]
    assert [(d.attempt, d.response_status, d.outcome) for d in deliveries(store, upload_id)] == \
        [(1, 503, "http_503"), (2, 500, "http_500"), (3, 200, "delivered")]


def test_when_the_receiver_cannot_be_reached_then_the_event_is_given_up_after_max_attempts_and_the_next_goes(
        store: Store) -> None:
    waits: list[float] = []
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    dispatcher = WebhookDispatcher(store, url, SECRET.encode(), max_attempts=3, backoff_s=1.0, sleep=waits.append)
    dispatcher.run_once()
    first, second = _add(store), _add(store, PDF + b"\n%other")
    assert dispatcher.run_once() == 2
    assert waits == [1.0, 2.0, 1.0, 2.0]
    for upload_id in (first, second):
        assert [(d.attempt, d.response_status, d.outcome) for d in deliveries(store, upload_id)] == \
            [(1, None, "ConnectError"), (2, None, "ConnectError"), (3, None, "ConnectError")]
    # A restarted dispatcher resumes after the last event it tried: nothing is sent twice.
    assert WebhookDispatcher(store, url, SECRET.encode(), max_attempts=3, backoff_s=1.0,
                             sleep=waits.append).run_once() == 0


def test_when_a_webhook_url_is_set_without_a_secret_then_the_settings_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="WEBHOOK_SECRET"):
        Settings(_env_file=None, webhook_url="https://example.org/hook")  # type: ignore[call-arg]
    assert Settings(_env_file=None).webhook_url is None  # type: ignore[call-arg]
