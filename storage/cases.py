"""Cases in the store: the intake and its uploads, the identifiers each upload prints, the case's report versions
and coordinators' decisions (docs/POLICY.md "Cases").

Every write is one transaction with one audit row (actor, action, upload id, an outcome made of the case id, a
version and a status code — never a name). The intake name, identifiers, case reports and notes are sealed at rest
with the data keyring (storage/sealed.py); identifiers are kept unique by their keyed digest, never their value.
Report versions and decisions are only ever added: a new verdict after a
new upload is version n+1, and the coordinator's last decision stays beside it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pipeline.case_report import CaseReport
from pipeline.cases import CaseIntake
from pipeline.errors import DocverifyError
from pipeline.types import IdentifierKind, PatientIdentifier, Payer, Status
from storage.crypto import Keyring
from storage.models import CaseDecisionRow, CaseReportRow, CaseRow, CaseUploadRow, UploadIdentifierRow, UploadRow
from storage.sealed import (
    SealError,
    column_context,
    external_id_digest,
    external_id_digests,
    match_digest,
    open_column,
    open_value,
    seal_row,
)
from storage.store import Store, StoreIntegrityError, UnknownUpload, _check_text

MAX_CASE_UPLOADS = 50
"""Uploads one case may hold: a visit's screenshots are a handful; more is a mistake or abuse."""


class UnknownCase(DocverifyError):
    """No case with this id."""

    code = "unknown_case"
    user_message = "There is no case with this id."


class CaseFull(DocverifyError):
    """The case holds MAX_CASE_UPLOADS uploads already, or the upload belongs to another case."""

    code = "case_upload_refused"
    user_message = "This upload cannot be added to the case (it is full, or the upload belongs to another case)."


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A stored case: its intake, owner and upload ids in the order received."""

    id: str
    owner: str
    intake: CaseIntake
    created_at: datetime
    upload_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CaseReportRecord:
    """One version of a case's report."""

    case_id: str
    version: int
    status: Status
    report_json: str
    created_at: datetime

    def report(self) -> CaseReport:
        """The report, validated against the contract."""
        return CaseReport.model_validate_json(self.report_json)


@dataclass(frozen=True, slots=True)
class CaseDecisionRecord:
    """A coordinator's decision on a case, made on report version `report_version`."""

    case_id: str
    seq: int
    report_version: int
    status: Status
    note: str | None
    actor: str
    created_at: datetime


