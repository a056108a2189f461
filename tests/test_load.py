"""Rate limits per token and load on loopback (docs/THREAT-MODEL.md "Test plan" items 37 and 44; docs/API.md
"Errors"; docs/ARCHITECTURE.md "Rate limits and overload").

- The limiter (flows/api/ratelimit.py) with a fake clock: a token's bucket empties after its burst, refills at its
  rate, says how long until the next request in Retry-After, and is kept per token.
- The app over a real SQLite store: past a token's upload limit the answer is 429 in the one error shape with
  Retry-After, another token still uploads, and the same token still reads; with every upload slot taken by a slow
  body, the next upload is 503 `server_busy` with Retry-After.
- A bounded load run (benchmarks/load/run.py, the profile of `make load` cut to ~10 s): 20 uploaders and a burst of
  100 clients against a real `uvicorn` on loopback, a worker verifying meanwhile, on SQLite and on PostgreSQL
  (skipped saying why when it cannot be reached). The answers, the server's log and the store are checked here, not
  only the runner's verdict.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from stores import KINDS, PG_URL, migrated_store, pg_unreachable, store_settings

from flows.api import create_app
from flows.api.errors import ApiError
from flows.api.ratelimit import Rate, SharedTokenBuckets, TokenBuckets, UploadSlots, retry_after
from flows.api.server import api_server
from pipeline.settings import Settings
from storage.access import Access, AccessRole
from storage.ratelimits import RateBuckets
from storage.store import Store, StoreSettings, UploadState

ROOT = Path(__file__).resolve().parents[1]
PDF = (ROOT / "samples" / "inputs" / "problem_list_migraine.pdf").read_bytes()


class FakeClock:
    """Seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the limiter ----------------------------------------------------------------------------------------------------

@contextmanager
def _buckets(kind: str, rate: Rate, clock: FakeClock, tmp_path: Path) -> Iterator[TokenBuckets | SharedTokenBuckets]:
    """In-process buckets, or buckets kept in a store's database (`kind` "sqlite" or "postgresql")."""
    if kind == "memory":
        yield TokenBuckets(rate, clock=clock)
        return
    with migrated_store(kind, tmp_path) as store:
        yield SharedTokenBuckets(rate, RateBuckets(store), "uploads", clock=clock)


