"""Alembic migrations of the application database, run programmatically by `storage.store.Store.migrate`."""
