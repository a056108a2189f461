"""Bounded reading: PDF parsing and OCR run in a child process with a memory cap and a wall-clock kill.

Why a process: Prefect's task timeout cannot interrupt blocking C code (pdfminer loops, pdfium, a stuck tesseract),
and a decompression bomb must not take the worker down with it (docs/THREAT-MODEL.md items 22, 23, 42). The child runs
in its own session (process group) so a kill also reaches the tesseract processes it started. It writes only to its
own temp folder (0700, removed by the parent), sees only the environment it needs, and answers in plain data: the
parent never unpickles what the child sends, nor raises a class the child names (docs/THREAT-MODEL.md B5). The
folder's name carries the parent's pid and start time: a folder whose parent died before removing it (SIGKILL, a
crash) is swept by the next process that reads, by the reconciler and by `docverify purge`
(`sweep_abandoned_read_folders`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.popen_forkserver
import multiprocessing.process
import os
import re
import resource
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import connection as mp_connection
from multiprocessing import context as mp_context
from multiprocessing import reduction, resource_tracker, spawn, util
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from flows import wire
from pipeline import errors as domain_errors
from pipeline.errors import DocverifyError, UnreadableFile
from pipeline.intake import Upload
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import Document, MediaType

GIB = 1024**3
_log = logging.getLogger("docverify.isolation")

# A reader turns accepted bytes into a Document: extractors.routing.read_document in production, a hanging or
# memory-hungry stand-in in tests. It must be a module-level function (it is pickled by reference to the child).
Reader = Callable[[bytes, Upload, Limits], Document]

# A job decodes untrusted bytes into some other plain value (`flows.wire`: frozen dataclasses, tuples, enums, bytes):
# the review app's page images and scrubbed exports (flows/review/pages.py, pixels.py). Module-level, like a Reader.
Job = Callable[[bytes, Limits], Any]


class ResourceLimit(DocverifyError):
    """The reader exceeded its memory cap or was killed by the system; the same bytes would fail again."""

    code = "resource_limit"
    retryable = False
    user_message = ("This document needs more resources to read than we allow. Please upload a smaller copy, or "
                    "only the pages that show your diagnosis.")


class ProcessingTimeout(DocverifyError):
    """The reader ran past its wall-clock budget and was killed (a hanging parser or a pathological page)."""

    code = "processing_timeout"
    # Not retryable: the budget already scales with the page count, so a rerun of the same bytes hangs the same way.
    retryable = False
    user_message = ("Reading this document took too long. Please upload a clearer or shorter copy, for example only "
                    "the pages that show your diagnosis.")


class ReaderCrashed(DocverifyError):
    """The reader raised an error we do not recognise; reported by type name only (never by message: PHI)."""

    code = "reader_crashed"
    retryable = False


@dataclass(frozen=True, slots=True)
class Bounds:
    """Memory and wall-clock bounds of one read. Seconds and bytes."""

    memory_bytes: int = int(1.5 * GIB)  # RLIMIT_AS of the child (docs/THREAT-MODEL.md item 22)
    per_page_s: float = 60.0  # the per-page OCR bound of pipeline.limits, times the page count...
    margin_s: float = 30.0  # ...plus start-up and parsing...
    cap_s: float = 15 * 60.0  # ...capped per document (goal figures: ≤15 min wall clock per document)
    count_s: float = 60.0  # time allowed before the child has reported the page count
    grace_s: float = 5.0  # after a kill, how long to wait for the child to be reaped

    def budget(self, pages: int) -> float:
        """Wall-clock seconds allowed for a document of `pages` pages: min(cap, per_page × pages + margin)."""
        return min(self.cap_s, self.per_page_s * max(1, pages) + self.margin_s)


DEFAULT_BOUNDS = Bounds()


def default_reader(data: bytes, upload: Upload, limits: Limits) -> Document:
    """The production reader (imported in the child, so the parent never parses document bytes)."""
    from extractors.routing import read_document

    return read_document(data, upload, limits)


def _page_estimate(data: bytes, media_type: MediaType | None, limits: Limits) -> int:
    """Pages the budget is computed for: counted for PDFs (pdfium, cheap), the frame cap for TIFF, else 1."""
    if media_type is MediaType.PDF:
        from extractors.pdf_text import count_pages

        return count_pages(data, limits)
    if media_type is MediaType.TIFF:
        return limits.max_tiff_frames
    return 1


@dataclass(frozen=True, slots=True)
class _ReadWork:
    """What a reader child does for `read_bounded`: read the upload into a Document."""

    reader: Reader
    upload: Upload

    def pages(self, data: bytes, limits: Limits) -> int:
        return _page_estimate(data, self.upload.media_type, limits)

    def run(self, data: bytes, limits: Limits) -> Any:
        document = self.reader(data, self.upload, limits)
        if not isinstance(document, Document):
            raise wire.WireError("the reader did not return a Document")
        return document


@dataclass(frozen=True, slots=True)
class _JobWork:
    """What a reader child does for `run_bounded`: one job over bytes of a sniffed media type."""

    job: Job
    media_type: MediaType | None

    def pages(self, data: bytes, limits: Limits) -> int:
        return _page_estimate(data, self.media_type, limits)

    def run(self, data: bytes, limits: Limits) -> Any:
        return self.job(data, limits)


PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4


def _prctl(option: int, value: int) -> None:
    """Linux prctl(2) through libc; best effort elsewhere (no libc prctl: nothing done)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _die_with_parent() -> None:
    """Linux: SIGKILL this child when its parent (the forkserver, which exits with the worker) dies, so a killed
    worker leaves no reader running. Best effort elsewhere."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _not_dumpable() -> None:
    """Linux: no core file of this child (it holds the document), and its memory and /proc files are closed to
    processes of the same user without CAP_SYS_PTRACE (docs/THREAT-MODEL.md B5). An execve (tesseract) resets the
    dumpable flag, so the core-file limit is also set to 0, soft and hard: every program the child starts inherits
    it and cannot raise it (an unprivileged process cannot raise a hard limit), so a crashing tesseract writes no
    core file holding the page image (a file core_pattern; systemd-coredump honours the limit too). What stays open
    for tesseract — its memory readable by ptrace-capable processes of the same user while it runs — is in
    docs/THREAT-MODEL.md B5 "Residual risks"."""
    _prctl(PR_SET_DUMPABLE, 0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# The child's whole environment (docs/THREAT-MODEL.md B5): what tesseract and the parsers need, and its private temp
# folder as TMPDIR. Never the database URL, tokens or anything else the worker holds.
CHILD_ENV_KEYS = ("PATH", "LANG", "OMP_THREAD_LIMIT", "TESSDATA_PREFIX")
MAX_MESSAGE_BYTES = 512 * 1024**2  # a Document of 1,000,000 characters is ~60 MB as plain data; longer is refused
MAX_DETAIL_CHARS = 200

# The only errors the parent raises for a child: looked up by code. Anything else the child names is ReaderCrashed.
_RAISABLE: tuple[type[DocverifyError], ...] = (
    domain_errors.EmptyFile, domain_errors.UnsupportedType, domain_errors.FileTooLarge, domain_errors.UnreadableFile,
    domain_errors.UnsafeXml, domain_errors.PdfEncrypted, domain_errors.TooManyPages, domain_errors.TooMuchText,
    domain_errors.ImageTooLarge, domain_errors.TooManyFrames, domain_errors.NoReadableText, domain_errors.OcrTimeout,
    domain_errors.OcrEngineError, ResourceLimit, ReaderCrashed,
)
ALLOWED_ERRORS: Mapping[str, type[DocverifyError]] = {cls.code: cls for cls in _RAISABLE}


# The forkserver's whole environment: the child's keys, and PYTHONPATH (where the modules it preloads are found; a
# search path, not a secret). Every reader child is forked from it, and fork copies the initial environment block that
# /proc/<pid>/environ shows: what the forkserver is started with is what a reader child could read, whatever
# os.environ says later. The resource tracker the reader children are handed is started with the same environment.
FORKSERVER_ENV_KEYS = (*CHILD_ENV_KEYS, "PYTHONPATH")


def forkserver_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The forkserver's environment: the FORKSERVER_ENV_KEYS present in `environ`."""
    return {key: environ[key] for key in FORKSERVER_ENV_KEYS if key in environ}


