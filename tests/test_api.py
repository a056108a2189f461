"""The upload API (flows/api/) against the real app and a real store: uploads stored first and
answered 202, the same bytes from the same owner 200, uploaders seeing only their own uploads (others' ids: 404),
the body cap while the body streams (413), type by bytes (415 with the report's code), reports by version, paging,
health, one error shape, and the Prefect trigger — reachable (a temporary Prefect server) and not (a closed port:
the upload is still accepted and the batch verifies it). docs/THREAT-MODEL.md "Input caps"; docs/CONVENTIONS.md
"PHI"; docs/THREAT-MODEL.md "Test plan" items 1, 2, 5, 10, 34, 38 (with tests/test_api_schema.py), 41. Store-backed
tests run on SQLite and on the real PostgreSQL ($DOCVERIFY_TEST_PG_URL, skipped saying why when
it cannot be reached)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import save_as_a_run
from fastapi.testclient import TestClient
from prefect.settings import PREFECT_API_URL, temporary_settings
from stores import KINDS, migrated_store

from flows.api import create_app
from flows.api.app import BODY_OVERHEAD_BYTES
from pipeline.errors import EmptyFile
from pipeline.evaluate import Intake, rejected_report
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Payer
from storage.access import Access, AccessRole
from storage.store import Store, StoreSettings, UploadState

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "inputs"
PDF = (SAMPLES / "problem_list_migraine.pdf").read_bytes()
CANARY = "Zzcanary Qxjwick"  # an intake name: it must reach the store and no response, header or log line
PASSWORD = "correct horse battery"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the socket is: nothing listens there


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store: SQLite in tmp_path, or a fresh schema of the real PostgreSQL (tests/stores.py)."""
    with migrated_store(request.param, tmp_path) as s:
        yield s


@pytest.fixture
def tokens(store: Store) -> dict[str, str]:
    """Secrets of: two uploaders (one a person, one a bare token), a coordinator, and a revoked token."""
    access = Access(store)
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    _, ana = access.create_token(AccessRole.UPLOADER, "ana")
    _, clinic = access.create_token(AccessRole.UPLOADER)
    _, coordinator = access.create_token(AccessRole.COORDINATOR)
    revoked, revoked_secret = access.create_token(AccessRole.UPLOADER)
    access.revoke_token(revoked.token_id)
    return {"ana": ana, "clinic": clinic, "coordinator": coordinator, "revoked": revoked_secret}


@pytest.fixture
def no_prefect() -> Iterator[str]:
    """The Prefect API configured at a port where nothing listens."""
    url = f"http://127.0.0.1:{_closed_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield url


@pytest.fixture
def client(store: Store, no_prefect: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(_env_file=None), store)) as c:  # type: ignore[call-arg]
        yield c


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _post(client: TestClient, secret: str, data: bytes = PDF, *, name: str = CANARY, payer: str = "medicare",
          external_id: str | None = "ref-1", filename: str = "note.pdf") -> Any:
    fields = {"patient_name": name, "payer": payer}
    if external_id is not None:
        fields["external_id"] = external_id
    return client.post("/api/uploads", headers=_auth(secret), data=fields,
                       files={"file": (filename, data, "application/octet-stream")})


def _error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return response.status_code, body["error"]["code"]


def _save_rejected_report(store: Store, upload_id: str) -> Report:
    record = store.get(upload_id)
    assert record is not None and store.claim(upload_id, "test-worker") is not None
    report = rejected_report(EmptyFile("test"), sha256=record.sha256, media_type=record.media_type,
                             size_bytes=record.size_bytes, payer=record.payer, versions={"docverify": "test"})
    save_as_a_run(store, upload_id, report)
    return report


# --- reads audited ------------------------------------------------------------------------------------------------

