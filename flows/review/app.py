"""The coordinators' review app (mounted at /review): log in, work the queue of flagged uploads, look at a document's
pages with the evidence boxes drawn on them, decide, and watch the dashboard.

Security (docs/THREAT-MODEL.md "Review page and API"):
- Sessions are rows in the store keyed by the sha256 of a random token; the cookie holding the token is HttpOnly,
  SameSite=Strict and Secure whenever the request came over https. Idle 15 min, absolute 12 h (Settings).
- Every form carries a CSRF token: the session's own token once logged in, a double-submit cookie on the login form;
  a POST whose Origin (or Referer) is another site is refused before it reaches a handler.
- Only coordinators and admins may log in; a user disabled or demoted since is logged out at the next request.
- Repeated failed logins lock the name for a while (`storage.review.SessionPolicy`).
- Every response carries a Content-Security-Policy with no inline script or style, `frame-ancestors 'none'`,
  X-Frame-Options DENY, nosniff, no referrer, and `Cache-Control: no-store` (pages show PHI).
- Every untrusted string (file names, intake names, OCR text) is escaped by Jinja2's autoescape; URLs hold ids only.
"""


import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Final
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware.base import BaseHTTPMiddleware

from flows.review import cases as case_pages
from flows.review import charts
from flows.review.export import decisions_csv, queue_csv
from flows.review.messages import draft_patient_message
from flows.review.pages import PageImage, Unrenderable, render_pages
from flows.review.views import (
    FIELD_LABELS,
    QueueFilter,
    box_choices,
    dashboard,
    decided_status,
    field_views,
    history,
    page_views,
    parse_box_key,
    queue_rows,
)
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Payer, Status
from storage.access import Access, AccessRole
from storage.cases import CaseStore
from storage.review import (
    MAX_NOTE_CHARS,
    EvidenceChoice,
    FieldValue,
    ReviewAction,
    ReviewField,
    ReviewStore,
    SessionPolicy,
    SessionRecord,
)
from storage.store import ReportRecord, Store, UploadRecord

HERE: Final = Path(__file__).parent
SESSION_COOKIE: Final = "dv_review_session"
LOGIN_CSRF_COOKIE: Final = "dv_review_login_csrf"
REVIEW_ROLES: Final = frozenset({AccessRole.COORDINATOR, AccessRole.ADMIN})
MAX_VALUE_CHARS: Final = 255
AUDIT_ROWS_SHOWN: Final = 50  # the document page's audit trail (views are counted in the log, not shown)
_REASON_KEY: Final = re.compile(r"[0-9a-f]{12}")

CSP: Final = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
              "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # not no-referrer: with it, browsers send "Origin: null" on POST
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""


class Forbidden(Exception):
    """A form's CSRF token did not match, or the action is not allowed."""


class BadInput(Exception):
    """A form value is missing or malformed (the message is ours, never echoed input)."""


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True)


