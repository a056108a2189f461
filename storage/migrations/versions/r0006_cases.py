"""Cases: one coverage request (intake and its uploads), the identifiers each upload prints, the case's report
versions and coordinators' decisions on a case.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_PAYERS = "payer IN ('commercial', 'medicare', 'medicaid', 'tricare', 'champva', 'self_pay', 'unknown')"
_STATUSES = "status IN ('complete', 'incomplete', 'needs_review', 'rejected')"


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("patient_name", sa.String(255), nullable=True),
        sa.Column("payer", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_PAYERS, name="ck_cases_payer"),
    )
    op.create_index("ix_cases_owner_created_at", "cases", ["owner", "created_at"])
    op.create_table(
        "case_uploads",
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id", name="fk_case_uploads_case_id"),
                  primary_key=True),
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id", name="fk_case_uploads_upload_id"),
                  primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("upload_id", name="uq_case_uploads_upload_id"),
        sa.UniqueConstraint("case_id", "position", name="uq_case_uploads_position"),
        sa.CheckConstraint("position >= 1", name="ck_case_uploads_position"),
    )
    op.create_table(
        "upload_identifiers",
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id", name="fk_upload_identifiers_upload_id"),
                  primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('date_of_birth', 'mrn')", name="ck_upload_identifiers_kind"),
    )
    op.create_table(
        "case_reports",
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id", name="fk_case_reports_case_id"),
                  primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name="ck_case_reports_version"),
        sa.CheckConstraint(_STATUSES, name="ck_case_reports_status"),
    )
    op.create_table(
        "case_decisions",
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.id", name="fk_case_decisions_case_id"),
                  primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("report_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("seq >= 1", name="ck_case_decisions_seq"),
        sa.CheckConstraint(_STATUSES, name="ck_case_decisions_status"),
    )


def downgrade() -> None:
    op.drop_table("case_decisions")
    op.drop_table("case_reports")
    op.drop_table("upload_identifiers")
    op.drop_table("case_uploads")
    op.drop_index("ix_cases_owner_created_at", "cases")
    op.drop_table("cases")
