"""The ICD-10-CM table: one small facade over simple_icd_10_cm, backed by a compact on-disk cache.

Why: `import simple_icd_10_cm` parses its ~40 MB XML table at import (~1.8 s of a fresh process, over the 3 s load
budget at start-up), and we read only a few things from it: whether a code is a category/subcategory, whether it is a
leaf (billable), its description, its inclusion terms, its parent and the table's release. Those are written once to
`<cache_dir()>/icd10cm.json.gz` (gzip'd JSON, 1.07 MB, 0.20 s to read — 0.85 MB and 0.17 s before inclusion terms
and parents were stored; JSON, not pickle, so no code runs from it) and read from there; when the file is valid,
simple_icd_10_cm is never imported. Building it (a cache miss) takes ~2.7 s, ~2.5 s before.

Inclusion terms are stored as the table lists them (`get_inclusion_term`: other names of the item, "Plantar
fasciitis" under M72.2, notes and cross-references included), for every item that has any, billable or not; which of
them the linker indexes, and for which code, is decided in `extractors.icd_linker`. Parents (`get_parent`) are
stored so that a consumer can find a code's children (`IcdTable.children_map`).

The file is keyed by `FORMAT` and the installed simple-icd-10-cm distribution version, read with importlib.metadata
(no import of the package). A missing, unreadable, corrupt or stale file is rebuilt from simple_icd_10_cm and
rewritten atomically (temp file + rename: readers see the old file or the whole new one); a cache directory that
cannot be written only costs the rebuild in the next process.

Lookups mirror simple_icd_10_cm's: a code is matched as written or with a dot inserted after its third character
("G90512" → "G90.512"); names are the table's own (chapters "1".."22", blocks "A00-A09", categories, subcategories
and 7th-character extensions). Every function normalises its argument with `strip().upper()` first.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import import_module, metadata
from pathlib import Path

from pipeline.codes import icd10_dotted

FORMAT = 2  # bump when the file layout or what is stored changes (2: inclusion terms and parents)
DISTRIBUTION = "simple-icd-10-cm"
CACHE_FILE = "icd10cm.json.gz"
# Bits of an entry's flag (stored as one decimal digit per entry).
_CODE = 1  # a category or subcategory (extended subcategories included); chapters and blocks are not codes
_LEAF = 2  # has no children

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The docverify cache directory: `$XDG_CACHE_HOME/docverify`, else `~/.cache/docverify`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "docverify"


def cache_key() -> str:
    """The key the cache file must hold: the format and the installed simple-icd-10-cm version."""
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "not-installed"
    return f"format={FORMAT}|{DISTRIBUTION}={version}"


def _normalise(code: str) -> str:
    return code.strip().upper()


@dataclass(frozen=True, slots=True)
class IcdTable:
    """The parts of ICD-10-CM docverify reads. Build with `load_table`."""

    release: str  # simple_icd_10_cm's code-list file name, e.g. "code-list-April-2026.txt"
    entries: dict[str, tuple[str, int]]  # table name → (description, flags)
    billable: tuple[str, ...]  # dotted leaf codes in table order, as simple_icd_10_cm lists them
    inclusion: dict[str, tuple[str, ...]]  # table name → its inclusion terms as listed (only items that have some)
    # Each entry's parent as a position in `entries` (-1: none, chapters), kept as positions because only
    # `children_map` reads it and a name → name dict costs ~16 ms on every load.
    parents: tuple[int, ...]

    def _name(self, code: str) -> str | None:
        # simple_icd_10_cm's lookup: as written, or with a dot after the third character.
        c = _normalise(code)
        if "." not in c and (dotted := icd10_dotted(c)) in self.entries:
            return dotted
        return c if c in self.entries else None

    def _entry(self, code: str) -> tuple[str, int] | None:
        name = self._name(code)
        return self.entries[name] if name is not None else None

    def is_valid(self, code: str) -> bool:
        """True when `code` (dots optional) is a category or subcategory of the table."""
        e = self._entry(code)
        return e is not None and bool(e[1] & _CODE)

    def is_billable(self, code: str) -> bool:
        """True when `code` is a category or subcategory with no children (a leaf: billable)."""
        e = self._entry(code)
        return e is not None and e[1] & (_CODE | _LEAF) == _CODE | _LEAF

    def description(self, code: str) -> str | None:
        """The table's description of any item (chapter, block or code), None when it is not in the table."""
        e = self._entry(code)
        return e[0] if e is not None else None

    def codes(self) -> Iterator[str]:
        """Every category and subcategory name (dotted), in table order."""
        return (name for name, (_, flags) in self.entries.items() if flags & _CODE)

    def inclusion_terms(self, code: str) -> tuple[str, ...]:
        """The inclusion terms the table lists under any item (as `simple_icd_10_cm.get_inclusion_term` returns
        them), () when it lists none or the item is not in the table."""
        name = self._name(code)
        return self.inclusion.get(name, ()) if name is not None else ()

    def children_map(self) -> dict[str, tuple[str, ...]]:
        """Every item's direct children in table order, by parent name (built on each call: ~98k items)."""
        names = list(self.entries)
        out: dict[str, list[str]] = {}
        for name, p in zip(names, self.parents, strict=True):
            if p >= 0:
                out.setdefault(names[p], []).append(name)
        return {k: tuple(v) for k, v in out.items()}


# --- the cache file -------------------------------------------------------------------------------------------------

