"""What the review pages show, assembled from the store: the queue, one document with its evidence, the dashboard.

Values here are plain data; the templates escape every string (autoescape on). Boxes are converted from PDF points
(top-left origin) to the page image's pixels in `_box`, the one points → pixels conversion of the review app.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from flows.review.pages import PageImage
from pipeline.report import EvidenceReport, Report
from pipeline.types import Payer, Source, Status
from storage.review import DecisionRecord, FieldValue, ReviewAction, ReviewField
from storage.store import ReportRecord, UploadRecord

QUEUE_STATUSES = (Status.NEEDS_REVIEW, Status.INCOMPLETE)
FIELD_LABELS = {ReviewField.PATIENT_NAME: "Patient", ReviewField.PHYSICIAN_NAME: "Treating physician",
                ReviewField.PAIN_DIAGNOSIS: "Pain diagnosis"}


# --- the queue ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class QueueRow:
    """One flagged upload waiting for a decision."""

    upload: UploadRecord
    status: Status
    reasons: list[str]
    report_version: int


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """The queue's filters (None: any). `reason` is a reason's key (`reason_key`), so a URL never holds its text."""

    status: Status | None = None
    reason: str | None = None
    payer: Payer | None = None


def reason_key(reason: str) -> str:
    """A reason's id in URLs: the first 12 hex digits of its sha256 (reasons may quote the document)."""
    return hashlib.sha256(reason.encode("utf-8")).hexdigest()[:12]


def decided_status(decisions: list[DecisionRecord]) -> Status | None:
    """The coordinators' verdict: the status set by the newest closing decision, None while undecided."""
    closing = [d for d in decisions if d.action.closes and d.status_after is not None]
    return closing[-1].status_after if closing else None


def queue_rows(latest: list[tuple[UploadRecord, ReportRecord]], decided: set[str],
               flt: QueueFilter) -> tuple[list[QueueRow], list[tuple[str, str]]]:
    """Flagged (needs_review, incomplete) uploads without a closing decision, oldest first, filtered; and every
    reason seen in the unfiltered queue as (key, text) (the reason filter's choices)."""
    rows: list[QueueRow] = []
    for upload, record in sorted(latest, key=lambda pair: (pair[0].created_at, pair[0].id)):
        if record.status not in QUEUE_STATUSES or upload.id in decided:
            continue
        rows.append(QueueRow(upload=upload, status=record.status, reasons=list(record.report().reasons),
                             report_version=record.version))
    reasons = [(reason_key(r), r) for r in sorted({r for row in rows for r in row.reasons})]
    kept = [row for row in rows
            if (flt.status is None or row.status is flt.status)
            and (flt.payer is None or row.upload.payer is flt.payer)
            and (flt.reason is None or flt.reason in {reason_key(r) for r in row.reasons})]
    return kept, reasons


# --- one document -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Box:
    """An evidence box on a page image, in the image's pixels."""

    field: str
    x: float
    y: float
    width: float
    height: float
    label: str
    key: str  # the box in points (`box_key`): what a correction names when this box is picked


def box_key(page: int, bbox: list[float]) -> str:
    """`page:x0,top,x1,bottom` in points, one decimal: how a form names an evidence box."""
    return f"{page}:" + ",".join(f"{v:.1f}" for v in bbox)


@dataclass(frozen=True, slots=True)
class PageView:
    """A page image and the evidence boxes drawn on it."""

    number: int
    width_px: int
    height_px: int
    boxes: list[Box]


@dataclass(frozen=True, slots=True)
class FieldView:
    """A report field with what coordinators changed."""

    key: ReviewField
    label: str
    value: str | None
    confidence: float
    assertion: str | None
    detail: str | None
    reason: str | None
    evidence: list[EvidenceReport]
    corrected: DecisionRecord | None


@dataclass(frozen=True, slots=True)
class BoxChoice:
    """An evidence box a correction can point at: `key` is `page:x0,top,x1,bottom` (points)."""

    key: str
    label: str


