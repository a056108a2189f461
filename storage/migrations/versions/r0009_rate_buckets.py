"""The upload API's token buckets in the database (`rate_buckets`), so API processes sharing the store count a
token's requests together (flows/api/ratelimit.py `SharedTokenBuckets`, docs/ARCHITECTURE.md "Rate limits and
overload").

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
