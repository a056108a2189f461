"""The upload API (FastAPI): uploads, their status and reports, health. See docs/API.md."""

from flows.api.app import app_from_environment, create_app

__all__ = ["app_from_environment", "create_app"]