def _build() -> IcdTable:
    """Read the table from simple_icd_10_cm (~2 s: the import parses its XML)."""
    import simple_icd_10_cm as cm

    entries: dict[str, tuple[str, int]] = {}
    billable: list[str] = []
    inclusion: dict[str, tuple[str, ...]] = {}
    parent_of: dict[str, str] = {}
    for name in cm.get_all_codes(True):  # a few categories also name their block: listed twice, same node
        flags = _CODE if cm.is_category_or_subcategory(name) else 0
        if cm.is_leaf(name):
            flags |= _LEAF
        if name not in entries:
            entries[name] = (str(cm.get_description(name)), flags)
            terms = tuple(str(t) for t in cm.get_inclusion_term(name))
            if terms:
                inclusion[name] = terms
            parent = str(cm.get_parent(name))
            if parent == name:  # "B20" is a block and its one category: one entry, under the block's chapter
                parent = str(cm.get_parent(name, prioritize_blocks=True))
            if parent:
                parent_of[name] = parent
        if "-" not in name and flags == _CODE | _LEAF:
            billable.append(name)
    # The data file names are module globals of the inner module (not re-exported by the package's `import *`).
    release = str(getattr(import_module("simple_icd_10_cm.simple_icd_10_cm"), "_all_codes_package_file_name", "?"))
    position = {n: i for i, n in enumerate(entries)}
    parents = tuple(position[parent_of[n]] if n in parent_of else -1 for n in entries)
    return IcdTable(release, entries, tuple(billable), inclusion, parents)


def _write(table: IcdTable, path: Path, key: str) -> None:
    names = list(table.entries)
    data = {"key": key, "release": table.release, "names": names,
            "descriptions": [table.entries[n][0] for n in names],
            "flags": "".join(str(table.entries[n][1]) for n in names), "billable": list(table.billable),
            "parents": list(table.parents),
            "inclusion": {n: list(terms) for n, terms in table.inclusion.items()}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".icd10cm-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as f:
                f.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            os.replace(tmp, path)  # atomic
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as e:  # read-only or full disk: the next process rebuilds
        log.warning("icd10cm cache not written (%s)", type(e).__name__)


def _str_list(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError("expected a list of strings")
    return value


def _read(path: Path, key: str) -> IcdTable | None:
    """The table in `path` when it is readable and holds `key`; None otherwise (to rebuild)."""
    if not path.is_file():
        return None
    try:
        with gzip.open(path, "rb") as f:
            data = json.loads(f.read())
        if not isinstance(data, dict):
            raise ValueError("not an object")
        if data.get("key") != key:
            log.info("icd10cm cache is stale (%s, want %s); rebuilding", data.get("key"), key)
            return None
        release = data["release"]
        names, descriptions = _str_list(data["names"]), _str_list(data["descriptions"])
        flags, billable = data["flags"], _str_list(data["billable"])
        if not isinstance(release, str) or not isinstance(flags, str) or not flags.isdigit():
            raise ValueError("bad release or flags")
        if not len(names) == len(descriptions) == len(flags) or not names:
            raise ValueError("inconsistent lengths")
        entries = dict(zip(names, zip(descriptions, map(int, flags), strict=True), strict=True))
        if len(entries) != len(names) or any(c not in entries for c in billable):
            raise ValueError("duplicate names or unknown billable code")
        parents = _parents(data["parents"], names)
        inclusion = _inclusion(data["inclusion"], entries)
    except (OSError, EOFError, ValueError, KeyError, TypeError) as e:  # gzip.BadGzipFile and JSON errors: ValueError
        log.warning("icd10cm cache unreadable (%s); rebuilding", type(e).__name__)
        return None
    return IcdTable(release, entries, tuple(billable), inclusion, parents)


def _parents(value: object, names: list[str]) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) != len(names):
        raise ValueError("parents: expected one position per name")
    if not all(type(p) is int for p in value) or not -1 <= min(value) <= max(value) < len(names):
        raise ValueError("parents: bad position")
    return tuple(value)


def _inclusion(value: object, entries: dict[str, tuple[str, int]]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or any(k not in entries for k in value):
        raise ValueError("inclusion: expected an object keyed by table names")
    return {k: tuple(_str_list(v)) for k, v in value.items()}


def load_table(directory: Path | None = None) -> IcdTable:
    """The table from the cache file in `directory` (default `cache_dir()`), built and written when the file is
    missing, unreadable or stale. Raises ImportError only when a rebuild is needed and simple_icd_10_cm is missing."""
    path = (directory or cache_dir()) / CACHE_FILE
    key = cache_key()
    table = _read(path, key)
    if table is None:
        table = _build()
        _write(table, path, key)
    return table


@functools.cache
def table() -> IcdTable:
    """The process-wide table (see `load_table`)."""
    return load_table()


# --- the facade -----------------------------------------------------------------------------------------------------

def is_valid(code: str) -> bool:
    """True when `code` (dots optional, any case) is an ICD-10-CM category or subcategory."""
    return table().is_valid(code)


def is_billable(code: str) -> bool:
    """True when `code` is an ICD-10-CM category or subcategory with no children."""
    return table().is_billable(code)


def description(code: str) -> str | None:
    """The ICD-10-CM description of `code` (any table item), None when it is not in the table."""
    return table().description(code)


def billable_codes() -> tuple[str, ...]:
    """Every billable code (dotted), in table order. simple_icd_10_cm lists a few categories that also name their
    block twice ("B20"); they stay twice so the linker's index rows are unchanged."""
    return table().billable


def codes() -> Iterator[str]:
    """Every category and subcategory (dotted, each once), in table order."""
    return table().codes()


def inclusion_terms(code: str) -> tuple[str, ...]:
    """The inclusion terms ICD-10-CM lists under `code` (any table item), () when none (see `IcdTable`)."""
    return table().inclusion_terms(code)


def release() -> str:
    """The installed table's release (simple_icd_10_cm's code-list file name), for cache keys and report versions."""
    return table().release
