"""The outbound webhook: every upload status change is POSTed to `Settings.webhook_url`.

- Body: JSON `{"event_id", "upload_id", "status"}` — ids and a status code, never a name or document content.
- Signature: `X-Docverify-Timestamp: <unix seconds>` and `X-Docverify-Signature: sha256=<hex>`, the HMAC-SHA256 of
  `"<timestamp>.<body>"` under `Settings.webhook_secret`. A receiver recomputes it over the raw body, compares in
  constant time and refuses old timestamps (replay); see docs/API.md "Webhook".
- Delivery: events in audit order (storage/webhooks.py), one at a time; a failed attempt (no answer, or a status
  outside 2xx) is retried after `webhook_backoff_s`, doubled each time, up to `webhook_max_attempts`; then it is
  given up and the next event goes. Every attempt is recorded in `webhook_deliveries`. At least once: a receiver
  dedupes by `event_id`.
- Where: a daemon thread of the API process (started with the app, stopped with it). The cursor is the newest
  event a delivery was attempted for, so a restart resumes after it; on the very first start it begins at the
  current end of the audit log (history is not replayed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable

import httpx

from pipeline.settings import Settings
from storage.store import Store
from storage.webhooks import (
    StatusEvent,
    audit_head_seq,
    last_delivered_seq,
    record_attempt,
    status_events_after,
)

log = logging.getLogger("docverify.webhooks")

SIGNATURE_HEADER = "X-Docverify-Signature"
TIMESTAMP_HEADER = "X-Docverify-Timestamp"
TIMEOUT_S = 10.0  # per attempt: connect, send and the receiver's answer
POLL_S = 1.0  # how often the dispatcher looks for new events, seconds
MAX_BACKOFF_S = 300.0  # no single wait longer than 5 minutes


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(event: StatusEvent) -> bytes:
    """The JSON body of an event (ids and status only)."""
    return json.dumps({"event_id": str(event.seq), "upload_id": event.upload_id, "status": event.status.value},
                      separators=(",", ":")).encode()


class WebhookDispatcher:
    """Delivers status events to one URL, signed, retried with exponential backoff, each attempt recorded."""

    def __init__(self, store: Store, url: str, secret: bytes, *, max_attempts: int, backoff_s: float,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        """`sleep` waits between attempts (default: an interruptible wait that `stop` cuts short); `clock` gives
        the Unix time of the signature."""
        self._store, self._url, self._secret = store, url, secret
        self._max_attempts, self._backoff_s = max_attempts, backoff_s
        self._client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait
        self._clock = clock
        self._thread: threading.Thread | None = None
        self._cursor: int | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> WebhookDispatcher | None:
        """The dispatcher the settings ask for, or None when no webhook URL is set."""
        if not settings.webhook_url or settings.webhook_secret is None:
            return None
        return cls(store, settings.webhook_url, settings.webhook_secret.get_secret_value().encode(),
                   max_attempts=settings.webhook_max_attempts, backoff_s=settings.webhook_backoff_s)

    def deliver(self, event: StatusEvent) -> bool:
        """Deliver one event: True when the receiver answered 2xx within the attempts allowed."""
        body = body_of(event)
        for attempt in range(1, self._max_attempts + 1):
            timestamp = int(self._clock())
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp),
                       SIGNATURE_HEADER: sign(self._secret, timestamp, body)}
            status: int | None = None
            try:
                status = self._client.post(self._url, content=body, headers=headers).status_code
                outcome = "delivered" if 200 <= status < 300 else f"http_{status}"
            except httpx.HTTPError as e:
                outcome = e.__class__.__name__
            record_attempt(self._store, event, attempt=attempt, response_status=status, outcome=outcome)
            if outcome == "delivered":
                return True
            log.warning("webhook event %d (upload %s): attempt %d failed: %s", event.seq, event.upload_id, attempt,
                        outcome)
            if attempt < self._max_attempts and not self._stop.is_set():
                self._sleep(min(self._backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            if self._stop.is_set():
                return False
        return False

    def run_once(self) -> int:
        """Deliver every event after the cursor (set from the store on the first call); the number handled."""
        if self._cursor is None:
            last = last_delivered_seq(self._store)
            self._cursor = audit_head_seq(self._store) if last is None else last
        handled = 0
        while not self._stop.is_set():
            events = status_events_after(self._store, self._cursor)
            if not events:
                break
            for event in events:
                if self._stop.is_set():
                    break
                self.deliver(event)
                self._cursor = event.seq
                handled += 1
        return handled

    def start(self, poll_s: float = POLL_S) -> None:
        """Deliver in a daemon thread, looking for new events every `poll_s` seconds. Sets the cursor now, so
        changes made from here on are delivered."""
        if self._cursor is None:
            last = last_delivered_seq(self._store)
            self._cursor = audit_head_seq(self._store) if last is None else last

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception as e:  # noqa: BLE001 - the store may be busy; try again at the next poll
                    log.warning("webhook dispatcher: %s", e.__class__.__name__)
                self._stop.wait(poll_s)

        self._thread = threading.Thread(target=loop, name="docverify-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (an attempt under way finishes; a backoff wait is cut short)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._client.close()