def child_environment(workdir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The reader child's environment: the CHILD_ENV_KEYS present in `environ`, and TMPDIR = `workdir`."""
    env = {key: environ[key] for key in CHILD_ENV_KEYS if key in environ}
    env["TMPDIR"] = str(workdir)
    return env


def _send(conn: Connection, message: dict[str, Any]) -> None:
    # NaN and infinities pass as JSON's NaN/Infinity tokens (json.loads reads them back): a coordinate a parser made
    # of a hostile number reaches the parent as it would have in-process.
    conn.send_bytes(json.dumps(message, ensure_ascii=False).encode("utf-8"))


def _child(conn: Connection, work: _ReadWork | _JobWork, data: bytes, limits: Limits, memory_bytes: int,
           workdir: str, env: dict[str, str]) -> None:
    """Child body: private temp folder and environment, cap memory, report the page count, do the work, send back
    its result (the Document, or the job's value) as plain data ({"kind": "ok"}) or an error code
    ({"kind": "error"})."""
    os.setsid()  # own process group: the parent's kill reaches tesseract too
    _die_with_parent()
    _not_dumpable()
    os.umask(0o077)  # whatever the child or tesseract writes is owner-only
    os.environ.clear()  # unsetenv: tesseract and anything else started from here inherits only `env`
    os.environ.update(env)
    tempfile.tempdir = workdir  # pytesseract's page images and TSV files go here, not the shared temp folder
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    message: dict[str, Any]
    try:
        _send(conn, {"kind": "pages", "pages": work.pages(data, limits)})
        message = {"kind": "ok", "document": wire.encode(work.run(data, limits))}
    except DocverifyError as e:
        message = {"kind": "error", "code": e.code, "detail": e.detail}
    except MemoryError:
        message = {"kind": "error", "code": ResourceLimit.code, "detail": f"memory cap {memory_bytes} bytes"}
    except RecursionError:  # circular XObjects and the like (pdfminer.six#1113)
        message = {"kind": "error", "code": UnreadableFile.code, "detail": "recursion limit while parsing"}
    except Exception as e:  # noqa: BLE001 - reported by type only: messages of third-party errors may hold text
        message = {"kind": "error", "code": ReaderCrashed.code, "detail": type(e).__name__}
    try:
        try:
            _send(conn, message)
        except (TypeError, ValueError):  # not JSON-encodable (e.g. a detail that is not a string): a crash, by code
            _send(conn, {"kind": "error", "code": ReaderCrashed.code, "detail": "unencodable result"})
    except MemoryError:
        _send(conn, {"kind": "error", "code": ResourceLimit.code,
                     "detail": f"memory cap {memory_bytes} bytes (sending the result)"})
    finally:
        conn.close()


def _detail(value: Any) -> str | None:
    """An error detail from the child, kept to printable ASCII and MAX_DETAIL_CHARS (it is logged)."""
    if not isinstance(value, str):
        return None
    return "".join(c if " " <= c <= "~" else "?" for c in value[:MAX_DETAIL_CHARS])


def _received(raw: bytes) -> dict[str, Any]:
    """One message of the child, parsed as JSON (never unpickled). Raises ReaderCrashed when malformed."""
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: arrays nested deeper than the parser's stack
        raise ReaderCrashed("malformed message from the reader") from None
    if not isinstance(message, dict) or message.get("kind") not in ("pages", "ok", "error"):
        raise ReaderCrashed("malformed message from the reader")
    return message


def _raise_child_error(message: dict[str, Any]) -> None:
    """Raise the allowed error class for the child's code (never a class the child names). Raises it."""
    code = message.get("code")
    error_class = ALLOWED_ERRORS.get(code) if isinstance(code, str) else None
    if error_class is None:
        raise ReaderCrashed("unknown error code from the reader")
    raise error_class(_detail(message.get("detail")))


# What the forkserver imports once, so each reader child starts in milliseconds: the readers, and flows.cli —
# every forkserver child re-runs the parent's main script (multiprocessing's `prepare`; CPython 3.12 cannot preload
# `__main__` itself), and the `docverify` entry point's script is `from flows.cli import app`. Preloaded, that
# re-import is a dictionary lookup: a text PDF's bounded read fell from 0.15 to 0.05 CPU-s (benchmarks/README.md).
FORKSERVER_PRELOAD = ["extractors.routing", "flows.isolation", "flows.cli"]


class _ScrubbedResourceTracker(resource_tracker.ResourceTracker):
    """multiprocessing's resource tracker, started with `forkserver_environment` instead of the worker's whole
    environment: the tracker of the reader's forkserver.

    Every forkserver child is handed the write end of its tracker's pipe, and a child that holds a pipe finds the
    process at its other end (/proc/<pid>/fd) and that process's environment block. The module-wide tracker is spawned
    with the caller's environment (database URL, Prefect auth string, webhook secret), so the reader's children get
    this one. `ensure_running` is CPython 3.12's (the pinned runtime, requirements/python.toml) with the environment
    passed to fork_exec; the tracker itself is the standard `multiprocessing.resource_tracker.main`. The rest of the
    worker's multiprocessing (the eval process pool of flows/runner.py) keeps the module-wide tracker.
    """

    _fd: int | None  # set by ResourceTracker.__init__: the write end of the tracker's pipe...
    _pid: int | None  # ...and the tracker's pid, None until started here

    def ensure_running(self) -> None:
        with self._lock:  # type: ignore[attr-defined]
            if self._fd is not None:
                if self._check_alive():  # type: ignore[attr-defined]
                    return
                os.close(self._fd)  # it died: reap it and start another
                if self._pid is not None:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(self._pid, 0)
                self._fd = None
                self._pid = None
            r, w = os.pipe()  # the tracker reads `r` until every holder of `w` (clients, reader children) closed it
            fds = [r]
            with contextlib.suppress(AttributeError, OSError, ValueError):
                fds.append(sys.stderr.fileno())  # its warnings go where the worker's do
            try:
                exe = spawn.get_executable()
                args = [exe, *util._args_from_interpreter_flags(),  # type: ignore[attr-defined]
                        "-c", f"from multiprocessing.resource_tracker import main;main({r})"]
                # Blocked until the tracker has set its handlers (bpo-33613): it ignores SIGINT and SIGTERM.
                signal.pthread_sigmask(signal.SIG_BLOCK, _TRACKER_SIGNALS)
                try:
                    pid = _spawn_with_env(exe, args, fds, forkserver_environment(os.environ))
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, _TRACKER_SIGNALS)
            except BaseException:
                os.close(w)
                raise
            finally:
                os.close(r)
            self._fd = w
            self._pid = pid


