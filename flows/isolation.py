"""Bounded reading: PDF parsing and OCR run in a child process with a memory cap and a wall-clock kill.

Why a process: Prefect's task timeout cannot interrupt blocking C code (pdfminer loops, pdfium, a stuck tesseract),
and a decompression bomb must not take the worker down with it (docs/THREAT-MODEL.md items 22, 23, 42). The child runs
in its own session (process group) so a kill also reaches the tesseract processes it started.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from pipeline.errors import DocverifyError, UnreadableFile
from pipeline.intake import Upload
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.types import Document, MediaType

GIB = 1024**3

# A reader turns accepted bytes into a Document: extractors.routing.read_document in production, a hanging or
# memory-hungry stand-in in tests. It must be a module-level function (it is pickled by reference to the child).
Reader = Callable[[bytes, Upload, Limits], Document]


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


def _page_estimate(data: bytes, upload: Upload, limits: Limits) -> int:
    """Pages the budget is computed for: counted for PDFs (pdfium, cheap), the frame cap for TIFF, else 1."""
    if upload.media_type is MediaType.PDF:
        from extractors.pdf_text import count_pages

        return count_pages(data, limits)
    if upload.media_type is MediaType.TIFF:
        return limits.max_tiff_frames
    return 1


def _die_with_parent() -> None:
    """Linux: SIGKILL this child when its parent (the forkserver, which exits with the worker) dies, so a killed
    worker leaves no reader running. Best effort elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child(conn: Connection, reader: Reader, data: bytes, upload: Upload, limits: Limits, memory_bytes: int) -> None:
    """Child body: cap memory, report the page count, read, send back ("ok", Document) or ("error", class, detail)."""
    os.setsid()  # own process group: the parent's kill reaches tesseract too
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    message: tuple[Any, ...]
    try:
        conn.send(("pages", _page_estimate(data, upload, limits)))
        message = ("ok", reader(data, upload, limits))
    except DocverifyError as e:
        message = ("error", type(e), e.detail)
    except MemoryError:
        message = ("error", ResourceLimit, f"memory cap {memory_bytes} bytes")
    except RecursionError:  # circular XObjects and the like (pdfminer.six#1113)
        message = ("error", UnreadableFile, "recursion limit while parsing")
    except Exception as e:  # noqa: BLE001 - reported by type only: messages of third-party errors may hold text
        message = ("error", ReaderCrashed, type(e).__name__)
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("error", ResourceLimit, f"memory cap {memory_bytes} bytes (sending the result)"))
    finally:
        conn.close()


# What the forkserver imports once, so each reader child starts in milliseconds: the readers, and flows.cli —
# every forkserver child re-runs the parent's main script (multiprocessing's `prepare`; CPython 3.12 cannot preload
# `__main__` itself), and the `docverify` entry point's script is `from flows.cli import app`. Preloaded, that
# re-import is a dictionary lookup: a text PDF's bounded read fell from 0.15 to 0.05 CPU-s (benchmarks/README.md).
FORKSERVER_PRELOAD = ["extractors.routing", "flows.isolation", "flows.cli"]


def _context() -> multiprocessing.context.ForkServerContext:
    # forkserver: children fork from a clean single-threaded server (the worker has threads: plain fork is unsafe),
    # and the server imports FORKSERVER_PRELOAD once.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    return ctx


def _kill(process: multiprocessing.process.BaseProcess, grace_s: float) -> None:
    """SIGKILL the child's process group (the child and whatever it started), then reap it."""
    pid = process.pid
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.join(grace_s)


def read_bounded(data: bytes, upload: Upload, limits: Limits = DEFAULT_LIMITS, *, reader: Reader = default_reader,
                 bounds: Bounds = DEFAULT_BOUNDS) -> Document:
    """Read `data` in a child process under `bounds`; returns the Document.

    Raises ProcessingTimeout (wall clock), ResourceLimit (memory cap, or the child was killed), ReaderCrashed, and
    whatever DocverifyError the reader raised (RejectedUpload subclasses, OcrTimeout, OcrEngineError).
    """
    if multiprocessing.current_process().daemon:
        raise ReaderCrashed("daemonic worker process cannot start the reader child (set the Dask worker "
                            "option distributed.worker.daemon=False)")
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(sender, reader, data, upload, limits, bounds.memory_bytes),
                          name="docverify-reader", daemon=True)
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
                message = receiver.recv()
            except (EOFError, OSError):
                process.join(bounds.grace_s)
                raise ResourceLimit(f"reader exited with {process.exitcode}") from None
            if message[0] == "pages":
                pages = int(message[1])
                deadline = started + bounds.budget(pages)
                continue
            if message[0] == "ok":
                document: Document = message[1]
                return document
            error_class, detail = message[1], message[2]
            raise error_class(detail)
    finally:
        receiver.close()
        if process.is_alive():
            _kill(process, bounds.grace_s)
        else:
            process.join(bounds.grace_s)
        with contextlib.suppress(ValueError):
            process.close()
