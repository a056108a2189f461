"""Pages of uploads for the upload API: each upload with the status of its newest report, filtered by owner,
status and creation time, in keyset order (created_at, id) so that a page boundary never skips or repeats a row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, and_, or_, select

from pipeline.types import Status
from storage.models import ReportRow, UploadRow
from storage.store import Store, UploadRecord, UploadState


@dataclass(frozen=True, slots=True)
class ListedUpload:
    """An upload and its newest report's version and status (None before the first report)."""

    upload: UploadRecord
    report_version: int | None
    report_status: Status | None


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What to list. `states`/`statuses` empty: any. An upload matches when its state is in `states` or its newest
    report's status is in `statuses` (when either is given). `after`: the (created_at, id) of the last row of the
    previous page."""

    owner: str | None = None
    states: frozenset[UploadState] = frozenset()
    statuses: frozenset[Status] = frozenset()
    since: datetime | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 50


def _newest_report(column: Any) -> ScalarSelect[Any]:
    newest = (select(ReportRow.version).where(ReportRow.upload_id == UploadRow.id)
              .order_by(ReportRow.version.desc()).limit(1).correlate(UploadRow).scalar_subquery())
    return (select(column).where(ReportRow.upload_id == UploadRow.id, ReportRow.version == newest)
            .correlate(UploadRow).scalar_subquery())


def page_uploads(store: Store, query: PageQuery) -> list[ListedUpload]:
    """Up to `query.limit` uploads, oldest first (then by id)."""
    version = _newest_report(ReportRow.version)
    status = _newest_report(ReportRow.status)
    stmt = select(UploadRow, version, status).order_by(UploadRow.created_at, UploadRow.id).limit(query.limit)
    if query.owner is not None:
        stmt = stmt.where(UploadRow.owner == query.owner)
    if query.states or query.statuses:
        stmt = stmt.where(or_(UploadRow.state.in_(sorted(s.value for s in query.states)),
                              and_(UploadRow.state == UploadState.DONE.value,
                                   status.in_(sorted(s.value for s in query.statuses)))))
    if query.since is not None:
        stmt = stmt.where(UploadRow.created_at >= query.since)
    if query.after is not None:
        at, last_id = query.after
        stmt = stmt.where(or_(UploadRow.created_at > at, and_(UploadRow.created_at == at, UploadRow.id > last_id)))
    with store._read() as s:  # noqa: SLF001 - the store's read session, shared by its own modules
        return [ListedUpload(store._upload(row), v, Status(st) if st else None) for row, v, st in s.execute(stmt)]
