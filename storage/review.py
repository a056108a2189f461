"""The review app's tables: coordinators' sessions, the login lockout, and decisions on flagged uploads.

Decisions never change a report: each is version n+1 of the upload's decisions (`review_decisions`), with what the
field or status was before and after, and one audit row (actor, action, upload id, `decision<n>`) written in the same
transaction. Sessions store only the sha256 of the cookie's token. Every time comes from the store's clock.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pipeline.types import Status
from storage.crypto import Keyring
from storage.models import ReportRow, ReviewDecisionRow, ReviewLoginFailureRow, ReviewSessionRow, UploadRow
from storage.sealed import SealError, column_context, open_column, open_value, seal_row
from storage.store import ReportRecord, Store, StoreIntegrityError, UploadRecord

MAX_NOTE_CHARS: Final = 4000
"""A decision's note or patient message, characters."""


class ReviewAction(StrEnum):
    """What a coordinator decided."""

    CONFIRM = "confirm"  # the document is complete as read (with any corrections)
    CORRECT = "correct"  # one field's value (and its evidence) corrected; the document stays open
    MARK_INCOMPLETE = "mark_incomplete"  # something is missing: the message for the patient is the note
    OVERRIDE_COMPLETE = "override_complete"  # accepted as complete against the report, with a required note

    @property
    def closes(self) -> bool:
        """Whether this decision settles the document (it leaves the queue)."""
        return self is not ReviewAction.CORRECT


class ReviewField(StrEnum):
    """The report fields a coordinator can correct."""

    PATIENT_NAME = "patient_name"
    PHYSICIAN_NAME = "physician_name"
    PAIN_DIAGNOSIS = "pain_diagnosis"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EvidenceChoice(_Frozen):
    """Where a corrected value is shown: a page and a box in PDF points from the top-left, or typed (no box)."""

    page: int | None = None
    bbox: list[float] | None = None
    typed: bool = False