def create_review_app(settings: Settings, store: Store, *, access: Access | None = None) -> FastAPI:
    """The review app for `store` (migrated). Mount it at /review; it also runs alone (its routes start at /)."""
    review = ReviewStore(store, SessionPolicy(idle=timedelta(seconds=settings.review_idle_s),
                                              absolute=timedelta(seconds=settings.review_absolute_s)))
    users = access or Access(store)
    templates = Jinja2Templates(env=_env())
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="docverify review")
    app.add_middleware(BaseHTTPMiddleware, dispatch=_security_headers)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(request: Request, name: str, context: dict[str, object], status_code: int = 200) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    # -- sessions --

    def session(request: Request) -> SessionRecord:
        token = request.cookies.get(SESSION_COOKIE, "")
        record = review.touch_session(token) if token else None
        if record is None:
            raise LoginRequired()
        user = users.get_user(record.user_name)
        if user is None or user.disabled or user.role not in REVIEW_ROLES:
            review.end_session(token)
            raise LoginRequired()
        return record

    Session = Annotated[SessionRecord, Depends(session)]

    def check_csrf(record: SessionRecord, token: str) -> None:
        if not hmac.compare_digest(record.csrf.encode(), token.encode()):
            raise Forbidden()

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        response = RedirectResponse(request.url_for("login_form"), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request))
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, _exc: Forbidden) -> Response:
        return render(request, "error.html", {"message": "This form has expired or did not come from this site. "
                                              "Go back, reload the page and try again."}, 403)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, _exc: RequestValidationError) -> Response:
        # FastAPI's own answer would echo the submitted values (a password, a patient message) back as JSON.
        return render(request, "error.html", {"message": "A form field is missing or too long. Go back and try "
                                              "again."}, 422)

    @app.exception_handler(BadInput)
    async def _bad_input(request: Request, exc: BadInput) -> Response:
        return render(request, "error.html", {"message": str(exc)}, 400)

    # -- login --

    @app.get("/login", name="login_form")
    def login_form(request: Request) -> Response:
        return _login_page(request, render, error=None)

    @app.post("/login", name="login")
    def login(request: Request, username: Annotated[str, Form(max_length=200)],
              password: Annotated[str, Form(max_length=1024)],
              csrf: Annotated[str, Form(max_length=200)],
              code: Annotated[str, Form(max_length=20)] = "") -> Response:
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
            raise Forbidden()
        if review.locked(username):
            review.record_failure(username)
            return _locked(_login_page(request, render, error="Too many failed logins. Try again in 15 minutes.",
                                       status_code=429), review)
        user = users.authenticate(username, password)
        # A second factor: the one-time code of someone who set codes up is checked (and used up) only after the
        # password, so a wrong password never spends a code; a wrong code counts as a failed login like a wrong
        # password, and the message does not say which of the two was wrong.
        second_factor = user is None or not user.totp or users.verify_totp(user.name, code)
        if user is None or user.role not in REVIEW_ROLES or not second_factor:
            locked = review.record_failure(username)
            message = ("Too many failed logins. Try again in 15 minutes." if locked
                       else "Wrong name, password or one-time code, or this account may not use the review app.")
            page = _login_page(request, render, error=message, status_code=429 if locked else 401)
            return _locked(page, review) if locked else page
        if settings.review_require_totp and not user.totp:
            return _login_page(request, render, status_code=403,
                               error="This account needs one-time codes before it can log in: ask an administrator "
                                     "to set them up (docverify user totp).")
        review.clear_failures(username)
        token, _record = review.create_session(user.name, user.role.value)
        response = RedirectResponse(request.url_for("queue"), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path=_cookie_path(request))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=_cookie_path(request))
        return response

    @app.post("/logout", name="logout")
    def logout(request: Request, record: Session, csrf: Annotated[str, Form(max_length=200)]) -> Response:
        check_csrf(record, csrf)
        review.end_session(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse(request.url_for("login_form"), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=_cookie_path(request))
        return response

    # -- the queue --

    @app.get("/", name="queue")
    def queue(request: Request, record: Session, status: str = "", reason: str = "", payer: str = "") -> Response:
        flt = _queue_filter(status, reason, payer)
        in_cases = CaseStore(store).in_cases()  # a case's uploads are one item of the case queue (/cases)
        rows, reasons = queue_rows([(u, r) for u, r in review.latest_reports() if u.id not in in_cases],
                                   review.decided_uploads(), flt)
        return render(request, "queue.html", {"session": record, "rows": rows, "reasons": reasons,
                                              "filter": flt, "payers": list(Payer),
                                              "statuses": [Status.NEEDS_REVIEW, Status.INCOMPLETE]})

    # -- one document --

    def load(upload_id: str) -> tuple[UploadRecord, ReportRecord]:
        upload = store.get(upload_id)
        latest = store.latest_report(upload_id) if upload else None
        if upload is None or latest is None:
            raise _NotFound()
        return upload, latest

    @app.exception_handler(_NotFound)
    async def _not_found(request: Request, _exc: _NotFound) -> Response:
        return render(request, "error.html", {"message": "No document with this id has a report."}, 404)

    @app.get("/uploads/{upload_id}", name="document")
    def document(request: Request, record: Session, upload_id: str) -> Response:
        upload, latest = load(upload_id)
        report = latest.report()
        decisions = review.decisions(upload_id)
        fields = field_views(report, decisions)
        try:
            images: tuple[PageImage, ...] = render_pages(store.read_original(upload_id), upload.sha256)
            render_error = None
        except Unrenderable as e:  # rendered in a bounded reader child: a hostile original costs it, not this app
            images, render_error = (), f"The pages of this document cannot be shown as images ({e.code})."
        store.audit(actor=_audit_actor(record), action="review.view", upload_id=upload_id, outcome="ok")
        audit = [a for a in store.audit_log(upload_id) if a.action != "review.view"][-AUDIT_ROWS_SHOWN:]
        return render(request, "document.html", {
            "session": record, "upload": upload, "report": report, "report_version": latest.version,
            "fields": fields, "pages": page_views(report, fields, images), "render_error": render_error,
            "choices": box_choices(report), "history": history(store.reports(upload_id), decisions),
            "decided": decided_status(decisions), "message": draft_patient_message(report),
            "field_labels": FIELD_LABELS, "max_note": MAX_NOTE_CHARS, "audit": audit})

    @app.get("/uploads/{upload_id}/pages/{number}.png", name="page_image")
    def page_image(record: Session, upload_id: str, number: int) -> Response:
        upload, _latest = load(upload_id)
        try:
            images = render_pages(store.read_original(upload_id), upload.sha256)
        except Unrenderable as e:
            raise _NotFound() from e
        image = next((i for i in images if i.number == number), None)
        if image is None:
            raise _NotFound()
        # Each page image shown is a read of the original, audited with the coordinator's login.
        store.audit(actor=_audit_actor(record), action="review.page_view", upload_id=upload_id,
                    outcome=f"page{image.number}")
        return Response(image.png, media_type="image/png",
                        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"})

    # -- decisions --

    def decide(request: Request, record: SessionRecord, upload_id: str, csrf: str, *, action: ReviewAction,
               before: FieldValue, after: FieldValue, field: ReviewField | None = None,
               status_after: Status | None = None, note: str | None = None) -> Response:
        check_csrf(record, csrf)
        _upload, latest = load(upload_id)
        review.decide(upload_id, actor=record.user_name, action=action, report_version=latest.version,
                      before=before, after=after, field=field, status_after=status_after, note=note)
        return RedirectResponse(str(request.url_for("document", upload_id=upload_id)) + "#history", status_code=303)

    def current(upload_id: str) -> tuple[Report, Status]:
        _upload, latest = load(upload_id)
        report = latest.report()
        return report, decided_status(review.decisions(upload_id)) or report.status

    @app.post("/uploads/{upload_id}/confirm", name="confirm")
    def confirm(request: Request, record: Session, upload_id: str,
                csrf: Annotated[str, Form(max_length=200)]) -> Response:
        check_csrf(record, csrf)
        report, status = current(upload_id)
        missing = [fv.label for fv in field_views(report, review.decisions(upload_id))
                   if (fv.corrected.after.value if fv.corrected else fv.value) is None]
        if missing:
            raise BadInput("A field has no value (" + ", ".join(missing) + "): correct it, mark the document "
                           "incomplete, or override to complete with a note.")
        return decide(request, record, upload_id, csrf, action=ReviewAction.CONFIRM, before=FieldValue(status=status),
                      after=FieldValue(status=Status.COMPLETE), status_after=Status.COMPLETE)

    @app.post("/uploads/{upload_id}/correct", name="correct")
    def correct(request: Request, record: Session, upload_id: str, csrf: Annotated[str, Form(max_length=200)],
                field: Annotated[str, Form(max_length=40)], value: Annotated[str, Form(max_length=1000)],
                box: Annotated[str, Form(max_length=200)] = "typed") -> Response:
        check_csrf(record, csrf)
        key = _enum(ReviewField, field)
        value = " ".join(value.split())
        if key is None or not value or len(value) > MAX_VALUE_CHARS:
            raise BadInput(f"Choose a field and type its value (1–{MAX_VALUE_CHARS} characters).")
        report, _status = current(upload_id)
        fv = next(f for f in field_views(report, review.decisions(upload_id)) if f.key is key)
        if box == "typed":
            evidence = EvidenceChoice(typed=True)
        else:
            parsed = parse_box_key(box)
            if parsed is None or box not in {c.key for c in box_choices(report)}:
                raise BadInput("Choose one of the evidence boxes listed, or 'typed'.")
            evidence = EvidenceChoice(page=parsed[0], bbox=parsed[1])
        if fv.corrected is not None:
            before = fv.corrected.after
        else:
            first = fv.evidence[0] if fv.evidence else None
            before = FieldValue(value=fv.value, confidence=fv.confidence,
                                evidence=EvidenceChoice(page=first.page, bbox=first.bbox) if first else None)
        return decide(request, record, upload_id, csrf, action=ReviewAction.CORRECT, field=key, before=before,
                      after=FieldValue(value=value, evidence=evidence))

    @app.post("/uploads/{upload_id}/incomplete", name="mark_incomplete")
    def mark_incomplete(request: Request, record: Session, upload_id: str,
                        csrf: Annotated[str, Form(max_length=200)],
                        message: Annotated[str, Form(max_length=MAX_NOTE_CHARS)]) -> Response:
        check_csrf(record, csrf)
        message = message.strip()
        if not message:
            raise BadInput("Write the message to the patient (what is missing and how to fix it).")
        _report, status = current(upload_id)
        return decide(request, record, upload_id, csrf, action=ReviewAction.MARK_INCOMPLETE,
                      before=FieldValue(status=status), after=FieldValue(status=Status.INCOMPLETE),
                      status_after=Status.INCOMPLETE, note=message)

    @app.post("/uploads/{upload_id}/override", name="override")
    def override(request: Request, record: Session, upload_id: str, csrf: Annotated[str, Form(max_length=200)],
                 note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "") -> Response:
        check_csrf(record, csrf)
        note = note.strip()
        if not note:
            raise BadInput("Overriding to complete needs a note saying why.")
        _report, status = current(upload_id)
        return decide(request, record, upload_id, csrf, action=ReviewAction.OVERRIDE_COMPLETE,
                      before=FieldValue(status=status), after=FieldValue(status=Status.COMPLETE),
                      status_after=Status.COMPLETE, note=note)

    # -- exports (CSV, formula-safe; attachments, never cached) --

    @app.get("/export/queue.csv", name="export_queue")
    def export_queue(record: Session, status: str = "", reason: str = "", payer: str = "") -> Response:
        flt = _queue_filter(status, reason, payer)
        rows, _reasons = queue_rows(review.latest_reports(), review.decided_uploads(), flt)
        store.audit(actor=_audit_actor(record), action="review.export.queue", upload_id=None,
                    outcome=f"rows{len(rows)}")
        return _attachment(queue_csv(rows), "docverify-queue.csv")

    @app.get("/export/decisions.csv", name="export_decisions")
    def export_decisions(record: Session) -> Response:
        decisions = review.all_decisions()
        store.audit(actor=_audit_actor(record), action="review.export.decisions", upload_id=None,
                    outcome=f"rows{len(decisions)}")
        return _attachment(decisions_csv(decisions), "docverify-decisions.csv")

    # -- the dashboard --

    case_pages.install(app, store=store, session=session, render=render, actor=_audit_actor, check_csrf=check_csrf)

    @app.get("/dashboard", name="dashboard")
    def dashboard_page(request: Request, record: Session) -> Response:
        dash = dashboard(review.latest_reports(), review.first_report_times(), review.all_decisions())
        return render(request, "dashboard.html", {
            "session": record, "dash": dash, "straight": charts.straight_through(dash),
            "mix": charts.status_mix(dash), "wait": charts.median_wait(dash), "reasons": charts.reasons(dash),
            "agreement": charts.agreement(dash), "status_order": charts.STATUS_ORDER})

    return app


class _NotFound(Exception):
    """No upload with this id, or it has no report yet (also for malformed ids: nothing tells them apart)."""


def _login_page(request: Request, render: Callable[..., HTMLResponse], *, error: str | None,
                status_code: int = 200) -> Response:
    """The login form with a fresh double-submit CSRF token (cookie + hidden field)."""
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"csrf": token, "error": error}, status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=_cookie_path(request))
    return response


