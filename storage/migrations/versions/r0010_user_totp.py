"""A second factor for the people who log in (storage/access.py "One-time codes"): `users.totp_secret`, the RFC 6238
TOTP secret (base32; sealed with the data keyring like the PHI columns, storage/sealed.py), and
`users.totp_last_step`, the last 30-second step whose code was accepted (a code is accepted once: no replay).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
