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
