"""Batch intake and outputs: ingest an inbox folder into the store, and write a batch's reports and summaries
(OUTDIR/<file>.json, summary.csv, summary.html)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from flows.tasks import open_store, pipeline_version, worker_id
from pipeline.case_report import CaseReport
from pipeline.errors import DocverifyError, RejectedUpload
from pipeline.evaluate import Intake, rejected_report
from pipeline.exports import private_folder, write_private
from pipeline.intake import accept, sanitize_filename, sniff
from pipeline.limits import DEFAULT_LIMITS, NO_LIMIT, Limits
from pipeline.report import Report
from pipeline.settings import Settings
from pipeline.types import Payer
from storage.store import FileSignature, Store, UploadRecord, UploadState

MANIFEST_COLUMNS = ("file", "patient_name", "payer")
CASE_COLUMN = "case"
"""Optional manifest column: files sharing a case id are one patient's case, judged together (docs/POLICY.md
"Cases")."""


class ManifestError(DocverifyError):
    """The intake manifest is malformed (the operator must fix it)."""

    code = "manifest_invalid"
    user_message = "The intake manifest is invalid: it needs the columns file, patient_name, payer."


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What ingesting an inbox did (counts only)."""

    files: int = 0
    read: int = 0  # files read and hashed (new or changed since the last batch); the others were not opened
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


