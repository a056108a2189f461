"""Bounded reading (flows/isolation.py): hangs are killed with their children, memory hogs hit RLIMIT_AS, and the
reader's own errors come back typed. Failures are injected through the `reader` seam production uses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes import evidence

from flows import isolation
from flows.isolation import (
    CHILD_ENV_KEYS,
    Bounds,
    ProcessingTimeout,
    ReaderCrashed,
    ResourceLimit,
    read_bounded,
    read_folder_prefix,
    sweep_abandoned_read_folders,
)
from pipeline.errors import DocverifyError, PdfEncrypted
from pipeline.intake import accept
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import (
    Assertion,
    BBox,
    Category,
    Choice,
    DiagnosisMention,
    Document,
    Evidence,
    Findings,
    MediaType,
    Page,
    PersonMention,
    Role,
    SectionKind,
    Source,
    Word,
)

_EVIDENCE = Evidence(finder="ccda", rule="problem", page=None, bbox=None, snippet="Zzcanary", source=Source.STRUCTURED,
                     original_score=1, adjustments=())
_PERSON = PersonMention(value="Qxj Zzcanary", normalized="Qxj Zzcanary", role=Role.PATIENT, confidence=0.9,
                        evidence=(evidence("Qxj"),), reason="header", credentials=("MD",))
STRUCTURED_DOCUMENT = Document(
    "a" * 64, MediaType.CCDA_XML, 123,
    (Page(1, 612, 792.5, Source.STRUCTURED, "structured",
          (Word("Zzcanary", BBox(0.5, 1, 2, 3.25), 0, 1.0),
           Word("é\u202e<b>", BBox(0, 0, 1, 1), 1, 0.5, Source.OCR))),),
    ("active_content",),
    Findings(people=(_PERSON,),
             diagnoses=(DiagnosisMention(text="CRPS", icd10="G90.50", description=None, category=Category.CRPS,
                                         assertion=Assertion.AFFIRMED, section=SectionKind.ASSESSMENT,
                                         confidence=1.0, evidence=(_EVIDENCE,), link_score=0.0),),
             patient=Choice(_PERSON, "only", ambiguous=True), physician=Choice(None, "none")))

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "inputs"
FAST = Bounds(per_page_s=1.0, margin_s=1.0, cap_s=3.0, count_s=10.0, grace_s=5.0)


# Where test readers leave their probes: the shared temp folder as the test process sees it (the reader child's own
# temp folder is private and removed after the read). Computed at import, before the child redirects its temp folder.
PROBE_DIR = Path(tempfile.gettempdir())


def _pid_file(sha256: str) -> Path:
    return PROBE_DIR / f"docverify-hang-{sha256[:16]}.pid"


def _probe_file(sha256: str) -> Path:
    return PROBE_DIR / f"docverify-probe-{sha256[:16]}.json"


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


def temp_writing_hang_reader(data: bytes, upload, limits: Limits) -> Document:
    """Writes a page image into the temp folder the way pytesseract does, records where, then hangs."""
    with tempfile.NamedTemporaryFile(prefix="tess_", suffix=".png", delete=False) as f:
        f.write(b"\0" * 1_000_000)
    plain = Path(tempfile.gettempdir()) / "plain-open.tsv"  # created with open(): its mode follows the umask
    plain.write_text("level\tpage_num")
    folder = Path(tempfile.gettempdir())
    _probe_file(upload.sha256).write_text(json.dumps({
        "image": f.name, "plain": str(plain), "folder": str(folder), "folder_mode": folder.stat().st_mode & 0o777,
        "plain_mode": plain.stat().st_mode & 0o777}))
    while True:
        time.sleep(1)


def environment_reader(data: bytes, upload, limits: Limits) -> Document:
    """Returns its own environment in the page's reason (how a test sees the child's environment)."""
    return Document(upload.sha256, upload.media_type, upload.size_bytes,
                    (Page(1, 612.0, 792.0, Source.TEXT_LAYER, json.dumps(dict(os.environ)), ()),))


def environ_block_reader(data: bytes, upload, limits: Limits) -> Document:
    """Reports what a reader taken over by a parser exploit could read of the worker's secrets: its own initial
    environment block (/proc/self/environ: what its process was started with, whatever os.environ now says), its
    forkserver's, and whether it may be dumped (prctl PR_GET_DUMPABLE)."""
    import ctypes

    server = os.getppid()
    seen = {"self": Path("/proc/self/environ").read_bytes().decode("utf-8", "replace"),
            "server": Path(f"/proc/{server}/environ").read_bytes().decode("utf-8", "replace"),
            "server_pid": server, "dumpable": ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)}
    return Document(upload.sha256, upload.media_type, upload.size_bytes,
                    (Page(1, 612.0, 792.0, Source.TEXT_LAYER, json.dumps(seen), ()),))


