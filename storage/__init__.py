"""The application database: uploads, versioned reports, the audit chain (SQLAlchemy), and its Alembic migrations.

Imported only by the entry points (flows/) and the evaluation package; the domain (pipeline/) never touches it."""