class CaseStore:
    """The cases' view of the store (one write transaction each, audited)."""

    def __init__(self, store: Store) -> None:
        """Wrap `store` (migrated to revision 0007 or later)."""
        self.store = store
        self.keys = store.settings.data_keys

    def create(self, owner: str, intake: CaseIntake, *, actor: str) -> CaseRecord:
        """A new empty case. Raises ValueError for an over-long or control-character intake field."""
        if intake.patient_name is not None:
            _check_text("patient_name", intake.patient_name, 255)
        if intake.external_id is not None:
            _check_text("external_id", intake.external_id, 128)
        case_id = uuid.uuid4().hex

        def insert(s: Session) -> CaseRecord:
            now = self.store._clock()
            s.add(seal_row(self.keys, CaseRow(id=case_id, owner=owner, payer=intake.payer.value,
                                              patient_name=intake.patient_name, external_id=intake.external_id,
                                              external_id_hmac=external_id_digest(self.keys, intake.external_id),
                                              created_at=now)))
            s.flush()
            self.store._audit(s, actor=actor, action="case.create", upload_id=None, outcome=f"case:{case_id}")
            return CaseRecord(case_id, owner, intake, now, ())

        return self.store._write(insert)

    def get(self, case_id: str) -> CaseRecord | None:
        """The case, or None."""
        with self.store._read() as s:
            row = s.get(CaseRow, case_id)
            if row is None:
                return None
            ids = s.scalars(select(CaseUploadRow.upload_id).where(CaseUploadRow.case_id == case_id)
                            .order_by(CaseUploadRow.position))
            return _case(row, tuple(ids), self.keys)

    def find_by_external_id(self, owner: str, external_id: str) -> list[CaseRecord]:
        """`owner`'s cases opened with this external_id, oldest first: found by its keyed digest
        (storage/sealed.py), never by the clear value, which is sealed."""
        query = (select(CaseRow)
                 .where(CaseRow.owner == owner,
                        CaseRow.external_id_hmac.in_(external_id_digests(self.keys, external_id)))
                 .order_by(CaseRow.created_at, CaseRow.id))
        with self.store._read() as s:
            found = []
            for row in s.scalars(query):
                ids = s.scalars(select(CaseUploadRow.upload_id).where(CaseUploadRow.case_id == row.id)
                                .order_by(CaseUploadRow.position))
                found.append(_case(row, tuple(ids), self.keys))
            return [c for c in found if c.intake.external_id == external_id]

    def case_of(self, upload_id: str) -> str | None:
        """The id of the case holding the upload, or None."""
        with self.store._read() as s:
            return s.scalars(select(CaseUploadRow.case_id).where(CaseUploadRow.upload_id == upload_id)).first()

    def add_upload(self, case_id: str, upload_id: str, *, actor: str) -> int:
        """Add a stored upload to the case; its position (1-based). Adding it again is a no-op returning its
        position. Raises UnknownCase, UnknownUpload, CaseFull."""

        def add(s: Session) -> int:
            if s.get(CaseRow, case_id) is None:
                raise UnknownCase(f"case {case_id[:40]!r}")
            if s.get(UploadRow, upload_id) is None:
                raise UnknownUpload(f"upload {upload_id[:40]!r}")
            existing = s.scalars(select(CaseUploadRow).where(CaseUploadRow.upload_id == upload_id)).first()
            if existing is not None:
                if existing.case_id != case_id:
                    raise CaseFull(f"upload {upload_id[:40]!r} belongs to another case")
                return existing.position
            count = s.scalar(select(func.count()).select_from(CaseUploadRow)
                             .where(CaseUploadRow.case_id == case_id)) or 0
            if count >= MAX_CASE_UPLOADS:
                raise CaseFull(f"case {case_id[:40]!r} holds {count} uploads")
            s.add(CaseUploadRow(case_id=case_id, upload_id=upload_id, position=count + 1,
                                added_at=self.store._clock()))
            s.flush()
            self.store._audit(s, actor=actor, action="case.add_upload", upload_id=upload_id,
                              outcome=f"case:{case_id}:{count + 1}")
            return count + 1

        return self.store._write(add)

    def save_identifiers(self, upload_id: str, identifiers: tuple[PatientIdentifier, ...]) -> None:
        """Replace the identifiers recorded for the upload (values over 64 characters are not kept)."""

        def save(s: Session) -> None:
            s.execute(delete(UploadIdentifierRow).where(UploadIdentifierRow.upload_id == upload_id))
            for x in {(x.kind, x.value): x for x in identifiers if len(x.value) <= 64}.values():
                s.add(seal_row(self.keys, UploadIdentifierRow(
                    upload_id=upload_id, kind=x.kind.value, page=x.page, value=x.value,
                    value_hmac=match_digest(self.keys, x.kind.value, x.value))))

        self.store._write(save)

    def identifiers(self, upload_id: str) -> tuple[PatientIdentifier, ...]:
        """The identifiers recorded for the upload, by kind and value."""
        with self.store._read() as s:
            rows = s.scalars(select(UploadIdentifierRow).where(UploadIdentifierRow.upload_id == upload_id))
            try:
                found = [PatientIdentifier(IdentifierKind(r.kind), open_value(self.keys, r.value,
                                                                              column_context(r, "value")), r.page)
                         for r in rows]
            except (SealError, ValueError) as e:
                raise StoreIntegrityError(f"upload {upload_id}: an identifier does not open") from e
            return tuple(sorted(found, key=lambda x: (x.kind.value, x.value)))

    def save_report(self, case_id: str, report: CaseReport, *, actor: str, upload_id: str | None) -> int:
        """Store the next version of the case's report (audited with the upload that caused it); its version."""

        def save(s: Session) -> int:
            if s.get(CaseRow, case_id) is None:
                raise UnknownCase(f"case {case_id[:40]!r}")
            last = s.scalar(select(func.max(CaseReportRow.version)).where(CaseReportRow.case_id == case_id)) or 0
            s.add(seal_row(self.keys, CaseReportRow(case_id=case_id, version=last + 1, status=report.status.value,
                                                    report_json=report.model_dump_json(),
                                                    created_at=self.store._clock())))
            s.flush()
            self.store._audit(s, actor=actor, action="case.evaluate", upload_id=upload_id,
                              outcome=f"case:{case_id}:v{last + 1}:{report.status.value}")
            return last + 1

        return self.store._write(save)

    def latest_report(self, case_id: str) -> CaseReportRecord | None:
        """The newest version of the case's report, or None before the first."""
        with self.store._read() as s:
            row = s.scalars(select(CaseReportRow).where(CaseReportRow.case_id == case_id)
                            .order_by(CaseReportRow.version.desc())).first()
            return None if row is None else self._case_report(row)

    def decide(self, case_id: str, status: Status, *, actor: str, note: str | None = None) -> CaseDecisionRecord:
        """Record a coordinator's decision on the case's latest report version. Raises UnknownCase (also when the
        case has no report yet), ValueError for an over-long note."""
        if note is not None:
            _check_text("note", note.replace("\n", " "), 4000)

        def decide(s: Session) -> CaseDecisionRecord:
            version = s.scalar(select(func.max(CaseReportRow.version)).where(CaseReportRow.case_id == case_id))
            if version is None:
                raise UnknownCase(f"case {case_id[:40]!r} has no report yet")
            seq = (s.scalar(select(func.max(CaseDecisionRow.seq)).where(CaseDecisionRow.case_id == case_id)) or 0) + 1
            now = self.store._clock()
            s.add(seal_row(self.keys, CaseDecisionRow(case_id=case_id, seq=seq, report_version=version,
                                                      status=status.value, note=note, actor=actor, created_at=now)))
            s.flush()
            self.store._audit(s, actor=actor, action="case.decide", upload_id=None,
                              outcome=f"case:{case_id}:v{version}:{status.value}")
            return CaseDecisionRecord(case_id, seq, version, status, note, actor, now)

        return self.store._write(decide)

    def latest_decision(self, case_id: str) -> CaseDecisionRecord | None:
        """The coordinator's last decision on the case, or None."""
        with self.store._read() as s:
            row = s.scalars(select(CaseDecisionRow).where(CaseDecisionRow.case_id == case_id)
                            .order_by(CaseDecisionRow.seq.desc())).first()
            if row is None:
                return None
            try:
                note = open_column(self.keys, row, "note")
            except (SealError, ValueError) as e:
                raise StoreIntegrityError(f"case {case_id}: a decision's note does not open") from e
            return CaseDecisionRecord(row.case_id, row.seq, row.report_version, Status(row.status), note, row.actor,
                                      row.created_at)

    def waiting(self) -> list[tuple[CaseRecord, CaseReportRecord]]:
        """Cases whose newest report is needs_review or incomplete and that no coordinator decided on since that
        version: the review queue's cases, oldest first."""
        out = []
        with self.store._read() as s:
            newest = (select(CaseReportRow.case_id, func.max(CaseReportRow.version).label("version"))
                      .group_by(CaseReportRow.case_id).subquery())
            rows = s.execute(select(CaseRow, CaseReportRow)
                             .join(newest, newest.c.case_id == CaseRow.id)
                             .join(CaseReportRow, (CaseReportRow.case_id == CaseRow.id)
                                   & (CaseReportRow.version == newest.c.version))
                             .where(CaseReportRow.status.in_([Status.NEEDS_REVIEW.value, Status.INCOMPLETE.value]))
                             .order_by(CaseRow.created_at, CaseRow.id)).all()
            for case_row, report_row in rows:
                decided = s.scalar(select(func.max(CaseDecisionRow.report_version))
                                   .where(CaseDecisionRow.case_id == case_row.id))
                if decided is not None and decided >= report_row.version:
                    continue
                ids = tuple(s.scalars(select(CaseUploadRow.upload_id).where(CaseUploadRow.case_id == case_row.id)
                                      .order_by(CaseUploadRow.position)))
                out.append((_case(case_row, ids, self.keys), self._case_report(report_row)))
        return out

    def _case_report(self, row: CaseReportRow) -> CaseReportRecord:
        try:
            body = open_value(self.keys, row.report_json, column_context(row, "report_json"))
        except (SealError, ValueError) as e:
            raise StoreIntegrityError(f"case {row.case_id}: report v{row.version} does not open") from e
        return CaseReportRecord(row.case_id, row.version, Status(row.status), body, row.created_at)

    def in_cases(self) -> set[str]:
        """Ids of every upload that belongs to a case."""
        with self.store._read() as s:
            return set(s.scalars(select(CaseUploadRow.upload_id)))


def _case(row: CaseRow, upload_ids: tuple[str, ...], keys: Keyring | None) -> CaseRecord:
    try:
        name = open_column(keys, row, "patient_name")
        external_id = open_column(keys, row, "external_id")
    except (SealError, ValueError) as e:
        raise StoreIntegrityError(f"case {row.id}: the intake name or external id does not open") from e
    return CaseRecord(row.id, row.owner, CaseIntake(patient_name=name, payer=Payer(row.payer),
                                                    external_id=external_id), row.created_at, upload_ids)