_TRACKER_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_TRACKER = _ScrubbedResourceTracker()


class _ScrubbedForkServer(multiprocessing.forkserver.ForkServer):
    """multiprocessing's forkserver, started with `forkserver_environment` instead of the worker's whole environment,
    and handing its children `_TRACKER` (started with the same environment) instead of the module-wide tracker.

    The standard one is spawned with the caller's environment (database URL, Prefect auth string, webhook secret),
    which then stays in its initial environment block and in that of every child forked from it. `ensure_running` and
    `connect_to_new_process` are CPython 3.12's (the pinned runtime, requirements/python.toml), with the environment
    passed to fork_exec and `_TRACKER` in place of `multiprocessing.resource_tracker`; the server itself is the
    standard `multiprocessing.forkserver.main`. The rest of the worker's multiprocessing (the eval process pool of
    flows/runner.py) keeps the standard server and tracker.
    """

    def connect_to_new_process(self, fds: Sequence[int]) -> tuple[int, int]:
        self.ensure_running()
        if len(fds) + 4 >= multiprocessing.forkserver.MAXFDS_TO_SEND:
            raise ValueError("too many fds")
        with socket.socket(socket.AF_UNIX) as client:
            address: Any = self._forkserver_address  # set by ensure_running (a path or an abstract address)
            client.connect(address)
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            # The child's end of its parent pipes, the forkserver's alive pipe, its resource tracker, then `fds`
            # (multiprocessing.forkserver._serve_one unpacks them in this order).
            allfds: list[Any] = [child_r, child_w, self._forkserver_alive_fd, _TRACKER.getfd(), *fds]
            try:
                reduction.sendfds(client, allfds)
                return parent_r, parent_w
            except BaseException:
                os.close(parent_r)
                os.close(parent_w)
                raise
            finally:
                os.close(child_r)
                os.close(child_w)

    def ensure_running(self) -> None:
        with self._lock:  # type: ignore[attr-defined]
            _TRACKER.ensure_running()
            if self._forkserver_pid is not None:  # type: ignore[has-type]
                pid, _ = os.waitpid(self._forkserver_pid, os.WNOHANG)  # type: ignore[has-type]
                if not pid:
                    return  # still alive
                os.close(self._forkserver_alive_fd)  # type: ignore[has-type]
                self._forkserver_address = None
                self._forkserver_alive_fd = None
                self._forkserver_pid = None
            cmd = "from multiprocessing.forkserver import main; main(%d, %d, %r, **%r)"
            data: dict[str, Any] = {}
            if self._preload_modules:  # type: ignore[attr-defined]
                data = {k: v for k, v in spawn.get_preparation_data("ignore").items()
                        if k in ("main_path", "sys_path")}
            with socket.socket(socket.AF_UNIX) as listener:
                address = mp_connection.arbitrary_address("AF_UNIX")  # type: ignore[attr-defined]
                listener.bind(address)
                if not util.is_abstract_socket_namespace(address):
                    os.chmod(address, 0o600)
                listener.listen()
                alive_r, alive_w = os.pipe()  # every client owns the write end: EOF tells the server to exit
                try:
                    cmd %= (listener.fileno(), alive_r, self._preload_modules, data)  # type: ignore[attr-defined]
                    exe = spawn.get_executable()
                    args = [exe, *util._args_from_interpreter_flags(), "-c", cmd]  # type: ignore[attr-defined]
                    pid = _spawn_with_env(exe, args, [listener.fileno(), alive_r], forkserver_environment(os.environ))
                except BaseException:
                    os.close(alive_w)
                    raise
                finally:
                    os.close(alive_r)
                self._forkserver_address = address
                self._forkserver_alive_fd = alive_w
                self._forkserver_pid = pid