@pytest.mark.parametrize("kind", ["memory", *KINDS])
def test_when_a_token_spends_its_burst_then_the_next_request_waits_for_the_refill(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    with _buckets(kind, Rate(per_minute=30, burst=3), clock, tmp_path) as buckets:  # one unit every 2 s
        _spend_the_burst_and_refill(buckets, clock)


def _spend_the_burst_and_refill(buckets: TokenBuckets | SharedTokenBuckets, clock: FakeClock) -> None:
    assert [buckets.take("tok-a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("tok-a") == pytest.approx(2.0)
    clock.now += 1.5
    assert buckets.take("tok-a") == pytest.approx(0.5)  # refilling continuously: 0.75 of a unit is there
    clock.now += 0.5
    assert buckets.take("tok-a") == 0.0
    assert buckets.take("tok-a") == pytest.approx(2.0)
    clock.now += 600  # a long pause refills to the burst, never past it
    assert [buckets.take("tok-a") for _ in range(4)][-1] == pytest.approx(2.0)


@pytest.mark.parametrize("kind", ["memory", *KINDS])
def test_when_one_token_is_over_its_limit_then_another_token_is_not(kind: str, tmp_path: Path) -> None:
    clock = FakeClock()
    with _buckets(kind, Rate(per_minute=60, burst=1), clock, tmp_path) as buckets:
        assert buckets.take("tok-a") == 0.0
        assert buckets.take("tok-a") == pytest.approx(1.0)
        assert buckets.take("tok-b") == 0.0


# Regression: the limits were kept per API process, so two API processes behind one address let a token make twice
# its requests (docs/ARCHITECTURE.md "Rate limits and overload").
@pytest.mark.parametrize("kind", KINDS)
def test_when_two_api_processes_share_the_store_then_a_token_is_limited_across_both(kind: str,
                                                                                   tmp_path: Path) -> None:
    with store_settings(kind, tmp_path) as shared:
        first, second = Store(shared), Store(shared)  # two processes' stores on one database
        first.migrate()
        _, secret = Access(first).create_token(AccessRole.UPLOADER)
        settings = Settings(_env_file=None, api_requests_per_minute=0.01, api_request_burst=4,  # type: ignore[call-arg]
                            api_shared_rate_limits=True)
        try:
            with TestClient(create_app(settings, first, trigger=lambda _: "")) as one, \
                    TestClient(create_app(settings, second, trigger=lambda _: "")) as two:
                auth = {"Authorization": f"Bearer {secret}"}
                codes = [client.get("/api/uploads/" + "0" * 32, headers=auth).status_code
                         for client in (one, two, one, two, one, two)]
                assert codes == [404, 404, 404, 404, 429, 429]  # four in all, whichever process answers
        finally:
            first.close()
            second.close()


@pytest.mark.parametrize(("wait_s", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")],
                         ids=["under-a-second", "exactly-one", "rounded-up", "a-minute"])
def test_when_a_wait_is_turned_into_retry_after_then_it_is_whole_seconds_never_earlier(wait_s: float,
                                                                                       header: str) -> None:
    assert retry_after(wait_s) == header
    assert int(header) >= wait_s


def test_when_every_upload_slot_is_taken_then_one_more_is_refused_with_retry_after() -> None:
    slots = UploadSlots(2)
    with slots.slot(), slots.slot():
        assert slots.in_use == 2
        with pytest.raises(ApiError) as refused, slots.slot():
            pass
    assert (refused.value.status, refused.value.code) == (503, "server_busy")
    assert refused.value.headers is not None and int(refused.value.headers["Retry-After"]) >= 1
    assert slots.in_use == 0
    with slots.slot():  # freed again
        assert slots.in_use == 1


# --- the app ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with migrated_store("sqlite", tmp_path) as s:
        yield s


def _post(client: Any, secret: str, data: bytes, url: str = "/api/uploads") -> Any:
    return client.post(url, headers={"Authorization": f"Bearer {secret}"},
                       data={"patient_name": "Dana Loadtest", "payer": "commercial"},
                       files={"file": ("n.pdf", data, "application/pdf")})


def test_when_a_token_uploads_past_its_limit_then_it_gets_429_with_retry_after_and_others_go_on(
        store: Store) -> None:
    access = Access(store)
    _, first = access.create_token(AccessRole.UPLOADER)
    _, second = access.create_token(AccessRole.UPLOADER)
    settings = Settings(_env_file=None, api_uploads_per_minute=2, api_upload_burst=2)  # type: ignore[call-arg]
    with TestClient(create_app(settings, store, trigger=lambda _: "")) as client:
        answers = [_post(client, first, PDF + f"\n%{i}".encode()) for i in range(3)]
        assert [a.status_code for a in answers] == [202, 202, 429]
        refused = answers[2]
        assert refused.json() == {"error": {"code": "too_many_requests",
                                            "message": "Too many requests for this token. Please wait and try "
                                                       "again."}}
        assert 1 <= int(refused.headers["Retry-After"]) <= 30  # one upload every 30 s
        assert _post(client, second, PDF + b"\n%other").status_code == 202  # per token
        own = answers[0].json()["upload_id"]
        read = client.get(f"/api/uploads/{own}", headers={"Authorization": f"Bearer {first}"})
        assert read.status_code == 200  # reads count in their own bucket
    assert len(store.list_uploads(UploadState.PENDING)) == 3  # the refused upload was not stored


def test_when_every_upload_slot_holds_a_slow_body_then_the_next_upload_gets_503_with_retry_after(
        store: Store) -> None:
    _, secret = Access(store).create_token(AccessRole.UPLOADER)
    settings = Settings(_env_file=None, api_max_concurrent_uploads=1)  # type: ignore[call-arg]
    port = _free_port()
    boundary = "loadtestboundary"
    fields = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                     for name, value in (("patient_name", "Dana Loadtest"), ("payer", "commercial")))
    head = (f"{fields}--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode()
    body = head + PDF + f"\r\n--{boundary}--\r\n".encode()
    with api_server(create_app(settings, store, trigger=lambda _: ""), "127.0.0.1", port), \
            socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        # A client that sends its headers and the first bytes of its body, then stalls: it holds the one slot.
        slow.sendall((f"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:100])
        deadline = time.monotonic() + 10
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            while True:
                busy = _post(http, secret, PDF + b"\n%second")
                if busy.status_code == 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)  # the slow request may not have reached the handler yet
            assert busy.status_code == 503
            assert busy.json()["error"]["code"] == "server_busy" and int(busy.headers["Retry-After"]) >= 1
            slow.sendall(body[100:])  # the slow body completes: stored, and the slot is free again
            assert slow.recv(4096).startswith(b"HTTP/1.1 202")
            assert _post(http, secret, PDF + b"\n%third").status_code == 202


# --- load on loopback ------------------------------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@pytest.mark.parametrize("kind", KINDS)
def test_when_twenty_uploaders_and_a_burst_of_a_hundred_hit_the_api_then_it_refuses_politely_and_loses_nothing(
        kind: str, tmp_path: Path) -> None:
    # docs/THREAT-MODEL.md "Test plan" items 37 and 44, bounded (~10 s of load): the full profile is `make load`.
    if kind == "postgresql" and (reason := pg_unreachable()):
        pytest.skip(reason)
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCVERIFY_", "PREFECT_"))}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load" / "run.py"), "--stores", kind,
                          "--users", "20", "--duration", "10", "--pace", "8", "--burst", "100",
                          "--burst-tokens", "2", "--burst-requests", "1", "--drain-timeout", "120",
                          "--pg-url", PG_URL, "--work-dir", str(tmp_path / "work"), "--out", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    work = tmp_path / "work" / kind
    steady = json.loads((work / "steady.json").read_text())["records"]
    burst = json.loads((work / "burst.json").read_text())["records"]
    assert len(steady) >= 20 and len(burst) == 100, run.stdout[-2000:] + run.stderr[-2000:]

    def refused_politely(r: dict[str, Any]) -> bool:
        return r["status"] in (429, 503) and bool(r["retry_after"])

    # steady: every answer a 2xx (or a polite refusal), fast enough
    assert all(200 <= r["status"] < 300 or refused_politely(r) for r in steady), steady
    accept_ms = [r["ms"] for r in steady if r["status"] == 202]
    assert accept_ms and _percentile(accept_ms, 0.95) <= 1000.0
    # burst: only 2xx, 429 or 503 with Retry-After — and the per-token limit did refuse some (2 tokens, burst 10)
    assert all(200 <= r["status"] < 300 or refused_politely(r) for r in burst), burst
    assert sum(r["status"] == 429 for r in burst) >= 100 - 2 * 10 - 4  # a few refills at most
    assert all(r["code"] in ("too_many_requests", "server_busy") for r in burst if r["status"] >= 400)
    # the server's log: no lock error, no traceback
    log = (work / "server.log").read_text(encoding="utf-8", errors="replace")
    assert "database is locked" not in log.lower() and "Traceback" not in log
    # every accepted upload verified afterwards (SQLite: read here from the store; PostgreSQL: its schema is gone,
    # so from the runner's count taken before it was dropped)
    accepted = {r["upload_id"] for r in steady + burst if r["status"] in (200, 202)}
    results = json.loads(out.read_text())["stores"][kind]
    if kind == "sqlite":
        settings = Settings(_env_file=None, data_dir=work / "var")  # type: ignore[call-arg]
        checked = Store(StoreSettings.of(settings))
        try:
            states = [checked.get(upload_id) for upload_id in accepted]
            assert all(s is not None and s.state is UploadState.DONE for s in states)
            assert checked.list_uploads(UploadState.PENDING) == [] == checked.list_uploads(UploadState.PROCESSING)
            assert checked.verify_audit_chain()
        finally:
            checked.close()
    assert results["store_after"]["states_of_accepted"] == {"done": len(accepted)}
    assert results["store_after"]["left"] == {"pending": 0, "processing": 0, "failed": 0}
    assert run.returncode == 0 and results["passed"], json.dumps(results["checks"])


def test_when_load_results_are_summarised_then_a_503_without_retry_after_counts_as_a_server_error() -> None:
    spec = importlib.util.spec_from_file_location("load_run", ROOT / "benchmarks" / "load" / "run.py")
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    summarise_phase = runner.summarise_phase

    def record(status: int, retry: str | None) -> dict[str, Any]:
        return {"status": status, "retry_after": retry, "code": None, "upload_id": uuid.uuid4().hex, "ms": 10.0}

    summary = summarise_phase([record(202, None), record(503, "2"), record(503, None), record(429, "1"),
                               record(429, None), record(500, None), record(0, None)])
    assert (summary["accepted"], summary["busy_503"], summary["rate_limited_429"]) == (1, 2, 2)
    assert (summary["server_errors"], summary["no_answer"], summary["without_retry_after"]) == (2, 1, 2)
    assert summary["not_allowed"] == 4
