"""The review app: coordinators' sessions, login failures (lockout) and decisions on flagged uploads.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "review_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_sessions_user_name", "review_sessions", ["user_name"])
    op.create_table(
        "review_login_failures",
        sa.Column("name_sha256", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("failures >= 0", name="ck_review_login_failures_count"),
    )
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id", name="fk_review_decisions_upload_id"),
                  nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("report_version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("field", sa.String(32), nullable=True),
        sa.Column("status_after", sa.String(16), nullable=True),
        sa.Column("before_json", sa.Text(), nullable=False),
        sa.Column("after_json", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("upload_id", "seq", name="uq_review_decisions_upload_seq"),
        sa.CheckConstraint("action IN ('confirm', 'correct', 'mark_incomplete', 'override_complete')",
                           name="ck_review_decisions_action"),
        sa.CheckConstraint("seq >= 1", name="ck_review_decisions_seq"),
    )
    op.create_index("ix_review_decisions_created_at", "review_decisions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_review_decisions_created_at", "review_decisions")
    op.drop_table("review_decisions")
    op.drop_table("review_login_failures")
    op.drop_index("ix_review_sessions_user_name", "review_sessions")
    op.drop_table("review_sessions")