def _spawn_with_env(path: str, args: list[str], passfds: list[int], env: Mapping[str, str]) -> int:
    """multiprocessing.util.spawnv_passfds with an explicit environment (that one passes the caller's)."""
    import _posixsubprocess
    import subprocess

    fork_exec: Any = _posixsubprocess.fork_exec  # typeshed wants str and a callable where None means "unset"
    env_list = [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
    errpipe_read, errpipe_write = os.pipe()
    try:
        pid: int = fork_exec(
            args, [os.fsencode(path)], True, tuple(sorted(passfds)), None, env_list,
            -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write,
            False, False, -1, None, None, None, -1, None,
            subprocess._USE_VFORK)
        return pid
    finally:
        os.close(errpipe_read)
        os.close(errpipe_write)


_SERVER = _ScrubbedForkServer()
_SERVER.set_forkserver_preload(FORKSERVER_PRELOAD)


class _ReaderPopen(multiprocessing.popen_forkserver.Popen):
    """Starts a process through _SERVER (the standard Popen asks the module-wide forkserver)."""

    def _launch(self, process_obj: multiprocessing.process.BaseProcess) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)  # type: ignore[attr-defined]
        buf = io.BytesIO()
        mp_context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            mp_context.set_spawning_popen(None)
        self.sentinel, w = _SERVER.connect_to_new_process(self._fds)  # type: ignore[attr-defined]
        parent_w = os.dup(w)  # the child's sentinel of its parent, as in the standard Popen
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = multiprocessing.forkserver.read_signed(self.sentinel)


