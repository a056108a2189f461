"""PHI columns sealed at rest (storage/sealed.py): intake names, display names and case names become Text (a sealed
value is longer than the clear one); upload_identifiers is keyed by a digest of the identifier (`value_hmac`) instead
of its clear value, which becomes a sealed Text column.

Values already stored stay readable in clear and are sealed by the next `docverify keys rotate` (the migration has no
key); existing identifiers get the unkeyed digest, which the rotation replaces with the keyed one.

SQLite cannot change a column's type in place, and rebuilding `uploads` or `cases` would trip the foreign keys of
the tables that refer to them; so each column is added anew as Text, filled, the old one dropped and the new one
renamed (SQLite 3.35 or later). PostgreSQL alters the type.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_WIDENED = (("uploads", "display_name", False, 255), ("uploads", "intake_patient_name", True, 255),
            ("cases", "patient_name", True, 255))


def _retype(table: str, column: str, nullable: bool, type_: sa.types.TypeEngine[str],
            old_type: sa.types.TypeEngine[str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, column, type_=type_, existing_type=old_type, existing_nullable=nullable)
        return
    tmp = f"{column}_0007"
    op.execute(f"ALTER TABLE {table} ADD COLUMN {tmp} {type_.compile(op.get_bind().dialect)}"
               + ("" if nullable else " NOT NULL DEFAULT ''"))
    op.execute(f"UPDATE {table} SET {tmp} = {column}")  # noqa: S608 (names from _WIDENED, not input)
    op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    op.execute(f"ALTER TABLE {table} RENAME COLUMN {tmp} TO {column}")


def upgrade() -> None:
    for table, column, nullable, length in _WIDENED:
        _retype(table, column, nullable, sa.Text(), sa.String(length))
    bind = op.get_bind()
    old = list(bind.execute(sa.text("SELECT upload_id, kind, value, page FROM upload_identifiers")))
    op.drop_table("upload_identifiers")
    identifiers = op.create_table(
        "upload_identifiers",
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id", name="fk_upload_identifiers_upload_id"),
                  primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value_hmac", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('date_of_birth', 'mrn')", name="ck_upload_identifiers_kind"),
    )
    if old:  # storage.sealed.match_digest without a keyring; `keys rotate` replaces it with the keyed digest
        op.bulk_insert(identifiers, [
            {"upload_id": r.upload_id, "kind": r.kind, "value": r.value, "page": r.page,
             "value_hmac": hashlib.sha256(f"{r.kind}:{r.value}".encode()).hexdigest()} for r in old])


def downgrade() -> None:
    bind = op.get_bind()
    old = list(bind.execute(sa.text("SELECT upload_id, kind, value, page FROM upload_identifiers")))
    op.drop_table("upload_identifiers")
    identifiers = op.create_table(
        "upload_identifiers",
        sa.Column("upload_id", sa.String(32), sa.ForeignKey("uploads.id", name="fk_upload_identifiers_upload_id"),
                  primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('date_of_birth', 'mrn')", name="ck_upload_identifiers_kind"),
    )
    if old:  # sealed values cannot go back into a 64-character key: only those still in clear are kept
        op.bulk_insert(identifiers, [{"upload_id": r.upload_id, "kind": r.kind, "value": r.value, "page": r.page}
                                     for r in old if not r.value.startswith("dve1:") and len(r.value) <= 64])
    for table, column, nullable, length in reversed(_WIDENED):
        _retype(table, column, nullable, sa.String(length), sa.Text())