def field_views(report: Report, decisions: list[DecisionRecord]) -> list[FieldView]:
    """The three fields of the report, each with its newest correction (if any)."""
    last: dict[ReviewField, DecisionRecord] = {}
    for d in decisions:
        if d.action is ReviewAction.CORRECT and d.field is not None:
            last[d.field] = d
    f = report.fields
    dx = f.pain_diagnosis
    dx_detail = " ".join(x for x in (dx.icd10, dx.category.value if dx.category else None, dx.description) if x)
    return [
        FieldView(ReviewField.PATIENT_NAME, FIELD_LABELS[ReviewField.PATIENT_NAME], f.patient_name.value,
                  f.patient_name.confidence, None, None, f.patient_name.reason, f.patient_name.evidence,
                  last.get(ReviewField.PATIENT_NAME)),
        FieldView(ReviewField.PHYSICIAN_NAME, FIELD_LABELS[ReviewField.PHYSICIAN_NAME], f.physician_name.value,
                  f.physician_name.confidence, None, ", ".join(f.physician_name.credentials) or None,
                  f.physician_name.reason, f.physician_name.evidence, last.get(ReviewField.PHYSICIAN_NAME)),
        FieldView(ReviewField.PAIN_DIAGNOSIS, FIELD_LABELS[ReviewField.PAIN_DIAGNOSIS], dx.value, dx.confidence,
                  dx.assertion.value if dx.assertion else None, dx_detail or None, dx.reason, dx.evidence,
                  last.get(ReviewField.PAIN_DIAGNOSIS)),
    ]


def _box(field: str, ev: EvidenceReport, image: PageImage) -> Box | None:
    """Points (top-left origin, y down) → pixels of the page image: multiply by its pixels-per-point scale."""
    if ev.bbox is None or len(ev.bbox) != 4:
        return None
    x0, top, x1, bottom = ev.bbox
    sx, sy = image.scale_x, image.scale_y
    return Box(field=field, x=round(x0 * sx, 1), y=round(top * sy, 1), width=round(max(1.0, (x1 - x0) * sx), 1),
               height=round(max(1.0, (bottom - top) * sy), 1), label=ev.text, key=box_key(image.number, ev.bbox))


def page_views(report: Report, fields: list[FieldView], images: tuple[PageImage, ...]) -> list[PageView]:
    """Every page image with the boxes of each field's evidence (and of every diagnosis mention, as `dx<n>`)."""
    views = []
    for image in images:
        boxes: list[Box] = []
        for fv in fields:
            evidence = list(fv.evidence)
            if fv.corrected is not None and fv.corrected.after.evidence and fv.corrected.after.evidence.bbox:
                chosen = fv.corrected.after.evidence
                evidence = [EvidenceReport(page=chosen.page, text=fv.corrected.after.value or "", bbox=chosen.bbox,
                                           source=evidence[0].source if evidence else Source.TEXT_LAYER,
                                           finder="coordinator", rule="correction", score=1.0)]
            for ev in evidence:
                if ev.page == image.number and (box := _box(fv.key.value, ev, image)) is not None:
                    boxes.append(box)
        for n, d in enumerate(report.diagnoses):
            for ev in d.evidence:
                if ev.page == image.number and (box := _box(f"dx{n}", ev, image)) is not None:
                    boxes.append(box)
        views.append(PageView(number=image.number, width_px=image.width_px, height_px=image.height_px, boxes=boxes))
    return views


def box_choices(report: Report) -> list[BoxChoice]:
    """Every evidence box in the report, for a correction to point at (fields first, then diagnoses)."""
    seen: set[str] = set()
    out: list[BoxChoice] = []
    evidence = [*report.fields.patient_name.evidence, *report.fields.physician_name.evidence,
                *report.fields.pain_diagnosis.evidence, *(e for d in report.diagnoses for e in d.evidence)]
    for ev in evidence:
        if ev.page is None or ev.bbox is None or len(ev.bbox) != 4:
            continue
        key = box_key(ev.page, ev.bbox)
        if key not in seen:
            seen.add(key)
            out.append(BoxChoice(key=key, label=f"page {ev.page}: {ev.text[:80]}"))
    return out


def parse_box_key(key: str) -> tuple[int, list[float]] | None:
    """`page:x0,top,x1,bottom` → (page, bbox in points); None when malformed."""
    page_s, _, coords = key.partition(":")
    try:
        page = int(page_s)
        bbox = [float(v) for v in coords.split(",")]
    except ValueError:
        return None
    if page < 1 or len(bbox) != 4 or not all(0 <= v < 100_000 for v in bbox) or bbox[0] > bbox[2] \
            or bbox[1] > bbox[3]:
        return None
    return page, bbox


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a document's history: a report version or a decision, by time."""

    at: datetime
    kind: str  # "report" | "decision"
    title: str
    actor: str
    detail: str
    before: str | None
    after: str | None


