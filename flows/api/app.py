"""The upload API (FastAPI): `create_app(settings, store=...)` is an ASGI app that `docverify serve` runs with uvicorn
and that any ASGI server can run alone (`uvicorn --factory flows.api:app_from_environment`).

POST /api/uploads stores the original durably first (`Store.add_upload`: file fsynced, row committed), answers 202,
and only then starts the per-upload Prefect flow run with the upload id (`flows.triggers.trigger_verify`). When
Prefect cannot be reached the upload stays PENDING and the served batch deployment (every DOCVERIFY_BATCH_CRON)
verifies it, so an accepted upload is never lost. The same bytes from the same owner are the same upload (200).

Access: `Authorization: Bearer <token>` (storage/access.py). An uploader token sees only its own uploads — another's
id answers 404, exactly like an unknown one; a coordinator token sees every upload. Errors: flows/api/errors.py.
The body cap: flows/api/bodylimit.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import BackgroundTasks, Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flows.api import cases, errors
from flows.api.bodylimit import BodyLimit
from flows.api.errors import ApiError, ErrorBody
from flows.api.forms import document_form
from flows.api.models import Accepted, Health, UploadPage, UploadView, links_of
from flows.api.ratelimit import Rate, SharedTokenBuckets, TokenBuckets, UploadSlots, too_many_requests
from pipeline import __version__
from pipeline.evaluate import Intake
from pipeline.intake import accept
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Payer, Status
from storage.access import Access, AccessRole
from storage.listing import PageQuery, page_uploads
from storage.ratelimits import RateBuckets
from storage.store import Store, StoreSettings, UploadRecord, UploadState, UploadStatus

log = logging.getLogger("docverify.api")

MAX_TEXT_FIELD: Final = 255  # characters of patient_name (the store's column)
MAX_EXTERNAL_ID: Final = 128
NO_CONTROL_CHARACTERS: Final = "^[^\\u0000-\\u001f\\u007f]*$"  # CR/LF and friends: log and header injection
# The body cap is the file cap plus room for the multipart framing and the text fields (a few KB in practice).
BODY_OVERHEAD_BYTES: Final = 64 * 1024
PAGE_LIMIT_MAX: Final = 200

Trigger = Callable[[str], str]
"""Starts the per-upload flow run for an upload id and returns the run id (flows.triggers.trigger_verify)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who calls: the owner their uploads are stored under, and their role."""

    owner: str
    role: AccessRole
    token_id: str

    def sees(self, owner: str) -> bool:
        """Whether this caller may see an upload of `owner` (uploaders: only their own)."""
        return self.role is not AccessRole.UPLOADER or owner == self.owner

    @property
    def token(self) -> str:
        """The token the caller used, as an audit outcome part (`token:<id>`; never the secret)."""
        return f"token:{self.token_id}"


class NoStore:
    """Pure ASGI: every response says `Cache-Control: no-store` (answers hold patient data) and `nosniff`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                headers += [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text_}
    for status, text_ in ((400, "Malformed request (e.g. a broken multipart body)."),
                          (401, "No valid API token."), (404, "No such upload (or not yours)."),
                          (408, "The request body stalled or came too slowly (`request_timeout`)."),
                          (422, "Invalid request."),
                          (429, "Too many requests for this token: wait `Retry-After` seconds."),
                          (500, "Internal error."),
                          (503, "Busy (every upload slot taken, or the store busy) or the store down: retry after "
                                "`Retry-After` seconds."))}


_bearer = HTTPBearer(auto_error=False, description="An API token from `docverify token create`.")


@dataclass(frozen=True, slots=True)
class TokenRates:
    """The per-token limits of one API process: document uploads, and every other request."""

    uploads: TokenBuckets | SharedTokenBuckets
    requests: TokenBuckets | SharedTokenBuckets

    @classmethod
    def of(cls, settings: Settings, store: Store) -> TokenRates:
        """The limits configured in `settings` (DOCVERIFY_API_*): in this process, or in `store`'s database when
        api_shared_rate_limits is on."""
        uploads = Rate(settings.api_uploads_per_minute, settings.api_upload_burst)
        requests = Rate(settings.api_requests_per_minute, settings.api_request_burst)
        if settings.api_shared_rate_limits:
            shared = RateBuckets(store)
            return cls(uploads=SharedTokenBuckets(uploads, shared, "uploads"),
                       requests=SharedTokenBuckets(requests, shared, "requests"))
        return cls(uploads=TokenBuckets(uploads), requests=TokenBuckets(requests))

    def check(self, token_id: str, *, document_upload: bool) -> None:
        """Count one request of the token with this id (never the token itself). Raises ApiError 429 with
        Retry-After when its bucket is empty."""
        wait_s = (self.uploads if document_upload else self.requests).take(token_id)
        if wait_s > 0:
            raise too_many_requests(wait_s)


