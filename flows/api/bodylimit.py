"""The request-body cap, enforced while the body streams (docs/THREAT-MODEL.md "Input caps"): a pure ASGI middleware
that refuses a declared Content-Length over the cap before reading anything, and counts the bytes of every
`http.request` message otherwise (chunked bodies), failing the read at the first byte over the cap — so the
multipart parser never spools more than the cap to memory or disk. It also paces the body (hostile item 7): a
sender that stalls or drips is answered 408 and cut, so a slow client cannot hold an upload slot for long."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE_CODE: Final = "file_too_large"
TOO_SLOW_CODE: Final = "request_timeout"


class BodyTooLarge(Exception):  # noqa: N818 - an ASGI-level signal, not a docverify error
    """The request body went over the cap while it was read."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"request body over {cap} bytes")
        self.cap = cap


class BodyTooSlow(Exception):  # noqa: N818 - an ASGI-level signal, not a docverify error
    """The request body stalled, or came slower than the minimum rate once the grace period was over."""


def too_large_body(cap: int) -> bytes:
    """The JSON error body of a 413 (the API's one error shape)."""
    message = f"The upload is larger than {cap // (1024 * 1024)} MB. Please upload a smaller copy."
    return json.dumps({"error": {"code": TOO_LARGE_CODE, "message": message}}).encode()


class BodyLimit:
    """Caps every HTTP request body at `max_bytes`. Over the cap: 413 with the API's error shape when nothing has
    been sent yet; reading stops at once either way."""

    def __init__(self, app: ASGIApp, max_bytes: int, *, idle_s: float = 20.0, grace_s: float = 10.0,
                 min_rate: int = 4096) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_s, self.grace_s, self.min_rate = idle_s, grace_s, min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_413(send, self.max_bytes)
            return
        received = 0
        started = False
        body_done = False
        began = time.monotonic()

        async def counting_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # after the body only a disconnect can come: no pace to keep
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_s)
            except TimeoutError:
                raise BodyTooSlow() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                body_done = not message.get("more_body", False)
                elapsed = time.monotonic() - began
                if not body_done and elapsed > self.grace_s and received < self.min_rate * elapsed:
                    raise BodyTooSlow()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_413(send, self.max_bytes)
        except BodyTooSlow:
            if not started:
                await _send_error(send, 408, too_slow_body())


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_slow_body() -> bytes:
    """The JSON error body of a 408."""
    message = "The upload came too slowly or stopped. Please try again on a better connection."
    return json.dumps({"error": {"code": TOO_SLOW_CODE, "message": message}}).encode()


async def _send_413(send: Send, cap: int) -> None:
    await _send_error(send, 413, too_large_body(cap))


async def _send_error(send: Send, status: int, body: bytes) -> None:
    """An error answer that closes the connection (the rest of the body is never read)."""
    headers: list[tuple[bytes, Any]] = [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
