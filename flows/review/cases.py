"""The review app's case pages: a case (one patient's several uploads) is one item of the queue, and its page shows
the uploads side by side, each with the boxes of the case's evidence found on it (docs/POLICY.md "Cases").

A coordinator decides on a case here (or through `POST /api/cases/{id}/decision`): the decision is stored on the
newest case report version and shown beside any later verdict, never replaced by it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from flows.review.pages import Unrenderable, render_pages
from flows.review.views import Box, PageView, _box
from pipeline.case_report import CaseEvidenceReport, CaseReport, CaseUploadReport
from pipeline.types import Status
from storage.cases import CaseStore
from storage.review import MAX_NOTE_CHARS
from storage.store import Store

_FIELDS = (("patient_name", "Patient"), ("physician_name", "Treating physician"), ("pain_diagnosis", "Pain diagnosis"))


@dataclass(frozen=True, slots=True)
class UploadColumn:
    """One upload of the case, shown beside the others: its identity, its own status and its pages with boxes."""

    upload: CaseUploadReport
    pages: list[PageView]
    render_error: str | None


def _evidence(report: CaseReport) -> list[tuple[str, CaseEvidenceReport]]:
    f = report.fields
    return ([("patient_name", e) for e in f.patient_name.evidence]
            + [("physician_name", e) for e in f.physician_name.evidence]
            + [("pain_diagnosis", e) for e in f.pain_diagnosis.evidence])


def columns(store: Store, report: CaseReport) -> list[UploadColumn]:
    """Each upload's pages with the case evidence that names it (boxes in the page image's pixels)."""
    evidence = _evidence(report)
    out = []
    for u in report.uploads:
        upload = store.get(u.upload_id)
        try:
            images = render_pages(store.read_original(u.upload_id), upload.sha256) if upload else ()
            error = None
        except Unrenderable:
            images, error = (), "The pages of this upload cannot be shown as images."
        pages = []
        for image in images:
            boxes: list[Box] = [b for field, ev in evidence
                                if ev.upload_id == u.upload_id and ev.page == image.number
                                and (b := _box(field, ev, image)) is not None]
            pages.append(PageView(number=image.number, width_px=image.width_px, height_px=image.height_px,
                                  boxes=boxes))
        out.append(UploadColumn(u, pages, error))
    return out


class _NoCase(Exception):
    """No case with this id, or it has no report yet."""


DECISIONS = (Status.COMPLETE, Status.INCOMPLETE, Status.NEEDS_REVIEW)
"""What a coordinator may settle a case at."""


def install(app: FastAPI, *, store: Store, session: Callable[..., Any],
            render: Callable[[Request, str, dict[str, object], int], Response], actor: Callable[[Any], str],
            check_csrf: Callable[[Any, str], None]) -> None:
    """Register the case queue (/cases), the case page (/cases/{case_id}) and its decision form on the review app."""
    cases = CaseStore(store)

    @app.exception_handler(_NoCase)
    async def _no_case(request: Request, _exc: _NoCase) -> Response:
        return render(request, "error.html", {"message": "No case with this id has a report."}, 404)

    @app.get("/cases", name="case_queue")
    def case_queue(request: Request, record: Any = Depends(session)) -> Response:  # noqa: B008 (FastAPI idiom)
        rows = [(c, r.report()) for c, r in cases.waiting()]
        return render(request, "case_queue.html", {"session": record, "rows": rows}, 200)

    @app.get("/cases/{case_id}", name="case")
    def case_page(request: Request, case_id: str, record: Any = Depends(session)) -> Response:  # noqa: B008
        case = cases.get(case_id) if len(case_id) <= 64 else None
        latest = cases.latest_report(case_id) if case else None
        if case is None or latest is None:
            raise _NoCase()
        report = latest.report()
        decision = cases.latest_decision(case_id)
        store.audit(actor=actor(record), action="review.case_view", upload_id=None, outcome=f"case:{case_id}")
        return render(request, "case.html", {
            "session": record, "case": case, "report": report, "version": latest.version, "decision": decision,
            "fields": [(label, getattr(report.fields, key)) for key, label in _FIELDS],
            "columns": columns(store, report), "decisions": DECISIONS, "max_note": MAX_NOTE_CHARS}, 200)

    @app.post("/cases/{case_id}/decide", name="case_decide")
    def case_decide(request: Request, case_id: str, csrf: Annotated[str, Form(max_length=200)],
                    status: Annotated[Status, Form()],
                    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS)] = "",
                    record: Any = Depends(session)) -> Response:  # noqa: B008 (FastAPI idiom)
        check_csrf(record, csrf)
        if status not in DECISIONS or (cases.get(case_id) if len(case_id) <= 64 else None) is None:
            raise _NoCase()
        cases.decide(case_id, status, actor=actor(record), note=note or None)
        return RedirectResponse(request.url_for("case", case_id=case_id), status_code=303)
