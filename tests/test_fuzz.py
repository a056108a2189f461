"""Fuzzing intake and the readers with Hypothesis (docs/THREAT-MODEL.md "Goal figures", fuzzing).

Two runs of the same properties:
- in the test suite: a bounded, derandomized run (profile "suite": the same few examples on every run, seconds);
- `make fuzz`: profile "fuzz" — many more random examples, a Hypothesis example database under .hypothesis/.

Properties: sniffing never raises and depends only on the leading bytes, never on the name; `accept` raises only its
three rejections; file names always come out inert; and any mutation of a valid PDF, C-CDA, XDM, PNG, JPEG, TIFF,
WEBP or HEIF seed, read through the bounded reader child, ends in a Document or a typed DocverifyError that is not
`reader_crashed` (an untranslated parser exception is a crash), within its time bound. Every crash found is saved
under tests/hostile/regressions/ by `save_crash` (see its README), fails until it is named and fixed, and is replayed by
the regression test at the end of this file.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from hostile.generate import _FONT, _TEXT, _stream, pdf, text_image
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.isolation import Bounds, read_bounded
from pipeline.errors import DocverifyError, EmptyFile, FileTooLarge, UnsupportedType
from pipeline.intake import accept, sanitize_filename, sniff
from pipeline.types import MediaType

# The profiles "suite" (the default) and "fuzz" are registered in tests/conftest.py.

REGRESSIONS = Path(__file__).parent / "hostile" / "regressions"
BOUNDS = Bounds(per_page_s=15.0, margin_s=10.0, cap_s=30.0, count_s=15.0)


def _examples(share: float) -> int:
    """A share of the active profile's example budget (reads in a child cost more than sniffs)."""
    return max(3, int(settings.default.max_examples * share))


# --- seeds: small valid uploads of each structure the readers parse --------------------------------------------------

def _image(fmt: str, **options: object) -> bytes:
    """A small text image in one of the image formats intake accepts (HEIF through pillow-heif's encoder)."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    text_image(("Ana Ruiz", "migraine"), size=(300, 100)).save(buf, format=fmt, **options)
    return buf.getvalue()


CCDA = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<recordTarget><patientRole><patient><name><given>Ana</given><family>Ruiz</family></name></patient></patientRole>
</recordTarget><component><structuredBody><component><section><title>Problems</title><entry><act classCode="ACT"
moodCode="EVN"><entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN"><value xsi:type="CD"
code="G43.909" codeSystem="2.16.840.1.113883.6.90" displayName="Migraine"/></observation></entryRelationship></act>
</entry></section></component></structuredBody></component></ClinicalDocument>"""


def _xdm() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in (("IHE_XDM/SUBSET01/METADATA.XML", b"<SubmitObjectsRequest/>"),
                           ("IHE_XDM/SUBSET01/DOC0001.XML", CCDA)):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), body)
    return buf.getvalue()


SEEDS: dict[str, bytes] = {
    "pdf": pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>", _stream(_TEXT), _FONT]),
    "ccda": CCDA,
    "xdm": _xdm(),
    "png": _image("PNG"),
    "jpeg": _image("JPEG", quality=80),
    "tiff": _image("TIFF", compression="tiff_lzw"),  # LZW, as fax and scanner software writes it
    "webp": _image("WEBP", quality=80),
    "heif": _image("HEIF", quality=50),
}
IMAGE_KINDS = ("png", "jpeg", "tiff", "webp", "heif")
EXTENSIONS = {"pdf": ".pdf", "ccda": ".xml", "xdm": ".zip", "png": ".png", "jpeg": ".jpg", "tiff": ".tif",
              "webp": ".webp", "heif": ".heic"}


