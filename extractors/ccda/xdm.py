"""IHE XDM zips: the C-CDA documents of a portal's health-summary package, read in memory under caps.

Safety (docs/THREAT-MODEL.md item 30): caps on entries, on the total uncompressed size (counted while reading, never
trusting headers) and on each entry's compression ratio; entry names are checked and never used as paths; a zip
inside the zip is refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from extractors.ccda.tree import local, parse_xml
from pipeline.errors import FileTooLarge, UnreadableFile, UnsupportedType
from pipeline.intake import sniff
from pipeline.types import MediaType


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Caps for a zip upload (docs/THREAT-MODEL.md item 30); sizes in bytes, counted while decompressing."""

    max_entries: int = 100
    max_total_bytes: int = 50 * 1024 * 1024
    max_ratio: float = 100.0  # uncompressed / compressed, per entry, checked once an entry passes `ratio_floor`
    ratio_floor: int = 1024 * 1024  # small entries (a 10 KB XML of whitespace) may compress better than `max_ratio`
    max_documents: int = 20


DEFAULT_ARCHIVE_LIMITS = ArchiveLimits()
_READ_CHUNK = 64 * 1024
_UNSAFE_NAME = re.compile(r"(^[/\\])|\\|(^|/)\.\.(/|$)|^[A-Za-z]:|[\x00-\x1f]")
_NESTED_ARCHIVE_SUFFIXES = (".zip", ".jar", ".xdm", ".7z", ".gz", ".tar", ".rar")


def xdm_documents(data: bytes, archive: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) -> list[tuple[str, bytes]]:
    """(entry name, bytes) of the C-CDA documents of an IHE XDM zip, read in memory under `archive` caps.

    Documents referenced by METADATA.XML (Slot "URI") come first; any other entry whose bytes are a ClinicalDocument
    is taken too. Raises UnreadableFile, UnsupportedType, FileTooLarge, UnsafeXml (in METADATA.XML).
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as e:
        raise UnreadableFile(f"zip not readable ({type(e).__name__})") from e
    with zf:
        infos = zf.infolist()
        if len(infos) > archive.max_entries:
            raise UnsupportedType(f"zip holds {len(infos)} entries > {archive.max_entries}")
        for info in infos:
            if _UNSAFE_NAME.search(info.filename):
                raise UnsupportedType("zip entry name is an absolute or parent path")
            if info.flag_bits & 0x1:
                raise UnsupportedType("zip entry is encrypted")
            if info.filename.lower().endswith(_NESTED_ARCHIVE_SUFFIXES):
                raise UnsupportedType("zip holds another archive")
        names = [i.filename.upper() for i in infos]
        if not any(n.endswith("METADATA.XML") or n.startswith("IHE_XDM/") for n in names):
            raise UnsupportedType("zip is not an IHE XDM package (no METADATA.XML, no IHE_XDM/)")
        contents = dict(_read_entries(zf, infos, archive))
    referenced = _metadata_uris(contents)
    order = sorted(contents, key=lambda n: (n.upper() not in referenced, n))
    documents = [(name, contents[name]) for name in order if sniff(contents[name]) is MediaType.CCDA_XML]
    if not documents:
        raise UnsupportedType("XDM package holds no C-CDA document")
    if len(documents) > archive.max_documents:
        raise UnsupportedType(f"XDM package holds {len(documents)} documents > {archive.max_documents}")
    return documents


def _read_entries(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo],
                  archive: ArchiveLimits) -> Iterator[tuple[str, bytes]]:
    """Every file entry's bytes, counting what is decompressed against the caps (headers are not trusted)."""
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        chunks: list[bytes] = []
        size = 0
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(_READ_CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if total > archive.max_total_bytes:
                        raise FileTooLarge(f"zip expands beyond {archive.max_total_bytes} bytes")
                    if size > archive.ratio_floor and size > archive.max_ratio * max(info.compress_size, 1):
                        raise FileTooLarge(f"zip entry compression ratio above {archive.max_ratio:.0f}")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as e:
            raise UnreadableFile(f"zip entry not readable ({type(e).__name__})") from e
        body = b"".join(chunks)
        if body.startswith(b"PK\x03\x04"):
            raise UnsupportedType("zip holds another archive")
        yield info.filename, body


def _metadata_uris(contents: dict[str, bytes]) -> set[str]:
    """Upper-cased entry names of the documents METADATA.XML lists (XDM: Slot "URI", relative to its folder)."""
    out: set[str] = set()
    for name, body in contents.items():
        if not name.upper().endswith("METADATA.XML"):
            continue
        root = parse_xml(body)
        folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        for slot in root.iter():
            if local(slot.tag) == "Slot" and (slot.get("name") or "").upper() == "URI":
                for value in slot.iter():
                    if local(value.tag) == "Value" and value.text:
                        uri = value.text.strip()
                        # A long URI may be split over several values as "1|part"; XDM documents use short names.
                        uri = uri.split("|", 1)[1] if re.match(r"^\d+\|", uri) else uri
                        out.add((folder + uri).upper())
    return out
