"""Batch intake and outputs: ingest an inbox folder into the store, and write a batch's reports and summaries
(OUTDIR/<file>.json, summary.csv, summary.html)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from flows.tasks import open_store, pipeline_version, worker_id
from pipeline.errors import DocverifyError, RejectedUpload
from pipeline.evaluate import Intake, rejected_report
from pipeline.intake import accept, sanitize_filename, sniff
from pipeline.limits import DEFAULT_LIMITS, Limits
from pipeline.report import Report
from pipeline.store import Store, UploadRecord, UploadState
from pipeline.types import Payer

MANIFEST_COLUMNS = ("file", "patient_name", "payer")


class ManifestError(DocverifyError):
    """The intake manifest is malformed (the operator must fix it)."""

    code = "manifest_invalid"
    user_message = "The intake manifest is invalid: it needs the columns file, patient_name, payer."


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What ingesting an inbox did (counts only)."""

    files: int = 0
    created: int = 0
    existing: int = 0
    rejected: int = 0


def load_manifest(path: Path) -> dict[str, Intake]:
    """file name → intake, from a CSV with the columns file,patient_name,payer. Raises ManifestError (by row number
    and column, never by value)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or set(MANIFEST_COLUMNS) - set(reader.fieldnames):
                raise ManifestError(f"columns must include {','.join(MANIFEST_COLUMNS)}")
            out: dict[str, Intake] = {}
            for number, row in enumerate(reader, start=2):
                payer_text = (row.get("payer") or "").strip().lower() or Payer.UNKNOWN.value
                try:
                    payer = Payer(payer_text)
                except ValueError:
                    raise ManifestError(f"row {number}: unknown payer") from None
                name = (row.get("patient_name") or "").strip() or None
                out[(row.get("file") or "").strip()] = Intake(patient_name=name, payer=payer)
            return out
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ManifestError(type(e).__name__) from None


def inbox_files(inbox: Path) -> list[Path]:
    """Regular, non-hidden files directly in `inbox`, by name."""
    return sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))


def read_capped(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """At most max_bytes + 1 bytes (enough to know a file is too large), as `check` reads it."""
    with path.open("rb") as fh:
        return fh.read(limits.max_bytes + 1)


def ingest_file(store: Store, path: Path, intake: Intake, owner: str,
                limits: Limits = DEFAULT_LIMITS) -> tuple[UploadRecord, bool, bool]:
    """Store one file as an upload: (record, created, rejected). A file rejected by intake (empty, unsupported, too
    large) is stored and gets its rejected report at once (the same report `check` prints)."""
    from flows.verify import versions

    data = read_capped(path, limits)
    try:
        upload = accept(data, path.name, limits)
    except RejectedUpload as e:
        media = sniff(data)
        record, created = store.add_upload(data, owner=owner, display_name=sanitize_filename(path.name),
                                           media_type=media.value if media else None, intake=intake)
        if created and store.claim(record.id, worker_id()) is not None:
            report = rejected_report(e, sha256=record.sha256, media_type=record.media_type,
                                     size_bytes=record.size_bytes, payer=intake.payer, versions=versions())
            store.save_report(record.id, report, pipeline_version())
        return record, created, True
    record, created = store.add_upload(data, owner=owner, display_name=upload.display_name,
                                       media_type=upload.media_type.value, intake=intake)
    return record, created, False


@task(name="ingest-inbox", persist_result=False, cache_policy=NONE)
def ingest_inbox(inbox: str, manifest: str | None = None, owner: str = "inbox") -> IngestCounts:
    """Ingest every file of the inbox folder (idempotent: the same bytes are the same upload). Logs counts only —
    file names may hold patient names."""
    intakes = load_manifest(Path(manifest)) if manifest else {}
    store = open_store()
    files = inbox_files(Path(inbox))
    created = existing = rejected = 0
    for path in files:
        _, was_created, was_rejected = ingest_file(store, path, intakes.get(path.name, Intake()), owner)
        created += was_created
        existing += not was_created
        rejected += was_rejected and was_created
    counts = IngestCounts(files=len(files), created=created, existing=existing, rejected=rejected)
    get_run_logger().info("inbox: %d files, %d new, %d already stored, %d rejected at intake", counts.files,
                          counts.created, counts.existing, counts.rejected)
    return counts


# --- outputs -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileResult:
    """One inbox file's result: its report, or the code of the failure that prevented one."""

    file: str
    upload_id: str | None
    status: str
    reasons: tuple[str, ...]
    report: Report | None


def sha256_of(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    return hashlib.sha256(read_capped(path, limits)).hexdigest()


def results_for(store: Store, files: list[Path], owner: str) -> list[FileResult]:
    """Each file's current result, found by (owner, sha256) — the same key ingestion used."""
    by_sha = {r.sha256: r for r in store.list_uploads(owner=owner, limit=2**31)}
    out: list[FileResult] = []
    for path in files:
        record = by_sha.get(sha256_of(path))
        if record is None:
            out.append(FileResult(path.name, None, "missing", ("not ingested",), None))
            continue
        latest = store.latest_report(record.id) if record.state is UploadState.DONE else None
        if latest is not None:
            report = latest.report()
            out.append(FileResult(path.name, record.id, report.status.value, tuple(report.reasons), report))
        elif record.state is UploadState.FAILED:
            out.append(FileResult(path.name, record.id, "failed", (f"processing failed: {record.error_code}",), None))
        else:
            out.append(FileResult(path.name, record.id, record.state.value, ("not processed yet",), None))
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (HOSTILE-INPUTS.md item 32): a leading ' when it starts with
    = + - @ (or tab / CR, which some spreadsheets skip before a formula)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _environment() -> Environment:
    # autoescape on for .html: file names and reasons come from the uploader and from OCR (item 31)
    return Environment(loader=PackageLoader("flows", "templates"), autoescape=select_autoescape(["html"]))


def write_outputs(results: list[FileResult], out: Path) -> Counter[str]:
    """OUTDIR/<file>.json per report, summary.csv and summary.html; returns counts by status."""
    out.mkdir(parents=True, exist_ok=True)
    for r in results:
        if r.report is not None:
            (out / f"{r.file}.json").write_text(r.report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    with (out / "summary.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "status", "reasons"])
        for r in results:
            writer.writerow([csv_safe(r.file), csv_safe(r.status), csv_safe("; ".join(r.reasons))])
    counts = Counter(r.status for r in results)
    html = _environment().get_template("summary.html").render(results=results, counts=sorted(counts.items()),
                                                              total=len(results))
    (out / "summary.html").write_text(html, encoding="utf-8")
    return counts


def iter_statuses(results: list[FileResult]) -> Iterator[tuple[str, str]]:
    """(file, status) pairs, for printing."""
    for r in results:
        yield r.file, r.status
