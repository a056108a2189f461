"""The request-body cap, enforced while the body streams (docs/THREAT-MODEL.md "Input caps"): a pure ASGI middleware
that refuses a declared Content-Length over the cap before reading anything, and counts the bytes of every
`http.request` message otherwise (chunked bodies), failing the read at the first byte over the cap — so the
multipart parser never spools more than the cap to memory or disk."""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE_CODE: Final = "file_too_large"


class BodyTooLarge(Exception):  # noqa: N818 - an ASGI-level signal, not a docverify error
    """The request body went over the cap while it was read."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"request body over {cap} bytes")
        self.cap = cap


def too_large_body(cap: int) -> bytes:
    """The JSON error body of a 413 (the API's one error shape)."""
    message = f"The upload is larger than {cap // (1024 * 1024)} MB. Please upload a smaller copy."
    return json.dumps({"error": {"code": TOO_LARGE_CODE, "message": message}}).encode()


class BodyLimit:
    """Caps every HTTP request body at `max_bytes`. Over the cap: 413 with the API's error shape when nothing has
    been sent yet; reading stops at once either way."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
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


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, cap: int) -> None:
    body = too_large_body(cap)
    headers: list[tuple[bytes, Any]] = [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