def tracker_reach_reader(data: bytes, upload, limits: Limits) -> Document:
    """Reports the environment blocks a reader taken over by a parser exploit reaches through the resource tracker's
    pipe it holds (multiprocessing hands every forkserver child the tracker's fd): every other process holding that
    pipe, found as an attacker would, by its inode in /proc/<pid>/fd, and its /proc/<pid>/environ."""
    from multiprocessing import resource_tracker

    pipe = f"pipe:[{os.fstat(resource_tracker._resource_tracker._fd).st_ino}]"
    reached: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) == pipe for fd in (proc / "fd").iterdir()):
                reached[int(proc.name)] = (proc / "environ").read_bytes().decode("utf-8", "replace")
        except OSError:
            continue
    return Document(upload.sha256, upload.media_type, upload.size_bytes,
                    (Page(1, 612.0, 792.0, Source.TEXT_LAYER, json.dumps(reached), ()),))


def core_dumping_reader(data: bytes, upload, limits: Limits) -> Document:
    """Aborts the way a crashing parser does, after raising its core-file limit as far as it may (which any code in
    the child may do) and moving to the probe folder: a dumpable process leaves `core` there, with the document in
    its memory."""
    import resource

    os.chdir(_core_dir(upload.sha256))
    _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    os.abort()


# What a crashing tesseract would do: a program the reader child starts (execve makes it dumpable again) raises its
# core-file limit as far as it may, then aborts in the probe folder.
_CRASHING_PROGRAM = ("import os, resource\n"
                     "soft, hard = resource.getrlimit(resource.RLIMIT_CORE)\n"
                     "resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))\n"
                     "os.abort()\n")


def exec_crashing_reader(data: bytes, upload, limits: Limits) -> Document:
    """Starts a program that crashes (as tesseract may on a hostile image), then reads as tiny_reader."""
    subprocess.run([sys.executable, "-c", _CRASHING_PROGRAM], cwd=_core_dir(upload.sha256), capture_output=True,
                   check=False)
    return tiny_reader(data, upload, limits)


def _core_dir(sha256: str) -> Path:
    return PROBE_DIR / f"docverify-core-{sha256[:16]}"


class HostileError(DocverifyError):
    """An error class the parent does not know: a child must not make the parent raise it."""

    code = "hostile_code"


def unknown_error_reader(data: bytes, upload, limits: Limits) -> Document:
    raise HostileError("from the child")


def spoofing_error_reader(data: bytes, upload, limits: Limits) -> Document:
    error = PdfEncrypted("x\nSSN 123-45-6789 \u202e" + "y" * 1000)
    return error  # type: ignore[return-value]  # not a Document: refused


def structured_reader(data: bytes, upload, limits: Limits) -> Document:
    """A Document holding every kind of domain value the C-CDA reader returns (findings, evidence, enums)."""
    return STRUCTURED_DOCUMENT


