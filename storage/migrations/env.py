"""Alembic environment. Run only through `storage.store.Store.migrate`, which passes an open connection (already
inside its write transaction) in `config.attributes["connection"]`; there is no alembic.ini and no offline mode.

A new migration: copy the latest file in versions/, set `revision` and `down_revision`, write the operations by hand
and change `storage/models.py` to match (tests/test_store.py compares the migrated schema with the models)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from storage.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("storage/migrations runs only through storage.store.Store.migrate()")

context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
