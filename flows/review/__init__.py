"""The coordinators' review app, mounted at /review by `docverify serve` (see `flows.review.app`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fastapi import FastAPI

    from pipeline.settings import Settings
    from storage.store import Store

MOUNT_PATH: Final = "/review"


def create_review_app(settings: Settings, store: Store) -> FastAPI:
    """The review app over `store` (already migrated); see `flows.review.app.create_review_app`."""
    from flows.review.app import create_review_app as create

    return create(settings, store)


def review_mount(settings: Settings) -> tuple[str, FastAPI]:
    """(mount path, app) for `docverify serve`: the review app over the settings' store, migrated first."""
    from flows.tasks import open_store

    return MOUNT_PATH, create_review_app(settings, open_store(settings))


def app_from_environment() -> FastAPI:
    """An entry point for any ASGI server (`uvicorn --factory flows.review:app_from_environment`): the settings from
    DOCVERIFY_* variables, the configured store, the review app mounted at /review as `docverify serve` mounts it."""
    from fastapi import FastAPI

    from pipeline.settings import Settings

    path, review = review_mount(Settings())
    site = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    site.mount(path, review)
    return site
