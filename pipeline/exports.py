"""Files that hold PHI outside the store — exported reports and summaries — are owner-only: 0600 files inside 0700
folders, written atomically (docs/THREAT-MODEL.md "Assets": reports in `--out` folders)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """`path` as a folder only its owner can enter: created 0700 (parents as usual), or tightened to 0700 when it
    exists with group or other access. Returns `path`. Raises OSError (e.g. NotADirectoryError)."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != FOLDER_MODE:
        path.chmod(FOLDER_MODE)
    return path


def write_private(path: Path, content: str | bytes) -> None:
    """Write `content` (str as UTF-8) to `path` as a 0600 file: a temp file in the same folder (created 0600 by
    mkstemp), then an atomic rename over `path` — an existing file of another mode is replaced, never reused.
    The folder is not changed here (see `private_folder`). Raises OSError."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