def nan_reader(data: bytes, upload, limits: Limits) -> Document:
    """A word whose box a parser made of hostile numbers (NaN, infinity)."""
    word = Word("x", BBox(float("nan"), 0.0, float("inf"), 1.0), 0, 1.0)
    return Document(upload.sha256, upload.media_type, upload.size_bytes,
                    (Page(1, 612.0, 792.0, Source.TEXT_LAYER, "test", (word,)),))


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


# Regression: tesseract's page images were written under the default umask into the shared temp folder and an
# 8 MB page image stayed there after a ProcessingTimeout killed the reader (docs/THREAT-MODEL.md B5).
def test_when_the_reader_is_killed_on_timeout_then_its_private_temp_folder_is_gone(upload) -> None:
    data, up = upload
    probe = _probe_file(up.sha256)
    probe.unlink(missing_ok=True)
    with pytest.raises(ProcessingTimeout):
        read_bounded(data, up, reader=temp_writing_hang_reader, bounds=FAST)
    seen = json.loads(probe.read_text())
    probe.unlink()
    assert seen["folder_mode"] == 0o700 and seen["plain_mode"] == 0o600
    assert Path(seen["folder"]) != PROBE_DIR and Path(seen["image"]).parent == Path(seen["folder"])
    assert not Path(seen["image"]).exists() and not Path(seen["plain"]).exists()
    assert not Path(seen["folder"]).exists()


def test_when_the_reader_runs_then_its_environment_holds_only_what_it_needs(upload, monkeypatch) -> None:
    data, up = upload
    monkeypatch.setenv("DOCVERIFY_DATABASE_URL", "postgresql://docverify:Zzsecret@db/docverify")
    monkeypatch.setenv("PREFECT_API_AUTH_STRING", "admin:Zzsecret")
    monkeypatch.setenv("TESSDATA_PREFIX", str(PROBE_DIR))
    document = read_bounded(data, up, reader=environment_reader, bounds=FAST)
    env = json.loads(document.pages[0].reason)
    assert set(env) <= {*CHILD_ENV_KEYS, "TMPDIR"}
    assert "Zzsecret" not in json.dumps(env)
    assert env["TESSDATA_PREFIX"] == str(PROBE_DIR) and env["PATH"] == os.environ["PATH"]
    assert Path(env["TMPDIR"]).name.startswith(read_folder_prefix(os.getpid()))  # its owner: swept if we are killed
    assert not Path(env["TMPDIR"]).exists()


# Regression: the forkserver was started with the worker's whole environment, so the initial environment block of
# the forkserver and of every reader child (/proc/<pid>/environ, fork copies it) held the database URL and tokens even
# though os.environ in the child was scrubbed (docs/THREAT-MODEL.md B5). A fresh worker process, as in production:
# its forkserver starts with the secret in the worker's environment.
def test_when_a_worker_holds_secrets_then_no_reader_process_has_them_in_its_environment_block() -> None:
    root = Path(__file__).resolve().parents[1]
    script = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(root / 'tests')!r}, {str(root)!r}]\n"
        "from pathlib import Path\n"
        "from test_isolation import SAMPLES, environ_block_reader\n"
        "from flows.isolation import read_bounded\n"
        "from pipeline.intake import accept\n"
        "data = (SAMPLES / 'problem_list_migraine.pdf').read_bytes()\n"
        "document = read_bounded(data, accept(data, 'p.pdf'), reader=environ_block_reader)\n"
        "seen = json.loads(document.pages[0].reason)\n"
        "server = Path(f\"/proc/{seen['server_pid']}/environ\")\n"
        "seen['server_outside'] = server.read_bytes().decode('utf-8', 'replace')\n"
        "print(json.dumps(seen))\n")
    seen = _in_a_worker_with_secrets(script, root)
    assert seen["self"] and seen["server"] and seen["server_outside"]  # the blocks were read...
    assert "PATH=" in seen["server_outside"]
    for block in ("self", "server", "server_outside"):  # ...and hold none of the worker's secrets
        assert "Zzsecret" not in seen[block], block
        assert "DOCVERIFY_DATABASE_URL" not in seen[block] and "PREFECT_API_AUTH_STRING" not in seen[block], block
    assert seen["dumpable"] == 0


