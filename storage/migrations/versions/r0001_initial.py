"""Initial schema: uploads, versioned reports, the hash-chained audit log and its head.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copies as of this revision (a migration must not change when the models do). A later value comes with its
# own migration that replaces the CHECK constraint.
UPLOAD_STATES = ("pending", "processing", "done", "failed")
PAYERS = ("commercial", "medicare", "medicaid", "tricare", "champva", "self_pay", "unknown")
STATUSES = ("complete", "incomplete", "needs_review", "rejected")
GENESIS_HASH = "0" * 64

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("intake_patient_name", sa.String(255), nullable=True),
        sa.Column("payer", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("worker", sa.String(128), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("owner", "sha256", name="uq_uploads_owner_sha256"),
        sa.CheckConstraint(_in("state", UPLOAD_STATES), name="ck_uploads_state"),
        sa.CheckConstraint(_in("payer", PAYERS), name="ck_uploads_payer"),
        sa.CheckConstraint("attempts >= 0", name="ck_uploads_attempts"),
        sa.CheckConstraint("size_bytes >= 0", name="ck_uploads_size"),
    )
    op.create_index("ix_uploads_state_updated_at", "uploads", ["state", "updated_at"])
    op.create_index("ix_uploads_owner_created_at", "uploads", ["owner", "created_at"])
    op.create_index("ix_uploads_sha256", "uploads", ["sha256"])

    op.create_table(
        "reports",
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id", name="fk_reports_upload_id"),
                  primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("pipeline_version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_reports_version"),
        sa.CheckConstraint(_in("status", STATUSES), name="ck_reports_status"),
    )

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("upload_id", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_upload_id", "audit_log", ["upload_id"])

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_index("ix_audit_log_upload_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("reports")
    op.drop_index("ix_uploads_sha256", table_name="uploads")
    op.drop_index("ix_uploads_owner_created_at", table_name="uploads")
    op.drop_index("ix_uploads_state_updated_at", table_name="uploads")
    op.drop_table("uploads")