def _same_origin(request: Request) -> bool:
    """A state-changing request must come from this site: its Origin (or, without one, its Referer) names our host.
    Browsers send Origin on every cross-site POST; a request with neither header (not a browser) passes to the CSRF
    token check."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True
    if source == "null":
        return False
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def _queue_filter(status: str, reason: str, payer: str) -> QueueFilter:
    """The queue's filter from its query (unknown values mean any)."""
    return QueueFilter(status=_enum(Status, status), reason=reason if _REASON_KEY.fullmatch(reason) else None,
                       payer=_enum(Payer, payer))


def _attachment(body: str, filename: str) -> Response:
    """A CSV download (the file name is ours: it never holds document text)."""
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _locked(response: Response, review: ReviewStore) -> Response:
    """A 429 says when to try again (seconds)."""
    response.headers["Retry-After"] = str(int(review.policy.lockout.total_seconds()))
    return response


def _cookie_path(request: Request) -> str:
    """The app's mount path (cookies are not sent to the rest of the site)."""
    return str(request.scope.get("root_path", "")) or "/"


def _audit_actor(record: SessionRecord) -> str:
    return f"user:{record.user_name}"


def _enum[E: (Status, Payer, ReviewField)](kind: type[E], value: str) -> E | None:
    """The enum member named by a query or form value, None when empty or unknown."""
    try:
        return kind(value) if value else None
    except ValueError:
        return None


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    if request.method not in ("GET", "HEAD") and not _same_origin(request):
        response: Response = PlainTextResponse("cross-origin request refused", status_code=403)
    else:
        response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