def _in_a_worker_with_secrets(script: str, root: Path) -> dict[str, Any]:
    """The JSON that `script` prints last, run as a fresh worker process whose environment holds secrets."""
    env = {**os.environ, "DOCVERIFY_DATABASE_URL": "postgresql://docverify:Zzsecret@db/docverify",
           "PREFECT_API_AUTH_STRING": "admin:Zzsecret", "DOCVERIFY_WEBHOOK_SECRET": "Zzsecret"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300, check=True)
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


# Regression: the reader's forkserver started multiprocessing's resource tracker, which was spawned with the worker's
# whole environment, and handed its pipe to every reader child: a reader taken over by a parser exploit found the
# tracker through that pipe and read the database URL and tokens in its environment block (docs/THREAT-MODEL.md B5).
# A fresh worker process, as in production: the reader machinery starts its processes with the secret in the worker's
# environment. Checked: the processes the child reaches through the tracker's pipe (read from the child), and every
# process the worker has started (read from outside).
def test_when_a_worker_holds_secrets_then_the_resource_tracker_the_reader_uses_does_not_hold_them() -> None:
    root = Path(__file__).resolve().parents[1]
    script = (
        "import json, os, sys\n"
        f"sys.path[:0] = [{str(root / 'tests')!r}, {str(root)!r}]\n"
        "from pathlib import Path\n"
        "from test_isolation import SAMPLES, tracker_reach_reader\n"
        "from flows.isolation import read_bounded\n"
        "from pipeline.intake import accept\n"
        "data = (SAMPLES / 'problem_list_migraine.pdf').read_bytes()\n"
        "document = read_bounded(data, accept(data, 'p.pdf'), reader=tracker_reach_reader)\n"
        "reached = {int(pid): block for pid, block in json.loads(document.pages[0].reason).items()}\n"
        "parents = {}\n"
        "for proc in Path('/proc').iterdir():\n"
        "    try:\n"
        "        parents[int(proc.name)] = int((proc / 'stat').read_text().rsplit(')', 1)[1].split()[1])\n"
        "    except (ValueError, IndexError, OSError):\n"
        "        pass\n"
        "started, todo = {}, [os.getpid()]\n"
        "while todo:\n"
        "    parent = todo.pop()\n"
        "    for pid in [pid for pid, ppid in parents.items() if ppid == parent]:\n"
        "        started[pid] = Path(f'/proc/{pid}/environ').read_bytes().decode('utf-8', 'replace')\n"
        "        todo.append(pid)\n"
        "reached.pop(os.getpid(), None)  # the worker itself: a residual risk of its own (B5)\n"
        "print(json.dumps({'reached': reached, 'started': started}))\n")
    seen = _in_a_worker_with_secrets(script, root)
    reached, started = seen["reached"], seen["started"]
    assert reached, "the child reached no process through the resource tracker's pipe"  # the tracker...
    assert set(reached) <= set(started)  # ...which the worker started for the reader
    assert len(started) >= 2  # the forkserver and the resource tracker
    for name, block in [*(("reached", b) for b in reached.values()), *(("started", b) for b in started.values())]:
        assert "PATH=" in block, name  # the blocks were read...
        assert "Zzsecret" not in block, name  # ...and hold none of the worker's secrets
        assert "DOCVERIFY_DATABASE_URL" not in block and "PREFECT_API_AUTH_STRING" not in block, name