# Regression: reading a report through the API left no trace of who read it (docs/THREAT-MODEL.md item 48).
def test_when_a_report_is_read_then_the_read_is_audited_with_the_reader_and_token_and_the_chain_verifies(
        client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    upload_id = _post(client, tokens["ana"]).json()["upload_id"]
    assert client.get(f"/api/uploads/{upload_id}/report", headers=_auth(tokens["ana"])).status_code == 404
    _save_rejected_report(store, upload_id)
    access = Access(store)
    ana, coordinator = (access.resolve_token(tokens[k]) for k in ("ana", "coordinator"))
    assert ana is not None and coordinator is not None
    assert client.get(f"/api/uploads/{upload_id}/report", headers=_auth(tokens["ana"])).status_code == 200
    assert client.get(f"/api/uploads/{upload_id}/report?version=1",
                      headers=_auth(tokens["coordinator"])).status_code == 200
    assert client.get(f"/api/uploads/{upload_id}/report?version=2",
                      headers=_auth(tokens["coordinator"])).status_code == 404  # nothing read: not audited
    reads = [(a.actor, a.upload_id, a.outcome) for a in store.audit_log(upload_id) if a.action == "report.read"]
    assert reads == [("ana", upload_id, f"v1:token:{ana.token_id}"),
                     (f"token:{coordinator.token_id}", upload_id, f"v1:token:{coordinator.token_id}")]
    assert store.verify_audit_chain()


# --- POST /api/uploads --------------------------------------------------------------------------------------------

def test_when_an_uploader_posts_a_pdf_then_it_is_stored_first_and_answered_202_with_ids_only(
        client: TestClient, store: Store, tokens: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = _post(client, tokens["ana"])
    assert response.status_code == 202
    body = response.json()
    upload_id = body["upload_id"]
    assert body == {"upload_id": upload_id, "status": "pending",
                    "links": {"self": f"/api/uploads/{upload_id}", "report": f"/api/uploads/{upload_id}/report"}}
    record = store.get(upload_id)
    assert record is not None and record.state is UploadState.PENDING
    assert (record.owner, record.intake_patient_name, record.payer, record.external_id, record.media_type) == \
        ("ana", CANARY, Payer.MEDICARE, "ref-1", "application/pdf")
    assert store.read_original(upload_id) == PDF
    # Prefect is unreachable: accepted anyway, left PENDING for the scheduled batch, recorded by code.
    assert ("upload.trigger", "not_started") in [(a.action, a.outcome) for a in store.audit_log(upload_id)]
    assert response.headers["cache-control"] == "no-store"
    assert CANARY not in response.text and CANARY not in caplog.text and "note.pdf" not in caplog.text


def test_when_the_same_bytes_come_again_then_the_same_owner_gets_the_same_upload_and_another_owner_a_new_one(
        client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    first = _post(client, tokens["ana"])
    again = _post(client, tokens["ana"], name="Someone Else", filename="other.pdf")
    other = _post(client, tokens["clinic"])
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 202)
    assert again.json()["upload_id"] == first.json()["upload_id"] != other.json()["upload_id"]
    assert again.json()["status"] == "pending"
    assert len(store.list_uploads()) == 2
    assert store.get(other.json()["upload_id"]).owner.startswith("token:")  # type: ignore[union-attr]


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"hello, this is plain text", 415, "unsupported_type"),
    (b"<html><body>%PDF-1.4</body></html>", 415, "unsupported_type"),
    (b"", 422, "empty_file"),
], ids=["text", "html-polyglot", "empty"])
def test_when_the_bytes_are_not_an_accepted_type_then_the_report_error_code_is_answered(
        client: TestClient, store: Store, tokens: dict[str, str], data: bytes, status: int, code: str) -> None:
    response = _post(client, tokens["ana"], data, filename="note.pdf")  # the name says PDF; the bytes decide
    assert _error(response) == (status, code)
    assert store.list_uploads() == []


def test_when_the_file_is_over_the_file_cap_but_the_body_is_not_then_413_file_too_large(
        store: Store, tokens: dict[str, str], no_prefect: str) -> None:
    limits = Limits(max_bytes=4096)
    with TestClient(create_app(Settings(_env_file=None), store, limits=limits)) as c:  # type: ignore[call-arg]
        response = _post(c, tokens["ana"], b"%PDF-1.4\n" + b"0" * 5000)
    assert _error(response) == (413, "file_too_large")
    assert store.list_uploads() == []


