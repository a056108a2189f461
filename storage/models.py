"""Tables of the application database (SQLAlchemy 2 typed ORM). The schema is created and changed only by the
Alembic migrations in `storage/migrations/versions/`; a test compares the migrated schema with these models.

Conventions: every time is UTC and timezone-aware in Python (`UTCDateTime`); states and payers are short strings
guarded by CHECK constraints (not native enums, so adding a value is a one-line migration on both SQLite and
PostgreSQL); tables hold ids, hashes, codes and the intake fields — document text lives only in `reports.report_json`.
Columns that can hold PHI (names, file names, identifiers, reports, notes) are Text and, with a data key configured,
hold values sealed with AES-256-GCM: `storage/sealed.py` lists them (`SEALED_COLUMNS`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

GENESIS_HASH = "0" * 64
"""`prev_hash` of the first audit row (and of the empty chain's head)."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL stores `timestamptz`; SQLite has no time type, so the value is stored as naive UTC text with
    microseconds (fixed width, so comparisons in SQL order correctly). Naive datetimes are refused on the way in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


UPLOAD_STATES = ("pending", "processing", "done", "failed")
PAYERS = ("commercial", "medicare", "medicaid", "tricare", "champva", "self_pay", "unknown")
STATUSES = ("complete", "incomplete", "needs_review", "rejected")
ACCESS_ROLES = ("uploader", "coordinator", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UploadRow(Base):
    """One upload of one owner. (owner, sha256) is unique: the same bytes from the same owner are one upload."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, server-generated
    owner: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    display_name: Mapped[str] = mapped_column(Text)  # sealed (storage/sealed.py)
    intake_patient_name: Mapped[str | None] = mapped_column(Text)  # sealed
    payer: Mapped[str] = mapped_column(String(16))
    # The client's own reference (upload API), often an MRN: sealed, and found by its keyed digest
    # (storage.sealed.external_id_digest), never by its clear value.
    external_id: Mapped[str | None] = mapped_column(Text)
    external_id_hmac: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    lease: Mapped[int] = mapped_column(Integer, server_default="0")  # fencing token: +1 on every claim and requeue
    run_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("owner", "sha256", name="uq_uploads_owner_sha256"),
        CheckConstraint(_in("state", UPLOAD_STATES), name="ck_uploads_state"),
        CheckConstraint(_in("payer", PAYERS), name="ck_uploads_payer"),
        CheckConstraint("attempts >= 0", name="ck_uploads_attempts"),
        CheckConstraint("size_bytes >= 0", name="ck_uploads_size"),
        Index("ix_uploads_state_updated_at", "state", "updated_at"),
        Index("ix_uploads_owner_created_at", "owner", "created_at"),
        Index("ix_uploads_sha256", "sha256"),
        Index("ix_uploads_owner_external_id_hmac", "owner", "external_id_hmac"),
    )


class ReportRow(Base):
    """One version of the report of one upload. Rows are only ever added (version 1, 2, …), never updated."""

    __tablename__ = "reports"

    upload_id: Mapped[str] = mapped_column(String(32), ForeignKey("uploads.id", name="fk_reports_upload_id"),
                                           primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pipeline_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    report_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("version >= 1", name="ck_reports_version"),
        CheckConstraint(_in("status", STATUSES), name="ck_reports_status"),
    )


class AuditRow(Base):
    """One audit event: ids and codes only, never document content. Append-only and hash-chained:
    `row_hash = sha256(prev_hash + canonical(row))`, `prev_hash` = the previous row's `row_hash`."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    upload_id: Mapped[str | None] = mapped_column(String(32))  # no foreign key: failures on unknown ids are audited
    outcome: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))  # HMAC key fingerprint; NULL: unkeyed SHA-256 (older rows)

    __table_args__ = (Index("ix_audit_log_upload_id", "upload_id"),)


class InboxFileRow(Base):
    """What an inbox file held when it was last read: its content's sha256, keyed by a hash of its path and valid
    only while the file's signature (size, mtime, ctime, device:inode) is unchanged — so an unchanged file is not
    read again by the next batch. The path itself is not stored (file names may hold patient names)."""

    __tablename__ = "inbox_files"

    path_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    ctime_ns: Mapped[int] = mapped_column(BigInteger)
    file_id: Mapped[str] = mapped_column(String(48))  # "<st_dev>:<st_ino>" (inodes may not fit a signed int64)
    sha256: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("size_bytes >= 0", name="ck_inbox_files_size"),)


