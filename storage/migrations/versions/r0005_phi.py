"""Fenced writes: `uploads.lease`, bumped by every claim and requeue, so a run that lost its upload cannot write it.
The keyed audit chain: `audit_log.key_id`, the fingerprint of the HMAC key a row was chained with (NULL: the
unkeyed SHA-256 of older rows).

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Existing rows start at lease 0 (a run in flight during the upgrade holds lease 0 too); the next claim makes it 1.
    op.add_column("uploads", sa.Column("lease", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("audit_log", sa.Column("key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("lease")