@pytest.mark.parametrize(("fields", "where"), [
    ({"payer": "medicare"}, "patient_name"),
    ({"patient_name": CANARY, "payer": "gold-plated"}, "payer"),
    ({"patient_name": CANARY + "\r\nX-Injected: 1", "payer": "medicare"}, "patient_name"),
    ({"patient_name": CANARY, "payer": "medicare", "external_id": "x" * 129}, "external_id"),
], ids=["no-name", "unknown-payer", "control-characters", "external-id-too-long"])
def test_when_a_form_field_is_missing_or_invalid_then_422_names_the_field_not_its_value(
        client: TestClient, store: Store, tokens: dict[str, str], fields: dict[str, str], where: str) -> None:
    response = client.post("/api/uploads", headers=_auth(tokens["ana"]), data=fields,
                           files={"file": ("n.pdf", PDF, "application/pdf")})
    assert _error(response) == (422, "invalid_request")
    assert where in response.json()["error"]["message"] and CANARY not in response.text
    assert store.list_uploads() == []


def test_when_the_file_part_is_missing_then_422(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.post("/api/uploads", headers=_auth(tokens["ana"]),
                           data={"patient_name": CANARY, "payer": "medicare"})
    assert _error(response) == (422, "invalid_request")


# --- the body cap, while the body streams -------------------------------------------------------------------------

def _multipart_chunks(total_file_bytes: int, chunk: int, boundary: str) -> Iterator[bytes]:
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"patient_name\"\r\n\r\n{CANARY}\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"payer\"\r\n\r\nmedicare\r\n"
           f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
           f"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()
    sent = 0
    while sent < total_file_bytes:
        yield b"0" * chunk
        sent += chunk
    yield f"\r\n--{boundary}--\r\n".encode()


# Regression: an upload that dripped its body at 1 B/s held one of the API's upload slots for as long as it liked (no
# read deadline in uvicorn or the app); 8 such clients answered every real upload 503 (hostile item 7).
def test_when_a_client_drips_or_stalls_its_upload_then_it_is_cut_with_408_and_the_api_stays_quick(
        store: Store, tokens: dict[str, str], no_prefect: str) -> None:
    import httpx

    from flows.api.server import api_server

    limits = Limits(body_idle_s=1.5, body_grace_s=1.0, body_min_rate=1024)
    settings = Settings(_env_file=None, api_max_concurrent_uploads=3)  # type: ignore[call-arg]
    port = _closed_port()
    boundary = "docverifyboundary"
    head = (f"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tokens['ana']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000\r\n\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n").encode()

    def answer_of(sock: socket.socket) -> tuple[bytes, float]:
        started, got = time.monotonic(), b""
        while chunk := sock.recv(4096):
            got += chunk
        return got, time.monotonic() - started

    with api_server(create_app(settings, store, limits=limits), "127.0.0.1", port), httpx.Client(timeout=5) as http:
        drippers = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        staller = socket.create_connection(("127.0.0.1", port))
        for s in (*drippers, staller):
            s.sendall(head)
        health: list[float] = []
        began = time.monotonic()
        while time.monotonic() - began < 1.2:  # every slot held by the drippers and the staller meanwhile
            for s in drippers:
                s.sendall(b"%")
            started = time.perf_counter()
            assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            health.append(time.perf_counter() - started)
            time.sleep(0.2)
        for s in drippers:
            s.sendall(b"%")  # the first chunk after the grace: under 1 KB/s on average
        for s in (*drippers, staller):
            s.settimeout(5)
            got, waited = answer_of(s)
            status_line, _, rest = got.partition(b"\r\n")
            assert status_line.startswith(b"HTTP/1.1 408"), status_line
            assert json.loads(rest.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"
            assert waited < 3  # answered and closed (recv saw the end), not left open
            s.close()
        assert max(health) < 0.25
        ok = http.post(f"http://127.0.0.1:{port}/api/uploads", headers=_auth(tokens["ana"]),
                       data={"patient_name": CANARY, "payer": "commercial"},
                       files={"file": ("n.pdf", PDF, "application/pdf")})
        assert ok.status_code == 202  # the slots were given back
    assert [u.display_name for u in store.list_uploads()] == ["n.pdf"]  # nothing of the cut uploads stored


def _multipart_abuse(kind: str, boundary: str) -> bytes:
    if kind == "10,000 parts":
        return ("".join(f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
                        for i in range(10_000)) + f"--{boundary}--\r\n").encode()
    if kind == "a 1 MB part-header block":
        return (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nX-Pad: '
                + "a" * 1_000_000 + f"\r\n\r\n%PDF-1.4\r\n--{boundary}--\r\n").encode()
    return b"--another-boundary\r\nnot a part at all"  # a malformed boundary


# docs/THREAT-MODEL.md hostile item 6: multipart abuse is answered 400 within 1 s of CPU, nothing stored.
@pytest.mark.parametrize("kind", ["10,000 parts", "a 1 MB part-header block", "a malformed boundary"])
def test_when_a_multipart_body_is_abusive_then_it_is_answered_400_within_a_second_of_cpu_and_nothing_is_stored(
        client: TestClient, store: Store, tokens: dict[str, str], kind: str) -> None:
    boundary = "docverifyboundary"
    started = time.process_time()
    answer = client.post("/api/uploads", content=_multipart_abuse(kind, boundary),
                         headers={**_auth(tokens["ana"]), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert time.process_time() - started < 1.0
    assert _error(answer) == (400, "bad_request")
    assert store.list_uploads() == []

def test_when_a_30_mb_body_streams_in_chunks_then_reading_stops_at_the_cap_with_413(
        store: Store, tokens: dict[str, str], no_prefect: str) -> None:
    # The body is sent as ASGI messages of 64 KiB without a Content-Length (as a chunked upload arrives), so the
    # cap can only be enforced by counting: the app must stop pulling messages right after the cap.
    app = create_app(Settings(_env_file=None), store)  # type: ignore[call-arg]
    chunk, boundary = 64 * 1024, "docverifyboundary"
    chunks = _multipart_chunks(30 * 1024 * 1024, chunk, boundary)
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        body = next(chunks, None)
        if body is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/uploads", "raw_path": b"/api/uploads", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"test"), (b"authorization", f"Bearer {tokens['ana']}".encode()),
                         (b"content-type", f"multipart/form-data; boundary={boundary}".encode())],
             "client": ("127.0.0.1", 1), "server": ("test", 80)}
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    cap = DEFAULT_LIMITS.max_bytes + BODY_OVERHEAD_BYTES
    assert start["status"] == 413 and json.loads(body)["error"]["code"] == "file_too_large"
    assert cap < pulled <= cap + chunk  # stopped at the first message over the cap, not at 30 MB
    assert store.list_uploads() == []


def test_when_the_declared_length_is_over_the_cap_then_413_before_the_body_is_read(
        client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    cap = DEFAULT_LIMITS.max_bytes + BODY_OVERHEAD_BYTES
    response = client.post("/api/uploads", headers={**_auth(tokens["ana"]), "Content-Length": str(cap + 1),
                                                    "Content-Type": "multipart/form-data; boundary=x"},
                           content=b"--x--\r\n" + b"0" * (cap + 1 - 7))
    assert _error(response) == (413, "file_too_large")
    assert store.list_uploads() == []


# --- access -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer dv_not-a-real-token"},
                                     {"Authorization": "Basic YW5hOnB3"}, "revoked"],
                         ids=["none", "unknown", "basic", "revoked"])
def test_when_the_token_is_missing_unknown_or_revoked_then_401_and_nothing_is_stored(
        client: TestClient, store: Store, tokens: dict[str, str], headers: Any) -> None:
    headers = _auth(tokens["revoked"]) if headers == "revoked" else headers
    response = client.post("/api/uploads", headers=headers, data={"patient_name": CANARY, "payer": "medicare"},
                           files={"file": ("n.pdf", PDF, "application/pdf")})
    assert _error(response) == (401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert _error(client.get("/api/uploads", headers=headers)) == (401, "unauthorized")
    assert store.list_uploads() == []


def test_when_an_uploader_asks_for_anothers_upload_then_404_exactly_like_an_unknown_id(
        client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    upload_id = _post(client, tokens["ana"]).json()["upload_id"]
    _save_rejected_report(store, upload_id)
    unknown = "0" * 32
    for path in (f"/api/uploads/{upload_id}", f"/api/uploads/{upload_id}/report"):
        theirs = client.get(path, headers=_auth(tokens["clinic"]))
        missing = client.get(path.replace(upload_id, unknown), headers=_auth(tokens["clinic"]))
        assert _error(theirs) == _error(missing) == (404, "not_found")
        assert theirs.json() == missing.json()
        assert client.get(path, headers=_auth(tokens["ana"])).status_code == 200
        assert client.get(path, headers=_auth(tokens["coordinator"])).status_code == 200
    denied = [(a.actor.split(":")[0], a.outcome) for a in store.audit_log(upload_id)
              if a.action == "upload.read_denied"]
    assert denied == [("token", "not_owner"), ("token", "not_owner")]  # the other uploader's two attempts
    assert client.get("/api/uploads", headers=_auth(tokens["clinic"])).json()["items"] == []
    assert [u["upload_id"] for u in client.get("/api/uploads", headers=_auth(tokens["coordinator"])).json()["items"]] \
        == [upload_id]


# The authorisation matrix (docs/THREAT-MODEL.md "HIPAA technical safeguards", access control): every route the app
# serves, by who calls. "public" routes carry no PHI and need no token; every other route answers 401 without a valid
# token, and a route that names an upload or a case answers another uploader 404 with the body of an unknown id.
PUBLIC_ROUTES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
                 ("GET", "/healthz"), ("GET", "/readyz")}
# Expected status by caller: the owner of the upload or case (ana), another uploader (clinic), a coordinator.
TOKEN_ROUTES: dict[tuple[str, str], tuple[int, int, int]] = {
    ("POST", "/api/uploads"): (202, 202, 202),
    ("GET", "/api/uploads"): (200, 200, 200),
    ("GET", "/api/uploads/{upload_id}"): (200, 404, 200),
    ("GET", "/api/uploads/{upload_id}/report"): (200, 404, 200),
    ("POST", "/api/cases"): (201, 201, 201),
    ("POST", "/api/cases/{case_id}/uploads"): (202, 404, 202),
    ("GET", "/api/cases/{case_id}/report"): (200, 404, 200),
    ("POST", "/api/cases/{case_id}/decision"): (403, 403, 200),  # only coordinators decide, whoever owns the case
}


def _served_routes(client: TestClient) -> set[tuple[str, str]]:
    return {(method, route.path) for route in client.app.routes  # type: ignore[attr-defined]
            for method in getattr(route, "methods", set()) - {"HEAD"}}


def test_when_any_route_is_called_then_the_authorisation_matrix_holds_for_every_caller(
        client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    # A route added without a row here fails this test: access is decided for each route, never by default.
    assert _served_routes(client) == PUBLIC_ROUTES | set(TOKEN_ROUTES)
    upload_id = _post(client, tokens["ana"]).json()["upload_id"]
    _save_rejected_report(store, upload_id)
    case_id = client.post("/api/cases", headers=_auth(tokens["ana"]),
                          json={"patient_name": CANARY, "payer": "commercial"}).json()["case_id"]
    assert client.post(f"/api/cases/{case_id}/uploads", headers=_auth(tokens["ana"]),
                       files={"file": ("note.pdf", PDF, "application/octet-stream")}).status_code == 200
    unknown = "0" * 32

    def call(method: str, path: str, secret: str | None, *, ids: tuple[str, str] = (upload_id, case_id),
             n: int = 0) -> Any:
        url = path.replace("{upload_id}", ids[0]).replace("{case_id}", ids[1])
        headers = _auth(secret) if secret is not None else {}
        if path == "/api/uploads" and method == "POST":
            return _post(client, secret or "", PDF + b"%" + str(n).encode(), external_id=None) if secret \
                else client.post(url, data={"payer": "commercial"}, files={"file": ("a.pdf", PDF, "x/y")})
        if path.endswith("/uploads") and method == "POST":
            return client.post(url, headers=headers,
                               files={"file": ("note.pdf", PDF + b"%" + str(n).encode(), "application/octet-stream")})
        if path == "/api/cases":
            return client.post(url, headers=headers, json={"patient_name": CANARY, "payer": "commercial"})
        if path.endswith("/decision"):
            return client.post(url, headers=headers, json={"status": "needs_review", "note": "checked"})
        return client.request(method, url, headers=headers)

    for n, ((method, path), expected) in enumerate(sorted(TOKEN_ROUTES.items())):
        for secret in (None, tokens["revoked"], "not-a-token"):
            assert _error(call(method, path, secret)) == (401, "unauthorized"), (method, path)
        got = tuple(call(method, path, tokens[who], n=10 * n + i).status_code
                    for i, who in enumerate(("ana", "clinic", "coordinator")))
        assert got == expected, (method, path)
        if expected[1] == 404:  # another's id reads exactly like an unknown one
            theirs = call(method, path, tokens["clinic"], n=10 * n + 5)
            missing = call(method, path, tokens["clinic"], ids=(unknown, unknown), n=10 * n + 6)
            assert theirs.json() == missing.json() and theirs.status_code == missing.status_code == 404
    listed = {who: {u["upload_id"] for u in client.get("/api/uploads", headers=_auth(tokens[who])).json()["items"]}
              for who in ("ana", "clinic", "coordinator")}
    assert upload_id in listed["ana"] and upload_id in listed["coordinator"] and upload_id not in listed["clinic"]
    for method, path in sorted(PUBLIC_ROUTES):
        assert client.request(method, path).status_code in (200, 503), path  # readyz: 503 while Prefect is away


# --- reading uploads and reports ----------------------------------------------------------------------------------

def test_when_reports_are_saved_then_the_upload_shows_the_newest_status_and_each_version_is_readable(
        client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    upload_id = _post(client, tokens["ana"]).json()["upload_id"]
    assert _error(client.get(f"/api/uploads/{upload_id}/report", headers=_auth(tokens["ana"]))) == \
        (404, "report_not_found")
    first = _save_rejected_report(store, upload_id)
    store.requeue(upload_id, "reprocess", expected=UploadState.DONE)
    _save_rejected_report(store, upload_id)
    view = client.get(f"/api/uploads/{upload_id}", headers=_auth(tokens["ana"])).json()
    assert (view["status"], view["state"], view["report_version"], view["payer"], view["external_id"]) == \
        ("rejected", "done", 2, "medicare", "ref-1")
    assert CANARY not in json.dumps(view)
    newest = client.get(f"/api/uploads/{upload_id}/report", headers=_auth(tokens["ana"]))
    assert newest.status_code == 200 and newest.headers["x-report-version"] == "2"
    assert Report.model_validate_json(newest.content).status.value == "rejected"
    v1 = client.get(f"/api/uploads/{upload_id}/report?version=1", headers=_auth(tokens["ana"]))
    assert v1.headers["x-report-version"] == "1" and Report.model_validate_json(v1.content) == first
    assert _error(client.get(f"/api/uploads/{upload_id}/report?version=3", headers=_auth(tokens["ana"]))) == \
        (404, "report_not_found")
    assert _error(client.get(f"/api/uploads/{upload_id}/report?version=0", headers=_auth(tokens["ana"]))) == \
        (422, "invalid_request")


def test_when_uploads_are_listed_in_pages_then_every_upload_comes_once_in_order_and_filters_apply(
        client: TestClient, store: Store, tokens: dict[str, str]) -> None:
    ids = [_post(client, tokens["ana"], PDF + b"\n%" + bytes([i])).json()["upload_id"] for i in range(5)]
    _save_rejected_report(store, ids[1])
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/uploads", headers=_auth(tokens["ana"]), params=params).json()
        seen += [u["upload_id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    by_status = client.get("/api/uploads", headers=_auth(tokens["ana"]),
                           params={"status": ["rejected"]}).json()["items"]
    assert [u["upload_id"] for u in by_status] == [ids[1]]
    pending = client.get("/api/uploads", headers=_auth(tokens["ana"]), params={"status": "pending"}).json()
    assert [u["upload_id"] for u in pending["items"]] == [i for i in ids if i != ids[1]]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/api/uploads", headers=_auth(tokens["ana"]), params={"since": future}).json()["items"] == []
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert len(client.get("/api/uploads", headers=_auth(tokens["ana"]), params={"since": past}).json()["items"]) == 5
    assert _error(client.get("/api/uploads", headers=_auth(tokens["ana"]), params={"cursor": "garbage!"})) == \
        (422, "invalid_request")
    far = client.get("/api/uploads", headers=_auth(tokens["ana"]), params={"cursor": "9" * 20 + "-" + "f" * 32})
    assert far.status_code == 200 and far.json() == {"items": [], "next_cursor": None}
    for bad_since in ("0.5", "2026-01-05", "2026-01-05T09:00:00", "2026-13-40T09:00:00Z"):
        assert _error(client.get("/api/uploads", headers=_auth(tokens["ana"]), params={"since": bad_since})) == \
            (422, "invalid_request")


# --- errors and health --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/nowhere", 404, "not_found"),
    ("DELETE", "/api/uploads", 405, "method_not_allowed"),
    ("GET", "/api/uploads?limit=0", 422, "invalid_request"),
    ("GET", "/api/uploads?status=lost", 422, "invalid_request"),
], ids=["404", "405", "422-limit", "422-status"])
def test_when_a_request_fails_then_the_error_has_the_one_shape(client: TestClient, tokens: dict[str, str],
                                                               method: str, path: str, status: int, code: str) -> None:
    response = client.request(method, path, headers=_auth(tokens["coordinator"]))
    assert _error(response) == (status, code)


def test_when_prefect_is_unreachable_then_healthz_is_ok_and_readyz_says_which_check_failed(
        client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "not_ready", "checks": {"database": "ok", "prefect": "unreachable"}}


# --- the Prefect trigger ------------------------------------------------------------------------------------------

def test_when_prefect_serves_the_deployment_then_a_flow_run_is_started_with_the_upload_id_only(
        prefect_api: str, store: Store, tokens: dict[str, str]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from flows.flows import verify_upload

    deployment_id = verify_upload.to_deployment(name="verify-upload").apply()  # type: ignore[union-attr]
    assert isinstance(deployment_id, uuid.UUID)
    with TestClient(create_app(Settings(_env_file=None), store)) as c:  # type: ignore[call-arg]
        assert c.get("/readyz").json() == {"status": "ready", "checks": {"database": "ok", "prefect": "ok"}}
        upload_id = _post(c, tokens["ana"]).json()["upload_id"]
    with get_client(sync_client=True) as prefect:
        runs = prefect.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
    # The Prefect server lives for the session: other tests' runs of this deployment may be there too.
    assert [r.parameters for r in runs if r.parameters.get("upload_id") == upload_id] == [{"upload_id": upload_id}]
    assert all(set(r.parameters) == {"upload_id"} for r in runs)
    assert CANARY not in json.dumps([r.model_dump(mode="json") for r in runs])
    assert "upload.trigger" not in [a.action for a in store.audit_log(upload_id)]


def test_when_prefect_was_unreachable_at_upload_then_the_batch_verifies_the_upload(
        prefect_api: str, data_dir: Path, tokens_in_data_dir: dict[str, str]) -> None:
    from flows.flows import batch_verify
    from flows.tasks import open_store

    settings = Settings()
    store = open_store(settings)
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{_closed_port()}/api"}), \
            TestClient(create_app(settings, store)) as c:
        accepted = _post(c, tokens_in_data_dir["ana"], name="Jane Doe")
    assert accepted.status_code == 202
    upload_id = accepted.json()["upload_id"]
    assert store.get(upload_id).state is UploadState.PENDING  # type: ignore[union-attr]
    counts = batch_verify(limit=10)  # what the served batch deployment runs on its schedule
    assert sum(counts.values()) == 1
    with TestClient(create_app(settings, store)) as c:
        view = c.get(f"/api/uploads/{upload_id}", headers=_auth(tokens_in_data_dir["ana"])).json()
        report = c.get(f"/api/uploads/{upload_id}/report", headers=_auth(tokens_in_data_dir["ana"]))
    assert view["state"] == "done" and view["report_version"] == 1
    assert view["status"] in {"complete", "incomplete", "needs_review"}
    assert Report.model_validate_json(report.content).status.value == view["status"]


def test_when_a_batch_is_reading_then_the_api_still_answers_within_a_second(
        prefect_api: str, data_dir: Path, tokens_in_data_dir: dict[str, str]) -> None:
    import threading
    import time

    import httpx

    from flows.api.server import api_server
    from flows.flows import batch_verify
    from flows.tasks import open_store

    # It posts every 0.2 s with one token for as long as the batch reads: the per-token limit is not what it measures.
    settings = Settings(api_upload_burst=10_000)
    store = open_store(settings)
    for name in ("scanned_note_crps_codes.pdf", "fax_referral_neuropathy.tif"):  # OCR: seconds of reading each
        store.add_upload((SAMPLES / name).read_bytes(), owner="inbox", display_name=name, media_type=None,
                         intake=Intake("Jane Doe", Payer.COMMERCIAL))
    batch = threading.Thread(target=batch_verify, kwargs={"limit": 10}, daemon=True)
    port = _closed_port()
    auth = _auth(tokens_in_data_dir["ana"])
    timings: list[float] = []
    with api_server(create_app(settings, store), "127.0.0.1", port), httpx.Client(timeout=10) as http:
        base = f"http://127.0.0.1:{port}"
        batch.start()
        reading_seen = 0
        i = 0
        while batch.is_alive():
            reading = any(r.state is UploadState.PROCESSING for r in store.list_uploads(owner="inbox"))
            upload = {"headers": auth, "data": {"patient_name": "A B", "payer": "unknown"},
                      "files": {"file": ("n.pdf", PDF + f"\n%{i}".encode(), "application/pdf")}}
            for method, path, kwargs, expected in (("GET", "/healthz", {}, 200),
                                                   ("GET", "/api/uploads", {"headers": auth}, 200),
                                                   ("POST", "/api/uploads", upload, 202)):
                started = time.perf_counter()
                answer = http.request(method, f"{base}{path}", **kwargs)
                elapsed = time.perf_counter() - started
                assert answer.status_code == expected
                if reading:
                    timings.append(elapsed)
            reading_seen += reading
            i += 1
            time.sleep(0.2)
        batch.join()
    assert reading_seen >= 3, "the batch finished before the API could be asked while it was reading"
    # The goal is the load test's (docs/THREAT-MODEL.md "Goal figures"): answers within 1 s at the 95th percentile,
    # and none held for long. The batch reads in this process, both cores busy with tesseract: one answer of ~30 at
    # 1.16 s failed a fresh-clone CI on a tree that had passed it 20 minutes before.
    ordered = sorted(timings)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    assert p95 < 1.0, f"95th percentile answer while reading: {p95:.2f} s ({len(ordered)} answers)"
    assert ordered[-1] < 2.0, f"slowest answer while reading: {ordered[-1]:.2f} s"
    assert all(r.state is UploadState.DONE for r in store.list_uploads(owner="inbox"))


def test_when_any_asgi_server_runs_the_app_alone_then_it_serves_uploads_from_the_environments_settings(
        tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    import httpx

    data = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DOCVERIFY_"))}
    env.update(DOCVERIFY_DATA_DIR=str(data), PREFECT_API_URL=f"http://127.0.0.1:{_closed_port()}/api")
    store = Store(StoreSettings(f"sqlite:///{data}/docverify.db", data / "originals"))
    store.migrate()
    _, token = Access(store).create_token(AccessRole.UPLOADER)
    port = _closed_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "flows.api:app_from_environment",
                               "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the ASGI server did not start"
            time.sleep(0.5)
        accepted = httpx.post(f"http://127.0.0.1:{port}/api/uploads", headers=_auth(token), timeout=30,
                              data={"patient_name": CANARY, "payer": "tricare"},
                              files={"file": ("n.pdf", PDF, "application/pdf")})
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert accepted.status_code == 202
    record = store.get(accepted.json()["upload_id"])
    assert record is not None and record.payer is Payer.TRICARE and record.state is UploadState.PENDING
    assert CANARY.encode() not in stderr
    store.close()


@pytest.fixture
def tokens_in_data_dir(data_dir: Path) -> dict[str, str]:
    from flows.tasks import open_store

    access = Access(open_store(Settings()))
    access.add_user("ana", AccessRole.UPLOADER, PASSWORD)
    _, ana = access.create_token(AccessRole.UPLOADER, "ana")
    return {"ana": ana}
