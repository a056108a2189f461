"""The API's one error shape, `{"error": {"code", "message"}}`, for every error: ours, Starlette's 404/405, FastAPI's
422 and anything unexpected (500). Messages are fixed texts or a DocverifyError's `user_message`: never request
values, document content or an exception's own message (docs/CONVENTIONS.md "PHI")."""

from __future__ import annotations

import logging
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import Scope

from flows.api.bodylimit import TOO_LARGE_CODE, BodyTooLarge
from pipeline.errors import DocverifyError, EmptyFile, FileTooLarge, RejectedUpload, UnsupportedType
from storage.store import StorageFull, StoreBusy, StoreUnavailable

log = logging.getLogger("docverify.api")

_CODES: Final = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 413: TOO_LARGE_CODE, 415: "unsupported_type",
                 422: "invalid_request", 429: "too_many_requests", 500: "internal_error", 503: "unavailable"}
_MESSAGES: Final = {400: "The request is malformed.", 401: "A valid API token is required.",
                    403: "This token may not do this.", 404: "Not found.", 405: "Method not allowed.",
                    406: "Not acceptable.", 429: "Too many requests.", 500: "Something went wrong on our side.",
                    503: "The service is temporarily unavailable."}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response's body."""

    error: ErrorDetail


class ApiError(Exception):
    """An error answered with `status` and the given code and message (fixed texts only)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A response in the one error shape."""
    return JSONResponse(ErrorBody(error=ErrorDetail(code=code, message=message)).model_dump(), status_code=status,
                        headers=headers)


def status_of(error: DocverifyError) -> int:
    """The HTTP status of one of our errors."""
    if isinstance(error, FileTooLarge):
        return 413
    if isinstance(error, UnsupportedType):
        return 415
    if isinstance(error, EmptyFile | RejectedUpload):
        return 422
    if isinstance(error, StorageFull):
        return 507
    if isinstance(error, StoreBusy | StoreUnavailable):
        return 503
    return 500


def _methods_of(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at the request's path."""
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(scope["path"]):
            methods |= route.methods
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.code, e.message, e.headers)

    @app.exception_handler(DocverifyError)
    async def _ours(_: Request, e: DocverifyError) -> JSONResponse:
        status = status_of(e)
        log.warning("request failed: %s (%d)", e.code, status)
        return error_response(status, e.code, e.user_message, {"Retry-After": "5"} if e.retryable else None)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_: Request, e: BodyTooLarge) -> JSONResponse:
        return error_response(413, TOO_LARGE_CODE,
                              f"The upload is larger than {e.cap // (1024 * 1024)} MB. Please upload a smaller copy.",
                              {"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        status = e.status_code
        headers = dict(e.headers or {})
        if status == 405:  # Starlette names the methods of the first matching route only; the path has more
            headers["Allow"] = ", ".join(_methods_of(app, request.scope))
        return error_response(status, _CODES.get(status, f"http_{status}"),
                              _MESSAGES.get(status, "The request failed."), headers or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        # Where the request is wrong, never what it held (the input may be a patient's name).
        where = sorted({".".join(str(p) for p in err.get("loc", ())) for err in e.errors()})
        return error_response(422, "invalid_request", "Invalid or missing: " + ", ".join(where)[:500] + ".")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        log.error("unexpected error: %s", e.__class__.__name__)  # the type only: messages can hold content
        return error_response(500, "internal_error", _MESSAGES[500])
