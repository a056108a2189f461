"""The client's external_id sealed (storage/sealed.py): `uploads.external_id` and `cases.external_id` become Text (a
sealed value is longer than the clear one), and each row gets `external_id_hmac`, the digest it is found by, indexed
with its owner.

Values already stored stay readable in clear and get the unkeyed digest (the migration has no key; lookups try it
too); the next `docverify keys rotate` seals them and replaces the digest with the keyed one.

SQLite: the column is added anew as Text, filled, the old one dropped and the new one renamed, as in 0007.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_TABLES = ("uploads", "cases")


def _retype(table: str, type_: sa.types.TypeEngine[str], old_type: sa.types.TypeEngine[str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, "external_id", type_=type_, existing_type=old_type, existing_nullable=True)
        return
    op.execute(f"ALTER TABLE {table} ADD COLUMN external_id_0008 {type_.compile(op.get_bind().dialect)}")
    op.execute(f"UPDATE {table} SET external_id_0008 = external_id")  # noqa: S608 (names from _TABLES)
    op.execute(f"ALTER TABLE {table} DROP COLUMN external_id")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN external_id_0008 TO external_id")


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        _retype(table, sa.Text(), sa.String(128))
        op.add_column(table, sa.Column("external_id_hmac", sa.String(64), nullable=True))
        op.create_index(f"ix_{table}_owner_external_id_hmac", table, ["owner", "external_id_hmac"])
        rows = list(bind.execute(sa.text(f"SELECT id, external_id FROM {table} "  # noqa: S608
                                         "WHERE external_id IS NOT NULL")))
        for row in rows:  # storage.sealed.external_id_digest without a keyring
            bind.execute(sa.text(f"UPDATE {table} SET external_id_hmac = :digest WHERE id = :id"),  # noqa: S608
                         {"digest": hashlib.sha256(f"external_id:{row.external_id}".encode()).hexdigest(),
                          "id": row.id})


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_index(f"ix_{table}_owner_external_id_hmac", table_name=table)
        op.drop_column(table, "external_id_hmac")
        # sealed values do not fit 128 characters and cannot be opened here (no key): they are dropped
        op.execute(f"UPDATE {table} SET external_id = NULL WHERE external_id LIKE 'dve1:%' "  # noqa: S608
                   "OR length(external_id) > 128")
        _retype(table, sa.String(128), sa.Text())
