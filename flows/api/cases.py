"""The case routes of the upload API: a case is one coverage request, its intake and its uploads, judged together
(docs/POLICY.md "Cases"; docs/API.md "Cases").

POST /api/cases opens a case (JSON intake); POST /api/cases/{id}/uploads adds a document to it (stored, verified like
any upload with the case's intake, and the case judged again: a new report version, audited); GET
/api/cases/{id}/report answers the newest case report with the coordinator's last decision beside it;
POST /api/cases/{id}/decision (coordinators) records a decision. An upload sent with POST /api/uploads alone is
judged alone, as before: a case of one. Owners: an uploader sees only its own cases; another's id answers 404.
"""

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from flows.api.errors import ApiError, ErrorBody
from flows.api.forms import document_form
from flows.api.models import Links, links_of
from flows.api.ratelimit import UploadSlots
from pipeline.case_report import CaseReport
from pipeline.cases import CaseIntake
from pipeline.evaluate import Intake
from pipeline.intake import accept
from pipeline.limits import Limits
from pipeline.settings import Settings
from pipeline.types import Payer, Status
from storage.access import AccessRole
from storage.cases import CaseDecisionRecord, CaseFull, CaseRecord, CaseStore
from storage.store import Store, UploadStatus

MAX_NOTE: int = 4000
_TEXT = "^[^\\u0000-\\u001f\\u007f]*$"  # no control characters (log and header injection)


class CaseIn(BaseModel):
    """The intake of a new case."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_name: str = Field(min_length=1, max_length=255, pattern=_TEXT,
                              description="The patient's name as given at intake.")
    payer: Payer
    external_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=_TEXT,
                                    description="Your own reference for this case (optional).")


class CaseLinks(BaseModel):
    """Where to add uploads to the case and read its report (ids only)."""

    model_config = ConfigDict(frozen=True)

    uploads: str
    report: str


class CaseCreated(BaseModel):
    """The answer to POST /api/cases."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    links: CaseLinks


class CaseUploadAccepted(BaseModel):
    """The answer to POST /api/cases/{case_id}/uploads."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    upload_id: str
    position: int = Field(description="The upload's place in the case, in the order received (1-based).")
    status: UploadStatus
    links: Links


class CaseState(StrEnum):
    """Whether every upload of the case has its own report yet."""

    PROCESSING = "processing"
    DONE = "done"


class DecisionIn(BaseModel):
    """A coordinator's decision on a case: the status they settle it at, and an optional note."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status
    note: str | None = Field(default=None, min_length=1, max_length=MAX_NOTE)


class DecisionView(BaseModel):
    """A coordinator's decision, shown beside the newest verdict (never replaced by it)."""

    model_config = ConfigDict(frozen=True)

    status: Status
    report_version: int = Field(description="The case report version the decision was made on.")
    on_earlier_version: bool = Field(description="True when the case was judged again after the decision.")
    actor: str
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, d: CaseDecisionRecord, latest_version: int | None) -> "DecisionView":
        return cls(status=d.status, report_version=d.report_version,
                   on_earlier_version=latest_version is not None and latest_version > d.report_version,
                   actor=d.actor, note=d.note, created_at=d.created_at)


