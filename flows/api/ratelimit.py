"""Per-token rate limits and the bound on uploads being stored at once (docs/THREAT-MODEL.md "Review page and API",
test plan item 37; docs/ARCHITECTURE.md "Rate limits and overload").

- `TokenBuckets`: one token bucket per key — the API token's id (never the token itself) — refilled continuously at
  `per_minute / 60` per second up to `burst`. A request takes one unit; an empty bucket answers how long until the
  next unit is there, which becomes `Retry-After`. In-process: each API process keeps its own buckets, so N
  processes behind one address allow up to N times the limit (documented in docs/ARCHITECTURE.md).
- `SharedTokenBuckets`: the same buckets kept in the store's database (`storage/ratelimits.py`), so API processes
  on one database count a token's requests together; one write transaction per request
  (`DOCVERIFY_API_SHARED_RATE_LIMITS`).
- `UploadSlots`: at most `size` uploads are read and stored at once; one more is refused at once (503 with
  `Retry-After`) instead of queueing behind the others until the client times out.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from flows.api.errors import ApiError
from storage.ratelimits import RateBuckets

MAX_KEYS: Final = 10_000
"""Buckets kept (least recently used dropped first): a forgotten key starts full again, which only ever allows more."""
BUSY_RETRY_AFTER_S: Final = 2
"""Retry-After of a 503 when every upload slot is taken (seconds): storing one upload takes milliseconds to a second."""


@dataclass(frozen=True, slots=True)
class Rate:
    """`per_minute` requests a minute on average, up to `burst` at once."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_minute > 0 and burst >= 1")


@dataclass(slots=True)
class _Bucket:
    units: float
    at: float  # clock reading of the last refill, seconds


class TokenBuckets:
    """Token buckets by key (thread-safe). `clock` returns seconds (monotonic); tests pass a fake one."""

    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic, max_keys: int = MAX_KEYS) -> None:
        self.rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._per_s = rate.per_minute / 60.0
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one unit from `key`'s bucket: 0.0 when taken, else the seconds until one is there (nothing taken)."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = _Bucket(units=float(self.rate.burst), at=now)
                self._buckets[key] = bucket
                if len(self._buckets) > self._max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
                bucket.units = min(float(self.rate.burst), bucket.units + (now - bucket.at) * self._per_s)
                bucket.at = now
            if bucket.units >= 1.0:
                bucket.units -= 1.0
                return 0.0
            return (1.0 - bucket.units) / self._per_s


class SharedTokenBuckets:
    """Token buckets by key kept in the store's database, under `name` (one name per limit). `clock` returns
    wall-clock seconds, the same in every process (tests pass a fake one)."""

    def __init__(self, rate: Rate, buckets: RateBuckets, name: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self._buckets = buckets
        self._name = name
        self._clock = clock
        self._per_s = rate.per_minute / 60.0

    def take(self, key: str) -> float:
        """Take one unit from `key`'s bucket: 0.0 when taken, else the seconds until one is there (nothing taken).
        Raises StoreBusy / StoreUnavailable (the API answers 503 with Retry-After)."""
        return self._buckets.take(f"{self._name}:{key}", per_s=self._per_s, burst=self.rate.burst, now=self._clock())


def retry_after(wait_s: float) -> str:
    """A `Retry-After` value (whole seconds, at least 1) that is never earlier than `wait_s`."""
    return str(max(1, math.ceil(wait_s)))


def too_many_requests(wait_s: float) -> ApiError:
    """The 429 of an empty bucket, in the API's one error shape, with `Retry-After`."""
    return ApiError(429, "too_many_requests", "Too many requests for this token. Please wait and try again.",
                    {"Retry-After": retry_after(wait_s)})


class UploadSlots:
    """At most `size` uploads being read and stored at once (thread-safe; never blocks)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one upload slot")
        self.size = size
        self._free = size
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        """Slots taken now."""
        with self._lock:
            return self.size - self._free

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the block. Raises ApiError 503 `server_busy` with Retry-After when none is free."""
        with self._lock:
            if self._free == 0:
                raise ApiError(503, "server_busy", "The service is busy. Please try again in a moment.",
                               {"Retry-After": str(BUSY_RETRY_AFTER_S)})
            self._free -= 1
        try:
            yield
        finally:
            with self._lock:
                self._free += 1
