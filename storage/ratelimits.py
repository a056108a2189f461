"""Token buckets kept in the store's database: the state behind flows/api/ratelimit.py `SharedTokenBuckets`.

One row per bucket (`rate_buckets`), read and written in one write transaction per request (SQLite: BEGIN
IMMEDIATE; PostgreSQL: the row locked FOR UPDATE), so API processes on one database count a token's requests
together. The time is the callers' wall clock (seconds since the epoch): every process must read the same clock.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import RateBucketRow
from storage.store import Store


class RateBuckets:
    """The store's view of the rate-limit buckets."""

    def __init__(self, store: Store) -> None:
        """Wrap `store` (migrated to revision 0009 or later)."""
        self.store = store

    def take(self, key: str, *, per_s: float, burst: int, now: float) -> float:
        """Refill `key`'s bucket at `per_s` units a second up to `burst` (a new bucket starts full), then take one
        unit: 0.0 when taken, else the seconds until one is there (nothing taken). A clock that went back refills
        nothing. Raises StoreBusy / StoreUnavailable."""

        def take(s: Session) -> float:
            row = s.scalars(select(RateBucketRow).where(RateBucketRow.key == key).with_for_update()).first()
            if row is None:
                row = RateBucketRow(key=key, units=float(burst), at=now)
                s.add(row)
            else:
                row.units = min(float(burst), row.units + max(0.0, now - row.at) * per_s)
                row.at = max(row.at, now)
            if row.units >= 1.0:
                row.units -= 1.0
                return 0.0
            return (1.0 - row.units) / per_s

        try:
            return self.store._write(take)
        except IntegrityError:  # PostgreSQL: another process created the same new bucket first
            return self.store._write(take)