def load_manifest_cases(path: Path) -> dict[str, str]:
    """file name → case id, for the rows whose optional `case` cell is filled. Raises ManifestError when rows of one
    case disagree on the patient name or the payer (by row number, never by value)."""
    intakes = load_manifest(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or CASE_COLUMN not in reader.fieldnames:
                return {}
            out: dict[str, str] = {}
            first: dict[str, Intake] = {}
            for number, row in enumerate(reader, start=2):
                case_id = (row.get(CASE_COLUMN) or "").strip()
                file = (row.get("file") or "").strip()
                if not case_id:
                    continue
                if len(case_id) > 128 or any(ord(c) < 32 for c in case_id):
                    raise ManifestError(f"row {number}: case id longer than 128 characters or with control "
                                        f"characters")
                intake = intakes.get(file, Intake())
                if first.setdefault(case_id, intake) != intake:
                    raise ManifestError(f"row {number}: patient_name or payer differs from the case's first row")
                out[file] = case_id
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


# How inbox files are read: `read_capped` in production; a test passes a wrapper that counts what is read.
FileReader = Callable[[Path, Limits], bytes]


def cached_sha256(store: Store, path: Path, limits: Limits = DEFAULT_LIMITS, read: FileReader = read_capped) -> str:
    """The sha256 of what ingestion reads of `path` (its first max_bytes + 1 bytes): from the store's inbox hash
    cache while the file's signature (size, mtime, ctime, device:inode) is unchanged, else read, hashed and
    recorded."""
    signature = FileSignature.of(path.stat())  # before reading: a write during the read changes the next one
    known = store.known_sha256(path, signature)
    if known is not None:
        return known
    sha256 = hashlib.sha256(read(path, limits)).hexdigest()
    store.remember_sha256(path, signature, sha256)
    return sha256


def ingest_file(store: Store, settings: Settings, path: Path, intake: Intake, owner: str,
                limits: Limits = DEFAULT_LIMITS, read: FileReader = read_capped) -> tuple[UploadRecord, bool, bool]:
    """Store one file as an upload: (record, created, rejected in this call). A file rejected by intake (empty,
    unsupported, too large) is stored and gets its rejected report at once (the same report `check` prints). A file
    unchanged since it was last read (inbox hash cache) whose upload `owner` already has is not read at all."""
    from flows.verify import versions

    signature = FileSignature.of(path.stat())  # before reading: a write during the read changes the next one
    known = store.known_sha256(path, signature)
    if known is not None and (stored := store.find_upload(owner, known)) is not None:
        return stored, False, False
    data = read(path, limits)
    try:
        upload = accept(data, path.name, limits)
    except RejectedUpload as e:
        media = sniff(data)
        record, created = store.add_upload(data, owner=owner, display_name=sanitize_filename(path.name),
                                           media_type=media.value if media else None, intake=intake)
        if created and (claimed := store.claim(record.id, worker_id())) is not None:
            report = rejected_report(e, sha256=record.sha256, media_type=record.media_type,
                                     size_bytes=record.size_bytes, payer=intake.payer,
                                     versions=versions(settings.ner_model_name))
            store.save_report(record.id, report, pipeline_version(settings.ner_model_name), fence=claimed.fence)
        store.remember_sha256(path, signature, record.sha256)
        return record, created, True
    record, created = store.add_upload(data, owner=owner, display_name=upload.display_name,
                                       media_type=upload.media_type.value, intake=intake)
    store.remember_sha256(path, signature, record.sha256)
    return record, created, False


def ingest_folder(store: Store, settings: Settings, inbox: Path, intakes: dict[str, Intake], owner: str,
                  read: FileReader = read_capped) -> IngestCounts:
    """Ingest every file of `inbox` (idempotent: the same bytes are the same upload; unchanged files are not
    read again). Intake by file name from `intakes`."""
    files = inbox_files(inbox)
    opened = created = existing = rejected = 0

    def counting(path: Path, limits: Limits) -> bytes:
        nonlocal opened
        opened += 1
        return read(path, limits)

    for path in files:
        _, was_created, was_rejected = ingest_file(store, settings, path, intakes.get(path.name, Intake()), owner,
                                                   read=counting)
        created += was_created
        existing += not was_created
        rejected += was_rejected and was_created
    return IngestCounts(files=len(files), read=opened, created=created, existing=existing, rejected=rejected)


@task(name="ingest-inbox", persist_result=False, cache_policy=NONE)
def ingest_inbox(inbox: str, settings: Settings, manifest: str | None = None, owner: str = "inbox") -> IngestCounts:
    """Ingest every file of the inbox folder (see `ingest_folder`). Logs counts only — file names may hold patient
    names."""
    intakes = load_manifest(Path(manifest)) if manifest else {}
    counts = ingest_folder(open_store(settings), settings, Path(inbox), intakes, owner)
    get_run_logger().info("inbox: %d files, %d read, %d new, %d already stored, %d rejected at intake", counts.files,
                          counts.read, counts.created, counts.existing, counts.rejected)
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


def results_for(store: Store, files: list[Path], owner: str) -> list[FileResult]:
    """Each file's current result, found by (owner, sha256) — the same key ingestion used (unchanged files are not
    read again: `cached_sha256`)."""
    by_sha = {r.sha256: r for r in store.list_uploads(owner=owner, limit=NO_LIMIT)}
    out: list[FileResult] = []
    for path in files:
        record = by_sha.get(cached_sha256(store, path))
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


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case of the manifest: its files and its report (a file without a report keeps the case from complete)."""

    case_id: str
    files: tuple[str, ...]
    status: str
    reasons: tuple[str, ...]
    report: CaseReport | None


def case_results(store: Store, results: list[FileResult], cases: dict[str, str], intakes: dict[str, Intake],
                 settings: Settings) -> list[CaseResult]:
    """Each manifest case judged from its files' stored reports and identifiers (docs/POLICY.md "Cases"), in the
    order its first file appears."""
    from flows.verify import versions
    from pipeline.cases import CaseIntake, CaseUpload, FailedUpload, judge_case
    from pipeline.policy import load_policy
    from storage.cases import CaseStore

    by_case: dict[str, list[FileResult]] = {}
    for r in results:
        if r.file in cases:
            by_case.setdefault(cases[r.file], []).append(r)
    identifiers = CaseStore(store)
    out: list[CaseResult] = []
    for case_id, members in by_case.items():
        intake = intakes.get(members[0].file, Intake())
        uploads = [CaseUpload(upload_id=r.upload_id or "", file_name=r.file, report=r.report,
                              identifiers=identifiers.identifiers(r.upload_id or ""))
                   for r in members if r.report is not None and r.upload_id is not None]
        failed = [FailedUpload(r.upload_id or "", r.file, r.status) for r in members
                  if r.report is None or r.upload_id is None]
        report = judge_case(CaseIntake(patient_name=intake.patient_name, payer=intake.payer), uploads,
                            load_policy(), versions(settings.ner_model_name), failed=failed)
        out.append(CaseResult(case_id, tuple(r.file for r in members), report.status.value, tuple(report.reasons),
                              report))
    return out


def case_file_name(case_id: str) -> str:
    """A file name for a case's report: the case id with every character but letters, digits, '.', '_' and '-'
    replaced (a case id is the operator's text)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", case_id).lstrip(".")[:120] + ".case.json"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (docs/THREAT-MODEL.md item 32): a leading ' when it starts with
    = + - @ (or tab / CR, which some spreadsheets skip before a formula)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _environment() -> Environment:
    # autoescape on for .html: file names and reasons come from the uploader and from OCR (item 31)
    return Environment(loader=PackageLoader("flows", "templates"), autoescape=select_autoescape(["html"]))


def write_outputs(results: list[FileResult], out: Path, cases: list[CaseResult] | None = None) -> Counter[str]:
    """OUTDIR/<file>.json per report, summary.csv and summary.html; with cases, also OUTDIR/cases/<case>.case.json
    per case report and cases.csv, and the cases in summary.html. Each file 0600 in folders made 0700 (they hold
    PHI: pipeline/exports.py). Returns counts of files by status."""
    private_folder(out)
    for r in results:
        if r.report is not None:
            write_private(out / f"{r.file}.json", r.report.model_dump_json(indent=2) + "\n")
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["file", "status", "reasons"])
    for r in results:
        writer.writerow([csv_safe(r.file), csv_safe(r.status), csv_safe("; ".join(r.reasons))])
    write_private(out / "summary.csv", table.getvalue())
    if cases:
        private_folder(out / "cases")
        case_table = io.StringIO(newline="")
        writer = csv.writer(case_table)
        writer.writerow(["case", "status", "files", "reasons"])
        for c in cases:
            if c.report is not None:
                write_private(out / "cases" / case_file_name(c.case_id), c.report.model_dump_json(indent=2) + "\n")
            writer.writerow([csv_safe(c.case_id), csv_safe(c.status), csv_safe("; ".join(c.files)),
                             csv_safe("; ".join(c.reasons))])
        write_private(out / "cases.csv", case_table.getvalue())
    counts = Counter(r.status for r in results)
    html = _environment().get_template("summary.html").render(results=results, counts=sorted(counts.items()),
                                                              total=len(results), cases=cases or [])
    write_private(out / "summary.html", html)
    return counts


def operator_id() -> str:
    """Who runs this command, as an audit actor: `cli:<login name>` (characters outside the store's token alphabet
    replaced); `cli:unknown` when the system cannot tell."""
    import getpass
    import re

    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        login = "unknown"
    return "cli:" + (re.sub(r"[^A-Za-z0-9_.@-]", "_", login)[:100] or "unknown")


def audit_exports(store: Store, results: list[FileResult], actor: str) -> int:
    """One `report.export` audit row per exported report (who exported which upload's report, with its status);
    returns how many (docs/THREAT-MODEL.md "HIPAA technical safeguards": exports are audited with the person)."""
    exported = [r for r in results if r.report is not None and r.upload_id is not None]
    for r in exported:
        store.audit(actor=actor, action="report.export", upload_id=r.upload_id, outcome=r.status)
    return len(exported)


def iter_statuses(results: list[FileResult]) -> Iterator[tuple[str, str]]:
    """(file, status) pairs, for printing."""
    for r in results:
        yield r.file, r.status