class _ReaderProcess(multiprocessing.process.BaseProcess):
    """A reader child, forked from _SERVER."""

    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: multiprocessing.process.BaseProcess) -> _ReaderPopen:
        return _ReaderPopen(process_obj)


def _context() -> multiprocessing.context.ForkServerContext:
    # forkserver: children fork from a clean single-threaded server (the worker has threads: plain fork is unsafe),
    # and the server imports FORKSERVER_PRELOAD once. The context gives the pipe; processes are _ReaderProcess.
    return multiprocessing.get_context("forkserver")


def _kill(process: multiprocessing.process.BaseProcess, grace_s: float) -> None:
    """SIGKILL the child's process group (the child and whatever it started), then reap it."""
    pid = process.pid
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.join(grace_s)


# --- the reader's temp folders --------------------------------------------------------------------------------------
# Named docverify-read-<pid>-<start>-<random>: the pid of the parent that made it (and removes it after the read) and
# that process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat; 0 where unknown), so a pid that
# was reused — a restarted container's worker often gets its predecessor's pid — does not keep a dead parent's folder
# alive. Folders made before the name carried its owner are "legacy": swept by age only.
READ_FOLDER_PREFIX = "docverify-read-"
_OWNED_FOLDER = re.compile(r"docverify-read-(\d{1,10})-(\d{1,20})-[a-z0-9_]+")
# No read lives this long (the default cap is 15 min, plus the page-count and kill grace times): a legacy folder
# untouched for an hour is abandoned.
LEGACY_FOLDER_AGE_S = 3600.0