class CaseView(BaseModel):
    """GET /api/cases/{case_id}/report: the newest case report and the last decision, side by side."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    state: CaseState
    pending_uploads: list[str] = Field(description="Uploads of the case without their own report yet.")
    failed_uploads: list[str] = Field(description="Uploads whose processing failed on our side (the case is not "
                                                  "complete while they are part of it).")
    version: int | None = Field(description="The newest case report's version; null before the first.")
    status: Status | None
    report: CaseReport | None
    decision: DecisionView | None


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such case (or not yours)."}}


def case_links(case_id: str) -> CaseLinks:
    """The links of a case."""
    return CaseLinks(uploads=f"/api/cases/{case_id}/uploads", report=f"/api/cases/{case_id}/report")


def install(app: FastAPI, *, store: Store, settings: Settings, limits: Limits, caller: Callable[..., Any],
            start: Callable[[str], None]) -> None:
    """Register the case routes on `app`; `caller` resolves the principal (flows.api.app.Principal), `start`
    starts an upload's flow run.

    This module does not use postponed annotations: the routes' parameter types are evaluated where they are
    defined, so the local `Caller` alias is what FastAPI sees."""
    from flows.cases import case_uploads, rejudge

    cases = CaseStore(store)
    Caller = Annotated[Any, Depends(caller)]  # noqa: N806 (a type alias, as in flows/api/app.py)

    def visible(case_id: str, who: Any) -> CaseRecord:
        record = cases.get(case_id) if len(case_id) <= 64 else None
        if record is not None and not who.sees(record.owner):
            store.audit(actor=who.owner, action="case.read_denied", upload_id=None, outcome="not_owner")
            record = None
        if record is None:
            raise ApiError(404, "not_found", "No such case.")
        return record

    @app.post("/api/cases", status_code=201, response_model=CaseCreated, tags=["cases"], summary="Open a case")
    def create_case(body: CaseIn, who: Caller) -> JSONResponse:
        """A new case with its intake; add its documents with POST /api/cases/{case_id}/uploads."""
        record = cases.create(who.owner, CaseIntake(patient_name=body.patient_name, payer=body.payer,
                                                    external_id=body.external_id), actor=who.owner)
        out = CaseCreated(case_id=record.id, links=case_links(record.id))
        return JSONResponse(out.model_dump(mode="json"), status_code=201)

    @app.post("/api/cases/{case_id}/uploads", status_code=202, response_model=CaseUploadAccepted, tags=["cases"],
              summary="Add a document to a case",
              responses={**_NOT_FOUND,
                         200: {"model": CaseUploadAccepted, "description": "The same bytes from you: the existing "
                                                                          "upload (added to the case if it was not)."},
                         409: {"model": ErrorBody, "description": "The upload belongs to another case, or the case "
                                                                  "is full."},
                         413: {"model": ErrorBody, "description": "Body or file over the cap."},
                         415: {"model": ErrorBody, "description": "Not a type we accept (by its bytes)."}},
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["file"],
                  "properties": {"file": {"type": "string", "format": "binary",
                                          "description": "The document: PDF, PNG, JPEG, TIFF, HEIC, WEBP, C-CDA "
                                                         "XML or zip."}}}}}}})
    async def add_case_upload(case_id: str, request: Request, background: BackgroundTasks,
                              who: Caller) -> JSONResponse:
        """Store the document as an upload with the case's intake, add it to the case, start its verification and
        judge the case again (a new report version; again when the upload's own report is ready)."""
        record = await run_in_threadpool(visible, case_id, who)
        slots: UploadSlots = request.app.state.upload_slots
        with slots.slot():  # 503 server_busy when every slot is taken (flows/api/ratelimit.py)
            data, filename, _ = await document_form(request, 2, lambda form: None)
            upload = accept(data, filename, limits)  # RejectedUpload: 413 / 415 / 422 with its code
            intake = Intake(patient_name=record.intake.patient_name, payer=record.intake.payer)
            stored, created = await run_in_threadpool(
                store.add_upload, data, owner=who.owner, display_name=upload.display_name,
                media_type=upload.media_type.value, intake=intake, external_id=record.intake.external_id)
        try:
            position = await run_in_threadpool(cases.add_upload, record.id, stored.id, actor=who.owner)
        except CaseFull as e:
            raise ApiError(409, e.code, e.user_message) from None
        await run_in_threadpool(rejudge, store, record.id, settings, actor=who.owner, upload_id=stored.id)
        if created:
            background.add_task(start, stored.id)
        latest = await run_in_threadpool(store.latest_report, stored.id)
        status = UploadStatus.of(stored.state, latest.status if latest else None)
        out = CaseUploadAccepted(case_id=record.id, upload_id=stored.id, position=position, status=status,
                                 links=links_of(stored.id))
        return JSONResponse(out.model_dump(mode="json", by_alias=True), status_code=202 if created else 200)

    @app.get("/api/cases/{case_id}/report", response_model=CaseView, tags=["cases"], summary="The case's report",
             responses=_NOT_FOUND)
    def get_case_report(case_id: str, who: Caller) -> JSONResponse:
        """The newest case report (each field's evidence names its upload and page; each upload's own report
        inside), whether uploads are still being read, and the coordinator's last decision beside it."""
        record = visible(case_id, who)
        _, waiting, failed = case_uploads(store, record.id)
        latest = cases.latest_report(record.id)
        decision = cases.latest_decision(record.id)
        # A read of PHI (the case report, the coordinator's note), audited with who read it (the person, or the
        # token when it belongs to none; an outcome has no room for both ids).
        store.audit(actor=who.owner, action="case.read", upload_id=None,
                    outcome=f"case:{record.id}:v{latest.version if latest else 0}")
        view = CaseView(case_id=record.id, state=CaseState.PROCESSING if waiting else CaseState.DONE,
                        pending_uploads=waiting, failed_uploads=[f.upload_id for f in failed],
                        version=latest.version if latest else None,
                        status=latest.status if latest else None, report=latest.report() if latest else None,
                        decision=DecisionView.of(decision, latest.version if latest else None) if decision else None)
        return JSONResponse(view.model_dump(mode="json"))

    @app.post("/api/cases/{case_id}/decision", response_model=DecisionView, tags=["cases"],
              summary="Record a coordinator's decision on a case",
              responses={**_NOT_FOUND, 403: {"model": ErrorBody, "description": "Only coordinators decide."},
                         409: {"model": ErrorBody, "description": "The case has no report yet."}})
    def decide_case(case_id: str, body: DecisionIn, who: Caller) -> JSONResponse:
        """Settle the case at a status, on its newest report version. A later upload judges the case again; the
        decision stays and is shown beside the new verdict."""
        if who.role is AccessRole.UPLOADER:
            raise ApiError(403, "forbidden", "Only coordinators decide on cases.")
        record = visible(case_id, who)
        latest = cases.latest_report(record.id)
        if latest is None:
            raise ApiError(409, "case_not_judged", "The case has no report yet.")
        d = cases.decide(record.id, body.status, actor=who.owner, note=body.note)
        return JSONResponse(DecisionView.of(d, latest.version).model_dump(mode="json"))
