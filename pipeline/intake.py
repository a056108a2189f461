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

# Real C-CDA exports put up to ~2.7 KB of comments and xml-stylesheet PIs before the root element (measured on the
# ONC certification samples), so the XML sniff looks at the first 4 KB, not 1 KB. It never parses: it skips the
# prolog lexically and looks at the root start tag only.
_XML_SNIFF_BYTES = 4096
_UTF8_BOM = b"\xef\xbb\xbf"
_CDA_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?ClinicalDocument[\s/>]")
_CDA_DOCTYPE = re.compile(rb"<!DOCTYPE\s+(?:[A-Za-z_][\w.-]*:)?ClinicalDocument[\s\[>]")
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_ZIP_LOCAL_HEADER_LEN = 30  # fixed part of a zip local file header; anything shorter is not a zip with an entry


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
    # Any zip with a first entry is a candidate portal export; whether it is an IHE XDM package (METADATA.XML,
    # IHE_XDM/) is decided by the reader, which opens it with caps (extractors/ccda.py).
    if head.startswith(_ZIP_LOCAL_HEADER) and len(data) >= _ZIP_LOCAL_HEADER_LEN:
        return MediaType.XDM_ZIP
    if _is_clinical_document(data[:_XML_SNIFF_BYTES]):
        return MediaType.CCDA_XML
    return None


def _is_clinical_document(head: bytes) -> bool:
    """True when `head` is the start of an XML document whose root is hl7 v3 ClinicalDocument.

    A DOCTYPE naming ClinicalDocument also counts, so that the reader can refuse it as `unsafe_xml` (it refuses every
    DTD) instead of the upload looking like an unknown type.
    """
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM):]
    i = 0
    while True:  # skip the prolog: whitespace, the XML declaration, processing instructions, comments
        while i < len(head) and head[i] in b" \t\r\n":
            i += 1
        if head.startswith(b"<?", i):
            end = head.find(b"?>", i + 2)
            if end < 0:
                return False
            i = end + 2
        elif head.startswith(b"<!--", i):
            end = head.find(b"-->", i + 4)
            if end < 0:
                return False
            i = end + 3
        elif head.startswith(b"<!DOCTYPE", i):
            return _CDA_DOCTYPE.match(head, i) is not None
        else:
            break
    root = _CDA_ROOT.match(head, i)
    if root is None:
        return False
    end = head.find(b">", i)
    start_tag = head[i:end] if end >= 0 else head[i:]
    prefix = root.group(1)
    declaration = b"xmlns" + (b":" + prefix if prefix else b"")
    return re.search(re.escape(declaration) + rb"\s*=\s*[\"']urn:hl7-org:v3[\"']", start_tag) is not None


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
