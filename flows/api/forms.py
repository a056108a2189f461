"""The multipart form that carries a document, read the same way by every endpoint that takes one."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from flows.api.errors import ApiError


async def document_form[T](request: Request, max_fields: int,
                           fields: Callable[[FormData], T]) -> tuple[bytes, str, T]:
    """The form's `file` (its bytes and the name the client gave it) and its other fields as `fields` reads them
    (before the file is read, so a bad field answers without reading it); the form is closed either way. Raises
    ApiError 422 when `file` is missing."""
    form = await request.form(max_files=1, max_fields=max_fields)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ApiError(422, "invalid_request", "Invalid or missing: file.")
        values = fields(form)
        return await file.read(), file.filename or "upload", values
    finally:
        await form.close()