# Regression: a reader child that crashed could leave a core file holding the document it was reading, and its memory
# could be read by any process of the same user allowed to ptrace (docs/THREAT-MODEL.md B5): it is now non-dumpable.
def test_when_the_reader_crashes_then_it_leaves_no_core_file(upload) -> None:
    data, up = upload
    folder = _core_dir(up.sha256)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        # Control: on this machine a dumpable process that aborts the same way does leave a core file.
        subprocess.run([sys.executable, "-c", "import os, resource; resource.setrlimit(resource.RLIMIT_CORE, "
                        "(1024**2, 1024**2)); os.abort()"], cwd=folder, capture_output=True, check=False)
        if not (folder / "core").exists():
            pytest.skip("this machine writes no core files to the crashing process's folder (core_pattern)")
        (folder / "core").unlink()
        with pytest.raises(ResourceLimit):
            read_bounded(data, up, reader=core_dumping_reader, bounds=FAST)
        assert list(folder.iterdir()) == []
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Regression: PR_SET_DUMPABLE does not survive execve, so tesseract, started by the non-dumpable reader child, could
# leave a core file holding the page image when it crashed (docs/THREAT-MODEL.md B5). The child's core-file limit is
# now 0, soft and hard: whatever it starts inherits it and cannot raise it.
def test_when_a_program_the_reader_starts_crashes_then_it_leaves_no_core_file(upload) -> None:
    data, up = upload
    folder = _core_dir(up.sha256)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        # Control: started from here, the same program leaves a core file on this machine.
        subprocess.run([sys.executable, "-c", _CRASHING_PROGRAM], cwd=folder, capture_output=True, check=False)
        if not (folder / "core").exists():
            pytest.skip("this machine writes no core files to the crashing process's folder (core_pattern)")
        (folder / "core").unlink()
        assert read_bounded(data, up, reader=exec_crashing_reader, bounds=FAST).pages  # the read itself goes on
        assert list(folder.iterdir()) == []
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("reader", [unknown_error_reader, spoofing_error_reader],
                         ids=["unknown-class", "not-a-document"])
def test_when_the_child_names_a_class_the_parent_does_not_allow_then_reader_crashed_is_raised(upload,
                                                                                            reader) -> None:
    data, up = upload
    with pytest.raises(DocverifyError) as info:
        read_bounded(data, up, reader=reader, bounds=FAST)
    assert type(info.value) is ReaderCrashed
    assert "SSN" not in str(info.value) and "from the child" not in str(info.value)


def test_when_a_structured_document_crosses_as_plain_data_then_the_parent_rebuilds_it_equal(upload) -> None:
    data, up = upload
    assert read_bounded(data, up, reader=structured_reader, bounds=FAST) == STRUCTURED_DOCUMENT


@pytest.mark.parametrize("message", [
    b"\x80\x04\x95",  # a pickle
    b'{"kind": "error", "code": "hostile_code", "detail": "x"}',
    b'{"kind": "ok", "document": ["a", "application/pdf", 1, [], [], null, "extra"]}',
    b'{"kind": "ok", "document": ["a", "application/x-evil", 1, [], [], null]}',
    b'[1, 2]',
    b'{"kind": "error", "code": ["pdf_encrypted"], "detail": "x"}',
    b'{"kind": "ok", "document": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
], ids=["pickle", "unknown-code", "extra-field", "bad-enum", "not-an-object", "unhashable-code", "deep-nesting"])
def test_when_the_child_sends_a_malformed_message_then_the_parent_refuses_it(message: bytes) -> None:
    from flows.isolation import _raise_child_error, _received
    from flows.wire import WireError, decode

    with pytest.raises((ReaderCrashed, WireError)):
        parsed = _received(message)
        if parsed["kind"] == "error":
            _raise_child_error(parsed)
        decode(Document, parsed["document"])


def test_when_a_child_error_detail_holds_control_characters_then_only_printable_ascii_is_kept() -> None:
    from flows.isolation import MAX_DETAIL_CHARS, _raise_child_error

    with pytest.raises(PdfEncrypted) as info:
        _raise_child_error({"kind": "error", "code": "pdf_encrypted", "detail": "a\r\nb\u202e" + "c" * 500})
    assert info.value.detail is not None and "\n" not in info.value.detail and "\u202e" not in info.value.detail
    assert len(info.value.detail) == MAX_DETAIL_CHARS


