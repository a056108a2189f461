"""Exports of the review app: the queue and the decisions as CSV (safe to open in a spreadsheet), and coordinators'
decisions as labels in the samples' format (`samples/labels.jsonl`), so `docverify eval` scores the pipeline against
what coordinators decided.

Every CSV cell that a spreadsheet could run as a formula gets a leading `'` (`flows.batch.csv_safe`,
docs/THREAT-MODEL.md item 32), and CR/LF inside a cell become spaces.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from evaluation.scoring import Expected, Label, LabelIntake
from flows.batch import csv_safe
from flows.review.pixels import scrubbed_original
from flows.review.views import QueueRow, decided_status, field_views
from pipeline.errors import DocverifyError
from pipeline.exports import private_folder, write_private
from pipeline.report import Report
from pipeline.types import MediaType, Status
from storage.review import DecisionRecord, ReviewField
from storage.store import ReportRecord, Store, UploadRecord

_EXTENSIONS = {MediaType.PDF: ".pdf", MediaType.PNG: ".png", MediaType.JPEG: ".jpg", MediaType.TIFF: ".tif",
               MediaType.WEBP: ".webp", MediaType.HEIF: ".heic", MediaType.CCDA_XML: ".xml", MediaType.XDM_ZIP: ".zip"}


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return csv_safe(" ".join(text.splitlines()))


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def queue_csv(rows: list[QueueRow]) -> str:
    """The queue as CSV: one row per flagged upload."""
    return _csv(["upload_id", "uploaded_at", "file", "payer", "status", "reasons"],
                [[r.upload.id, r.upload.created_at.isoformat(timespec="seconds"), r.upload.display_name,
                  r.upload.payer.value, r.status.value, "; ".join(r.reasons)] for r in rows])


def decisions_csv(decisions: list[DecisionRecord]) -> str:
    """Every decision as CSV: who, when, what, before and after."""
    def show(d: DecisionRecord, before: bool) -> str:
        v = d.before if before else d.after
        return v.status.value if v.status is not None else (v.value or "")

    return _csv(["upload_id", "decision", "at", "actor", "action", "field", "before", "after", "status_after",
                 "report_version", "note"],
                [[d.upload_id, d.seq, d.created_at.isoformat(timespec="seconds"), d.actor, d.action.value,
                  d.field.value if d.field else "", show(d, True), show(d, False),
                  d.status_after.value if d.status_after else "", d.report_version, d.note or ""]
                 for d in decisions])


@dataclass(frozen=True, slots=True)
class LabelExport:
    """What `export_labels` wrote: how many labels, and where."""

    labels: int
    folder: Path
    upload_ids: tuple[str, ...] = ()  # the uploads whose original and report were written (audited by the caller)
    undecodable: tuple[str, ...] = ()  # decided uploads whose pages could not be decoded: not written, no label


def decision_label(upload: UploadRecord, report: Report, decisions: list[DecisionRecord], file: str) -> Label | None:
    """The label coordinators' decisions make of one upload (None while undecided): their status and, per field,
    their correction or — when they kept it — the report's value."""
    status = decided_status(decisions)
    if status is None:
        return None
    fields = {fv.key: fv for fv in field_views(report, decisions)}

    def value(key: ReviewField) -> str | None:
        fv = fields[key]
        return fv.corrected.after.value if fv.corrected is not None else fv.value

    dx = report.fields.pain_diagnosis
    dx_corrected = fields[ReviewField.PAIN_DIAGNOSIS].corrected is not None
    # A corrected diagnosis is free text: its category and code are not known, so they are not labelled (they would
    # score the pipeline's category against a guess).
    return Label(file=file, kind="coordinator_decision", purpose=f"decided by coordinators (upload {upload.id})",
                 intake=LabelIntake(patient_name=upload.intake_patient_name, payer=upload.payer),
                 expected=Expected(status=status, patient_name=value(ReviewField.PATIENT_NAME),
                                   physician_name=value(ReviewField.PHYSICIAN_NAME),
                                   pain_category=None if dx_corrected or status is not Status.COMPLETE
                                   else dx.category,
                                   pain_icd10=None if dx_corrected or status is not Status.COMPLETE else dx.icd10))


def export_labels(store: Store, latest: list[tuple[UploadRecord, ReportRecord]],
                  decisions: dict[str, list[DecisionRecord]], folder: Path) -> LabelExport:
    """Write FOLDER/labels.jsonl, FOLDER/inputs/<upload id>.<ext> (the originals) and FOLDER/reports/<file>.json
    (the report the coordinators decided on), for `docverify eval FOLDER [--reports FOLDER/reports]`. Files are
    named by upload id, never by the uploaded file name; files 0600 in 0700 folders (they hold PHI). Images are
    written as their pixels only and PDFs as their pages only (`flows.review.pixels.scrubbed_original`, in a bounded
    reader child: no EXIF, GPS, XMP, ICC profile, text chunks or TIFF tags; no PDF Info dictionary, XMP, outlines,
    annotations or attachments); one that cannot be decoded is left out (`undecodable`) rather than written with
    its metadata. Raises StoreIntegrityError for an altered original."""
    private_folder(folder / "inputs")
    private_folder(folder)
    private_folder(folder / "reports")
    lines: list[str] = []
    written: list[str] = []
    undecodable: list[str] = []
    for upload, record in latest:
        ds = decisions.get(upload.id, [])
        if decided_status(ds) is None:
            continue
        try:
            data, media = scrubbed_original(store.read_original(upload.id))
        except DocverifyError:  # a reader error, or the child's memory cap or clock: not written, with its metadata
            undecodable.append(upload.id)
            continue
        file = upload.id + (_EXTENSIONS.get(media, ".bin") if media else ".bin")
        label = decision_label(upload, record.report(), ds, file)
        if label is None:
            continue
        write_private(folder / "inputs" / file, data)
        write_private(folder / "reports" / f"{file}.json", record.report().model_dump_json(indent=2) + "\n")
        lines.append(json.dumps(label.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False))
        written.append(upload.id)
    write_private(folder / "labels.jsonl", "".join(line + "\n" for line in lines))
    return LabelExport(labels=len(lines), folder=folder, upload_ids=tuple(written), undecodable=tuple(undecodable))