def history(reports: list[ReportRecord], decisions: list[DecisionRecord]) -> list[HistoryEntry]:
    """Report versions and decisions, oldest first."""
    entries = [HistoryEntry(at=r.created_at, kind="report", title=f"report v{r.version}", actor="docverify",
                            detail=f"{r.status.value} (pipeline {r.pipeline_version})", before=None, after=None)
               for r in reports]
    for d in decisions:
        title = f"decision v{d.seq}: {d.action.value}" + (f" {d.field.value}" if d.field else "")
        entries.append(HistoryEntry(at=d.created_at, kind="decision", title=title, actor=d.actor,
                                    detail=d.note or "", before=_describe(d.before), after=_describe(d.after)))
    return sorted(entries, key=lambda e: (e.at, e.kind != "report"))


def _describe(value: FieldValue) -> str:
    parts = []
    if value.status is not None:
        parts.append(value.status.value)
    if value.value is not None:
        parts.append(value.value)
    if value.evidence is not None:
        ev = value.evidence
        parts.append("typed" if ev.typed else f"page {ev.page} box")
    return " · ".join(parts) if parts else "—"


# --- the dashboard ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DayStats:
    """One day's uploads by report status, and the median minutes from report to decision of that day's decisions."""

    day: str
    statuses: dict[Status, int]
    median_minutes: float | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The dashboard's figures."""

    total: int
    straight_through: int
    days: list[DayStats]
    reasons: list[tuple[str, int]]
    agreement: list[tuple[str, int, int]]  # (field, agreed, decided)


def dashboard(latest: list[tuple[UploadRecord, ReportRecord]], first_report_at: dict[str, datetime],
              decisions: list[DecisionRecord], top_reasons: int = 8) -> Dashboard:
    """Straight-through rate, status mix and median time-to-decision per day, common reasons, per-field agreement."""
    by_upload: dict[str, list[DecisionRecord]] = defaultdict(list)
    for d in decisions:
        by_upload[d.upload_id].append(d)
    reported = [(u, r) for u, r in latest]
    straight = sum(1 for u, r in reported if r.status is Status.COMPLETE and u.id not in by_upload)

    mix: dict[str, Counter[Status]] = defaultdict(Counter)
    reason_counts: Counter[str] = Counter()
    for u, r in reported:
        mix[u.created_at.date().isoformat()][r.status] += 1
        if r.status in QUEUE_STATUSES:
            reason_counts.update(r.report().reasons)
    waits: dict[str, list[float]] = defaultdict(list)
    for upload_id, ds in by_upload.items():
        closing = next((d for d in ds if d.action.closes), None)
        start = first_report_at.get(upload_id)
        if closing is not None and start is not None:
            waits[closing.created_at.date().isoformat()].append((closing.created_at - start).total_seconds() / 60)
    days = [DayStats(day=day, statuses={s: mix[day][s] for s in Status},
                     median_minutes=round(statistics.median(waits[day]), 1) if waits.get(day) else None)
            for day in sorted(set(mix) | set(waits))]

    status_of = {u.id: r.status for u, r in reported}
    agreement: list[tuple[str, int, int]] = []
    closed = {uid: ds for uid, ds in by_upload.items() if any(d.action.closes for d in ds)}
    for field in ReviewField:
        corrected = sum(1 for ds in closed.values() if any(d.field is field for d in ds))
        agreement.append((FIELD_LABELS[field], len(closed) - corrected, len(closed)))
    # The verdict: only complete/incomplete verdicts can agree or not (needs_review asks a person to decide).
    verdicts = [(status_of.get(uid), decided_status(ds)) for uid, ds in closed.items()]
    judged = [(ours, theirs) for ours, theirs in verdicts if ours in (Status.COMPLETE, Status.INCOMPLETE)]
    agreement.append(("Verdict", sum(1 for ours, theirs in judged if ours is theirs), len(judged)))
    return Dashboard(total=len(reported), straight_through=straight, days=days,
                     reasons=reason_counts.most_common(top_reasons), agreement=agreement)
