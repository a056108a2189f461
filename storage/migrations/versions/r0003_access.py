"""Access and webhooks: the client's own reference of an upload (`uploads.external_id`), people (argon2id password
hashes), API tokens (SHA-256 of the secret only) and the record of every outbound webhook delivery attempt.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Frozen copy as of this revision (a migration must not change when the models do).
ACCESS_ROLES = ("uploader", "coordinator", "admin")

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("uploads", sa.Column("external_id", sa.String(128), nullable=True))
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.CheckConstraint(_in("role", ACCESS_ROLES), name="ck_users_role"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name", name="fk_api_tokens_user_name"),
                  nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("role", ACCESS_ROLES), name="ck_api_tokens_role"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("upload_id", sa.String(32), nullable=False),
        sa.Column("upload_status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.CheckConstraint("attempt >= 1", name="ck_webhook_deliveries_attempt"),
    )
    op.create_index("ix_webhook_deliveries_audit_seq", "webhook_deliveries", ["audit_seq"])
    op.create_index("ix_webhook_deliveries_upload_id", "webhook_deliveries", ["upload_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_upload_id", "webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_audit_seq", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("uploads") as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column("external_id")
