"""Stores for tests: SQLite in the test's temp folder, or a fresh schema of the real PostgreSQL at
$DOCVERIFY_TEST_PG_URL (default postgresql+psycopg://root@127.0.0.1:5432/test, trust auth). When PostgreSQL cannot be
reached, the PostgreSQL case is skipped and says why."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.store import Store, StoreSettings

PG_URL = os.environ.get("DOCVERIFY_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
KINDS = ("sqlite", "postgresql")


@functools.cache
def pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used (host and error class, no password), or None when it answers."""
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as e:  # any failure to connect means: skip, and say why
        return f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} unreachable: " \
               f"{e.__class__.__name__}"
    return None


@contextmanager
def store_settings(kind: str, tmp_path: Path) -> Iterator[StoreSettings]:
    """Settings of an empty store of `kind` ("sqlite" or "postgresql"); a PostgreSQL schema is dropped afterwards."""
    if kind == "sqlite":
        yield StoreSettings(f"sqlite:///{tmp_path}/docverify.db", tmp_path / "originals")
        return
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    schema = f"docverify_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        # libpq `options`: every connection of the store works in the fresh schema (alembic_version included).
        yield StoreSettings(f"{PG_URL}?options=-csearch_path%3D{schema}", tmp_path / "originals")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def migrated_store(kind: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated store of `kind`, closed afterwards."""
    with store_settings(kind, tmp_path) as settings:
        store = Store(settings)
        try:
            store.migrate()
            yield store
        finally:
            store.close()
