"""Intake: the type comes from the bytes, never the name; size caps apply before anything is decoded."""

from __future__ import annotations

import pytest

from pipeline.errors import EmptyFile, FileTooLarge, UnsupportedType
from pipeline.intake import accept, sanitize_filename, sniff
from pipeline.limits import Limits
from pipeline.types import MediaType

SIGNATURES = [
    (b"%PDF-1.7\n...", MediaType.PDF),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", MediaType.PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", MediaType.JPEG),
    (b"II*\x00\x08\x00\x00\x00", MediaType.TIFF),
    (b"MM\x00*\x00\x00\x00\x08", MediaType.TIFF),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", MediaType.WEBP),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", MediaType.HEIF),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", MediaType.HEIF),
]


@pytest.mark.parametrize(("head", "expected"), SIGNATURES, ids=[e.name + str(i) for i, (_, e) in enumerate(SIGNATURES)])
def test_when_bytes_carry_a_known_signature_then_the_type_is_recognised(head: bytes, expected: MediaType) -> None:
    assert sniff(head) is expected


NOT_ACCEPTED = [
    b"<html><script>alert(1)</script></html>",
    b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>",
    b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows executable
    b"<?php echo 1; ?>",
    b"PK\x03\x04\x14\x00",  # zip
    b"   %PDF-1.4 polyglot prefix",
    b"\x00\x00\x00\x18ftypmp42\x00\x00",  # an MP4 video, not a HEIF image
    b"GIF89a",
]


@pytest.mark.parametrize("data", NOT_ACCEPTED)
def test_when_bytes_are_not_an_accepted_type_then_upload_is_refused_whatever_its_name(data: bytes) -> None:
    with pytest.raises(UnsupportedType) as info:
        accept(data, "record.pdf")
    assert info.value.code == "unsupported_type"
    assert not info.value.retryable


def test_when_file_is_empty_then_empty_file_is_raised() -> None:
    with pytest.raises(EmptyFile) as info:
        accept(b"", "x.pdf")
    assert info.value.code == "empty_file"


def test_when_file_exceeds_the_cap_then_it_is_refused_before_sniffing() -> None:
    with pytest.raises(FileTooLarge):
        accept(b"%PDF-" + b"0" * 100, "x.pdf", Limits(max_bytes=50))


def test_when_upload_is_accepted_then_it_carries_ids_only() -> None:
    up = accept(b"%PDF-1.4 body", "visit.pdf")
    assert up.media_type is MediaType.PDF
    assert up.size_bytes == 13
    assert len(up.sha256) == 64
    assert up.display_name == "visit.pdf"


HOSTILE_NAMES = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\x.pdf", "x.pdf"),
    ("a.pdf\x00.html", "a.pdf.html"),
    ("evil\u202egnp.pdf", "evilgnp.pdf"),
    ("<script>alert(1)</script>.png", "script_.png"),  # "/" ends the path: only the last part is kept
    ("line\r\nbreak.pdf", "linebreak.pdf"),
    ("", "upload"),
    ("x" * 10_000 + ".pdf", "x" * 120),
]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE_NAMES)
def test_when_filename_is_hostile_then_the_display_name_is_inert(raw: str, expected: str) -> None:
    cleaned = sanitize_filename(raw)
    assert cleaned.startswith(expected[:20])
    assert "/" not in cleaned and "\\" not in cleaned and "\x00" not in cleaned and "<" not in cleaned
    assert "\r" not in cleaned and "\n" not in cleaned and "\u202e" not in cleaned
    assert len(cleaned) <= 120
