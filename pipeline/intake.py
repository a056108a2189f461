"""Intake: recognise an upload by its bytes (never its name) and enforce the byte-level caps."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from pipeline.errors import EmptyFile, FileTooLarge, UnsupportedType
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import MediaType

# ISO-BMFF brands that mean HEIF/HEIC still images (iPhone photos use heic / mif1).
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif"}


def sniff(data: bytes) -> MediaType | None:
    """The media type of `data` from its leading bytes, or None when it is none we accept."""
    head = data[:64]
    # A PDF header may legally sit within the first 1024 bytes, but anything before it is how polyglots are
    # made (HTML + PDF); we accept only a file that starts with it.
    if head.startswith(b"%PDF-"):
        return MediaType.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return MediaType.TIFF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return MediaType.HEIF
    return None


@dataclass(frozen=True, slots=True)
class Upload:
    """An accepted upload: ids and facts only, never content. The original name is kept apart, sanitised."""

    sha256: str
    media_type: MediaType
    size_bytes: int
    display_name: str


_UNSAFE = re.compile(r"[^\w .()\-]+", re.UNICODE)


def sanitize_filename(name: str, max_len: int = 120) -> str:
    """A display-safe version of a client-supplied file name: no paths, controls, bidi overrides or NULs."""
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # controls, format chars (RLO), NUL
    name = _UNSAFE.sub("_", name).strip(" .")
    return name[:max_len] or "upload"


def accept(data: bytes, filename: str = "upload", limits: Limits = DEFAULT_LIMITS) -> Upload:
    """Check size and type of `data`; raises EmptyFile, FileTooLarge or UnsupportedType."""
    if not data:
        raise EmptyFile("0 bytes")
    if len(data) > limits.max_bytes:
        raise FileTooLarge(f"{len(data)} bytes > {limits.max_bytes}")
    media_type = sniff(data)
    if media_type is None:
        raise UnsupportedType("signature not recognised")
    return Upload(sha256=hashlib.sha256(data).hexdigest(), media_type=media_type, size_bytes=len(data),
                  display_name=sanitize_filename(filename))