def is_document_upload(request: Request) -> bool:
    """POST /api/uploads or POST /api/cases/{id}/uploads: a request that carries a document to store."""
    path = request.url.path
    return request.method == "POST" and (path == "/api/uploads" or
                                         (path.startswith("/api/cases/") and path.endswith("/uploads")))


def principal(request: Request,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller of a request, from its bearer token, counted against the token's rate limit (before the body is
    read). Raises ApiError 401 when the token is missing, unknown, revoked or of a disabled user; 429 with
    Retry-After when the token is over its limit."""
    access: Access = request.app.state.access
    token = access.resolve_token(credentials.credentials) if credentials is not None else None
    if token is None:
        raise ApiError(401, "unauthorized", "A valid API token is required.", {"WWW-Authenticate": "Bearer"})
    rates: TokenRates = request.app.state.rates
    rates.check(token.token_id, document_upload=is_document_upload(request))
    return Principal(owner=token.user_name or f"token:{token.token_id}", role=token.role, token_id=token.token_id)


Caller = Annotated[Principal, Depends(principal)]


def _default_trigger(upload_id: str) -> str:
    from flows.triggers import trigger_verify

    return trigger_verify(upload_id)


def create_app(settings: Settings, store: Store | None = None, *, trigger: Trigger | None = None,
               limits: Limits = DEFAULT_LIMITS) -> FastAPI:
    """The upload API over `store` (default: the configured store, migrated). `trigger` starts the per-upload flow
    run (default: the served Prefect deployment); `limits.max_bytes` caps an upload's file."""
    if store is None:
        from flows.tasks import open_store

        store = open_store(settings)
    access = Access(store)
    start_run = trigger or _default_trigger
    api_store = store

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        """The outbound webhook's dispatcher lives as long as the app (flows/webhooks.py)."""
        from flows.webhooks import WebhookDispatcher

        dispatcher = WebhookDispatcher.from_settings(api_store, settings)
        if dispatcher is not None:
            dispatcher.start()
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()

    app = FastAPI(title="docverify upload API", version=__version__,
                  description="Upload a patient's document and read its completeness report. See docs/API.md.",
                  responses=_ERRORS, lifespan=lifespan)
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=limits.max_bytes + BODY_OVERHEAD_BYTES, idle_s=limits.body_idle_s,
                       grace_s=limits.body_grace_s, min_rate=limits.body_min_rate)
    app.add_middleware(NoStore)
    app.state.store, app.state.access, app.state.settings = store, access, settings
    app.state.rates = TokenRates.of(settings, store)
    app.state.upload_slots = upload_slots = UploadSlots(settings.api_max_concurrent_uploads)

    def visible(upload_id: str, caller: Principal) -> UploadRecord:
        """The upload when the caller may see it; otherwise 404 — the same answer as for an unknown id."""
        record = store.get(upload_id)
        if record is not None and not caller.sees(record.owner):
            # Someone else's upload: audited (ids only), answered exactly like an unknown id.
            store.audit(actor=caller.owner, action="upload.read_denied", upload_id=record.id, outcome="not_owner")
            record = None
        if record is None:
            raise ApiError(404, "not_found", "No such upload.")
        return record

    def start(upload_id: str) -> None:
        """Runs after the 202 is sent. Prefect down or the deployment not served: the upload stays PENDING and the
        scheduled batch verifies it; recorded by code in the audit log."""
        try:
            start_run(upload_id)
        except Exception as e:  # noqa: BLE001 - any failure to reach Prefect leaves the upload to the batch
            log.warning("upload %s: flow run not started (%s); the scheduled batch will verify it", upload_id,
                        e.__class__.__name__)
            try:
                store.audit(actor="api", action="upload.trigger", upload_id=upload_id, outcome="not_started")
            except Exception as audit_error:  # noqa: BLE001 - the upload is stored either way
                log.warning("upload %s: audit failed (%s)", upload_id, audit_error.__class__.__name__)

    @app.post("/api/uploads", status_code=202, response_model=Accepted, tags=["uploads"],
              summary="Upload a document for verification",
              responses={200: {"model": Accepted, "description": "The same bytes from you: the existing upload."},
                         413: {"model": ErrorBody, "description": "Body or file over the cap."},
                         415: {"model": ErrorBody, "description": "Not a type we accept (by its bytes)."}},
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["file", "patient_name", "payer"],
                  "properties": {
                      "file": {"type": "string", "format": "binary",
                               "description": "The document: PDF, PNG, JPEG, TIFF, HEIC, WEBP, C-CDA XML or zip."},
                      "patient_name": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_FIELD,
                                       "pattern": NO_CONTROL_CHARACTERS,
                                       "description": "The patient's name as given at intake."},
                      "payer": {"type": "string", "enum": [p.value for p in Payer]},
                      "external_id": {"type": "string", "minLength": 1, "maxLength": MAX_EXTERNAL_ID,
                                      "pattern": NO_CONTROL_CHARACTERS,
                                      "description": "Your own reference for this upload (optional)."}}}}}}})
    async def create_upload(request: Request, background: BackgroundTasks, caller: Caller) -> JSONResponse:
        """Store the document and start its verification. 202: accepted (a new upload); 200: the same bytes were
        uploaded by you before (the same upload_id)."""
        with upload_slots.slot():  # 503 server_busy when every slot is taken: answered before the body is read
            data, filename, (patient_name, payer_text, external_id) = await document_form(request, 8,
                                                                                          _intake_fields)
            upload = accept(data, filename, limits)  # RejectedUpload: 413 / 415 / 422 (errors.status_of)
            intake = Intake(patient_name=patient_name, payer=Payer(payer_text))
            record, created = await run_in_threadpool(
                store.add_upload, data, owner=caller.owner, display_name=upload.display_name,
                media_type=upload.media_type.value, intake=intake, external_id=external_id)
        if created:
            background.add_task(start, record.id)
            log.info("upload %s accepted (%d bytes)", record.id, record.size_bytes)
            body = Accepted(upload_id=record.id, status=UploadStatus.PENDING, links=links_of(record.id))
            return JSONResponse(body.model_dump(mode="json", by_alias=True), status_code=202)
        latest = await run_in_threadpool(store.latest_report, record.id)
        status = UploadStatus.of(record.state, latest.status if latest else None)
        body = Accepted(upload_id=record.id, status=status, links=links_of(record.id))
        return JSONResponse(body.model_dump(mode="json", by_alias=True), status_code=200)

    @app.get("/api/uploads/{upload_id}", response_model=UploadView, tags=["uploads"], summary="One upload")
    def get_upload(upload_id: str, caller: Caller) -> JSONResponse:
        """The upload's status (its newest report's status once verified) and links."""
        record = visible(upload_id, caller)
        latest = store.latest_report(record.id)
        view = UploadView.of(record, latest.version if latest else None, latest.status if latest else None)
        return JSONResponse(view.model_dump(mode="json", by_alias=True))

    @app.get("/api/uploads/{upload_id}/report", tags=["uploads"], summary="The upload's report",
             responses={200: {"model": Report, "description": "The report (newest, or the version asked for)."}})
    def get_report(upload_id: str, caller: Caller,
                   version: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                                        description="A report version (default: newest).")] = None,
                   ) -> Response:
        """The newest report, or version N. 404 `report_not_found` while the upload is not verified yet."""
        record = visible(upload_id, caller)
        if version is None:
            found = store.latest_report(record.id)
        else:
            found = next((r for r in store.reports(record.id) if r.version == version), None)
        if found is None:
            raise ApiError(404, "report_not_found", "No report (yet) for this upload and version.")
        # A read of PHI, audited with who read it (docs/THREAT-MODEL.md item 48): the owner or person, the token.
        store.audit(actor=caller.owner, action="report.read", upload_id=record.id,
                    outcome=f"v{found.version}:{caller.token}")
        return Response(found.report_json, media_type="application/json",
                        headers={"X-Report-Version": str(found.version)})

    @app.get("/api/uploads", response_model=UploadPage, tags=["uploads"], summary="List uploads")
    def list_uploads(caller: Caller,
                     status: Annotated[list[UploadStatus] | None, Query(description="Only these statuses.")] = None,
                     since: Annotated[str | None, Query(max_length=40, json_schema_extra={"format": "date-time"},
                                                        description="Only uploads created at or after this "
                                                                    "time (RFC 3339, with an offset).")] = None,
                     cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, max_length=53,
                                                         description="next_cursor of the previous page.")] = None,
                     limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = 50) -> JSONResponse:
        """Uploads you may see, oldest first, a page at a time."""
        wanted = set(status or ())
        query = PageQuery(
            owner=None if caller.role is not AccessRole.UPLOADER else caller.owner,
            states=frozenset(UploadState(s.value) for s in wanted if s.value in {u.value for u in UploadState}),
            statuses=frozenset(Status(s.value) for s in wanted if s.value in {u.value for u in Status}),
            since=_parse_since(since) if since is not None else None,
            after=_decode_cursor(cursor) if cursor else None, limit=limit + 1)
        rows = page_uploads(store, query)
        more = len(rows) > limit
        rows = rows[:limit]
        page = UploadPage(items=[UploadView.of(r.upload, r.report_version, r.report_status) for r in rows],
                          next_cursor=_encode_cursor(rows[-1].upload.created_at, rows[-1].upload.id)
                          if more else None)
        return JSONResponse(page.model_dump(mode="json", by_alias=True))

    @app.get("/healthz", response_model=Health, tags=["health"], summary="Liveness")
    def healthz() -> Health:
        """The process answers."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["health"], summary="Readiness: database and Prefect",
             responses={503: {"model": Health, "description": "A dependency is down."}})
    def readyz() -> JSONResponse:
        """200 when the database and the Prefect API answer; 503 with each check otherwise."""
        checks = {"database": _database_check(store), "prefect": _prefect_check()}
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(Health(status="ready" if ready else "not_ready", checks=checks).model_dump(),
                            status_code=200 if ready else 503)

    cases.install(app, store=store, settings=settings, limits=limits, caller=principal, start=start)
    return app


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The API's OpenAPI document (what docs/openapi.json holds), built over a throw-away store so that no
    configured database is touched."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(StoreSettings(f"sqlite:///{tmp}/schema.db", Path(tmp) / "originals"))
        try:
            return create_app(settings, store, trigger=lambda _: "").openapi()
        finally:
            store.close()


def openapi_json(settings: Settings) -> str:
    """`openapi_document` as the JSON text checked in at docs/openapi.json (indented, one trailing newline)."""
    return json.dumps(openapi_document(settings), indent=2, ensure_ascii=False) + "\n"


def app_from_environment() -> FastAPI:
    """An entry point for any ASGI server (`uvicorn --factory flows.api:app_from_environment`): the settings from
    DOCVERIFY_* variables, the configured store."""
    return create_app(Settings())


# --- helpers ------------------------------------------------------------------------------------------------------

def _intake_fields(form: FormData) -> tuple[str | None, str, str | None]:
    """patient_name, payer and the optional external_id of an upload form. Raises ApiError 422."""
    patient_name = _text_field(form.get("patient_name"), "patient_name", MAX_TEXT_FIELD, required=True)
    payer_text = _text_field(form.get("payer"), "payer", 32, required=True)
    external_id = _text_field(form.get("external_id"), "external_id", MAX_EXTERNAL_ID, required=False)
    if payer_text is None or payer_text not in {p.value for p in Payer}:
        raise ApiError(422, "invalid_request", "Invalid or missing: payer.")
    return patient_name, payer_text, external_id


def _text_field(value: object, name: str, max_len: int, *, required: bool) -> str | None:
    """A form field's text, or None when optional and absent. Raises ApiError (422) naming the field, never its
    value."""
    if value is None:
        if required:
            raise ApiError(422, "invalid_request", f"Invalid or missing: {name}.")
        return None
    if not isinstance(value, str) or not value or len(value) > max_len \
            or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ApiError(422, "invalid_request", f"Invalid or missing: {name}.")
    return value


_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                      r"([Zz]|[+-][0-9]{2}:[0-9]{2})")


def _parse_since(value: str) -> datetime:
    """An RFC 3339 date-time, as UTC. Raises ApiError (422) for anything else (numbers, dates without a time or
    an offset)."""
    if not _RFC3339.fullmatch(value):
        raise ApiError(422, "invalid_request", "Invalid or missing: query.since.")
    text_ = value.upper().replace("Z", "+00:00")
    text_ = re.sub(r"(\.[0-9]{6})[0-9]+", r"\1", text_)  # Python keeps microseconds
    text_ = re.sub(r"(T[0-9]{2}:[0-9]{2}):60", r"\1:59", text_)  # a leap second
    try:
        return _utc(datetime.fromisoformat(text_))
    except ValueError:
        raise ApiError(422, "invalid_request", "Invalid or missing: query.since.") from None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


CURSOR_PATTERN: Final = r"^[0-9]{1,20}-[0-9a-f]{32}$"
"""A page cursor: the last row's created_at (microseconds since the epoch, UTC) and its id."""
_CURSOR = re.compile(CURSOR_PATTERN)


def _encode_cursor(created_at: datetime, upload_id: str) -> str:
    delta = _utc(created_at) - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}-{upload_id}"


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of a cursor (any value matching CURSOR_PATTERN). Raises ApiError (422 invalid_cursor)."""
    if not _CURSOR.fullmatch(cursor):
        raise ApiError(422, "invalid_cursor", "The cursor is not one this API gave.")
    micros, _, upload_id = cursor.partition("-")
    try:
        created_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
    except OverflowError:
        created_at = datetime.max.replace(tzinfo=UTC)  # past every row: an empty page
    return created_at, upload_id


def _database_check(store: Store) -> str:
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any failure: not ready
        return f"error:{e.__class__.__name__}"
    return "ok"


def _prefect_check() -> str:
    from prefect.settings import PREFECT_API_URL

    from flows.deploy import healthy

    url = PREFECT_API_URL.value()
    if not url:
        return "not_configured"
    return "ok" if healthy(str(url), timeout_s=2.0) else "unreachable"
