"""What the outbound webhook sends and what it did: upload status changes read from the audit log (every state change
is audited in its own transaction, by every process — API, flow runs, reconciler — so the log is a complete,
ordered outbox), and the record of every delivery attempt (`webhook_deliveries`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pipeline.types import Status
from storage.models import AuditHeadRow, AuditRow, ReportRow, WebhookDeliveryRow
from storage.store import Store, UploadStatus, _check_token

_VERSION = re.compile(r"v([0-9]+)")


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One status change of one upload; `seq` (its audit row) is the event's id."""

    seq: int
    upload_id: str
    status: UploadStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One delivery attempt of one event."""

    audit_seq: int
    upload_id: str
    upload_status: str
    attempt: int
    attempted_at: datetime
    response_status: int | None
    outcome: str


# audit action → the status it means (report.save: the saved version's report status, looked up)
_STATE_ACTIONS = {"upload.create": UploadStatus.PENDING, "upload.claim": UploadStatus.PROCESSING,
                  "upload.fail": UploadStatus.FAILED}


def status_events_after(store: Store, seq: int, limit: int = 100) -> list[StatusEvent]:
    """Status changes audited after audit row `seq`, oldest first (at most `limit`)."""
    query = (select(AuditRow).where(AuditRow.seq > seq, AuditRow.upload_id.is_not(None),
                                    or_(AuditRow.action.in_([*_STATE_ACTIONS, "report.save"]),
                                        (AuditRow.action.startswith("upload.requeue.")
                                         & (AuditRow.outcome == "requeued"))))
             .order_by(AuditRow.seq).limit(limit))
    events: list[StatusEvent] = []
    with store._read() as s:  # noqa: SLF001 - the store's read session, shared by its own modules
        for row in s.scalars(query):
            assert row.upload_id is not None
            if row.action in _STATE_ACTIONS:
                status = _STATE_ACTIONS[row.action]
            elif row.action == "report.save":
                version = _VERSION.fullmatch(row.outcome)
                saved = s.scalar(select(ReportRow.status).where(ReportRow.upload_id == row.upload_id,
                                                                 ReportRow.version == int(version.group(1))))\
                    if version else None
                if saved is None:
                    continue
                status = UploadStatus(Status(saved).value)
            else:
                status = UploadStatus.PENDING  # requeued
            events.append(StatusEvent(seq=row.seq, upload_id=row.upload_id, status=status, at=row.at))
    return events


def audit_head_seq(store: Store) -> int:
    """The newest audit row's seq (0 on an empty log)."""
    with store._read() as s:  # noqa: SLF001
        head = s.get(AuditHeadRow, 1)
        return head.seq if head else 0


def last_delivered_seq(store: Store) -> int | None:
    """The newest event any delivery was attempted for (the dispatcher's cursor), None before the first."""
    with store._read() as s:  # noqa: SLF001
        return s.scalar(select(func.max(WebhookDeliveryRow.audit_seq)))


def record_attempt(store: Store, event: StatusEvent, *, attempt: int, response_status: int | None,
                   outcome: str) -> None:
    """Record one delivery attempt. `outcome` is a code ("delivered", "http_503", "ConnectError")."""
    _check_token("outcome", outcome)

    def add(s: Session) -> None:
        s.add(WebhookDeliveryRow(audit_seq=event.seq, upload_id=event.upload_id,
                                 upload_status=event.status.value, attempt=attempt,
                                 attempted_at=store._clock(), response_status=response_status,  # noqa: SLF001
                                 outcome=outcome))

    store._write(add)  # noqa: SLF001


def deliveries(store: Store, upload_id: str | None = None) -> list[DeliveryRecord]:
    """Every recorded attempt, oldest first, optionally of one upload."""
    query = select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)
    if upload_id is not None:
        query = query.where(WebhookDeliveryRow.upload_id == upload_id)
    with store._read() as s:  # noqa: SLF001
        return [DeliveryRecord(r.audit_seq, r.upload_id, r.upload_status, r.attempt, r.attempted_at,
                               r.response_status, r.outcome) for r in s.scalars(query)]
