"""Plain data across the reader-child boundary: a frozen domain value (a `Document` and what it holds) as JSON-ready
lists, strings and numbers, and back — rebuilt by the parent from the declared field types only.

Why not pickle (docs/THREAT-MODEL.md B5): unpickling runs whatever the bytes name, so a reader child taken over by a
parser exploit could run code in the worker. JSON decoding builds only lists, dicts, strings and numbers; `decode`
then builds only the dataclasses and enums the declared type names, checking every field's type on the way.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import types
import typing
from enum import Enum
from typing import Any

Plain = None | bool | int | float | str | list["Plain"]


class WireError(ValueError):
    """Plain data that does not match the declared type (a malformed or hostile message)."""


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def encode(value: Any) -> Plain:
    """A dataclass as the list of its field values (declaration order), enums as their values, tuples as lists,
    bytes as base64 text.
    Raises WireError on anything else (a reader returning an object of an unknown class)."""
    if value is None or isinstance(value, (bool, int, float, str)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return encode(value.value)
    if isinstance(value, bytes):  # page images and scrubbed files of the review app: base64 text
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [encode(getattr(value, name)) for name, _ in _fields(type(value))]
    raise WireError(f"cannot send a {type(value).__name__}")


def decode[T](tp: type[T], data: Any) -> T:
    """`data` (from `encode`, through JSON) rebuilt as a value of `tp`. Raises WireError when it does not fit."""
    return typing.cast(T, _decode(tp, data))


def _decode(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]  # only `X | None` is used by the domain types
        return _decode(inner, data)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list) or len(args) != 2 or args[1] is not Ellipsis:
            raise WireError("expected a list")
        return tuple(_decode(args[0], v) for v in data)
    if tp is type(None):
        if data is not None:
            raise WireError("expected null")
        return None
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            raise WireError(f"not a {tp.__name__}") from None
    if tp is bool:
        if not isinstance(data, bool):
            raise WireError("expected a boolean")
        return data
    if tp is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise WireError("expected an integer")
        return data
    if tp is float:  # kept as sent: an int stays an int, so reports serialise as they did in-process
        if not isinstance(data, (int, float)) or isinstance(data, bool):
            raise WireError("expected a number")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise WireError("expected a string")
        return data
    if tp is bytes:
        if not isinstance(data, str):
            raise WireError("expected base64 text")
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise WireError("expected base64 text") from None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        fields = _fields(tp)
        if not isinstance(data, list) or len(data) != len(fields):
            raise WireError(f"expected {len(fields)} fields of {tp.__name__}")
        return tp(**{name: _decode(ftype, v) for (name, ftype), v in zip(fields, data, strict=True)})
    raise WireError(f"type {tp!r} cannot be received")
