"""The upload API's response bodies (its JSON contract; docs/openapi.json is generated from these)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from pipeline.types import MediaType, Payer, Status
from storage.store import UploadRecord, UploadState, UploadStatus


class Links(BaseModel):
    """Where to read the upload and its report (ids only)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    self_: str = Field(alias="self", serialization_alias="self")
    report: str


class Accepted(BaseModel):
    """The answer to POST /api/uploads."""

    model_config = ConfigDict(frozen=True)

    upload_id: str
    status: UploadStatus
    links: Links


class UploadView(BaseModel):
    """One upload, without its content or intake name."""

    model_config = ConfigDict(frozen=True)

    upload_id: str
    status: UploadStatus
    state: UploadState
    media_type: MediaType | None
    size_bytes: int
    payer: Payer
    external_id: str | None
    report_version: int | None = Field(description="The newest report's version; null before the first report.")
    error_code: str | None = Field(description="Why processing failed (failed uploads only).")
    created_at: datetime
    updated_at: datetime
    links: Links

    @classmethod
    def of(cls, record: UploadRecord, report_version: int | None, report_status: Status | None) -> UploadView:
        media: MediaType | None = None
        if record.media_type in {m.value for m in MediaType}:
            media = MediaType(record.media_type)
        return cls(upload_id=record.id, status=UploadStatus.of(record.state, report_status), state=record.state,
                   media_type=media, size_bytes=record.size_bytes, payer=record.payer,
                   external_id=record.external_id, report_version=report_version, error_code=record.error_code,
                   created_at=record.created_at, updated_at=record.updated_at, links=links_of(record.id))


class UploadPage(BaseModel):
    """One page of uploads; `next_cursor` fetches the next page (null on the last)."""

    model_config = ConfigDict(frozen=True)

    items: list[UploadView]
    next_cursor: str | None


class Health(BaseModel):
    """/healthz and /readyz: overall status and, for /readyz, each dependency's."""

    model_config = ConfigDict(frozen=True)

    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def links_of(upload_id: str) -> Links:
    """The links of an upload."""
    return Links(self=f"/api/uploads/{upload_id}", report=f"/api/uploads/{upload_id}/report")