def _start_ticks(pid: int) -> int | None:
    """The start time of process `pid` in clock ticks since boot, or None when unknown (no /proc, no such process)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
        return int(fields[19])  # fields[0] is field 3 (state): field 22 (starttime) is fields[19]
    except (OSError, IndexError, ValueError):
        return None


def read_folder_prefix(pid: int) -> str:
    """The name prefix of a temp folder owned by process `pid`: docverify-read-<pid>-<start ticks, 0 if unknown>-."""
    return f"{READ_FOLDER_PREFIX}{pid}-{_start_ticks(pid) or 0}-"


def _owner_gone(pid: int, start: int) -> bool:
    """True when the process that made a folder is known to be gone: its pid runs no process, or runs one started at
    another time than the folder's owner (the pid was reused). A pid we may not signal (another user's process)
    counts as alive unless its start time shows it was reused."""
    if pid <= 0:  # os.kill(0, …) would signal our own process group: not a pid this code writes
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    except (OverflowError, OSError):
        return False
    now_start = _start_ticks(pid)
    return start != 0 and now_start is not None and now_start != start


def _abandoned(name: str, info: os.stat_result, legacy_after_s: float) -> bool:
    owned = _OWNED_FOLDER.fullmatch(name)
    if owned:
        return _owner_gone(int(owned[1]), int(owned[2]))
    return time.time() - info.st_mtime > legacy_after_s


def sweep_abandoned_read_folders(tempdir: Path | None = None, *,
                                 legacy_after_s: float = LEGACY_FOLDER_AGE_S) -> int:
    """Remove reader temp folders (docverify-read-*) in `tempdir` (default: the system temp folder) whose parent is
    gone, and legacy ones without an owner untouched for `legacy_after_s` seconds; returns how many were removed.

    They hold page images and tesseract's TSV files of a document when their parent was killed before removing them.
    Only directories owned by this process's user are removed; a symlink is never followed nor removed. Never raises:
    what cannot be read or removed is left, and only counts are logged (never a name or a path).
    """
    removed = failed = 0
    try:
        folder = Path(tempfile.gettempdir()) if tempdir is None else tempdir
        with os.scandir(folder) as entries:
            candidates = [entry.name for entry in entries if entry.name.startswith(READ_FOLDER_PREFIX)]
    except OSError:
        return 0
    uid = os.geteuid()
    for name in candidates:
        path = folder / name
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or not _abandoned(name, info, legacy_after_s):
            continue
        errors: list[type[BaseException]] = []
        # shutil.rmtree follows no symlink, at the top or inside (rmtree.avoids_symlink_attacks on Linux), and
        # refuses a folder swapped for a symlink since the lstat above.
        shutil.rmtree(path, onexc=lambda _function, _path, e: errors.append(type(e)))  # noqa: B023 - called here
        if errors or os.path.lexists(path):
            failed += 1
        else:
            removed += 1
    if removed or failed:
        _log.warning("swept %d abandoned reader temp folders; %d could not be removed", removed, failed)
    return removed


_swept_in: int | None = None  # the pid of the process whose temp folder was swept (a forked child sweeps again)
_sweep_lock = threading.Lock()


def _sweep_once() -> None:
    """The first read of a process sweeps what killed processes left (not at import: importing stays cheap)."""
    global _swept_in
    with _sweep_lock:
        if _swept_in == os.getpid():
            return
        _swept_in = os.getpid()
    sweep_abandoned_read_folders()


def read_bounded(data: bytes, upload: Upload, limits: Limits = DEFAULT_LIMITS, *, reader: Reader = default_reader,
                 bounds: Bounds = DEFAULT_BOUNDS) -> Document:
    """Read `data` in a child process under `bounds`; returns the Document.

    The child gets a private temp folder (0700, umask 077, removed here even after a kill) and a scrubbed
    environment (`child_environment`); its result comes back as plain data (`flows.wire`), its errors as codes
    looked up in ALLOWED_ERRORS.

    Raises ProcessingTimeout (wall clock), ResourceLimit (memory cap, or the child was killed), ReaderCrashed (also
    for a malformed message or an error code not in ALLOWED_ERRORS), and the allowed DocverifyError the reader
    raised (RejectedUpload subclasses, OcrTimeout, OcrEngineError).
    """
    return _bounded(_ReadWork(reader, upload), Document, data, limits, bounds)


def run_bounded[T](job: Job, result_type: type[T], data: bytes, media_type: MediaType | None,
                   limits: Limits = DEFAULT_LIMITS, *, bounds: Bounds = DEFAULT_BOUNDS) -> T:
    """Run `job(data, limits)` in a reader child under `bounds`, exactly as `read_bounded` reads (same forkserver,
    private temp folder, scrubbed environment, memory cap, wall-clock kill, non-dumpable), and rebuild its result
    as a `result_type` from plain data. For decoding untrusted bytes outside the pipeline: the review app's page
    images and exports (docs/THREAT-MODEL.md B5, B8). `media_type` sets the page estimate of the budget.

    Raises what `read_bounded` raises; ReaderCrashed also when the result does not fit `result_type`.
    """
    return _bounded(_JobWork(job, media_type), result_type, data, limits, bounds)


def _bounded[T](work: _ReadWork | _JobWork, result_type: type[T], data: bytes, limits: Limits,
                bounds: Bounds) -> T:
    if multiprocessing.current_process().daemon:
        raise ReaderCrashed("daemonic worker process cannot start the reader child (set the Dask worker "
                            "option distributed.worker.daemon=False)")
    ctx = _context()
    _sweep_once()
    # The child's private temp folder: mkdtemp makes it 0700; removed below whatever happens to the child, and by
    # `sweep_abandoned_read_folders` elsewhere when this process is killed first (its name carries our pid).
    workdir = Path(tempfile.mkdtemp(prefix=read_folder_prefix(os.getpid())))
    try:
        return _run_in_child(ctx, work, result_type, data, limits, bounds, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if workdir.exists():  # a killed tesseract was still closing a file: once more
            time.sleep(0.1)
            shutil.rmtree(workdir, ignore_errors=True)


def _run_in_child[T](ctx: multiprocessing.context.ForkServerContext, work: _ReadWork | _JobWork,
                     result_type: type[T], data: bytes, limits: Limits, bounds: Bounds, workdir: Path) -> T:
    receiver, sender = ctx.Pipe(duplex=False)
    env = child_environment(workdir, os.environ)
    process = _ReaderProcess(target=_child, name="docverify-reader", daemon=True,
                             args=(sender, work, data, limits, bounds.memory_bytes, str(workdir), env))
    process.start()  # returns once forked: the first call also boots the forkserver, not counted in the budget
    started = time.monotonic()
    sender.close()  # the child holds the only writing end: EOF on our side means it died
    deadline = started + bounds.count_s
    pages: int | None = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProcessingTimeout(f"killed after {time.monotonic() - started:.0f} s "
                                        f"({pages if pages is not None else '?'} pages)")
            if not receiver.poll(min(remaining, 1.0)):
                continue
            try:
                raw = receiver.recv_bytes(MAX_MESSAGE_BYTES)
            except (EOFError, OSError):  # OSError also when the message is longer than MAX_MESSAGE_BYTES
                process.join(bounds.grace_s)
                raise ResourceLimit(f"reader exited with {process.exitcode}") from None
            message = _received(raw)
            if message["kind"] == "pages":
                count = message.get("pages")
                if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                    raise ReaderCrashed("malformed page count from the reader")
                pages = count
                deadline = started + bounds.budget(pages)
                continue
            if message["kind"] == "ok":
                try:
                    return wire.decode(result_type, message.get("document"))
                except (wire.WireError, TypeError, ValueError):
                    raise ReaderCrashed("malformed result from the reader") from None
            _raise_child_error(message)
    finally:
        receiver.close()
        if process.is_alive():
            _kill(process, bounds.grace_s)
        else:
            process.join(bounds.grace_s)
        with contextlib.suppress(ValueError):
            process.close()