class FieldValue(_Frozen):
    """A field's value before or after a correction, or a status before or after a decision."""

    value: str | None = None
    confidence: float | None = None
    evidence: EvidenceChoice | None = None
    status: Status | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live review session."""

    user_name: str
    role: str
    csrf: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One stored decision (version `seq` of the upload's decisions)."""

    upload_id: str
    seq: int
    report_version: int
    action: ReviewAction
    field: ReviewField | None
    status_after: Status | None
    before: FieldValue
    after: FieldValue
    note: str | None
    actor: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Session lifetimes and the login lockout (docs/THREAT-MODEL.md "Review page and API")."""

    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=12)
    max_failures: int = 5  # failed logins in a row before the name is locked
    lockout: timedelta = timedelta(minutes=15)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class ReviewStore:
    """The review app's view of the store: sessions, lockout and decisions (one write transaction each)."""

    def __init__(self, store: Store, policy: SessionPolicy | None = None) -> None:
        """Wrap `store` (migrated to revision 0004 or later)."""
        self.store = store
        self.policy = policy or SessionPolicy()

    def now(self) -> datetime:
        """The store's clock (UTC)."""
        return self.store._clock()

    # -- sessions --

    def create_session(self, user_name: str, role: str) -> tuple[str, SessionRecord]:
        """A new session: (the cookie's token, the record). Only the token's sha256 is stored."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = self.now()

        def add(s: Session) -> SessionRecord:
            # Sessions abandoned without logout are removed here (touch_session removes those it meets).
            s.execute(delete(ReviewSessionRow).where((ReviewSessionRow.last_seen_at < now - self.policy.idle)
                                                     | (ReviewSessionRow.created_at < now - self.policy.absolute)))
            s.add(ReviewSessionRow(token_sha256=_sha256(token), user_name=user_name, role=role, csrf=csrf,
                                   created_at=now, last_seen_at=now))
            self.store._audit(s, actor=_actor(user_name), action="review.login", upload_id=None, outcome="ok")
            return SessionRecord(user_name, role, csrf, now, now)

        return token, self.store._write(add)

    def touch_session(self, token: str) -> SessionRecord | None:
        """The live session of `token`, its idle timer restarted; None (and the row deleted) when it is unknown,
        idle longer than `policy.idle` or older than `policy.absolute`."""
        if not token or len(token) > 128:
            return None
        key = _sha256(token)
        now = self.now()

        def touch(s: Session) -> SessionRecord | None:
            row = s.get(ReviewSessionRow, key, with_for_update=True)
            if row is None:
                return None
            if now - row.last_seen_at > self.policy.idle or now - row.created_at > self.policy.absolute:
                s.delete(row)
                self.store._audit(s, actor=_actor(row.user_name), action="review.session_expired", upload_id=None,
                                  outcome="expired")
                return None
            row.last_seen_at = now
            return SessionRecord(row.user_name, row.role, row.csrf, row.created_at, now)

        return self.store._write(touch)

    def end_session(self, token: str) -> None:
        """Log out: delete the session (audited when it existed)."""
        key = _sha256(token)

        def end(s: Session) -> None:
            row = s.get(ReviewSessionRow, key, with_for_update=True)
            if row is not None:
                s.delete(row)
                self.store._audit(s, actor=_actor(row.user_name), action="review.logout", upload_id=None,
                                  outcome="ok")

        self.store._write(end)

    def live_sessions(self) -> int:
        """Session rows in the database (expired ones are removed at the next login)."""
        with self.store._read() as s:
            return int(s.scalar(select(func.count()).select_from(ReviewSessionRow)) or 0)

    # -- lockout --

    def locked(self, user_name: str) -> bool:
        """Whether logins for this name are refused now (too many failures in a row)."""
        with self.store._read() as s:
            row = s.get(ReviewLoginFailureRow, _sha256(user_name.casefold()))
            return row is not None and row.locked_until is not None and row.locked_until > self.now()

    def record_failure(self, user_name: str) -> bool:
        """Count a failed login for this name; True when the name is now locked. Audited (the name is not)."""
        key = _sha256(user_name.casefold())
        now = self.now()

        def fail(s: Session) -> bool:
            row = s.get(ReviewLoginFailureRow, key, with_for_update=True)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                # Attempts while locked do not extend the lockout (else anyone could keep a coordinator out).
                self.store._audit(s, actor="anonymous", action="review.login", upload_id=None, outcome="locked")
                return True
            if row is None or (row.locked_until is not None and row.locked_until <= now):
                if row is not None:
                    s.delete(row)
                    s.flush()
                row = ReviewLoginFailureRow(name_sha256=key, failures=0, first_failure_at=now, locked_until=None)
                s.add(row)
            row.failures += 1
            locked = row.failures >= self.policy.max_failures
            if locked:
                row.locked_until = now + self.policy.lockout
            self.store._audit(s, actor="anonymous", action="review.login", upload_id=None,
                              outcome="locked" if locked else "failed")
            return locked

        return self.store._write(fail)

    def clear_failures(self, user_name: str) -> None:
        """A successful login resets the count."""
        key = _sha256(user_name.casefold())
        self.store._write(lambda s: s.execute(delete(ReviewLoginFailureRow)
                                              .where(ReviewLoginFailureRow.name_sha256 == key)))

    # -- decisions --

    def decide(self, upload_id: str, *, actor: str, action: ReviewAction, report_version: int,
               before: FieldValue, after: FieldValue, field: ReviewField | None = None,
               status_after: Status | None = None, note: str | None = None) -> DecisionRecord:
        """Store the next decision version and its audit row in one transaction. Raises UnknownUpload, ValueError
        (an over-long note, a correction without a field)."""
        if note is not None and len(note) > MAX_NOTE_CHARS:
            raise ValueError(f"note longer than {MAX_NOTE_CHARS} characters")
        if (action is ReviewAction.CORRECT) != (field is not None):
            raise ValueError("a correction names one field; other decisions name none")
        now = self.now()

        def add(s: Session) -> DecisionRecord:
            self.store._locked(s, upload_id)  # the upload exists; concurrent decisions on it are serialised
            last = s.scalar(select(func.max(ReviewDecisionRow.seq)).where(ReviewDecisionRow.upload_id == upload_id))
            seq = (last or 0) + 1
            keys = self.store.settings.data_keys
            row = seal_row(keys, ReviewDecisionRow(
                upload_id=upload_id, seq=seq, report_version=report_version, action=action.value,
                field=field.value if field else None, status_after=status_after.value if status_after else None,
                before_json=before.model_dump_json(), after_json=after.model_dump_json(), note=note, actor=actor,
                created_at=now))
            s.add(row)
            s.flush()
            what = f"review.{action.value}" + (f".{field.value}" if field else "")
            self.store._audit(s, actor=_actor(actor), action=what, upload_id=upload_id,
                              outcome=f"decision{row.seq}")
            return self._decision(row)

        return self.store._write(add)

    def decisions(self, upload_id: str) -> list[DecisionRecord]:
        """The upload's decisions, oldest (seq 1) first."""
        with self.store._read() as s:
            rows = s.scalars(select(ReviewDecisionRow).where(ReviewDecisionRow.upload_id == upload_id)
                             .order_by(ReviewDecisionRow.seq))
            return [self._decision(r) for r in rows]

    def _decision(self, row: ReviewDecisionRow) -> DecisionRecord:
        return _decision(row, self.store.settings.data_keys)

    def decided_uploads(self) -> set[str]:
        """Ids of uploads with a closing decision (confirm, mark incomplete, override)."""
        closing = [a.value for a in ReviewAction if a.closes]
        with self.store._read() as s:
            return set(s.scalars(select(ReviewDecisionRow.upload_id).where(ReviewDecisionRow.action.in_(closing))
                                 .distinct()))

    def latest_reports(self) -> list[tuple[UploadRecord, ReportRecord]]:
        """Every upload that has a report, with its newest report version, oldest upload first."""
        newest = (select(ReportRow.upload_id, func.max(ReportRow.version).label("version"))
                  .group_by(ReportRow.upload_id).subquery())
        query = (select(UploadRow, ReportRow)
                 .join(newest, newest.c.upload_id == UploadRow.id)
                 .join(ReportRow, (ReportRow.upload_id == newest.c.upload_id)
                       & (ReportRow.version == newest.c.version))
                 .order_by(UploadRow.created_at, UploadRow.id))
        with self.store._read() as s:
            return [(self.store._upload(u), self.store._report(r)) for u, r in s.execute(query)]  # decrypted at rest

    def first_report_times(self) -> dict[str, datetime]:
        """When each upload's first report was saved (the start of its wait for a decision)."""
        with self.store._read() as s:
            rows = s.execute(select(ReportRow.upload_id, ReportRow.created_at).where(ReportRow.version == 1))
            return {upload_id: at for upload_id, at in rows}

    def all_decisions(self) -> list[DecisionRecord]:
        """Every decision, oldest first (the dashboard's input)."""
        with self.store._read() as s:
            rows = s.scalars(select(ReviewDecisionRow).order_by(ReviewDecisionRow.created_at,
                                                                ReviewDecisionRow.id))
            return [self._decision(r) for r in rows]


