"""Judging a stored case again: gather each upload's latest report and identifiers, judge, store the new version.

Called when an upload of a case gets its report (`flows.tasks.persist`) and when an upload is added to a case (the
upload API). Ids only in and out (docs/CONVENTIONS.md "PHI").
"""

from __future__ import annotations

from pipeline.cases import CaseUpload, FailedUpload, judge_case
from pipeline.policy import load_policy
from pipeline.settings import Settings
from storage.cases import CaseReportRecord, CaseStore, UnknownCase
from storage.store import Store, UploadState


def case_uploads(store: Store, case_id: str) -> tuple[list[CaseUpload], list[str], list[FailedUpload]]:
    """The case's uploads that have a report (in the order received), the ids of those still waiting for one, and
    those whose processing failed on our side."""
    cases = CaseStore(store)
    record = cases.get(case_id)
    if record is None:
        raise UnknownCase(f"case {case_id[:40]!r}")
    judged: list[CaseUpload] = []
    waiting: list[str] = []
    failed: list[FailedUpload] = []
    for upload_id in record.upload_ids:
        upload = store.get(upload_id)
        if upload is not None and upload.state is UploadState.FAILED:
            failed.append(FailedUpload(upload_id, upload.display_name, upload.error_code or "failed"))
            continue
        latest = store.latest_report(upload_id) if upload is not None and upload.state is UploadState.DONE else None
        if upload is None or latest is None:
            waiting.append(upload_id)
            continue
        judged.append(CaseUpload(upload_id=upload_id, file_name=upload.display_name, report=latest.report(),
                                 identifiers=cases.identifiers(upload_id)))
    return judged, waiting, failed


def rejudge(store: Store, case_id: str, settings: Settings, *, actor: str,
            upload_id: str | None) -> CaseReportRecord:
    """Judge the case over its uploads that have reports and store the result as its next report version (audited
    with `upload_id`, the upload that caused it). Raises UnknownCase."""
    from flows.verify import versions

    cases = CaseStore(store)
    record = cases.get(case_id)
    if record is None:
        raise UnknownCase(f"case {case_id[:40]!r}")
    judged, _, failed = case_uploads(store, case_id)
    report = judge_case(record.intake, judged, load_policy(), versions(settings.ner_model_name), failed=failed)
    cases.save_report(case_id, report, actor=actor, upload_id=upload_id)
    latest = cases.latest_report(case_id)
    assert latest is not None  # noqa: S101 (just saved)
    return latest