class AuditHeadRow(Base):
    """The chain's head: one row (id 1) holding the last seq and hash. Writers lock it (`FOR UPDATE` on PostgreSQL,
    `BEGIN IMMEDIATE` on SQLite) so appends are serialised, and a deleted tail no longer matches it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_head_single_row"),)


class UserRow(Base):
    """A person who logs in (the review app): name, role and an argon2id password hash — never the password."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean)
    # The second factor (storage/access.py "One-time codes"): the TOTP secret, sealed (storage/sealed.py), and the
    # last 30-second step whose code was accepted, so that a code is accepted once.
    totp_secret: Mapped[str | None] = mapped_column(Text, default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (CheckConstraint(_in("role", ACCESS_ROLES), name="ck_users_role"),)


class ApiTokenRow(Base):
    """An API token: only the SHA-256 of its secret is stored. `user_name` links it to a person (optional)."""

    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, shown to operators
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    user_name: Mapped[str | None] = mapped_column(String(64), ForeignKey("users.name",
                                                                         name="fk_api_tokens_user_name"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("role", ACCESS_ROLES), name="ck_api_tokens_role"),)


class WebhookDeliveryRow(Base):
    """One attempt to deliver one status-change event to the outbound webhook: ids, status and outcome codes only.
    Events are the audit log's state changes, so `audit_seq` (the same for every attempt of one event) is the
    event's id and the dispatcher's cursor; `attempt` counts from 1."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_seq: Mapped[int] = mapped_column(BigInteger)  # the audit row of the status change: the event's id
    upload_id: Mapped[str] = mapped_column(String(32))
    upload_status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    response_status: Mapped[int | None] = mapped_column(Integer)  # HTTP status, None when no answer came
    outcome: Mapped[str] = mapped_column(String(64))  # "delivered", "http_503", "connect_error", ...

    __table_args__ = (
        CheckConstraint("attempt >= 1", name="ck_webhook_deliveries_attempt"),
        Index("ix_webhook_deliveries_audit_seq", "audit_seq"),
        Index("ix_webhook_deliveries_upload_id", "upload_id"),
    )


REVIEW_ACTIONS = ("confirm", "correct", "mark_incomplete", "override_complete")


class ReviewSessionRow(Base):
    """A coordinator's login session in the review app. Only the sha256 of the cookie's token is stored, so a copy
    of the database does not let anyone take over a session. `csrf` is the session-bound form token."""

    __tablename__ = "review_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_review_sessions_user_name", "user_name"),)


class ReviewLoginFailureRow(Base):
    """Failed logins in a row for one user name (keyed by its sha256: a mistyped password is sometimes typed into
    the name field) and until when further attempts are refused."""

    __tablename__ = "review_login_failures"

    name_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("failures >= 0", name="ck_review_login_failures_count"),)


class ReviewDecisionRow(Base):
    """One coordinator decision on one upload: version `seq` of the upload's decisions. Rows are only ever added.
    `before_json`/`after_json` hold the field or status before and after (document content: it stays here and in
    the reports table; the audit row carries only the ids and the action)."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    upload_id: Mapped[str] = mapped_column(String(32), ForeignKey("uploads.id", name="fk_review_decisions_upload_id"))
    seq: Mapped[int] = mapped_column(Integer)
    report_version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(32))
    status_after: Mapped[str | None] = mapped_column(String(16))
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("upload_id", "seq", name="uq_review_decisions_upload_seq"),
        CheckConstraint(_in("action", REVIEW_ACTIONS), name="ck_review_decisions_action"),
        CheckConstraint("seq >= 1", name="ck_review_decisions_seq"),
        Index("ix_review_decisions_created_at", "created_at"),
    )


IDENTIFIER_KINDS = ("date_of_birth", "mrn")


class CaseRow(Base):
    """One case: a coverage request of one owner — the intake (patient name, payer, external id) and its uploads."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex, server-generated
    owner: Mapped[str] = mapped_column(String(128))
    patient_name: Mapped[str | None] = mapped_column(Text)  # sealed (storage/sealed.py)
    payer: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(Text)  # sealed, like uploads.external_id
    external_id_hmac: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_in("payer", PAYERS), name="ck_cases_payer"),
        Index("ix_cases_owner_created_at", "owner", "created_at"),
        Index("ix_cases_owner_external_id_hmac", "owner", "external_id_hmac"),
    )


class CaseUploadRow(Base):
    """An upload of a case, in the order received (`position` 1, 2, …). An upload belongs to at most one case."""

    __tablename__ = "case_uploads"

    case_id: Mapped[str] = mapped_column(String(32), ForeignKey("cases.id", name="fk_case_uploads_case_id"),
                                         primary_key=True)
    upload_id: Mapped[str] = mapped_column(String(32), ForeignKey("uploads.id", name="fk_case_uploads_upload_id"),
                                           primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("upload_id", name="uq_case_uploads_upload_id"),
        UniqueConstraint("case_id", "position", name="uq_case_uploads_position"),
        CheckConstraint("position >= 1", name="ck_case_uploads_position"),
    )


class UploadIdentifierRow(Base):
    """A date of birth or MRN an upload prints (`extractors/identifiers.py`), replaced each time it is read. The
    value is sealed; `value_hmac`, its keyed digest (`storage.sealed.match_digest`), keeps it unique per upload."""

    __tablename__ = "upload_identifiers"

    upload_id: Mapped[str] = mapped_column(String(32), ForeignKey("uploads.id",
                                                                  name="fk_upload_identifiers_upload_id"),
                                           primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # sealed
    page: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (CheckConstraint(_in("kind", IDENTIFIER_KINDS), name="ck_upload_identifiers_kind"),)


class CaseReportRow(Base):
    """One version of a case's report; a new version each time the case is judged again. Only ever added."""

    __tablename__ = "case_reports"

    case_id: Mapped[str] = mapped_column(String(32), ForeignKey("cases.id", name="fk_case_reports_case_id"),
                                         primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))
    report_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("version >= 1", name="ck_case_reports_version"),
        CheckConstraint(_in("status", STATUSES), name="ck_case_reports_status"),
    )


class CaseDecisionRow(Base):
    """A coordinator's decision on a case (version `seq`), made on report version `report_version`. A later report
    version never replaces it: both are shown side by side."""

    __tablename__ = "case_decisions"

    case_id: Mapped[str] = mapped_column(String(32), ForeignKey("cases.id", name="fk_case_decisions_case_id"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    report_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("seq >= 1", name="ck_case_decisions_seq"),
        CheckConstraint(_in("status", STATUSES), name="ck_case_decisions_status"),
    )


class RateBucketRow(Base):
    """One token bucket of the upload API's rate limits, shared by every API process on this database
    (flows/api/ratelimit.py `SharedTokenBuckets`): the units left at `at` (wall-clock seconds since the epoch).
    `key` is "<limit>:<API token id>", never the token."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    units: Mapped[float] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float)