# --- `docverify check` and `eval` read through the same bounded child (docs/THREAT-MODEL.md B5) --------------------

# Regression: `docverify check` and `docverify eval` read in the calling process, with no time or memory bound; and
# an image decode that hit the memory cap came back as unreadable_file (a rejection) instead of resource_limit.
def test_when_check_reads_an_upload_then_the_memory_bound_of_the_reader_child_applies() -> None:
    from flows.verify import check_bytes
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings

    data = (SAMPLES / "jpeg_scan_migraine.jpg").read_bytes()
    with pytest.raises(ResourceLimit):
        check_bytes(data, "scan.jpg", Intake(), Settings(), bounds=Bounds(memory_bytes=64 * 1024**2))


def test_when_check_reads_with_a_hanging_reader_then_it_is_killed_at_its_budget(upload) -> None:
    from flows.verify import check_bytes
    from pipeline.evaluate import Intake
    from pipeline.settings import Settings

    data, up = upload
    _pid_file(up.sha256).unlink(missing_ok=True)
    t0 = time.monotonic()
    with pytest.raises(ProcessingTimeout):
        check_bytes(data, "x.pdf", Intake(), Settings(), bounds=FAST, reader=hang_reader)
    assert time.monotonic() - t0 < FAST.budget(1) + FAST.grace_s + 10
    assert all(_gone(int(pid)) for pid in _pid_file(up.sha256).read_text().split())


@pytest.mark.parametrize("name", ["visit_note_crps.pdf", "scanned_note_crps_codes.pdf", "fax_fibro_ptsd.tif",
                                  "mychart_phone_crps.png"])
def test_when_a_sample_is_read_in_the_child_then_the_document_equals_the_in_process_read(name: str) -> None:
    from extractors.routing import read_document

    data = (SAMPLES / name).read_bytes()
    up = accept(data, name)
    assert read_bounded(data, up) == read_document(data, up)


def test_when_a_parser_makes_nan_or_infinite_coordinates_then_they_cross_as_in_process(upload) -> None:
    import math

    data, up = upload
    box = read_bounded(data, up, reader=nan_reader, bounds=FAST).pages[0].words[0].bbox
    assert math.isnan(box.x0) and math.isinf(box.x1)


@dataclass(frozen=True, slots=True)
class _Blob:
    data: bytes
    size: int


def blob_job(data: bytes, limits: Limits) -> _Blob:
    return _Blob(data[::-1], len(data))


def lying_job(data: bytes, limits: Limits) -> str:
    return "not a _Blob"


def test_when_a_job_runs_bounded_then_its_bytes_cross_as_plain_data_and_a_misfit_result_is_refused(upload) -> None:
    # flows/isolation.run_bounded (the review app's page images and exports): bytes travel as base64 text and are
    # rebuilt into the declared type only; a result of another shape is reader_crashed, never used.
    from flows import wire
    from flows.isolation import run_bounded

    data, up = upload
    assert run_bounded(blob_job, _Blob, data, up.media_type, bounds=FAST) == _Blob(data[::-1], len(data))
    with pytest.raises(ReaderCrashed):
        run_bounded(lying_job, _Blob, data, up.media_type, bounds=FAST)
    with pytest.raises(wire.WireError):
        wire.decode(_Blob, ["not base64!", 3])



# --- reader temp folders left by a killed parent (flows/isolation.sweep_abandoned_read_folders) ----------------------
# Regression: the parent removes its reader's temp folder in a `finally`, so a parent killed with SIGKILL (or a
# machine that crashed) left the folder — page images and tesseract TSV files of a patient's document — in the
# system temp folder for good.

HOUR_S = 3600.0


def _gone_parent_prefix() -> str:
    """The folder prefix of a process that has exited, named while it awaited its reaper (as its parent would be)."""
    child = subprocess.Popen(["true"])
    prefix = read_folder_prefix(child.pid)  # a zombie's /proc/<pid>/stat still holds its start time
    child.wait()
    return prefix