def _actor(user_name: str) -> str:
    """The audit actor of a person: `user:<name>` when the name is an audit token, else a hash of it."""
    candidate = f"user:{user_name}"
    if len(candidate) <= 128 and all(c.isascii() and (c.isalnum() or c in "_.:@/+-") for c in candidate):
        return candidate
    return f"user-sha256:{_sha256(user_name)[:16]}"


def _decision(row: ReviewDecisionRow, keys: Keyring | None) -> DecisionRecord:
    """The record of a decision row, its sealed values opened. Raises StoreIntegrityError when one does not open."""
    try:
        before = open_value(keys, row.before_json, column_context(row, "before_json"))
        after = open_value(keys, row.after_json, column_context(row, "after_json"))
        note = open_column(keys, row, "note")
    except (SealError, ValueError) as e:
        raise StoreIntegrityError(f"upload {row.upload_id}: decision {row.seq} does not open") from e
    return DecisionRecord(upload_id=row.upload_id, seq=row.seq, report_version=row.report_version,
                          action=ReviewAction(row.action), field=ReviewField(row.field) if row.field else None,
                          status_after=Status(row.status_after) if row.status_after else None,
                          before=FieldValue.model_validate(json.loads(before)),
                          after=FieldValue.model_validate(json.loads(after)), note=note,
                          actor=row.actor, created_at=row.created_at)
