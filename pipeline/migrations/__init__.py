"""Alembic migrations of the application database, run programmatically by `pipeline.store.Store.migrate`."""