def _folder(root: Path, name: str, *, age_s: float = 0.0) -> Path:
    """A reader temp folder as tesseract leaves it: a page image inside, last changed `age_s` seconds ago."""
    folder = root / name
    folder.mkdir(mode=0o700)
    (folder / "tess_page.png").write_bytes(b"\0" * 64)
    then = time.time() - age_s
    os.utime(folder, (then, then))
    return folder


@pytest.mark.parametrize(("name", "age_s", "removed"), [
    (lambda: f"{_gone_parent_prefix()}abcd1234", 0.0, True),
    (lambda: f"{read_folder_prefix(os.getpid())}abcd1234", 2 * HOUR_S, False),  # alive: kept however old
    # Our pid with a start time of one clock tick after boot: a dead parent whose pid was reused (a restarted
    # container's worker often gets its predecessor's pid).
    (lambda: f"docverify-read-{os.getpid()}-1-abcd1234", 0.0, True),
    (lambda: "docverify-read-abcd1234", 2 * HOUR_S, True),  # made before the name carried its owner
    (lambda: "docverify-read-abcd1234", 10 * 60.0, False),
    (lambda: "unrelated-abcd1234", 2 * HOUR_S, False),
], ids=["parent-gone", "parent-alive", "pid-reused", "legacy-old", "legacy-recent", "other-name"])
def test_when_reader_temp_folders_are_swept_then_only_those_of_gone_parents_and_old_legacy_ones_go(
        tmp_path: Path, name, age_s: float, removed: bool) -> None:
    folder = _folder(tmp_path, name(), age_s=age_s)
    assert sweep_abandoned_read_folders(tmp_path) == int(removed)
    assert folder.exists() is not removed


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder of another user needs root")
def test_when_an_abandoned_reader_temp_folder_belongs_to_another_user_then_it_is_kept(tmp_path: Path) -> None:
    folder = _folder(tmp_path, f"{_gone_parent_prefix()}abcd1234")
    os.chown(folder, 65534, 65534)
    assert sweep_abandoned_read_folders(tmp_path) == 0
    assert (folder / "tess_page.png").exists()


def test_when_a_symlink_is_named_like_a_reader_temp_folder_then_the_sweep_does_not_follow_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.png").write_bytes(b"\0")
    temp = tmp_path / "tmp"
    temp.mkdir()
    gone_link = temp / f"{_gone_parent_prefix()}abcd1234"
    gone_link.symlink_to(elsewhere, target_is_directory=True)
    legacy_link = temp / "docverify-read-efgh5678"
    legacy_link.symlink_to(elsewhere, target_is_directory=True)
    old = time.time() - 2 * HOUR_S
    os.utime(legacy_link, (old, old), follow_symlinks=False)
    abandoned = _folder(temp, f"{_gone_parent_prefix()}ijkl9012")  # removed, but not through its link inside
    (abandoned / "inside").symlink_to(elsewhere, target_is_directory=True)
    assert sweep_abandoned_read_folders(temp) == 1
    assert not abandoned.exists()
    assert gone_link.is_symlink() and legacy_link.is_symlink()
    assert (elsewhere / "keep.png").exists()


def test_when_a_process_reads_for_the_first_time_then_it_sweeps_folders_of_killed_parents_once(
        upload, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, up = upload
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(isolation, "_swept_in", None)  # as in a process that has not read yet
    first = _folder(tmp_path, f"{_gone_parent_prefix()}abcd1234")
    read_bounded(data, up, reader=tiny_reader, bounds=FAST)
    assert not first.exists() and list(tmp_path.iterdir()) == []  # swept; the read's own folder removed after it
    second = _folder(tmp_path, f"{_gone_parent_prefix()}efgh5678")
    read_bounded(data, up, reader=tiny_reader, bounds=FAST)
    assert second.exists()  # once per process: later reads do not list the temp folder again
