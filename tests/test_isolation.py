"""Bounded reading (flows/isolation.py): hangs are killed with their children, memory hogs hit RLIMIT_AS, and the
reader's own errors come back typed. Failures are injected through the `reader` seam production uses."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from flows.isolation import Bounds, ProcessingTimeout, ReaderCrashed, ResourceLimit, read_bounded
from pipeline.errors import DocverifyError, PdfEncrypted
from pipeline.intake import accept
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import Document, Page, Source

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"
FAST = Bounds(per_page_s=1.0, margin_s=1.0, cap_s=3.0, count_s=10.0, grace_s=5.0)


def _pid_file(sha256: str) -> Path:
    return Path(tempfile.gettempdir()) / f"docverify-hang-{sha256[:16]}.pid"


def hang_reader(data: bytes, upload, limits: Limits) -> Document:
    """Starts a grandchild (as tesseract would) and then blocks forever."""
    child = subprocess.Popen(["sleep", "300"])
    _pid_file(upload.sha256).write_text(f"{os.getpid()} {child.pid}")
    while True:
        time.sleep(1)


def hog_reader(data: bytes, upload, limits: Limits) -> Document:
    """Allocates far past the 1.5 GiB address-space cap."""
    blob = bytearray(3 * 1024**3)
    return Document(upload.sha256, upload.media_type, len(blob), ())


def sigkill_reader(data: bytes, upload, limits: Limits) -> Document:
    """Dies the way an OOM kill looks from outside."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def encrypted_reader(data: bytes, upload, limits: Limits) -> Document:
    raise PdfEncrypted("1 page")


def leaky_reader(data: bytes, upload, limits: Limits) -> Document:
    raise KeyError("Zzcanary Qxj")  # a third-party error whose message holds document text


def tiny_reader(data: bytes, upload, limits: Limits) -> Document:
    return Document(upload.sha256, upload.media_type, upload.size_bytes,
                    (Page(1, 612.0, 792.0, Source.TEXT_LAYER, "test", ()),))


def _gone(pid: int, within_s: float = 5.0) -> bool:
    """True when `pid` no longer runs (absent, or a zombie awaiting its reaper)."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def upload():
    data = (SAMPLES / "visit_note_crps.pdf").read_bytes()
    up = accept(data, "visit_note_crps.pdf")
    read_bounded(data, up, reader=tiny_reader, bounds=FAST)  # start the forkserver: timings below are the reads'
    return data, up


def test_when_the_reader_hangs_then_it_is_killed_with_its_children_within_the_budget(upload) -> None:
    data, up = upload
    _pid_file(up.sha256).unlink(missing_ok=True)
    t0 = time.monotonic()
    with pytest.raises(ProcessingTimeout) as info:
        read_bounded(data, up, reader=hang_reader, bounds=FAST)
    elapsed = time.monotonic() - t0
    assert elapsed < FAST.budget(1) + FAST.grace_s + 10  # killed at its budget, not after its 300 s sleep
    assert info.value.code == "processing_timeout" and not info.value.retryable
    child_pid, grandchild_pid = map(int, _pid_file(up.sha256).read_text().split())
    assert _gone(child_pid) and _gone(grandchild_pid)


@pytest.mark.parametrize(("reader", "error", "code"), [
    (hog_reader, ResourceLimit, "resource_limit"),
    (sigkill_reader, ResourceLimit, "resource_limit"),
    (encrypted_reader, PdfEncrypted, "pdf_encrypted"),
    (leaky_reader, ReaderCrashed, "reader_crashed"),
], ids=["memory-hog", "killed", "typed-error", "third-party-error"])
def test_when_the_reader_fails_then_a_typed_error_without_document_text_is_raised(upload, reader, error,
                                                                                    code) -> None:
    data, up = upload
    with pytest.raises(DocverifyError) as info:
        read_bounded(data, up, reader=reader, bounds=FAST)
    assert type(info.value) is error and info.value.code == code
    assert not info.value.retryable
    assert "Zzcanary" not in str(info.value)


def test_when_the_reader_succeeds_then_the_document_comes_back_through_the_pipe(upload) -> None:
    data, up = upload
    document = read_bounded(data, up, reader=tiny_reader, bounds=FAST)
    assert document.sha256 == up.sha256 and len(document.pages) == 1


def test_when_the_real_reader_reads_a_text_pdf_then_words_come_back() -> None:
    data = (SAMPLES / "problem_list_migraine.pdf").read_bytes()
    document = read_bounded(data, accept(data, "p.pdf"), DEFAULT_LIMITS)
    assert document.pages and any(page.words for page in document.pages)


@pytest.mark.parametrize(("pages", "expected"), [(1, 90.0), (5, 330.0), (500, 900.0)])
def test_when_a_document_has_n_pages_then_the_budget_is_min_of_cap_and_per_page(pages: int, expected: float) -> None:
    assert Bounds().budget(pages) == expected