@st.composite
def mutated(draw: st.DrawFn, kinds: tuple[str, ...]) -> tuple[str, bytes]:
    """A seed with a few byte edits: overwrites, deletions, insertions, a truncation."""
    kind = draw(st.sampled_from(kinds))
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(("set", "delete", "insert", "truncate", "repeat")))
        if op == "set":
            data[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "truncate" and at > 8:
            del data[at:]
        elif op == "repeat":
            data[at:at] = bytes(data[at:at + draw(st.integers(1, 32))]) * draw(st.integers(2, 200))
        if len(data) < 16:
            break
    return kind, bytes(data)


# --- intake -------------------------------------------------------------------------------------------------------

LEADS = st.sampled_from([b"", b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"PK\x03\x04",
                         b"RIFF\x00\x00\x00\x00WEBP", b"\x00\x00\x00\x18ftypheic", b"\xef\xbb\xbf",
                         b'<ClinicalDocument xmlns="urn:hl7-org:v3">', b"<?xml version='1.0'?>", b"<!--"])


@given(lead=LEADS, body=st.binary(max_size=5000), name=st.text(max_size=300), other=st.text(max_size=50))
def test_when_any_bytes_are_sniffed_then_only_a_rejection_or_an_upload_of_the_sniffed_type_comes_back(
        lead: bytes, body: bytes, name: str, other: str) -> None:
    data = lead + body
    media = sniff(data)
    assert media is None or isinstance(media, MediaType)
    if len(data) >= 4096:
        assert sniff(data[:4096]) is media  # the type is decided by the leading bytes only
    try:
        upload = accept(data, name)
    except (EmptyFile, FileTooLarge, UnsupportedType):
        assert media is None or not data
        return
    assert upload.media_type is media is accept(data, other).media_type  # never by the name
    assert media is not MediaType.PDF or data.startswith(b"%PDF-")  # no prefix polyglot


@given(name=st.text(max_size=400))
def test_when_any_file_name_is_sanitised_then_it_is_inert(name: str) -> None:
    cleaned = sanitize_filename(name)
    assert 1 <= len(cleaned) <= 120
    assert not any(c in cleaned for c in "/\\\x00<>\"'&\r\n\u202e")
    assert cleaned == sanitize_filename(cleaned)  # a fixed point: sanitising twice changes nothing


# --- readers (in the bounded child) -------------------------------------------------------------------------------

def _outcome(data: bytes) -> str:
    """'document', or the error code, of one read through intake and the bounded reader."""
    try:
        read_bounded(data, accept(data, "fuzz"), bounds=BOUNDS)
    except DocverifyError as e:
        return e.code
    return "document"


def save_crash(kind: str, data: bytes, folder: Path = REGRESSIONS) -> Path:
    """Keep an input that crashed the reader as a regression file (named by its seed kind and hash until someone
    renames it for its bug) with an expectation that fails until the bug is fixed and the expectation written."""
    path = folder / f"{kind}-crash-{hashlib.sha256(data).hexdigest()[:12]}{EXTENSIONS[kind]}"
    path.write_bytes(data)
    path.with_name(path.name + ".json").write_text(json.dumps({
        "bug": "found by fuzzing: the reader crashed (reader_crashed). Rename this file and this note for the bug, "
               "fix it, and set outcome to what reading it must give",
        "outcome": "not yet decided"}, indent=1) + "\n")
    return path


def _assert_ends_cleanly(kind: str, data: bytes) -> None:
    started = time.monotonic()
    outcome = _outcome(data)
    if outcome == "reader_crashed":
        saved = save_crash(kind, data)
        pytest.fail(f"an untranslated parser or decoder error, saved as tests/hostile/regressions/{saved.name}")
    assert time.monotonic() - started < BOUNDS.cap_s + BOUNDS.grace_s + 10


@settings(max_examples=_examples(1.0))
@given(case=mutated(("pdf", "ccda", "xdm")))
def test_when_a_structured_upload_is_mutated_then_the_reader_ends_cleanly(case: tuple[str, bytes]) -> None:
    _assert_ends_cleanly(*case)


@settings(max_examples=_examples(0.3))
@given(case=mutated(IMAGE_KINDS))
def test_when_an_image_upload_of_any_accepted_format_is_mutated_then_the_reader_ends_cleanly(
        case: tuple[str, bytes]) -> None:
    _assert_ends_cleanly(*case)


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_when_a_seed_is_read_unmutated_then_it_is_a_document(kind: str) -> None:
    # A seed the reader refuses would make every mutation of it a test of the refusal path only.
    assert _outcome(SEEDS[kind]) == "document"


def test_when_a_crash_is_saved_then_it_becomes_a_regression_that_fails_until_its_outcome_is_written(
        tmp_path: Path) -> None:
    saved = save_crash("jpeg", b"\xff\xd8\xff crash", tmp_path)
    assert saved.suffix == ".jpg" and saved.read_bytes() == b"\xff\xd8\xff crash"
    expected = json.loads(saved.with_name(saved.name + ".json").read_text())
    assert expected["outcome"] not in {"document", "reader_crashed"} and "Rename" in expected["bug"]
    assert save_crash("jpeg", b"\xff\xd8\xff crash", tmp_path) == saved  # the same input, the same file


# --- regressions found by fuzzing ---------------------------------------------------------------------------------

REGRESSION_FILES = sorted(p for p in REGRESSIONS.iterdir() if p.suffix != ".json" and p.name != "README.md") \
    if REGRESSIONS.is_dir() else []


def test_when_the_regression_folder_is_listed_then_every_file_has_its_expectation() -> None:
    names = {p.name for p in REGRESSIONS.iterdir()} - {"README.md"}
    assert all(f"{p.name}.json" in names for p in REGRESSION_FILES)
    assert all(Path(n).stem in {p.name for p in REGRESSION_FILES} for n in names if n.endswith(".json"))


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=[p.name for p in REGRESSION_FILES])
def test_when_a_saved_regression_is_read_then_it_ends_as_recorded(path: Path) -> None:
    expected = json.loads(path.with_name(path.name + ".json").read_text())
    assert _outcome(path.read_bytes()) == expected["outcome"], expected["bug"]
